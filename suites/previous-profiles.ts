/**
 * profiles.json, the heap profiles a run leaves in its output folder, and
 * loading a previous run's to compare capacity with (--previous DIR).
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { UsageError } from '../core/errors.js'
import type { HeapProfile, ProfilesFile } from './heap-profile.js'

export const PROFILES_FILE = 'profiles.json'

export async function writeProfiles(outputDir: string, file: ProfilesFile): Promise<void> {
  await writeFile(join(outputDir, PROFILES_FILE), JSON.stringify(file, null, 2) + '\n')
}

/** A previous run's profiles, from its output folder or its profiles.json. */
export function readPreviousProfiles(path: string): ProfilesFile {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, PROFILES_FILE) : path
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message
    throw new UsageError(`--previous ${path}: cannot read ${file} (${why})`, 'give the output folder of a run that ran the properties suite')
  }
  const p = parsed as Partial<ProfilesFile>
  if (typeof p.target !== 'string' || typeof p.kernel !== 'string' || typeof p.profiles !== 'object' || p.profiles === null) {
    throw new UsageError(`--previous ${path}: ${file} is not a profiles file`, 'give the output folder of a run that ran the properties suite')
  }
  return p as ProfilesFile
}

/** The previous profiles when they describe the same target and kernel; otherwise why not. */
export function comparableProfiles(previous: ProfilesFile, target: string, kernel: string): Record<string, HeapProfile> | string {
  if (previous.target !== target || previous.kernel !== kernel) {
    return `the previous run was on ${previous.target} with Linux ${previous.kernel}, this one on ${target} with Linux ${kernel}: capacity not compared`
  }
  return previous.profiles
}
