// Bad input: one clear error line, a non-zero exit, and nothing written.
import t, { type Test } from 'tap'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { createLogger } from '../../builder/log.ts'
import { plan } from '../../builder/plan/plan.ts'
import { EXECUTOR_CAPABILITIES } from '../../builder/executors/index.ts'

import { createRunner } from '../../builder/run.ts'
import { fetchSource } from '../../builder/sources/fetch.ts'
import { debianMirror } from '../../builder/sources/mirrors.ts'
import { npmRun, projectRoot } from '../support/cli.ts'

/** The planner's view of an x86_64 machine with the registered executors. */
const env = { executors: EXECUTOR_CAPABILITIES, hostArch: 'x86_64' as const }

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p))

function expectRefusal(t: Test, args: string[], exit: number, message: RegExp, env: Record<string, string> = {}): void {
  const out = tmp('out-')
  const cache = join(tmp('cache-'), 'c')
  const r = npmRun('build', [...args, '--out', out], { PHP_LAYER_CACHE: cache, ...env })
  t.equal(r.code, exit, `exit ${exit} for ${args.join(' ')}`)
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))
  t.equal(lines.length, 1, 'exactly one error line')
  t.match(lines[0] ?? '', message)
  t.same(readdirSync(out), [], 'no zip or manifest written')
}

t.test('unknown PHP versions', async (t) => {
  expectRefusal(t, ['--php', '7.4'], 2, /^error: --php 7\.4: no such PHP minor in versions\.yaml; accepted: 8\.2, 8\.3, 8\.4, 8\.5/)
  expectRefusal(t, ['--php', '8.9'], 2, /^error: --php 8\.9: no such PHP minor/)
})

t.test('unknown architecture', async (t) => {
  expectRefusal(t, ['--php', '8.2', '--arch', 'mips'], 2, /^error: option '--arch <arch>' argument 'mips' is invalid\. Allowed choices are x86_64, arm64\./)
})

t.test('unknown extension', async (t) => {
  expectRefusal(t, ['--php', '8.2', '--ext', 'nosuch'], 2, /^error: --ext nosuch: unknown extension; accepted: bcmath,/)
})

t.test('an empty --ext is refused, not planned as a layer with only the runtime\'s needs', async (t) => {
  expectRefusal(t, ['--php', '8.2', '--ext', ''], 2, /^error: --ext is empty; accepted: a comma-separated list of bcmath, /)
})

t.test('a cross build without its sysroot is refused before anything is fetched', async (t) => {
  // The planner's refusals (an arch no registered executor builds here) are covered in test/unit/plan.test.ts; on
  // this machine every executor/arch pair is declared buildable, so what is left to refuse is a missing set-up: the
  // host executor's preflight checks the arm64 sysroot (here pointed at an empty directory) before any download.
  const cache = join(tmp('cache-'), 'c')
  expectRefusal(
    t,
    ['--php', '8.2.32', '--arch', 'arm64', '--executor', 'host'],
    5,
    /^error: no arm64 sysroot at \S*no-sysroot-\w+\/arm64 → Run scripts\/setup-host\.sh --arch arm64/,
    { PHP_LAYER_CACHE: cache, PHP_LAYER_CROSS_ROOT: tmp('no-sysroot-') },
  )
  t.notOk(existsSync(join(cache, 'sources')), 'nothing fetched')
})

t.test('a versions.yaml with a bad sha256', async (t) => {
  const dir = tmp('cfg-')
  const text = readFileSync(join(projectRoot, 'versions.yaml'), 'utf8').replace(/sha256: e02aa173c236\w+/, 'sha256: not-a-digest')
  writeFileSync(join(dir, 'versions.yaml'), text)
  expectRefusal(t, ['--php', '8.2.32', '--versions', join(dir, 'versions.yaml')], 3, /versions\.yaml:\d+: php\."8\.2"\.releases\[2\]\.sha256 must be 64 lowercase hex characters, got "not-a-digest"/)
})

t.test('a recipe with an unknown key', async (t) => {
  const dir = tmp('rec-')
  cpSync(join(projectRoot, 'recipes'), dir, { recursive: true })
  const file = join(dir, 'php.yaml')
  writeFileSync(file, readFileSync(file, 'utf8').replace('  zlib:\n', '  zlib:\n    colour: blue\n'))
  expectRefusal(t, ['--php', '8.2.32', '--recipes', dir], 3, /php\.yaml:\d+: unknown key "colour" at extensions\.zlib; accepted keys: module, flags/)
})

t.test('a tampered cached tarball', async (t) => {
  // Fill a private cache through the real Debian mirror, then corrupt the cached file.
  const cacheRoot = tmp('cache-')
  const config = loadConfig({ root: projectRoot })
  const p = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' }, env)
  const run = createRunner(createLogger({ quiet: true }))
  const got = await fetchSource(p.sources[0]!, { cacheDir: cacheRoot, keysDir: join(projectRoot, 'recipes', 'keys'), mirrors: [debianMirror(run)], run })
  appendFileSync(got.path, 'tampered')
  const out = tmp('out-')
  const r = npmRun('build', ['--php', '8.2.32', '--out', out], { PHP_LAYER_CACHE: cacheRoot })
  t.equal(r.code, 4, 'source error exit code')
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))
  t.equal(lines.length, 1)
  t.match(lines[0] ?? '', /^error: cached php-8\.2\.32\.tar\.xz: sha256 [0-9a-f]{64} does not match the pinned e02aa173\w+; the file was deleted/)
  t.notOk(existsSync(got.path), 'tampered file deleted')
  t.same(readdirSync(out), [])
})

t.test('--dry-run --json prints the plan and writes nothing', async (t) => {
  const out = join(tmp('out-'), 'dist')
  const cache = join(tmp('cache-'), 'c')
  const r = npmRun('build', ['--php', '8.2', '--arch', 'x86_64', '--dry-run', '--json', '--out', out], { PHP_LAYER_CACHE: cache })
  t.equal(r.code, 0)
  const p = JSON.parse(r.stdout) as { php: { version: string }; layerName: string; compileKey: string }
  t.equal(p.php.version, loadConfig({ root: projectRoot }).versions.php['8.2']!.releases[0]!.version)
  t.equal(p.layerName, 'php-82')
  t.match(p.compileKey, /^[0-9a-f]{64}$/)
  t.notOk(existsSync(out), 'no output directory')
  t.notOk(existsSync(cache), 'no cache directory')
})

t.test('--help lists the build flags', async (t) => {
  const r = npmRun('build', ['--help'])
  t.equal(r.code, 0)
  for (const flag of ['--php', '--arch', '--ext', '--executor', '--out', '--json', '--dry-run']) t.match(r.stdout, flag)
})
