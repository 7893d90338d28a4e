/**
 * Loads a YAML description (a board, a target's expectations) and validates
 * it against a schema. Every problem is one line naming the file, the field
 * and what to write instead, e.g.
 *   boards/rock5b.yaml: heaps.reserved.align: "1 MB" is not a size; write e.g. 4096, 1MiB or 64M
 */
import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { UsageError } from './errors.js'

function fieldPath(path: readonly PropertyKey[]): string {
  return path.length ? path.map(String).join('.') : '(top level)'
}

/** zod's issue, phrased for a person editing the file. */
function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against the README`
    case 'invalid_type':
      if (/received undefined$/.test(issue.message)) return `required field missing (expected ${issue.expected})`
      return issue.message.startsWith('Invalid input') ? `expected ${issue.expected}` : issue.message
    default:
      return issue.message
  }
}

export function parseDescription<S extends z.ZodType>(file: string, text: string, schema: S): z.output<S> {
  const doc = parseDocument(text)
  if (doc.errors.length) {
    const e = doc.errors[0]!
    const where = e.linePos?.[0] ? `line ${e.linePos[0].line}` : 'YAML'
    throw new UsageError(`${file}: ${where}: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, 'fix the YAML syntax')
  }
  const parsed = schema.safeParse(doc.toJS() ?? {})
  if (!parsed.success) {
    // A misspelt field explains the missing one it was meant to be: name it first.
    const issues = [...parsed.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'))
    const issue = issues[0]!
    const more = parsed.error.issues.length > 1 ? ` (and ${parsed.error.issues.length - 1} more)` : ''
    throw new UsageError(`${file}: ${fieldPath(issue.path)}: ${describeIssue(issue)}${more}`, 'correct the field and run again')
  }
  return parsed.data
}

export function loadDescription<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'give the path of an existing YAML file')
  }
  return parseDescription(file, text, schema)
}
