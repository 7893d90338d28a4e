#!/usr/bin/env node
// The CLI is compiled TypeScript: `npm run build` writes dist/.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const main = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(fileURLToPath(main))) {
  console.error('dmaheap: not built yet; run `npm run build` in the repository first')
  process.exit(2)
}
await import(main.href)
