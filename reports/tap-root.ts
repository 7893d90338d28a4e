/**
 * The root of a run's TAP stream: a node-tap Test not attached to tap's own
 * process-wide root. Importing 'tap' itself would create that root, whose
 * 30 s timeout ends the process with SIGALRM; @tapjs/core is imported first
 * because @tapjs/test and @tapjs/core import each other.
 */
import '@tapjs/core'
import { Test, type TestOpts } from '@tapjs/test'

export type { Test }

export function createTapRoot(name: string): Test {
  return new Test({ name } as TestOpts)
}
