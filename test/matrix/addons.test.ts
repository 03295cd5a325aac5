// Part of `npm run test:matrix`: the add-ons CI's budget leaves out (test/e2e/addons.test.ts builds apcu and intl),
// on the default layer: gd (image libraries the add-on bundles), redis (igbinary built into the same layer first,
// a probe against a real Redis server) and recipes/ext extensions built into the base layer (`--ext default,apcu`).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { isElf, readElf } from '../../builder/artifact/elf.ts'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { addon, startAddons } from '../support/addons.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'

startAddons(['gd', 'redis', 'apcu', 'intl'])

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

