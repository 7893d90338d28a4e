/**
 * Exit codes and the two kinds of error a run can end with. A test failing is
 * not an error: it is a FAIL result and exit 1.
 */
export const ExitCode = {
  pass: 0,
  testFailed: 1,
  /** no kernel, boot failed, agent lost, bad configuration */
  infrastructure: 2,
  interrupted: 130,
} as const

/**
 * The harness could not do its job (a target did not boot, the agent link was
 * lost). Never reported as a pass or a fail of the thing under test. The
 * message is one line that names the problem; `hint` says how to fix it.
 */
export class InfraError extends Error {
  override name = 'InfraError'
  constructor(
    message: string,
    readonly hint?: string,
    /** what the target printed last, for diagnosis (console lines) */
    readonly detail?: string,
  ) {
    super(message)
  }
}

/** Bad input from the user: an unknown heap, suite or target, a bad flag. */
export class UsageError extends Error {
  override name = 'UsageError'
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** The agent refused a request as malformed: a bug in the harness itself. */
export class ProtocolError extends Error {
  override name = 'ProtocolError'
}

/**
 * A call that had to succeed (a close, an munmap) failed with an errno, or
 * faulted touching a mapping (errno "SIGBUS", `fault` saying which page).
 */
export class UnexpectedErrno extends Error {
  override name = 'UnexpectedErrno'
  constructor(
    readonly op: string,
    readonly errno: string,
    readonly fault?: string,
  ) {
    super(`${op} failed unexpectedly with ${errno}${fault ? `: ${fault}` : ''}`)
  }
}
