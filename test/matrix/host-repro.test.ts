// Part of `npm run test:matrix` (the CI budget holds one full compile): the default layer compiled again from
// scratch, in an empty cache, gives a byte-identical zip.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { npmRun } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'

const { result } = await ensureLayer(DEFAULT_LAYER)

t.test('a rebuild from scratch in an empty cache gives a byte-identical zip', async (t) => {
  const cache = mkdtempSync(join(tmpdir(), 'fresh-cache-'))
  const out = mkdtempSync(join(tmpdir(), 'fresh-dist-'))
  t.teardown(() => {
    rmSync(cache, { recursive: true, force: true })
    rmSync(out, { recursive: true, force: true })
  })
  const fresh = npmRun('build', ['--php', '8.2.32', '--arch', 'x86_64', '--executor', 'host', '--json', '--out', out], { PHP_LAYER_CACHE: cache })
  t.equal(fresh.code, 0, fresh.stderr.slice(-2000))
  t.match(fresh.stderr, /✓ make php 8\.2\.32 x86_64/, 'really compiled again')
  const r = JSON.parse(fresh.stdout) as { sha256: string; zip: string }
  t.equal(r.sha256, result.sha256, 'same sha256 as the first build')
  t.ok(readFileSync(r.zip).equals(readFileSync(result.zip)))
})
