// `npm run bench -- build`: how long the build command takes when there is nothing to do.
//   - `--dry-run --json` (planning only; goal: under 2 s including npm and Node start-up)
//   - a repeated build of unchanged inputs (goal: under 10 s; nothing recompiled, same zip)
//   - with a Docker engine: a repeated docker-executor build with a warm Docker cache (goal: under 60 s), reduced
//     extension set, in $PHP_LAYER_BUILD_IMAGE (default debian, the offline image)
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

  const first = timeRun(['--php', php, '--arch', 'x86_64', '--executor', 'host', '--json'])
  if (first.code !== 0) throw new Error(`build failed (exit ${first.code})`)
  const again = timeRun(['--php', php, '--arch', 'x86_64', '--executor', 'host', '--json'])
  const same = (JSON.parse(first.stdout) as { sha256: string }).sha256 === (JSON.parse(again.stdout) as { sha256: string }).sha256
  console.log(`unchanged rebuild: ${(again.ms / 1000).toFixed(1)} s, same zip: ${same} (goal < 10 s)`)
  console.log(`ratio dry-run / unchanged rebuild: ${(median(dry) / again.ms).toFixed(3)}`)

  const engine = spawnSync('npm', ['run', '-s', 'engine', '--', '--host'], { cwd: root, encoding: 'utf8' })
  if (engine.status !== 0) {
    console.log('docker warm rebuild: not measured (no Docker engine answers; sudo scripts/docker-engine.sh start)')
    return
  }
  const dockerArgs = ['--php', php, '--arch', 'x86_64', '--ext', 'ctype,opcache', '--executor', 'docker', '--build-image', process.env.PHP_LAYER_BUILD_IMAGE ?? 'debian', '--out', join(root, '.cache', 'bench-docker'), '--json']
  const warmup = timeRun(dockerArgs)
  if (warmup.code !== 0) throw new Error(`docker build failed (exit ${warmup.code})`)
  const warm = timeRun(dockerArgs)
  if (warm.code !== 0) throw new Error(`docker rebuild failed (exit ${warm.code})`)
  const sameDocker = (JSON.parse(warmup.stdout) as { sha256: string }).sha256 === (JSON.parse(warm.stdout) as { sha256: string }).sha256
  console.log(`docker warm rebuild: ${(warm.ms / 1000).toFixed(1)} s, same zip: ${sameDocker} (goal < 60 s)`)
  if (warm.ms > 60_000) process.exitCode = 1
}
