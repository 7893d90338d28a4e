/** Progress lines for a human on stderr ("dmaheap: ..."), above a run's live status line while one is shown. */
import type { ProgressDisplay } from './progress.js'

let display: ProgressDisplay | undefined

export const log = (m: string): void => {
  if (display) display.line(`dmaheap: ${m}`)
  else process.stderr.write(`dmaheap: ${m}\n`)
}

/** The status line lines go above, while a run shows one; undefined when it is gone. */
export function logAbove(d: ProgressDisplay | undefined): void {
  display = d
}
