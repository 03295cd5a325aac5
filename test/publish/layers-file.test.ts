// layers.json: merge, sort, validation, atomic writes, and reading it back (ARN lookup, README table).
import t from 'tap'
import { spawn } from 'node:child_process'
import lockfile from 'proper-lockfile'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findRegionEntry, parsePhpOption, renderArnTable, replaceTableSection, TABLE_END, TABLE_START } from '../../builder/publish/arn.ts'
import {
  emptyLayersFile,
  LayersFileWriter,
  parseLayersFile,
  readLayersFile,
  serializeLayersFile,
  withRegionEntry,
  type LayerRegionEntry,
  type LayersFile,
} from '../../builder/publish/layers-file.ts'
import { writeFileAtomic } from '../../builder/artifact/atomic.ts'
import { repoRoot, tempDir } from '../support/publish-fixtures.ts'

const entry = (region: string, version: number, php = '8.3.14'): LayerRegionEntry => ({
  arn: `arn:aws:lambda:${region}:123456789012:layer:php-83:${version}`,
  version,
  php,
  buildId: 'b'.repeat(64),
  codeSha256: 'c2hh',
  zipBytes: 1000,
  unzippedBytes: 3000,
  publishedAt: '2026-01-01T00:00:00.000+0000',
})
const php83 = { name: 'php-83', php: '8.3', arch: 'x86_64' as const }

t.test('the repository layers.json is valid', async (t) => {
  const file = parseLayersFile(await readFile(join(repoRoot, 'layers.json'), 'utf8'), 'layers.json')
  t.equal(file.schema, 1)
})

t.test('merging sets one region, keeps the rest, sorts everything', async (t) => {
  let f: LayersFile = emptyLayersFile()
  f = withRegionEntry(f, php83, 'us-east-1', entry('us-east-1', 1))
  f = withRegionEntry(f, { name: 'arm-php-82', php: '8.2', arch: 'arm64' }, 'eu-west-1', { ...entry('eu-west-1', 4), arn: 'arn:aws:lambda:eu-west-1:123456789012:layer:arm-php-82:4' })
  f = withRegionEntry(f, php83, 'eu-west-1', entry('eu-west-1', 2))
  f = withRegionEntry(f, php83, 'us-east-1', entry('us-east-1', 3, '8.3.15'))
  t.same(Object.keys(f.layers), ['arm-php-82', 'php-83'])
  t.same(Object.keys(f.layers['php-83']!.regions), ['eu-west-1', 'us-east-1'])
  t.equal(f.layers['php-83']!.regions['us-east-1']!.version, 3, 'replaced, not duplicated')
  const text = serializeLayersFile(f)
  t.same(parseLayersFile(text, 'x'), f, 'round trip')
  // Field order is fixed too, whatever order the input had.
  const shuffled = JSON.parse(text) as LayersFile
  const e = shuffled.layers['php-83']!.regions['eu-west-1']!
  shuffled.layers['php-83']!.regions['eu-west-1'] = Object.fromEntries(Object.entries(e).reverse()) as unknown as LayerRegionEntry
  t.equal(serializeLayersFile(shuffled), text)
})

t.test('invalid files are refused with the path of the problem', async (t) => {
  t.throws(() => parseLayersFile('{', 'layers.json'), { name: 'PublishError', message: /^layers\.json:1: JSON syntax error/ })
  t.throws(() => parseLayersFile('{"schema":2,"layers":{}}', 'layers.json'), /^layers\.json:1: schema is 2; accepted: 1$/)
  const bad = { schema: 1, layers: { 'php-83': { php: '8.3', arch: 'x86_64', regions: { 'eu-west-1': { ...entry('eu-west-1', 1), version: 0 } } } } }
  // Pretty-printed, as the file is written: the message carries the line of the bad value.
  t.throws(() => parseLayersFile(JSON.stringify(bad, null, 2), 'layers.json'), /^layers\.json:\d+: layers\.php-83\.regions\.eu-west-1\.version must be >= 1, got 0$/)
})

t.test('atomic writes and serialized updates', async (t) => {
  const dir = await tempDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'layers.json')
  t.same(await readLayersFile(path), emptyLayersFile(), 'a missing file reads as empty')
  const writer = new LayersFileWriter(path)
  // Forty regions finishing at once must all land: each update re-reads, merges and renames in turn.
  const regions = Array.from({ length: 40 }, (_, i) => `xx-test-${i + 1}`)
  await Promise.all(regions.map((r, i) => writer.update((f) => withRegionEntry(f, php83, r, entry('eu-west-1', i + 1)))))
  const f = await readLayersFile(path)
  t.equal(Object.keys(f.layers['php-83']!.regions).length, 40)
  t.same(await readdir(dir), ['layers.json'], 'no temp files left behind')
  // Another writer's change made meanwhile is merged, not overwritten.
  await writeFile(path, serializeLayersFile(withRegionEntry(f, { name: 'php-84', php: '8.4', arch: 'x86_64' }, 'eu-west-1', entry('eu-west-1', 1))))
  await writer.update((x) => withRegionEntry(x, php83, 'eu-west-1', entry('eu-west-1', 99)))
  const g = await readLayersFile(path)
  t.ok(g.layers['php-84'])
  t.equal(g.layers['php-83']!.regions['eu-west-1']!.version, 99)
  // A failed write (directory gone) rejects that update without wedging the next.
  const gone = new LayersFileWriter(join(dir, 'missing-dir', 'layers.json'))
  await t.rejects(gone.update((x) => withRegionEntry(x, php83, 'eu-west-1', entry('eu-west-1', 1))), { name: 'PublishError', message: /cannot lock .*missing-dir\/layers\.json \(ENOENT\)/ })
  await writeFileAtomic(path, '{"schema":1,"layers":{}}\n')
  t.equal(await readFile(path, 'utf8'), '{"schema":1,"layers":{}}\n')
})

