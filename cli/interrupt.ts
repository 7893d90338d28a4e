/** Ctrl-C (and SIGTERM): stop every target starting or running (targets/lifecycle.ts), then exit 130. */
import { ExitCode } from '../core/errors.js'
import { stopAllTargets } from '../targets/lifecycle.js'
import { log } from './log.js'

export function installInterruptHandler(): void {
  let stopping = false
  const onSignal = () => {
    if (stopping) return
    stopping = true
    log('interrupted; stopping the target')
    void stopAllTargets().finally(() => process.exit(ExitCode.interrupted))
  }
  // process.on, not once: a handler that removes itself leaves signal-exit
  // (execa's cleanup) as the only listener, and it re-raises the signal,
  // killing us before the target is stopped (a board's upload left behind).
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}
