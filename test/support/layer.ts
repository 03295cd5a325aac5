// ensureLayer(): the one way an end-to-end test gets a built layer.
//
// Contract (other suites rely on it; keep it stable):
//   const { run, result, outDir } = await ensureLayer({ php: '8.2.32', arch: 'x86_64', ext: ['mbstring'], executor: 'host' })
// - Runs the README's command, `npm run build -- --php P --arch A [--ext a,b] [--executor E] --out <dir> --json`,
//   with the build cache the tests use (PHP_LAYER_CACHE, else .cache/), at most ONCE per test run for the same
//   options; every later call in the same run (any test file, any tap worker) gets the saved outcome.
// - Safe when several tap workers ask at once: a lock directory serialises them, and the first one builds.
// - `result` is the parsed --json object; `run` the raw exit code/stdout/stderr/ms; `outDir` where the zip is.
// - A failed build is saved too and re-thrown (with its output) to every caller in the run, so one broken build
//   fails each dependent test once instead of being retried by every file.
// - A new test run (a new tap process) builds again; the factory's own caches (compile tree, assembly, smoke record)
//   make an unchanged rebuild take seconds.
// - `extraArgs` are appended as given (e.g. ['--no-smoke']); `env` adds environment variables for the build.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import lockfile from 'proper-lockfile'
import type { CliResult } from './cli.ts'
import { npmRunAsync, projectRoot } from './cli.ts'

export interface BuildJson {
  zip: string
  manifest: string
  sha256: string
  codeSha256: string
  zippedBytes: number
  unzippedBytes: number
  php: string
  arch: string
  layerName: string
  extensions: string[]
  libraries: string[]
  maxGlibc: string
  buildId: string
  smoke: { passed: boolean; checks: number } | null
}

export interface LayerRequest {
  php: string
  arch?: 'x86_64' | 'arm64'
  ext?: string[]
  executor?: string
  extraArgs?: string[]
  env?: Record<string, string>
}

export interface EnsuredLayer {
  run: CliResult
  result: BuildJson
  outDir: string
}

/** The layer the README builds and CI checks end to end: PHP 8.2.32 x86_64 with the default extensions. */
// --executor host: the suite's one full build stays on this machine's toolchain even where a Docker engine answers
// (the docker executor is tested with a reduced extension set in test/e2e/docker.test.ts).
export const DEFAULT_LAYER: LayerRequest = { php: '8.2.32', arch: 'x86_64', executor: 'host' }

/** The cache the tests build with (the same rule as the factory's defaultCacheDir). */
export function testCacheDir(): string {
  return process.env.PHP_LAYER_CACHE ? resolve(process.env.PHP_LAYER_CACHE) : join(projectRoot, '.cache')
}

/**
 * Identity of this test run: the tap runner is the parent of every test file it starts, so its pid plus its start
 * time (from /proc, so a reused pid does not match) is shared by all files of one run and by no other run.
 */
function runId(): string {
  let start = ''
  try {
    start = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? ''
  } catch {
    // not Linux: the pid alone
  }
  return `${process.ppid}:${start}`
}

interface Saved {
  runId: string
  args: string[]
  run: CliResult
}

export async function ensureLayer(req: LayerRequest = DEFAULT_LAYER): Promise<EnsuredLayer> {
  const arch = req.arch ?? 'x86_64'
  const key = createHash('sha256').update(JSON.stringify({ ...req, arch })).digest('hex').slice(0, 12)
  const dir = join(testCacheDir(), 'test-layers', `${req.php}-${arch}-${key}`)
  const outDir = join(dir, 'dist')
  mkdirSync(outDir, { recursive: true })
  const savedFile = join(dir, 'result.json')
  const id = runId()
  // A build takes minutes; the holder refreshes the lock every few seconds, so a killed holder's lock goes stale.
  const release = await lockfile.lock(dir, { stale: 30_000, update: 5_000, retries: { retries: 100_000, minTimeout: 500, maxTimeout: 2_000 } })
  let saved: Saved | undefined
  try {
    if (existsSync(savedFile)) {
      const s = JSON.parse(readFileSync(savedFile, 'utf8')) as Saved
      if (s.runId === id) saved = s
    }
    if (!saved) {
      const args = ['--php', req.php, '--arch', arch, ...(req.ext ? ['--ext', req.ext.join(',')] : []), ...(req.executor ? ['--executor', req.executor] : []), '--out', outDir, '--json', ...(req.extraArgs ?? [])]
      process.stderr.write(`# building test layer: npm run build -- ${args.join(' ')}\n`)
      // Asynchronously: the lock is kept fresh by a timer in this process, which a blocking spawnSync would starve
      // for the whole build, letting the lock go stale and another test file start the same build again.
      const run = await npmRunAsync('build', args, req.env ?? {})
      saved = { runId: id, args, run }
      writeFileSync(savedFile, JSON.stringify(saved, null, 2))
    }
  } finally {
    await release()
  }
  const { run } = saved
  if (run.code !== 0) throw new Error(`the test layer build failed (npm run build -- ${saved.args.join(' ')}; exit ${run.code}):\n${run.stderr.slice(-4000)}`)
  return { run, result: JSON.parse(run.stdout) as BuildJson, outDir }
}

/** Zips the tests have built into the test cache so far (for benchmarks that default to them), by test layer. */
export function builtTestLayerZips(): string[] {
  const dir = join(testCacheDir(), 'test-layers')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .sort()
    .map((d) => join(dir, d, 'dist'))
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.zip')).map((f) => join(d, f)))
}
