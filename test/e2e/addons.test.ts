// Add-on layers end to end, on the default layer (built once per run by ensureLayer): `--addon` builds the base
// (cached), compiles the extension against that very build, assembles an add-on zip holding only what the base
// lacks, and smoke-tests it stacked on the base (the base's own checks and probes too). apcu is the small one,
// gd the one with libraries, redis the one whose probe talks to a real server, intl the one the default layer
// leaves out for its size (ICU); the four build side by side once the base is there. `--ext default,apcu` builds
// apcu into the base layer instead. The smoke CLI refuses an add-on alone and one stacked on another base build.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isElf, readElf } from '../../builder/artifact/elf.ts'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { writeZip } from '../../builder/assemble/zip.ts'
import { npmRunAsync } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'

interface AddonJson {
  zip: string
  layerName: string
  arch: string
  php: string
  unzippedBytes: number
  maxGlibc: string
  libraries: string[]
  addon: { name: string; extensions: Array<{ name: string; version: string }>; base: { buildId: string; artifact: string; phpApi: string } }
  base: { zip: string; layerName: string; buildId: string }
  smoke: { passed: boolean; checks: number } | null
}

const building = new Map<string, Promise<AddonJson>>()

/** The add-on's build, started once per file. */
function addon(name: string): Promise<AddonJson> {
  if (!building.has(name)) {
    building.set(name, (async () => {
      // The base first, under its own lock: an add-on build must not compile the default layer a second time.
      await ensureLayer(DEFAULT_LAYER)
      const { result } = await ensureLayer({ ...DEFAULT_LAYER, extraArgs: ['--addon', name] })
      return result as unknown as AddonJson
    })())
  }
  return building.get(name)!
}

// All four start as soon as the base layer is there and build side by side: much of an add-on build is
// single-threaded (phpize, configure, the smoke test), so on 2 cores they overlap instead of queueing. A failure
// surfaces in the test that awaits it.
for (const name of ['apcu', 'gd', 'redis', 'intl']) addon(name).catch(() => {})

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

t.test('gd: bundles only the image libraries neither the base image nor the base layer has; every ELF file fits the base', async (t) => {
  const base = await ensureLayer(DEFAULT_LAYER)
  const a = await addon('gd')
  t.equal(a.smoke?.passed, true)
  t.same(a.addon.extensions, [{ name: 'gd', version: '8.2.32' }])
  t.ok(a.libraries.some((l) => /^libwebp\.so/.test(l)), `libwebp bundled: ${a.libraries.join(', ')}`)
  for (const lib of a.libraries) t.notOk(base.result.libraries.includes(lib), `${lib} is not in the base layer already`)
  const entries = await readZip(readFileSync(a.zip))
  for (const e of entries.filter((x) => isElf(x.data))) t.equal(readElf(e.data).machine, 62, `${e.path} is x86-64`)
  t.notOk(entries.some((e) => e.path.startsWith('bin/') || e.path === 'bootstrap'), 'no binaries of the base')
  t.ok(Number(a.maxGlibc.split('.')[1]) <= 34, `max GLIBC_${a.maxGlibc}`)
})

t.test('redis: igbinary in the same layer, the probe talks to a Redis server on loopback', async (t) => {
  const a = await addon('redis')
  t.equal(a.smoke?.passed, true)
  t.same(a.addon.extensions.map((e) => e.name), ['igbinary', 'redis'])
  const paths = (await readZip(readFileSync(a.zip))).map((e) => e.path)
  t.ok(paths.includes('php/etc/conf.d/40-igbinary.ini') && paths.includes('php/etc/conf.d/41-redis.ini'), 'igbinary loads first')
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

t.test('--ext default,apcu builds apcu into the base layer itself: the same core compile, apcu on, its probe in the smoke test', async (t) => {
  const base = await ensureLayer(DEFAULT_LAYER)
  const { result: r, run } = await ensureLayer({ ...DEFAULT_LAYER, ext: ['default', 'apcu'] })
  t.equal(r.layerName, 'php-82')
  t.same(r.extensions, [...base.result.extensions, 'apcu'])
  t.match(run.stderr, /✓ compile php 8\.2\.32 x86_64: cached/, 'the core is the default layer\'s compile')
  t.match(run.stderr, /make apcu 5\.1\.24|compile apcu add-on .*: cached/)
  t.equal(r.smoke?.passed, true)
  t.ok((r.smoke?.checks ?? 0) > base.result.smoke!.checks, `the default layer's checks plus apcu's probe (${r.smoke?.checks} > ${base.result.smoke!.checks})`)
  const entries = await readZip(readFileSync(r.zip))
  const paths = new Set(entries.map((e) => e.path))
  const basePaths = (await readZip(readFileSync(base.result.zip))).map((e) => e.path)
  t.same(basePaths.filter((p) => !paths.has(p)), [], 'everything the default layer has')
  t.same([...paths].filter((p) => !basePaths.includes(p)).sort(), ['php/etc/conf.d/40-apcu.ini', 'php/extensions/apcu.so'], 'and apcu')
  t.match(entries.find((e) => e.path === 'php/etc/conf.d/40-apcu.ini')!.data.toString(), /^extension=apcu$/m)
  const m = JSON.parse(readFileSync(r.manifest, 'utf8')) as { modules: string[]; sources: Array<{ name: string }>; extensions: Array<{ name: string; probe?: unknown }> }
  t.ok(m.modules.includes('apcu'), 'php -m must list it')
  t.ok(m.extensions.find((e) => e.name === 'apcu')?.probe, 'with its probe')
  t.ok(m.sources.some((s) => s.name === 'apcu'), 'and its source recorded')
})

t.test('a base layer plus its add-ons stays far below Lambda\'s 250 MB', async (t) => {
  const base = await ensureLayer(DEFAULT_LAYER)
  const all = await Promise.all(['gd', 'redis', 'apcu', 'intl'].map((n) => addon(n)))
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
