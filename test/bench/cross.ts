// `npm run bench -- cross [php] [--ext a,b]`: the arm64 cross build against the x86_64 build of the same PHP version
// and extension set, both from scratch with the host executor, one after the other in one run (goal: arm64 at most
// 1.3× x86_64, whole build). Each build gets its own empty cache directory (only the verified source tarballs are
// shared, so no download is timed) and its own --out directory; both are removed afterwards. Prints each build's
// step times (from the build's own progress lines) and the ratios. Needs `scripts/setup-host.sh --arch arm64`.
// Takes two full compiles: 15–25 minutes on 2 cores. Run it on an otherwise idle machine.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BenchFailed, BenchUsageError, benchArgs } from './args.ts'
import { defaultCacheDir } from '../../builder/build.ts'

const root = join(import.meta.dirname, '..', '..')
const GOAL = 1.3

interface Timed {
  ms: number
  /** Step name (configure, make, smoke…) → seconds, from the build's `✓ <step> … (12.3s)` lines. */
  steps: Map<string, number>
}

function build(args: string[], cacheDir: string, label: string): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn('npm', ['run', '-s', 'build', '--', ...args], { cwd: root, env: { ...process.env, PHP_LAYER_CACHE: cacheDir }, stdio: ['ignore', 'ignore', 'pipe'] })
    const steps = new Map<string, number>()
    let pending = ''
    let lastError = ''
    child.stderr.on('data', (chunk: Buffer) => {
      const lines = (pending + chunk.toString('utf8')).split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        if (line.startsWith('error:')) lastError = line
        const m = /^✓ (\S+)(?: [^(]*)? \((\d+(?:\.\d+)?)(ms|s)\)/.exec(line)
        if (m) steps.set(m[1]!, (steps.get(m[1]!) ?? 0) + Number(m[2]) / (m[3] === 'ms' ? 1000 : 1))
        // Progress for whoever waits: the long steps as they finish.
        if (/^[✓✗] (configure|make|install|smoke)\b/.test(line)) process.stderr.write(`  ${label}: ${line}\n`)
      }
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) reject(new BenchFailed(`npm run build -- ${args.join(' ')} exited ${code}: ${lastError || 'see its output'}`))
      else resolve({ ms: performance.now() - t0, steps })
    })
  })
}

export default async function bench(args: string[]): Promise<void> {
  const extAt = args.indexOf('--ext')
  let ext: string | undefined
  if (extAt >= 0) {
    ext = args[extAt + 1]
    if (!ext || ext.startsWith('--')) throw new BenchUsageError('--ext needs a comma-separated list; accepted: [php version, default 8.2.32] [--ext a,b]')
    args = [...args.slice(0, extAt), ...args.slice(extAt + 2)]
  }
  const { positionals } = benchArgs('cross', args, {}, { max: 1, usage: '[php version, default 8.2.32] [--ext a,b]' })
  const php = positionals[0] ?? '8.2.32'
  const sharedSources = join(defaultCacheDir(root), 'sources')
  const work = mkdtempSync(join(tmpdir(), 'bench-cross-'))
  const results: Record<'x86_64' | 'arm64', Timed | undefined> = { x86_64: undefined, arm64: undefined }
  try {
    for (const arch of ['x86_64', 'arm64'] as const) {
      const cacheDir = join(work, `cache-${arch}`)
      mkdirSync(cacheDir, { recursive: true })
      if (existsSync(sharedSources)) symlinkSync(sharedSources, join(cacheDir, 'sources'))
      const buildArgs = ['--php', php, '--arch', arch, '--executor', 'host', '--out', join(work, `out-${arch}`), ...(ext ? ['--ext', ext] : [])]
      process.stderr.write(`… ${arch}: npm run build -- ${buildArgs.join(' ')} (empty cache)\n`)
      results[arch] = await build(buildArgs, cacheDir, arch)
      process.stderr.write(`✓ ${arch}: ${(results[arch]!.ms / 1000).toFixed(0)} s\n`)
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  const x = results.x86_64!
  const a = results.arm64!
  const names = [...new Set([...x.steps.keys(), ...a.steps.keys()])].filter((n) => (x.steps.get(n) ?? 0) + (a.steps.get(n) ?? 0) >= 1)
  console.log(`php ${php}, ${ext ? `--ext ${ext}` : 'default extensions'}, host executor, empty caches, one after the other`)
  console.log(`${'step'.padEnd(12)} ${'x86_64'.padStart(9)} ${'arm64'.padStart(9)} ${'ratio'.padStart(7)}`)
  for (const n of names) {
    const xs = x.steps.get(n) ?? 0
    const as = a.steps.get(n) ?? 0
    console.log(`${n.padEnd(12)} ${`${xs.toFixed(1)} s`.padStart(9)} ${`${as.toFixed(1)} s`.padStart(9)} ${(xs > 0 ? `${(as / xs).toFixed(2)}×` : '-').padStart(7)}`)
  }
  const ratio = a.ms / x.ms
  console.log(`${'whole build'.padEnd(12)} ${`${(x.ms / 1000).toFixed(1)} s`.padStart(9)} ${`${(a.ms / 1000).toFixed(1)} s`.padStart(9)} ${`${ratio.toFixed(2)}×`.padStart(7)} (goal ≤ ${GOAL}×)`)
  if (ratio > GOAL) process.exitCode = 1
}
