// `npm run bench -- <name> [args…]` runs test/bench/<name>.ts, whose default export takes the remaining args.
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname } from 'node:path'

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
  .map((f) => f.slice(0, -3))
  .sort()
const [name, ...rest] = process.argv.slice(2)
if (!name || !available.includes(name)) {
  console.error(`bench: unknown benchmark ${JSON.stringify(name ?? '')}; accepted: ${available.join(', ')}`)
  process.exit(2)
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> }
await mod.default(rest)
