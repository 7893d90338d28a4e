import type { Agent } from '../core/agent.js'
import { InfraError } from '../core/errors.js'
import { PROTOCOL_VERSION, type Responses } from '../core/protocol.js'

/** The first exchange with any agent: checks the protocol version and OS. */
export async function helloOrFail(agent: Agent, where: string, timeoutMs?: number): Promise<Responses['hello']> {
  const hello = await agent.must('hello', {}, timeoutMs)
  if (hello.protocol !== PROTOCOL_VERSION) {
    throw new InfraError(
      `the agent on ${where} speaks protocol ${hello.protocol}, this harness speaks ${PROTOCOL_VERSION}`,
      'rebuild with `npm run build` so the agent and the harness match',
    )
  }
  if (hello.sysname !== 'Linux') {
    throw new InfraError(`${where} runs ${hello.sysname}, not Linux`, 'dma-buf heaps exist only on Linux targets')
  }
  return hello
}