t.test('two processes updating one file at once both land (the file is locked while each merges)', async (t) => {
  const dir = await tempDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'layers.json')
  const child = (layer: string): Promise<number | null> => new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/layers-writer-child.ts'), path, layer, '60'], { stdio: ['ignore', 'ignore', 'inherit'] })
    p.on('exit', resolve)
  })
  t.same(await Promise.all([child('php-83'), child('arm-php-83')]), [0, 0])
  const f = await readLayersFile(path)
  t.equal(Object.keys(f.layers['php-83']?.regions ?? {}).length, 60, 'every region of the first process')
  t.equal(Object.keys(f.layers['arm-php-83']?.regions ?? {}).length, 60, 'every region of the second process')
  t.same(await readdir(dir), ['layers.json'], 'no lock or temp files left behind')
})

t.test('a lock held by a live publisher for over the limit is one clear error', async (t) => {
  const dir = await tempDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'layers.json')
  // Held and kept fresh, as a running publisher would (the writer waits about a minute before giving up).
  const release = await lockfile.lock(path, { realpath: false, update: 1000 })
  t.teardown(() => release().catch(() => undefined))
  const writer = new LayersFileWriter(path, { retries: 2, minTimeout: 10, maxTimeout: 20 })
  await t.rejects(writer.update((x) => withRegionEntry(x, php83, 'eu-west-1', entry('eu-west-1', 1))), {
    name: 'PublishError',
    message: /layers\.json stayed locked by another publisher/,
  })
})

t.test('ARN lookup', async (t) => {
  let f = withRegionEntry(emptyLayersFile(), php83, 'eu-west-1', entry('eu-west-1', 7, '8.3.15'))
  f = withRegionEntry(f, php83, 'us-east-1', entry('us-east-1', 6))
  t.equal(findRegionEntry(f, { layerName: 'php-83', region: 'eu-west-1' }).arn, 'arn:aws:lambda:eu-west-1:123456789012:layer:php-83:7')
  t.equal(findRegionEntry(f, { layerName: 'php-83', region: 'eu-west-1', exactPhp: '8.3.15' }).version, 7)
  t.throws(() => findRegionEntry(f, { layerName: 'php-83', region: 'eu-west-1', exactPhp: '8.3.14' }), /holds PHP 8\.3\.15, not 8\.3\.14/)
  t.throws(() => findRegionEntry(f, { layerName: 'php-83', region: 'ap-south-1' }), /php-83 is not published in ap-south-1; it is in eu-west-1, us-east-1/)
  t.throws(() => findRegionEntry(f, { layerName: 'arm-php-83', region: 'eu-west-1' }), { name: 'UsageError', message: /no layer arm-php-83; published layers: php-83/ })
  t.same(parsePhpOption('8.3'), { minor: '8.3' })
  t.same(parsePhpOption('8.3.14'), { minor: '8.3', exact: '8.3.14' })
  t.throws(() => parsePhpOption('eight'), /--php is "eight"; accepted: a PHP minor like 8\.3/)
})

t.test('README table is generated from layers.json', async (t) => {
  let f = withRegionEntry(emptyLayersFile(), php83, 'us-east-1', entry('us-east-1', 2))
  f = withRegionEntry(f, php83, 'eu-west-1', entry('eu-west-1', 1))
  f = withRegionEntry(f, { name: 'arm-php-83', php: '8.3', arch: 'arm64' }, 'eu-west-1', { ...entry('eu-west-1', 5), arn: 'arn:aws:lambda:eu-west-1:123456789012:layer:arm-php-83:5' })
  f = withRegionEntry(f, { name: 'php-82', php: '8.2', arch: 'x86_64' }, 'eu-west-1', { ...entry('eu-west-1', 9, '8.2.30'), arn: 'arn:aws:lambda:eu-west-1:123456789012:layer:php-82:9' })
  const table = renderArnTable(f)
  const headings = [...table.matchAll(/^### (\S+)/gm)].map((m) => m[1])
  t.same(headings, ['php-82', 'php-83', 'arm-php-83'], 'PHP minor ascending, x86_64 before arm64')
  t.match(table, /\| eu-west-1 \| 8\.3\.14 \| 1 \| `arn:aws:lambda:eu-west-1:123456789012:layer:php-83:1` \|\n\| us-east-1 \| 8\.3\.14 \| 2 \|/)
  t.match(renderArnTable(emptyLayersFile()), /No layers are published yet/)

  const readme = `# Title\n\nIntro.\n\n${TABLE_START}\nold table\n${TABLE_END}\n\nAfter.\n`
  const updated = replaceTableSection(readme, table, 'README.md')
  t.match(updated, /^# Title\n\nIntro\.\n\n<!-- layers-arn-table:start -->\n_Generated/)
  t.match(updated, /`arn:aws:lambda:eu-west-1:123456789012:layer:arm-php-83:5` \|\n<!-- layers-arn-table:end -->\n\nAfter\.\n$/)
  t.notMatch(updated, /old table/)
  t.equal(replaceTableSection(updated, table, 'README.md'), updated, 'idempotent')
  t.throws(() => replaceTableSection('# no markers\n', table, 'README.md'), { name: 'UsageError', message: /README\.md has no \(or more than one\)/ })
})
