// `npm run bench -- <name> [args…]` runs test/bench/<name>.ts, whose default export takes the remaining args.
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname } from 'node:path'
import { BenchUsageError } from './args.ts'

const here = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'args.ts')
  .map((f) => f.slice(0, -3))
  .sort()
const [name, ...rest] = process.argv.slice(2)
if (!name || !available.includes(name)) {
  console.error(`bench: unknown benchmark ${JSON.stringify(name ?? '')}; accepted: ${available.join(', ')}`)
  process.exit(2)
}
const mod = (await import(`./${name}.ts`)) as { default: (args: string[]) => Promise<void> }
try {
  await mod.default(rest)
} catch (e) {
  // One line, no stack: a bad flag is exit 2 (as the factory's own commands), a failed measurement exit 1.
  console.error(`bench ${name}: ${(e as Error).message.split('\n')[0]}`)
  process.exitCode = e instanceof BenchUsageError ? 2 : 1
}
