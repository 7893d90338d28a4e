/**
 * `--target local`: this machine, through the native addon in this process
 * (runners/addon.ts). Its kernel is the one everything else here runs on:
 * not disposable, so destructive cases need --allow-exhaustion.
 */
import { Agent } from '../core/agent.js'
import type { KindFacts, StartContext, Target, TargetKind, TargetSession } from '../core/target.js'
import { AddonTransport } from '../runners/addon.js'
import { helloOrFail } from '../runners/hello.js'

const LOCAL_FACTS: KindFacts = { disposable: false, rawIoctls: true }

export const localTarget: Target = {
  name: 'local',
  description: 'this machine, through the native addon (needs /dev/dma_heap for kernel heaps)',
  async start(_ctx: StartContext): Promise<TargetSession> {
    const agent = new Agent(new AddonTransport())
    const hello = await helloOrFail(agent, 'local')
    return {
      info: { target: 'local', hello, facts: { ...LOCAL_FACTS, destructiveAllowed: false, transport: 'addon' } },
      agent,
      artifacts: {},
      consoleTail: () => '',
      close: () => agent.close(),
    }
  },
}

export const localKind: TargetKind<Record<never, never>> = {
  name: 'local',
  description: localTarget.description,
  options: {},
  facts: LOCAL_FACTS,
  create: () => localTarget,
}
