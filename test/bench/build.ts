// `npm run bench -- build [php]`: how long the build command takes when there is nothing to do.
//   - `--dry-run --json` (planning only; goal: under 2 s including npm and Node start-up)
//   - a repeated build of unchanged inputs into the same --out directory (goal: under 10 s; same zip)
//   - the same into a new --out directory (goal: under 10 s: the assembled zip and its smoke record are reused)
//   - with a Docker engine: a repeated docker-executor build with a warm Docker cache (goal: under 60 s), reduced
//     extension set, in $PHP_LAYER_BUILD_IMAGE (default debian, the offline image)
// The later figures need a layer built once before (the first build compiles PHP for several minutes). A run that
// fails is reported as one line and no figure: a median of failures is no measurement.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchFailed, benchArgs } from './args.ts'

const root = join(import.meta.dirname, '..', '..')

function timeRun(args: string[]): { ms: number; code: number; stdout: string } {
  const t0 = performance.now()
  const r = spawnSync('npm', ['run', '-s', 'build', '--', ...args], { cwd: root, encoding: 'utf8' })
  const code = r.status ?? 128
  if (code !== 0) {
    const error = r.stderr.split('\n').find((l) => l.startsWith('error:')) ?? r.stderr.trim().split('\n').pop() ?? ''
    throw new BenchFailed(`npm run build -- ${args.join(' ')} exited ${code}: ${error}`)
  }
  return { ms: performance.now() - t0, code, stdout: r.stdout }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export default async function bench(args: string[]): Promise<void> {
  const { positionals } = benchArgs('build', args, {}, { max: 1, usage: '[php version, default 8.2.32]' })
  const php = positionals[0] ?? '8.2.32'
  const dry: number[] = []
  for (let i = 0; i < 5; i++) dry.push(timeRun(['--php', php, '--arch', 'x86_64', '--dry-run', '--json']).ms)
  console.log(`dry-run --json: median ${(median(dry) / 1000).toFixed(2)} s over ${dry.length} runs (goal < 2 s)`)

  const sha = (r: { stdout: string }) => (JSON.parse(r.stdout) as { sha256: string }).sha256
  const first = timeRun(['--php', php, '--arch', 'x86_64', '--executor', 'host', '--json'])
  const again = timeRun(['--php', php, '--arch', 'x86_64', '--executor', 'host', '--json'])
  console.log(`unchanged rebuild: ${(again.ms / 1000).toFixed(1)} s, same zip: ${sha(first) === sha(again)} (goal < 10 s)`)
  const out = mkdtempSync(join(tmpdir(), 'bench-out-'))
  try {
    const elsewhere = timeRun(['--php', php, '--arch', 'x86_64', '--executor', 'host', '--json', '--out', out])
    console.log(`unchanged rebuild into a new --out directory: ${(elsewhere.ms / 1000).toFixed(1)} s, same zip: ${sha(first) === sha(elsewhere)} (goal < 10 s)`)
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
  console.log(`ratio dry-run / unchanged rebuild: ${(median(dry) / again.ms).toFixed(3)}`)

  const engine = spawnSync('npm', ['run', '-s', 'engine', '--', '--host'], { cwd: root, encoding: 'utf8' })
  if (engine.status !== 0) {
    console.log('docker warm rebuild: not measured (no Docker engine answers; sudo scripts/docker-engine.sh start)')
    return
  }
  const dockerArgs = ['--php', php, '--arch', 'x86_64', '--ext', 'ctype,opcache', '--executor', 'docker', '--build-image', process.env.PHP_LAYER_BUILD_IMAGE ?? 'debian', '--out', join(root, '.cache', 'bench-docker'), '--json']
  const warmup = timeRun(dockerArgs)
  const warm = timeRun(dockerArgs)
  const sameDocker = (JSON.parse(warmup.stdout) as { sha256: string }).sha256 === (JSON.parse(warm.stdout) as { sha256: string }).sha256
  console.log(`docker warm rebuild: ${(warm.ms / 1000).toFixed(1)} s, same zip: ${sameDocker} (goal < 60 s)`)
  if (warm.ms > 60_000) process.exitCode = 1
}
