/** run.json: the run's facts beside results.jsonl, written whole or not at all. */
import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunRecord } from '../core/run-record.js'
import { RUN_FILE } from './run-data.js'

/** A full disk leaves no half run.json: it is written aside, then renamed into place. */
export async function writeRunRecord(outputDir: string, record: RunRecord): Promise<void> {
  const partial = join(outputDir, `${RUN_FILE}.partial`)
  try {
    await writeFile(partial, JSON.stringify(record, null, 2) + '\n')
    await rename(partial, join(outputDir, RUN_FILE))
  } catch (e) {
    await rm(partial, { force: true })
    throw e
  }
}
