// Add-on layers end to end, on the default layer (built once per run by ensureLayer): `--addon` builds the base
// (cached), compiles the extension against that very build, assembles an add-on zip holding only what the base
// lacks, and smoke-tests it stacked on the base (the base's own checks and probes too). apcu is the small one, intl
// the one the default layer leaves out for its size (ICU, bundled in the add-on's lib/); the two build side by side
// once the base is there. The smoke CLI refuses an add-on alone and one stacked on another base build. The default
// layer itself builds pdo_pgsql from recipes/ext after the core (test/e2e/layer.test.ts). gd, redis and
// `--ext default,apcu` are test/matrix/addons.test.ts (npm run test:matrix): CI's budget holds one add-on axis.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { writeZip } from '../../builder/assemble/zip.ts'
import { addon, startAddons } from '../support/addons.ts'
import { npmRunAsync } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'

startAddons(['apcu', 'intl'])

t.test('apcu: one extension and its ini, nothing of the base, smoke-tested stacked', async (t) => {
  const base = await ensureLayer(DEFAULT_LAYER)
  const a = await addon('apcu')
  t.equal(a.layerName, 'php-82-apcu')
  t.equal(a.php, '8.2.32')
  t.same(a.smoke, { passed: true, checks: a.smoke?.checks }, 'smoke passed stacked on the base')
  t.ok((a.smoke?.checks ?? 0) > base.result.smoke!.checks, 'the base\'s own checks ran too, plus the add-on\'s probe')
  t.equal(a.addon.base.buildId, base.result.buildId, 'built against exactly this base layer')
  t.match(a.addon.base.phpApi, /^2022\d{4}$/)
  const paths = (await readZip(readFileSync(a.zip))).map((e) => e.path).sort()
  t.same(paths, ['php/addons/apcu.json', 'php/etc/conf.d/40-apcu.ini', 'php/extensions/apcu.so'])
  const ini = (await readZip(readFileSync(a.zip))).find((e) => e.path === 'php/etc/conf.d/40-apcu.ini')!.data.toString()
  t.match(ini, /^extension=apcu$/m)
})

t.test('intl: the add-on brings ICU, which the base layer lacks; stacked, locale data beyond English works', async (t) => {
  const base = await ensureLayer(DEFAULT_LAYER)
  const a = await addon('intl')
  t.equal(a.smoke?.passed, true, 'the probe (German numbers, French dates, Swedish collation, transliteration) passed stacked on the base')
  t.same(a.addon.extensions, [{ name: 'intl', version: '8.2.32' }])
  t.ok(a.libraries.some((l) => /^libicudata\.so/.test(l)), `ICU data bundled: ${a.libraries.join(', ')}`)
  t.notOk(base.result.libraries.some((l) => l.startsWith('libicu')), 'the base layer carries no ICU')
  const ini = (await readZip(readFileSync(a.zip))).find((e) => e.path === 'php/etc/conf.d/40-intl.ini')!.data.toString()
  t.match(ini, /^extension=intl$/m, 'on as soon as the layer is added')
})

t.test('a base layer plus its add-ons stays far below Lambda\'s 250 MB', async (t) => {
  const base = await ensureLayer(DEFAULT_LAYER)
  const all = await Promise.all(['apcu', 'intl'].map((n) => addon(n)))
  const total = base.result.unzippedBytes + all.reduce((n, a) => n + a.unzippedBytes, 0)
  t.ok(total < 150_000_000, `base + ${all.map((a) => a.layerName).join(' + ')} unzip to ${(total / 1e6).toFixed(1)} MB (limit 250 MB, function code included)`)
})

t.test('the smoke CLI: an add-on alone, or on another base build, is one line and exit 7', async (t) => {
  const base = await ensureLayer(DEFAULT_LAYER)
  const a = await addon('apcu')
  const alone = await npmRunAsync('smoke', [a.zip])
  t.equal(alone.code, 7)
  t.match(alone.stderr.trim(), /^error: php-82-apcu-8\.2\.32-x86_64\.zip is an add-on layer \(apcu\); it runs only on its base layer php-82-8\.2\.32-x86_64 → Give the base layer too: npm run smoke -- .* --base php-82-8\.2\.32-x86_64\.zip$/)

  // The same base with another build id in its manifest: not the build the add-on was compiled against.
  const dir = mkdtempSync(join(tmpdir(), 'addon-base-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const entries = (await readZip(readFileSync(base.result.zip))).map((e) => {
    if (e.path !== 'php/manifest.json') return { path: e.path, mode: e.mode, data: e.data }
    const m = JSON.parse(e.data.toString()) as { buildId: string }
    return { path: e.path, mode: e.mode, data: Buffer.from(JSON.stringify({ ...m, buildId: 'f'.repeat(32) })) }
  })
  const other = join(dir, 'php-82-other.zip')
  await writeZip(entries, other)
  const mismatch = await npmRunAsync('smoke', [a.zip, '--base', other])
  t.equal(mismatch.code, 7)
  t.match(mismatch.stderr.trim(), /^error: php-82-apcu-8\.2\.32-x86_64\.zip was built against php-82-8\.2\.32-x86_64 \(build [0-9a-f]{12}…\); php-82-other\.zip is build ffffffffffff… → /)

  const stacked = await npmRunAsync('smoke', [a.zip, '--base', base.result.zip])
  t.equal(stacked.code, 0, stacked.stderr.split('\n').filter((l) => l.startsWith('✗')).join('\n'))
  t.match(stacked.stderr, /✓ probe apcu/)
})
