// `npm run bench -- build`: how long the build command takes when there is nothing to do.
//   - `--dry-run --json` (planning only; goal: under 2 s including npm and Node start-up)
//   - a repeated build of unchanged inputs (goal: under 10 s; nothing recompiled, same zip)
// The second figure needs a layer built once before (the first build compiles PHP for several minutes).
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..', '..')

function timeRun(args: string[]): { ms: number; code: number; stdout: string } {
  const t0 = performance.now()
  const r = spawnSync('npm', ['run', '-s', 'build', '--', ...args], { cwd: root, encoding: 'utf8' })
  return { ms: performance.now() - t0, code: r.status ?? 128, stdout: r.stdout }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export default async function bench(args: string[]): Promise<void> {
  const php = args[0] ?? '8.2.32'
  const dry: number[] = []
  for (let i = 0; i < 5; i++) dry.push(timeRun(['--php', php, '--arch', 'x86_64', '--dry-run', '--json']).ms)
  console.log(`dry-run --json: median ${(median(dry) / 1000).toFixed(2)} s over ${dry.length} runs (goal < 2 s)`)

  const first = timeRun(['--php', php, '--arch', 'x86_64', '--json'])
  if (first.code !== 0) throw new Error(`build failed (exit ${first.code})`)
  const again = timeRun(['--php', php, '--arch', 'x86_64', '--json'])
  const same = (JSON.parse(first.stdout) as { sha256: string }).sha256 === (JSON.parse(again.stdout) as { sha256: string }).sha256
  console.log(`unchanged rebuild: ${(again.ms / 1000).toFixed(1)} s, same zip: ${same} (goal < 10 s)`)
  console.log(`ratio dry-run / unchanged rebuild: ${(median(dry) / again.ms).toFixed(3)}`)
}
