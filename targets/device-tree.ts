/**
 * The machine's device tree compatible strings, read through the agent on
 * any target that has a device tree (QEMU's arm64 virt machine, most arm
 * boards): KCIDB reports them as the test environment.
 */
import type { Agent } from '../core/agent.js'

/** Where /proc/device-tree points; the agent reads only under /proc and /sys. */
const COMPATIBLE = '/sys/firmware/devicetree/base/compatible'

/** "vendor,board\\0vendor,soc\\0": the strings, most specific first. */
export function parseCompatible(text: string): string[] {
  return text.split('\u0000').map((s) => s.trim()).filter(Boolean)
}

/** The compatible strings, or undefined without a device tree (x86, ACPI machines). */
export async function deviceTreeCompatible(agent: Agent): Promise<string[] | undefined> {
  const r = await agent.call('read_file', { path: COMPATIBLE })
  const strings = r.ok ? parseCompatible(r.text) : []
  return strings.length ? strings : undefined
}
