/**
 * A LAVA server's REST API (v0.2), as much as submitting a job, waiting for
 * it and reading its test cases takes. Every request carries the user's
 * token (`Authorization: Token T`); an error names the URL and what the
 * server said.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { InfraError, UsageError } from '../core/errors.js'

export interface LavaServer {
  /** the server's base URL, e.g. http://lava.example.org */
  url: string
  token?: string | undefined
}

/** One test case as GET /api/v0.2/jobs/N/tests/ lists it. */
export interface LavaTestRow {
  name: string
  result: string
  measurement?: string | number | null
  unit?: string | null
  /** a YAML text: definition, case, result, set (when in a set) */
  metadata?: string | null
  suite?: number | string
}

export interface LavaJobState {
  id: number
  state: string
  health: string
}

const base = (s: LavaServer) => s.url.replace(/\/+$/, '')

async function call(s: LavaServer, path: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const url = `${base(s)}${path}`
  let res: Response
  try {
    res = await fetch(url, {
      method: init.method ?? 'GET',
      headers: { ...(s.token ? { Authorization: `Token ${s.token}` } : {}), ...(init.body ? { 'Content-Type': 'application/json' } : {}), Accept: 'application/json' },
      ...(init.body ? { body: JSON.stringify(init.body) } : {}),
    })
  } catch (e) {
    throw new InfraError(`cannot reach the LAVA server at ${url}: ${(e as Error).cause instanceof Error ? ((e as Error).cause as Error).message : (e as Error).message}`, 'check --url')
  }
  const text = await res.text()
  if (res.status === 401 || res.status === 403) throw new UsageError(`the LAVA server refused ${url}: ${res.status} ${text.slice(0, 200)}`, 'pass --token with an API token of a user who may submit (lava-server manage tokens add)')
  if (!res.ok) throw new InfraError(`${init.method ?? 'GET'} ${url}: ${res.status} ${text.slice(0, 300)}`, 'check the job and the server')
  try {
    return JSON.parse(text)
  } catch {
    throw new InfraError(`${url} did not answer JSON: ${text.slice(0, 200)}`, 'pass the server\'s base URL to --url (without /api/...)')
  }
}

/** POST /api/v0.2/jobs/: the job's id (the first, for a MultiNode job's several). */
export async function submitJob(s: LavaServer, definition: string): Promise<number> {
  const r = (await call(s, '/api/v0.2/jobs/', { method: 'POST', body: { definition } })) as { job_ids?: number[]; job_id?: number }
  const id = r.job_ids?.[0] ?? r.job_id
  if (typeof id !== 'number') throw new InfraError(`the LAVA server accepted the job but named no job id: ${JSON.stringify(r).slice(0, 200)}`, 'check the server\'s version (REST API v0.2)')
  return id
}

export async function jobState(s: LavaServer, id: number): Promise<LavaJobState> {
  const r = (await call(s, `/api/v0.2/jobs/${id}/`)) as { id: number; state: string; health: string }
  return { id: r.id, state: r.state, health: r.health }
}

/** Polls until the job is Finished, or the timeout passes (an InfraError). */
export async function waitJob(s: LavaServer, id: number, timeoutMs: number, log: (m: string) => void, everyMs = 5000): Promise<LavaJobState> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    const st = await jobState(s, id)
    if (st.state !== last) log(`LAVA job ${id}: ${st.state}${st.state === 'Finished' ? ` (${st.health})` : ''}`)
    last = st.state
    if (st.state === 'Finished') return st
    if (Date.now() >= deadline) throw new InfraError(`LAVA job ${id} is still ${st.state} after ${Math.round(timeoutMs / 1000)} s`, `read it later: dmaheap lava results ${id} --url ${s.url}`)
    await sleep(everyMs)
  }
}

/** Every test case of a job, through the API's pages. */
export async function jobTests(s: LavaServer, id: number): Promise<LavaTestRow[]> {
  const rows: LavaTestRow[] = []
  let path: string | undefined = `/api/v0.2/jobs/${id}/tests/?limit=500`
  while (path) {
    const page = (await call(s, path)) as { results?: LavaTestRow[]; next?: string | null } | LavaTestRow[]
    if (Array.isArray(page)) return [...rows, ...page]
    rows.push(...(page.results ?? []))
    path = page.next ? page.next.replace(/^https?:\/\/[^/]+/, '') : undefined
  }
  return rows
}
