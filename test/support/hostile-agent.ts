/**
 * A hostile board for the tests: a real SSH board (support/ssh-board.ts)
 * whose login shell hands the harness's `exec '<dir>/dmaheap-agent'` to a
 * script instead. The script runs the uploaded agent and passes its replies
 * through until the Nth, then misbehaves as /tmp/hostile-mode on the board
 * says ("<behaviour> <N>", written by the test before each run). The
 * harness is not told: it uploads, starts and talks to the board as to any.
 */

/** What the script can do to the Nth reply, and what the host must say about it. */
export const HOSTILE_BEHAVIOURS = {
  /** bytes without end, never a newline */
  endless: /line longer than 8 MiB \(the cap on one reply line\)/,
  /** one 10 MB line */
  'long-line': /line longer than 8 MiB \(the cap on one reply line\): x{100}/,
  /** a line that is not JSON in place of the reply */
  garbage: /that is not JSON: this is not JSON \{/,
  /** the reply with another id */
  'wrong-id': /with id 999999 \(one reply too many or too few\)/,
  /** the reply, then the same line again */
  surplus: /(sent a line no request waits for|one reply too many or too few)/,
  /** the reply's first number field as a string (or log_mark's taint as a number) */
  'wrong-type': /a bad \w+ result \(\w+: /,
  /** the reply's first number field (or log_mark's taint) as 1e999: Infinity to JSON.parse */
  'huge-number': /a bad \w+ result \(\w+: /,
  /** the reply without its first number field (or log_mark without its taint) */
  'missing-field': /a bad \w+ result \(\w+: /,
  /** no reply, ever */
  hang: /no answer within 8000 ms/,
} as const
export type HostileBehaviour = keyof typeof HOSTILE_BEHAVIOURS

/** root's login shell: everything but the agent goes to busybox sh. */
const SHELL = `#!/bin/busybox sh
if [ "$1" = -c ]; then
  case "$2" in
    "exec '/"*"/dmaheap-agent'")
      agent=\${2#exec \\'}
      exec /bin/hostile-agent "\${agent%\\'}" ;;
  esac
fi
exec /bin/sh "$@"
`

// The reply's first field after "ok":true, when it is a number: the one the
// type, number and missing-field behaviours spoil (every such field is
// required, and a string such as "x7" fits no field, u64s included); else
// a log_mark's taint (a decimal string).
const FIRST_NUMBER = `^\\({"id":[0-9]*,"ok":true\\),"\\([a-z_]*\\)":\\([0-9][0-9]*\\)`
/** log_mark's last field, in every case (twice): what they spoil when no number comes first. */
const TAINTED = `,"tainted":"\\([0-9]*\\)"}$`

const AGENT = `#!/bin/busybox sh
agent="$1"
set -- $(cat /tmp/hostile-mode 2>/dev/null)
mode=\${1:-honest}
after=\${2:-1000000000}
"$agent" | {
  n=0
  done=
  while IFS= read -r line; do
    n=$((n + 1))
    if [ -n "$done" ] || [ "$n" -lt "$after" ]; then
      printf '%s\\n' "$line"
      continue
    fi
    done=1
    case "$mode" in
      endless) exec yes x | tr -d '\\n' ;;
      long-line) head -c 10000000 /dev/zero | tr '\\000' x; printf '\\n' ;;
      garbage) printf 'this is not JSON {\\n' ;;
      wrong-id) printf '%s\\n' "$line" | sed 's/^{"id":[0-9]*/{"id":999999/' ;;
      surplus) printf '%s\\n%s\\n' "$line" "$line" ;;
      hang) exec sleep 100000 ;;
      wrong-type|huge-number|missing-field)
        if printf '%s\\n' "$line" | grep -q '${FIRST_NUMBER}'; then
          case "$mode" in
            wrong-type) printf '%s\\n' "$line" | sed 's/${FIRST_NUMBER}/\\1,"\\2":"x\\3"/' ;;
            huge-number) printf '%s\\n' "$line" | sed 's/${FIRST_NUMBER}/\\1,"\\2":1e999/' ;;
            missing-field) printf '%s\\n' "$line" | sed 's/${FIRST_NUMBER}/\\1/' ;;
          esac
        elif printf '%s\\n' "$line" | grep -q '${TAINTED}'; then
          case "$mode" in
            wrong-type) printf '%s\\n' "$line" | sed 's/${TAINTED}/,"tainted":\\1}/' ;;
            huge-number) printf '%s\\n' "$line" | sed 's/${TAINTED}/,"tainted":1e999}/' ;;
            missing-field) printf '%s\\n' "$line" | sed 's/${TAINTED}/}/' ;;
          esac
        else
          done=
          printf '%s\\n' "$line"
        fi ;;
      *) printf '%s\\n' "$line" ;;
    esac
  done
}
`

/** The files a board image needs to turn hostile, and its login shell. */
export const hostileBoardFiles = {
  shell: '/bin/hostile-sh',
  files: [
    { path: '/bin/hostile-sh', data: SHELL, mode: 0o755 },
    { path: '/bin/hostile-agent', data: AGENT, mode: 0o755 },
  ],
}
