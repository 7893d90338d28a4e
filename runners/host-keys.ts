/**
 * Is this the board's host key? Checked against a SHA256 fingerprint pinned
 * in the board description, else an OpenSSH known_hosts file (plain and
 * hashed "|1|salt|hmac" names, "[host]:port" for ports other than 22,
 * wildcards, @revoked). A key we have never seen is refused unless the user
 * explicitly accepts it, which records it; a key that differs from the one
 * recorded is always refused: that is what an impostor looks like.
 */
import { createHash, createHmac } from 'node:crypto'
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import { InfraError } from '../core/errors.js'

export const DEFAULT_KNOWN_HOSTS = join(homedir(), '.ssh', 'known_hosts')

/** "SHA256:<unpadded base64>" of a key in SSH wire format, as ssh-keygen -l prints it. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

/** The key type named inside an SSH wire-format key ("ssh-ed25519"). */
export function keyType(key: Buffer): string {
  const len = key.readUInt32BE(0)
  return key.subarray(4, 4 + len).toString('latin1')
}

/** How known_hosts names a host: bare for port 22, else "[host]:port". */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i')
  return re.test(name)
}

/** Does one known_hosts host field (comma-separated patterns, or one hashed name) name this host? */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hmac] = field.split('|')
    if (!salt || !hmac) return false
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hmac
  }
  let matched = false
  for (const p of field.split(',')) {
    if (p.startsWith('!')) {
      if (globMatch(p.slice(1), name)) return false
    } else if (globMatch(p, name)) matched = true
  }
  return matched
}

export type HostKeyVerdict =
  | { kind: 'known'; source: string }
  | { kind: 'unknown'; fingerprint: string }
  | { kind: 'changed'; fingerprint: string; expected: string; source: string }

interface KnownEntry {
  marker?: string
  type: string
  key: Buffer
  line: number
}

function entriesFor(file: string, name: string): KnownEntry[] {
  if (!existsSync(file)) return []
  const out: KnownEntry[] = []
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim()
      if (!line || line.startsWith('#')) return
      const parts = line.split(/\s+/)
      const marker = parts[0]!.startsWith('@') ? parts.shift() : undefined
      const [hosts, type, key] = parts
      if (!hosts || !type || !key || marker === '@cert-authority') return
      if (hostFieldMatches(hosts, name)) out.push({ ...(marker ? { marker } : {}), type, key: Buffer.from(key, 'base64'), line: i + 1 })
    })
  return out
}

/** Checks the key a server presented against a pinned fingerprint or a known_hosts file. */
export function verifyHostKey(key: Buffer, host: string, port: number, pinned: string | undefined, knownHosts: string): HostKeyVerdict {
  const fp = fingerprint(key)
  if (pinned) {
    return fp === pinned ? { kind: 'known', source: 'the board description' } : { kind: 'changed', fingerprint: fp, expected: pinned, source: 'the board description (hostKey)' }
  }
  const entries = entriesFor(knownHosts, knownHostsName(host, port))
  const same = entries.filter((e) => e.key.equals(key))
  const revoked = same.find((e) => e.marker === '@revoked')
  if (revoked) return { kind: 'changed', fingerprint: fp, expected: 'not this key (it is @revoked)', source: `${knownHosts}:${revoked.line}` }
  const ok = same.find((e) => !e.marker)
  if (ok) return { kind: 'known', source: `${knownHosts}:${ok.line}` }
  const other = entries.find((e) => !e.marker && e.type === keyType(key))
  if (other) return { kind: 'changed', fingerprint: fp, expected: fingerprint(other.key), source: `${knownHosts}:${other.line}` }
  return { kind: 'unknown', fingerprint: fp }
}

/** Appends the key to known_hosts (creating ~/.ssh with mode 0700 when needed). */
export function recordHostKey(key: Buffer, host: string, port: number, knownHosts: string): void {
  mkdirSync(dirname(knownHosts), { recursive: true, mode: 0o700 })
  appendFileSync(knownHosts, `${knownHostsName(host, port)} ${keyType(key)} ${key.toString('base64')}\n`, { mode: 0o600 })
}

/** The one-line refusal for a key that is not the known one. */
export function hostKeyRefusal(host: string, port: number, verdict: Exclude<HostKeyVerdict, { kind: 'known' }>): InfraError {
  if (verdict.kind === 'unknown') {
    return new InfraError(
      `host key of ${host}:${port} is not known (${verdict.fingerprint})`,
      'check it and pass --accept-new-host-key to record it, or pin it as hostKey in the board description',
    )
  }
  return new InfraError(
    `HOST KEY OF ${host}:${port} HAS CHANGED: it presented ${verdict.fingerprint}, ${verdict.source} expects ${verdict.expected}; refusing to connect`,
    'someone may be intercepting the connection, or the board was reinstalled; confirm its new key out of band and update the record yourself',
  )
}
