// The layers only point down (core <- runners <- targets <- suites <-
// reports <- cli), nothing in them imports the dev scripts (bench/) or the
// tests, and no module imports itself back through others. Read from the
// sources' import lines: a new upward import or cycle fails here.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import t from 'tap'
import { packageRoot } from '../../core/paths.js'

/** Each layer may import its own and those before it. */
const LAYERS = ['core', 'runners', 'targets', 'suites', 'reports', 'cli'] as const

function sources(dir: string): string[] {
  return readdirSync(join(packageRoot, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  )
}

/** The project files a module imports (relative specifiers, .js to .ts), type-only imports included: they are dependencies too. */
export function importsOf(file: string, text: string): string[] {
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)|(?:^|\n)\s*import\s+'(\.[^']+)'/g)].map((m) => m[1] ?? m[2] ?? m[3]!)
  return specs.map((s) => relative(packageRoot, resolve(packageRoot, dirname(file), s)).replace(/\.js$/, '.ts'))
}

const layerOf = (file: string) => LAYERS.indexOf(file.split('/')[0] as (typeof LAYERS)[number])
const files = LAYERS.flatMap((l) => sources(l))
const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(join(packageRoot, f), 'utf8'))]))

t.test('the import reader sees every form of import', async (t) => {
  const text = "import type { A } from '../core/a.js'\nimport { b,\n  c } from './b.js'\nexport { d } from './d.js'\nimport './side.js'\nconst e = await import('../suites/e.js')\nimport { z } from 'zod'"
  t.same(importsOf('reports/x.ts', text), ['core/a.ts', 'reports/b.ts', 'reports/d.ts', 'reports/side.ts', 'suites/e.ts'])
})

t.test('every import points to its own layer or one below', async (t) => {
  t.ok(files.length > 50, `${files.length} modules read`)
  const upward = [...graph].flatMap(([f, deps]) => deps.filter((d) => layerOf(d) < 0 || layerOf(d) > layerOf(f)).map((d) => `${f} -> ${d}`))
  t.same(upward, [], 'no upward import, none into bench/ or test/')
})

t.test('no import cycle', async (t) => {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const visit = (f: string, path: string[]) => {
    if (state.get(f) === 'done') return
    if (state.get(f) === 'open') {
      cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '))
      return
    }
    state.set(f, 'open')
    for (const d of graph.get(f) ?? []) visit(d, [...path, f])
    state.set(f, 'done')
  }
  for (const f of files) visit(f, [])
  t.same(cycles, [])
})
