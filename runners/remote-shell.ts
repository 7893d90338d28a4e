/**
 * What the board target needs from an SSH connection, whichever client
 * carries it (ssh2 in this process, or the system's ssh): run a command,
 * put a file, start a long-running command with its stdio, hang up.
 */
import type { Readable, Writable } from 'node:stream'

/**
 * The most of a command's stdout (and of its stderr) kept, its last bytes: a
 * board's `dmesg` is a few MiB at most; a board printing without end must
 * not fill the host's memory.
 */
export const COMMAND_OUTPUT_MAX = 16 << 20

export interface CommandResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RemoteProcess {
  stdout: Readable
  stdin: Writable
  /** resolves when the remote command ends, with its exit code or signal */
  exit: Promise<string>
  /** hangs up on the command (its stdin closes, so the agent exits) */
  kill(): void
}

export interface RemoteShell {
  /** e.g. "ssh2 to root@192.0.2.10:22" */
  readonly description: string
  run(command: string, timeoutMs?: number): Promise<CommandResult>
  /** copies a local file to an absolute path on the board, with this mode */
  upload(local: string, remote: string, mode: number): Promise<void>
  spawn(command: string): Promise<RemoteProcess>
  close(): Promise<void>
}

/** Single-quotes a word for the board's POSIX shell. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}
