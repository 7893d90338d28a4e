/**
 * A real board over SSH. Starting it: connect (verifying the host key),
 * read the board's architecture, make a fresh private directory (0700),
 * upload the matching static agent over it and run the agent with its
 * stdin/stdout on the SSH channel. Closing it, on every path (a normal end,
 * an error during start, Ctrl-C): save the kernel log with the results,
 * remove the directory, hang up. Boards are not disposable: destructive
 * cases run only when the description or the command line allows them.
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { PassThrough } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { Agent } from '../core/agent.js'
import { InfraError, UsageError } from '../core/errors.js'
import { agentBinary, type Arch } from '../core/paths.js'
import type { KindFacts, StartContext, Target, TargetKind, TargetSession } from '../core/target.js'
import { helloOrFail } from '../runners/hello.js'
import { DEFAULT_KNOWN_HOSTS } from '../runners/host-keys.js'
import { shellQuote, type RemoteShell } from '../runners/remote-shell.js'
import { connectSsh } from '../runners/ssh.js'
import { connectSystemSsh } from '../runners/ssh-system.js'
import { StreamTransport } from '../runners/stream-transport.js'
import { loadBoard, resolveBoardFile, type BoardDescription } from './board.js'

/** How long the agent gets to exit once its stdin closes, before the board is tidied. */
const AGENT_EXIT_WAIT_MS = 5000

export interface BoardConnectOptions {
  /** --known-hosts: overrides the description's and ~/.ssh/known_hosts */
  knownHosts?: string | undefined
  /** --accept-new-host-key: record a key never seen before */
  acceptNewHostKey?: boolean | undefined
}

/** `uname -m` to the agent build that runs there. */
export function agentArch(machine: string): Arch | undefined {
  if (machine === 'x86_64') return 'x86_64'
  if (machine === 'aarch64' || machine === 'arm64') return 'aarch64'
  return undefined
}

function connect(board: BoardDescription, opts: BoardConnectOptions): Promise<RemoteShell> {
  const common = {
    host: board.host,
    port: board.port,
    user: board.user,
    key: board.key,
    hostKey: board.hostKey,
    acceptNewHostKey: !!opts.acceptNewHostKey,
    connectTimeoutMs: board.timeouts.connect * 1000,
    keepaliveMs: board.timeouts.keepalive * 1000,
  }
  if (board.transport === 'system') return connectSystemSsh({ ...common, knownHosts: opts.knownHosts ?? board.knownHosts, jump: board.jump })
  return connectSsh({ ...common, knownHosts: opts.knownHosts ?? board.knownHosts ?? DEFAULT_KNOWN_HOSTS, readyTimeoutMs: board.timeouts.ready * 1000 })
}

/**
 * Connects, trying again every 2 s while ctx allows (a board coming back
 * from a reboot refuses, then resets, then answers). A host key problem is
 * never retried: it is not going to go away by waiting.
 */
