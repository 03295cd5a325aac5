// The default layer stays within its size budget (versions.yaml layer.sizeBudget), and its manifest lists every
// file with its size, so growth shows in review.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { LAYER_MANIFEST_PATH, type ZipManifest } from '../../builder/artifact/manifest.ts'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { loadConfig } from '../../builder/config/load.ts'
import { projectRoot } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'

const { result } = await ensureLayer(DEFAULT_LAYER)
const budget = loadConfig({ root: projectRoot }).versions.layer.sizeBudget?.defaultUnzippedBytes

t.test('the default layer unzips within its budget', async (t) => {
  t.ok(budget, 'versions.yaml sets layer.sizeBudget.defaultUnzippedBytes')
  const m = JSON.parse(readFileSync(result.manifest, 'utf8')) as ZipManifest
  t.ok(m.unzippedBytes <= budget!, `${m.unzippedBytes} bytes unzipped, budget ${budget}`)
  t.comment(`default layer: ${(m.unzippedBytes / 1e6).toFixed(1)} MB unzipped of a ${(budget! / 1e6).toFixed(1)} MB budget`)
})

t.test('the manifest lists every other file of the zip with its size', async (t) => {
  const entries = (await readZip(result.zip)).filter((e) => !e.path.endsWith('/'))
  const inside = JSON.parse(entries.find((e) => e.path === LAYER_MANIFEST_PATH)!.data.toString('utf8')) as ZipManifest
  const listed = inside.files ?? []
  t.same(
    listed,
    entries.filter((e) => e.path !== LAYER_MANIFEST_PATH).map((e) => ({ path: e.path, bytes: e.data.length })).sort((a, b) => (a.path < b.path ? -1 : 1)),
  )
  t.equal(listed.reduce((n, f) => n + f.bytes, 0) + entries.find((e) => e.path === LAYER_MANIFEST_PATH)!.data.length, inside.unzippedBytes)
})
