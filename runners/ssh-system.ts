/**
 * SSH to a board through the system's `ssh` command, so ~/.ssh/config
 * applies (ProxyJump, bastions, certificates, per-host keys). Host keys are
 * ssh's own business here: StrictHostKeyChecking=yes (accept-new with
 * --accept-new-host-key); a fingerprint pinned in the board description is
 * checked against the key ssh recorded on a first connection that offers no
 * credentials. Files go over the exec channel (`cat`), so a board needs no
 * SFTP server for this transport.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execa, type ResultPromise } from 'execa'
import { InfraError } from '../core/errors.js'
import { hostKeyRefusal } from './host-keys.js'
import { COMMAND_OUTPUT_MAX, shellQuote, type CommandResult, type RemoteProcess, type RemoteShell } from './remote-shell.js'
import { TailBuffer } from './tail-buffer.js'
import type { SshTarget } from './ssh.js'

export interface SystemSshTarget extends Omit<SshTarget, 'knownHosts' | 'readyTimeoutMs'> {
  /** a known_hosts file to use instead of ssh's own; undefined: ssh's configuration decides */
  knownHosts?: string | undefined
  jump?: string | undefined
}

/** ssh's one-line reasons, turned into the harness's refusals. */
function sshFailure(t: SystemSshTarget, stderr: string): InfraError {
  const last = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('@') && !l.startsWith('debug')).pop() ?? 'ssh exited 255 and said nothing'
  const where = `${t.host}:${t.port}`
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED/.test(stderr)) {
    const fp = /(SHA256:[A-Za-z0-9+/]{43})/.exec(stderr)?.[1] ?? 'a different key'
    return hostKeyRefusal(t.host, t.port, { kind: 'changed', fingerprint: fp, expected: 'the key recorded for it', source: 'known_hosts' })
  }
  if (/No \S+ host key is known for|Host key verification failed/.test(stderr)) {
    const fp = /(SHA256:[A-Za-z0-9+/]{43})/.exec(stderr)?.[1] ?? 'fingerprint not shown'
    return hostKeyRefusal(t.host, t.port, { kind: 'unknown', fingerprint: fp })
  }
  if (/Permission denied/.test(stderr)) return new InfraError(`${t.user}@${where} refused our key`, 'check key: in the board description, or your ssh configuration')
  return new InfraError(`ssh to ${where} failed: ${last}`, 'is the board up? try the same ssh command by hand')
}

/** The fingerprints of the keys the server presents, learnt without authenticating (nothing of ours is offered). */
async function presentedFingerprints(base: (knownHosts: string, strict: string) => string[], where: string, file: string): Promise<{ fps: string[]; stderr: string }> {
  const probe = await execa('ssh', [...base(file, 'no'), '-o', 'PreferredAuthentications=none', '-o', 'PubkeyAuthentication=no', where, 'true'], { reject: false, stdin: 'ignore' })
  const listed = await execa('ssh-keygen', ['-l', '-f', file], { reject: false })
  return { fps: [...listed.stdout.matchAll(/SHA256:[A-Za-z0-9+/]{43}/g)].map((m) => m[0]), stderr: String(probe.stderr) }
}

export async function connectSystemSsh(t: SystemSshTarget): Promise<RemoteShell> {
  const work = await mkdtemp(join(tmpdir(), 'dmaheap-ssh-'))
  const where = `${t.user}@${t.host}`
  const base = (knownHosts: string | undefined, strict: string) => [
    '-p', String(t.port),
    ...(t.key ? ['-i', t.key, '-o', 'IdentitiesOnly=yes'] : []),
    ...(t.jump ? ['-J', t.jump] : []),
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${Math.ceil(t.connectTimeoutMs / 1000)}`,
    '-o', `ServerAliveInterval=${Math.ceil(t.keepaliveMs / 1000)}`,
    '-o', 'ServerAliveCountMax=3',
    '-o', `StrictHostKeyChecking=${strict}`,
    ...(knownHosts ? ['-o', `UserKnownHostsFile=${knownHosts}`] : []),
  ]
  let knownHosts = t.knownHosts
  try {
    if (t.hostKey) {
      // Learn the key into a fresh file, compare it with the pin, and from
      // then on accept only that key.
      knownHosts = join(work, 'known_hosts')
      const { fps, stderr } = await presentedFingerprints(base, where, knownHosts)
      if (!fps.length) throw sshFailure(t, stderr)
      if (!fps.includes(t.hostKey)) {
        throw hostKeyRefusal(t.host, t.port, { kind: 'changed', fingerprint: fps[0]!, expected: t.hostKey, source: 'the board description (hostKey)' })
      }
    }
    const args = base(knownHosts, t.hostKey ? 'yes' : t.acceptNewHostKey ? 'accept-new' : 'yes')
    // One SSH connection per command: multiplexing them over one (ControlMaster)
    // made Dropbear now and then refuse a command right after another ended.
    const over = (command: string) => [...args, where, command]
    /** ssh's own failure (exit 255), with the key's fingerprint when ssh refused an unknown one. */
    const failure = async (stderr: string): Promise<InfraError> => {
      if (/No \S+ host key is known for/.test(stderr)) {
        const { fps } = await presentedFingerprints(base, where, join(work, 'presented'))
        if (fps[0]) return hostKeyRefusal(t.host, t.port, { kind: 'unknown', fingerprint: fps[0] })
      }
      return sshFailure(t, stderr)
    }
    return {
      description: `ssh to ${where}:${t.port}`,
      async run(command: string, timeoutMs = 60_000): Promise<CommandResult> {
        const proc = execa('ssh', over(command), { reject: false, timeout: timeoutMs, stdin: 'ignore', buffer: false })
        const stdout = new TailBuffer(COMMAND_OUTPUT_MAX)
        const stderr = new TailBuffer(COMMAND_OUTPUT_MAX)
        proc.stdout?.on('data', (c: Buffer) => stdout.push(c))
        proc.stderr?.on('data', (c: Buffer) => stderr.push(c))
        const r = await proc
        if (r.timedOut) throw new InfraError(`"${command}" on ${where} did not finish within ${timeoutMs / 1000} s`)
        // 255 is ssh's own failure, not the command's
        if (r.exitCode === 255) throw await failure(stderr.text())
        // As execa gave them: without the final newline.
        return { code: r.exitCode ?? null, stdout: stdout.text().replace(/\n$/, ''), stderr: stderr.text().replace(/\n$/, '') }
      },
      async upload(local: string, remote: string, mode: number): Promise<void> {
        const r = await execa('ssh', over(`cat > ${shellQuote(remote)} && chmod ${mode.toString(8)} ${shellQuote(remote)}`), { reject: false, inputFile: local, maxBuffer: COMMAND_OUTPUT_MAX })
        if (r.exitCode === 255) throw await failure(String(r.stderr))
        if (r.exitCode !== 0) throw new InfraError(`uploading ${local} to ${where}:${remote} failed: ${String(r.stderr).trim() || `exit ${r.exitCode}`}`)
      },
      async spawn(command: string): Promise<RemoteProcess> {
        const proc: ResultPromise = execa('ssh', over(command), { reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', buffer: false })
        return {
          stdout: proc.stdout!,
          stdin: proc.stdin!,
          exit: proc.then((r) => (r.signal ? `signal ${r.signal}` : `code ${r.exitCode}`)),
          kill: () => proc.kill(),
        }
      },
      async close(): Promise<void> {
        await rm(work, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await rm(work, { recursive: true, force: true })
    throw e
  }
}
