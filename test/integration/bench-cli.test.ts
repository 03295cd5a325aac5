// The benchmarks fail loudly: a measured command that fails gives one line and a non-zero exit (never a median of
// failures), and a bad flag is one line with exit 2 naming what is accepted.
import t, { type Test } from 'tap'
import { npmRun } from '../support/cli.ts'

function oneLine(t: Test, args: string[], exit: number, message: RegExp): void {
  const r = npmRun('bench', args)
  t.equal(r.code, exit, `exit ${exit}`)
  const lines = r.stderr.trim().split('\n').filter(Boolean)
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`)
  t.match(lines[0] ?? '', message)
  t.notMatch(r.stdout, /median|goal/, 'no figures printed')
}

t.test('a build benchmark whose command fails reports the failure, not a median', async (t) => {
  oneLine(t, ['build', '7.4'], 1, /^bench build: npm run build -- --php 7\.4 --arch x86_64 --dry-run --json exited 2: error: --php 7\.4: no such PHP minor in versions\.yaml/)
})

t.test('bad benchmark flags are one line, exit 2', async (t) => {
  oneLine(t, ['runtime', '--n=abc'], 2, /^bench runtime: --n is "abc"; accepted: a positive whole number$/)
  oneLine(t, ['publish', '--bogus'], 2, /^bench publish: Unknown option '--bogus'.*; accepted: --regions <n> \(default 30\)/)
  oneLine(t, ['build', '8.2', 'extra'], 2, /^bench build: unexpected argument "extra"; accepted: \[php version, default 8\.2\.32\]/)
  oneLine(t, ['nosuch'], 2, /^bench: unknown benchmark "nosuch"; accepted: build, cold, cpu, cross, publish, runtime, size/)
})

t.test('the size, cold and cpu benchmarks refuse a zip that is not there, in one line', async (t) => {
  oneLine(t, ['size', '/nonexistent/layer.zip'], 1, /^bench size: \/nonexistent\/layer\.zip: no such file; accepted: paths to layer zips$/)
  oneLine(t, ['cross', '--ext'], 2, /^bench cross: --ext needs a comma-separated list; accepted: /)
  oneLine(t, ['cold', '--runs', '0'], 2, /^bench cold: --runs is "0"; accepted: a positive whole number$/)
  oneLine(t, ['cold', '--from-disk', '--fast'], 2, /^bench cold: Unknown option '--fast'.*; accepted: \[--from-disk\] \[layer\.zip …\], --runs <n> \(default 10\)$/)
  oneLine(t, ['cpu', '/nonexistent/layer.zip'], 2, /^bench cpu: \/nonexistent\/layer\.zip: no such file; accepted: paths to layer zips$/)
})
