/**
 * SSH to a board with ssh2, in this process: key authentication (a key file
 * or the ssh-agent), the host key verified before anything is sent (see
 * host-keys.ts), keepalives, and separate connect and ready timeouts so an
 * unreachable board and a board that never finishes the handshake are told
 * apart. Files go over SFTP.
 */
import { readFileSync } from 'node:fs'
import { connect as tcpConnect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Client, type ConnectConfig } from 'ssh2'
import { InfraError } from '../core/errors.js'
import { hostKeyRefusal, recordHostKey, verifyHostKey, type HostKeyVerdict } from './host-keys.js'
import { COMMAND_OUTPUT_MAX, type CommandResult, type RemoteProcess, type RemoteShell } from './remote-shell.js'
import { TailBuffer } from './tail-buffer.js'

export interface SshTarget {
  host: string
  port: number
  user: string
  /** private key file; without it the ssh-agent at $SSH_AUTH_SOCK */
  key?: string | undefined
  /** pinned SHA256 fingerprint */
  hostKey?: string | undefined
  knownHosts: string
  acceptNewHostKey: boolean
  connectTimeoutMs: number
  readyTimeoutMs: number
  keepaliveMs: number
}

/** How often an exec request the server refused is tried, on a fresh channel. */
const EXEC_ATTEMPTS = 4
/** How long a remote command gets to exit after its stdin closes before its channel is closed. */
const KILL_GRACE_MS = 3000

function openSocket(t: SshTarget): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ host: t.host, port: t.port })
    const timer = setTimeout(() => {
      s.destroy()
      reject(new InfraError(`cannot reach ${t.host}:${t.port}: no TCP connection within ${t.connectTimeoutMs / 1000} s`, 'is the board powered and on the network? (timeouts.connect)'))
    }, t.connectTimeoutMs)
    s.once('connect', () => {
      clearTimeout(timer)
      resolve(s)
    })
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(new InfraError(`cannot reach ${t.host}:${t.port}: ${e.code ?? e.message}`, 'is the board up and its SSH server running? check host and port in the board description'))
    })
  })
}

function authentication(t: SshTarget): Pick<ConnectConfig, 'privateKey' | 'agent'> {
  if (t.key) {
    try {
      return { privateKey: readFileSync(t.key) }
    } catch (e) {
      throw new InfraError(`cannot read the key ${t.key}: ${(e as NodeJS.ErrnoException).code ?? e}`, 'fix key: in the board description')
    }
  }
  if (!process.env.SSH_AUTH_SOCK) throw new InfraError(`no key for ${t.user}@${t.host}: the board description has no key and no ssh-agent runs`, 'add key: FILE to the board description, or start ssh-agent')
  return { agent: process.env.SSH_AUTH_SOCK }
}

