/**
 * Remembers that KVM hung on this host (e.g. nested virtualisation that
 * fails on the guest's first instructions), so later runs go straight to TCG
 * instead of paying the probe again. Keyed by host kernel and QEMU version:
 * either changing tries KVM afresh.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cacheDir } from '../core/paths.js'

type Verdict = 'kvm-broken'
const file = () => join(cacheDir(), 'accel.json')

async function readAll(): Promise<Record<string, Verdict>> {
  try {
    return JSON.parse(await readFile(file(), 'utf8')) as Record<string, Verdict>
  } catch {
    return {}
  }
}

export async function readAccelVerdict(key: string): Promise<Verdict | undefined> {
  return (await readAll())[key]
}

export async function writeAccelVerdict(key: string, verdict: Verdict): Promise<void> {
  const all = await readAll()
  all[key] = verdict
  await mkdir(cacheDir(), { recursive: true })
  await writeFile(file(), JSON.stringify(all, null, 2) + '\n')
}
