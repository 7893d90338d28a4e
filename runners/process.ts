/**
 * An agent started as a local process speaking on its stdin/stdout: the
 * aarch64 agent under qemu-aarch64-static, or any agent binary run directly.
 */
import { execa } from 'execa'
import { Agent } from '../core/agent.js'
import { showWire } from '../core/protocol.js'
import { StreamTransport } from './stream-transport.js'
import { TailBuffer } from './tail-buffer.js'

export function spawnAgentProcess(command: string, args: string[]): { agent: Agent; stderr: () => string } {
  // The process may print without end: its last 64 KiB say why it died.
  const stderrTail = new TailBuffer(64 * 1024)
  const proc = execa(command, args, { stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false })
  proc.stderr?.on('data', (c: Buffer) => stderrTail.push(c))
  const transport = new StreamTransport(proc.stdout!, proc.stdin!, `agent process ${command}`, async () => {
    proc.kill()
    await proc
  })
  void proc.then((r) => {
    const stderr = stderrTail.raw().trim()
    transport.fail(`agent process exited (${r.signal ?? `code ${r.exitCode}`})${stderr ? `: ${showWire(stderr, 2000)}` : ''}`)
  })
  return { agent: new Agent(transport), stderr: () => stderrTail.text() }
}
