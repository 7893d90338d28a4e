/**
 * Globs over case ids, heap and target names ("alloc.size.409*",
 * "zeroing.*", "alloc.size.{4095,4097}"): one matcher for every place a
 * user names cases (run --case/--skip, list, known-failures files), so a
 * pattern means the same thing everywhere.
 */
import picomatch from 'picomatch'

/** Ids contain dots and never slashes; a leading dot is not special. */
const OPTIONS: picomatch.PicomatchOptions = { dot: true }

/** True for a name that matches the glob. */
export function globMatcher(glob: string): (name: string) => boolean {
  const m = picomatch(glob, OPTIONS)
  // One argument only: picomatch's second (returnObject) would turn
  // arr.some(m)'s index into a truthy result object.
  return (name) => m(name)
}

/** True for a name any of the globs match (false for none). */
export function anyGlobMatcher(globs: readonly string[]): (name: string) => boolean {
  const ms = globs.map(globMatcher)
  return (name) => ms.some((m) => m(name))
}