export async function connectSsh(t: SshTarget): Promise<RemoteShell> {
  const auth = authentication(t)
  const sock = await openSocket(t)
  const client = new Client()
  let refusal: InfraError | undefined
  const hostVerifier = (key: Buffer): boolean => {
    const verdict: HostKeyVerdict = verifyHostKey(key, t.host, t.port, t.hostKey, t.knownHosts)
    if (verdict.kind === 'known') return true
    if (verdict.kind === 'unknown' && t.acceptNewHostKey) {
      recordHostKey(key, t.host, t.port, t.knownHosts)
      return true
    }
    refusal = hostKeyRefusal(t.host, t.port, verdict)
    return false
  }
  await new Promise<void>((resolve, reject) => {
    let settled = false
    client.once('ready', () => {
      settled = true
      resolve()
    })
    // on, not once: a failed handshake can emit a second error (the
    // connection lost after the timeout), and an unheard one kills the process.
    client.on('error', (e: Error & { level?: string }) => {
      if (settled) return
      settled = true
      sock.destroy()
      if (refusal) return reject(refusal)
      if (e.level === 'client-authentication') {
        return reject(new InfraError(`${t.user}@${t.host}:${t.port} refused our key`, `is the public key of ${t.key ?? 'the ssh-agent'} in ~${t.user}/.ssh/authorized_keys on the board?`))
      }
      if (/Timed out while waiting for handshake/.test(e.message)) {
        return reject(new InfraError(`${t.host}:${t.port} accepted the connection but finished no SSH handshake within ${t.readyTimeoutMs / 1000} s`, 'is it an SSH server? raise timeouts.ready for a slow board'))
      }
      reject(new InfraError(`SSH to ${t.host}:${t.port} failed: ${e.message}`))
    })
    client.connect({
      sock,
      host: t.host,
      port: t.port,
      username: t.user,
      ...auth,
      hostVerifier,
      readyTimeout: t.readyTimeoutMs,
      keepaliveInterval: t.keepaliveMs,
      keepaliveCountMax: 3,
    })
  })

  const where = `${t.user}@${t.host}:${t.port}`
  let lost: string | undefined
  // ssh2 leaves a request on a dead connection unanswered: every operation
  // races this, so a lost board fails it instead of hanging it.
  let onLost: (e: InfraError) => void = () => {}
  const whenLost = new Promise<never>((_, reject) => (onLost = reject))
  whenLost.catch(() => {})
  const lose = (why: string) => {
    lost ??= why
    onLost(new InfraError(`SSH connection to ${where} lost: ${lost}`))
  }
  client.on('error', (e) => lose(e.message))
  client.on('close', () => lose('connection closed'))
  const check = () => {
    if (lost) throw new InfraError(`SSH connection to ${where} lost: ${lost}`)
  }
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([p, whenLost])

  const execOnce = (command: string) =>
    new Promise<import('ssh2').ClientChannel>((resolve, reject) => {
      check()
      client.exec(command, (err, ch) => (err ? reject(err) : resolve(ch)))
    })
  // Dropbear now and then answers an exec request with a bare failure
  // (seen right after another channel closed); the same request on a
  // fresh channel a moment later goes through. Anything else fails at once.
  const exec = async (command: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await guard(execOnce(command))
      } catch (e) {
        if (e instanceof InfraError) throw e
        const message = (e as Error).message
        if (message !== 'Unable to exec' || attempt >= EXEC_ATTEMPTS) throw new InfraError(`cannot run a command on ${where}: ${message}`)
        await sleep(200 * attempt)
      }
    }
  }

  return {
    description: `ssh2 to ${where}`,
    async run(command: string, timeoutMs = 60_000): Promise<CommandResult> {
      const ch = await exec(command)
      return guard(new Promise((resolve, reject) => {
        const stdout = new TailBuffer(COMMAND_OUTPUT_MAX)
        const stderr = new TailBuffer(COMMAND_OUTPUT_MAX)
        let code: number | null = null
        const timer = setTimeout(() => {
          ch.close()
          reject(new InfraError(`"${command}" on ${where} did not finish within ${timeoutMs / 1000} s`))
        }, timeoutMs)
        ch.on('data', (d: Buffer) => stdout.push(d))
        ch.stderr.on('data', (d: Buffer) => stderr.push(d))
        ch.on('exit', (c: number | null) => (code = c))
        ch.on('close', () => {
          clearTimeout(timer)
          resolve({ code, stdout: stdout.text(), stderr: stderr.text() })
        })
      }))
    },
    async upload(local: string, remote: string, mode: number): Promise<void> {
      check()
      const sftp = await guard(new Promise<import('ssh2').SFTPWrapper>((resolve, reject) =>
        client.sftp((err, s) => (err ? reject(new InfraError(`${where} offers no SFTP: ${err.message}`, 'install an SFTP server on the board (openssh-sftp-server), or use transport: system')) : resolve(s))),
      ))
      try {
        await guard(new Promise<void>((resolve, reject) =>
          sftp.fastPut(local, remote, { mode }, (err) => (err ? reject(new InfraError(`uploading ${local} to ${where}:${remote} failed: ${err.message}`)) : resolve())),
        ))
      } finally {
        sftp.end()
      }
    },
    async spawn(command: string): Promise<RemoteProcess> {
      const ch = await exec(command)
      return {
        stdout: ch,
        stdin: ch,
        exit: new Promise((resolve) => {
          let why = 'the channel closed'
          ch.on('exit', (code: number | null, signal?: string) => (why = signal ? `signal ${signal}` : `code ${code}`))
          ch.on('close', () => resolve(why))
        }),
        // EOF first: the agent exits and the server closes the channel itself.
        // Closing a channel the server still writes to made Dropbear 2022.83
        // drop the whole connection (a failed assertion in common-channel.c).
        kill: () => {
          ch.end()
          setTimeout(() => ch.close(), KILL_GRACE_MS).unref()
        },
      }
    },
    async close(): Promise<void> {
      if (lost) return
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve())
        client.end()
      })
    },
  }
}
