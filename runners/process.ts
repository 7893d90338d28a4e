/**
 * An agent started as a local process speaking on its stdin/stdout: the
 * aarch64 agent under qemu-aarch64-static, or any agent binary run directly.
 */
import { execa } from 'execa'
import { Agent } from '../core/agent.js'
import { StreamTransport } from './stream-transport.js'

export function spawnAgentProcess(command: string, args: string[]): { agent: Agent; stderr: () => string } {
  let stderr = ''
  const proc = execa(command, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false })
  proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()))
  const transport = new StreamTransport(proc.stdout!, proc.stdin!, `agent process ${command}`, async () => {
    proc.kill()
    await proc
  })
  void proc.then((r) => transport.fail(`agent process exited (${r.signal ?? `code ${r.exitCode}`})${stderr ? `: ${stderr.trim()}` : ''}`))
  return { agent: new Agent(transport), stderr: () => stderr }
}