async function connectWithin(board: BoardDescription, opts: BoardConnectOptions, ctx: StartContext): Promise<RemoteShell> {
  const deadline = Date.now() + Math.min(ctx.reconnectWithinMs ?? 0, board.timeouts.reboot * 1000)
  for (;;) {
    try {
      return await connect(board, opts)
    } catch (e) {
      if (!(e instanceof InfraError) || /host key/i.test(e.message) || Date.now() >= deadline) throw e
      aborted(ctx.signal)
      await new Promise((r) => setTimeout(r, 2000))
    }
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new InfraError('interrupted while starting the board')
}

/** A board is kept: destructive cases only where its description or --allow-exhaustion allows. Its kernel gets every ioctl. */
const BOARD_FACTS: KindFacts = { disposable: false, rawIoctls: true }

export function boardTarget(board: BoardDescription, opts: BoardConnectOptions = {}): Target {
  return {
    name: `board-${board.name}`,
    description: `the board ${board.name} (${board.user}@${board.host}:${board.port}) over SSH`,
    // The description's heaps and budget, unless the command line gives its own.
    runDefaults: {
      ...(board.heaps ? { expectations: board.heaps, expectationsSource: board.file } : {}),
      ...(board.memoryBudget !== undefined ? { memoryBudget: board.memoryBudget } : {}),
    },
    async start(ctx: StartContext): Promise<TargetSession> {
      const t0 = Date.now()
      ctx.log(`connecting to ${board.name} (${board.user}@${board.host}:${board.port}, ${board.transport})`)
      let shell = await connectWithin(board, opts, ctx)
      const connectMs = Date.now() - t0
      let remoteDir: string | undefined
      const kernelLog = join(ctx.outputDir, 'kernel.log')
      let closed: Promise<void> | undefined

      const tidy = async () => {
        const dmesg = await shell.run('dmesg', 30_000)
        // A Ctrl-C may come before the run made its output folder: the log
        // is made room for, and failing to save it never keeps the upload.
        if (dmesg.code === 0) {
          await mkdir(dirname(kernelLog), { recursive: true })
            .then(() => writeFile(kernelLog, dmesg.stdout))
            .catch((e: Error) => ctx.log(`could not save ${board.name}'s kernel log: ${e.message}`))
        } else ctx.log(`could not read ${board.name}'s kernel log: ${dmesg.stderr.trim()}`)
        if (remoteDir) {
          const rm = await shell.run(`rm -rf -- ${shellQuote(remoteDir)}`, 30_000)
          if (rm.code !== 0) ctx.log(`could not remove ${remoteDir} on ${board.name}: ${rm.stderr.trim()}`)
        }
      }
      // Every way out goes through here, once: the kernel log, the upload
      // removed, hang up. A connection lost on the way is made again for it.
      const cleanup = (): Promise<void> =>
        (closed ??= (async () => {
          try {
            try {
              await tidy()
            } catch (e) {
              if (!(e instanceof InfraError && /lost/.test(e.message))) throw e
              await shell.close().catch(() => {})
              ctx.log(`${e.message}; connecting again to clean up`)
              shell = await connect(board, opts)
              await tidy()
            }
          } catch (e) {
            ctx.log(`cleaning up ${board.name} failed: ${(e as Error).message}${remoteDir ? ` (${remoteDir} may be left there)` : ''}`)
          } finally {
            await shell.close().catch(() => {})
          }
        })())
      const onAbort = () => void cleanup()
      ctx.signal?.addEventListener('abort', onAbort, { once: true })

      try {
        aborted(ctx.signal)
        // mktemp -d makes the directory 0700; the chmod says so to any mktemp.
        const base = board.remoteDir.replace(/\/+$/, '') || '/'
        // The OS first: nothing is made on a board that is not Linux.
        const os = (await shell.run('uname -s')).stdout.trim()
        if (os !== 'Linux') throw new InfraError(`${board.name} runs ${os || 'an unknown system'}, not Linux: it has no dma-buf heaps`, 'check host: in the board description')
        const probe = await shell.run(`uname -m && uname -r && id -u && d=$(mktemp -d ${shellQuote(`${base}/dmaheap.XXXXXXXX`)}) && chmod 700 "$d" && echo "$d"`)
        const [machine = '', release = '', uid = '', dir = ''] = probe.stdout.trim().split('\n')
        if (probe.code !== 0 || !dir.startsWith('/')) {
          throw new InfraError(`cannot make a private directory under ${base} on ${board.name}: ${probe.stderr.trim() || `exit ${probe.code}`}`, 'set remoteDir: to a writable folder on the board')
        }
        remoteDir = dir
        const arch = agentArch(machine)
        if (!arch) throw new InfraError(`${board.name} is ${machine}: there is no agent for it`, 'the agent is built for x86_64 and aarch64')
        if (board.arch && board.arch !== arch) throw new InfraError(`${board.name} reports ${machine}, its description says arch: ${board.arch}`, 'fix arch: in the board description, or check you reached the right board')
        if (uid !== '0') ctx.log(`${board.user} on ${board.name} is not root: kernel log checks and some heaps may be out of reach`)

        const local = agentBinary(arch)
        if (!existsSync(local)) throw new InfraError(`the ${arch} agent is not built`, 'run `npm run build`')
        const agentPath = `${remoteDir}/dmaheap-agent`
        aborted(ctx.signal)
        const t1 = Date.now()
        await shell.upload(local, agentPath, 0o700)
        const uploadMs = Date.now() - t1
        aborted(ctx.signal)

        const proc = await shell.spawn(`exec ${shellQuote(agentPath)}`)
        // The transport destroys its input when it closes; a PassThrough
        // between keeps that from tearing the channel down under the agent:
        // the agent gets EOF on stdin and ends, then the channel closes.
        const fromAgent = proc.stdout.pipe(new PassThrough())
        let exited = false
        void proc.exit.then(() => (exited = true))
        const transport = new StreamTransport(fromAgent, proc.stdin, `agent over SSH on ${board.name}`, async () => {
          proc.kill()
          // What the agent still sends is drained: a channel whose output
          // nobody reads never ends, and its exit would never show.
          proc.stdout.unpipe(fromAgent)
          proc.stdout.resume()
          if (!exited) await Promise.race([proc.exit, sleep(AGENT_EXIT_WAIT_MS, undefined, { ref: false })])
          await cleanup()
        })
        void proc.exit.then((why) => transport.fail(`the agent on ${board.name} exited (${why})`))
        const agent = new Agent(transport, board.timeouts.request * 1000)
        const hello = await helloOrFail(agent, board.name, board.timeouts.request * 1000).catch(async (e) => {
          await agent.close()
          throw e
        })
        // Interrupted while the agent came up: undo it here, before the caller exits.
        if (ctx.signal?.aborted) {
          await agent.close()
          aborted(ctx.signal)
        }
        ctx.signal?.removeEventListener('abort', onAbort)
        ctx.log(`${board.name}: Linux ${release} ${machine}; connected in ${(connectMs / 1000).toFixed(1)} s, agent uploaded to ${remoteDir} in ${(uploadMs / 1000).toFixed(1)} s`)
        return {
          info: {
            target: `board-${board.name}`,
            hello,
            facts: {
              ...BOARD_FACTS,
              destructiveAllowed: board.destructive,
              board: board.name,
              host: `${board.host}:${board.port}`,
              transport: board.transport === 'system' ? 'ssh' : 'ssh2',
              arch,
              kernel: release,
              remoteDir,
              connectMs,
              uploadMs,
            },
          },
          agent,
          artifacts: { kernelLog },
          consoleTail: () => '',
          close: () => agent.close(),
        }
      } catch (e) {
        ctx.signal?.removeEventListener('abort', onAbort)
        await cleanup()
        throw e
      }
    },
  }
}

/** `--board NAME|FILE` (it takes the place of --target) and the host key flags. */
export const boardKind: TargetKind<{ board?: string; knownHosts?: string; acceptNewHostKey?: boolean }> = {
  name: 'board',
  description: 'a board over SSH, described by a YAML file (targets/board.ts)',
  selectedBy: 'board',
  options: {
    board: { flag: '--board <name|file>', description: 'run on a board over SSH, described by this YAML file (or boards/NAME.yaml)' },
    knownHosts: { flag: '--known-hosts <file>', description: 'check host keys against this known_hosts file (default ~/.ssh/known_hosts)' },
    acceptNewHostKey: { flag: '--accept-new-host-key', description: 'accept a host key never seen before, and record it in known_hosts' },
  },
  facts: BOARD_FACTS,
  create: (o) => {
    if (!o.board) throw new UsageError('a board target needs a board description', 'pass --board NAME or --board FILE')
    return boardTarget(loadBoard(resolveBoardFile(o.board)), { knownHosts: o.knownHosts, acceptNewHostKey: o.acceptNewHostKey })
  },
}
