/**
 * A foreign-architecture agent under QEMU user-mode emulation on this machine
 * (qemu-aarch64-static). It has no dma-heaps of its own (it shares this
 * machine's kernel), so it exercises the agent build for that architecture
 * against the reference heap: proof the cross-built agent works.
 */
import { existsSync } from 'node:fs'
import { InfraError } from '../core/errors.js'
import { agentBinary, type Arch } from '../core/paths.js'
import type { KindFacts, StartContext, Target, TargetKind, TargetSession } from '../core/target.js'
import { helloOrFail } from '../runners/hello.js'
import { spawnAgentProcess } from '../runners/process.js'

/** This machine's own kernel, not thrown away; qemu-user translates each ioctl it knows and answers ENOSYS to the rest. */
const QEMU_USER_FACTS: KindFacts = { disposable: false, rawIoctls: false }

export function qemuUserTarget(arch: Arch): Target {
  const name = `qemu-user-${arch}`
  return {
    name,
    description: `the ${arch} agent under qemu-${arch}-static on this machine (reference heap only)`,
    async start(_ctx: StartContext): Promise<TargetSession> {
      const agentPath = agentBinary(arch)
      if (!existsSync(agentPath)) {
        throw new InfraError(`the ${arch} agent is not built`, `install gcc-${arch}-linux-gnu and run \`npm run build\``)
      }
      const emulator = `qemu-${arch}-static`
      const { agent } = spawnAgentProcess(emulator, [agentPath])
      const hello = await helloOrFail(agent, name, 30_000).catch(async (e: Error) => {
        await agent.close()
        throw new InfraError(`${emulator} did not run the ${arch} agent: ${e.message}`, 'apt-get install qemu-user-static')
      })
      return {
        info: { target: name, hello, facts: { ...QEMU_USER_FACTS, destructiveAllowed: false, transport: 'stdio', emulator, arch } },
        agent,
        artifacts: {},
        consoleTail: () => '',
        close: () => agent.close(),
      }
    },
  }
}

/** `--target qemu-user-aarch64`: no options of its own. */
export const qemuUserKind: TargetKind<Record<never, never>> = {
  name: 'qemu-user-aarch64',
  description: qemuUserTarget('aarch64').description,
  options: {},
  facts: QEMU_USER_FACTS,
  create: () => qemuUserTarget('aarch64'),
}
