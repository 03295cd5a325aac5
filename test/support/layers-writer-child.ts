// Child process for layers-file.test.ts: `layers-writer-child.ts <layers.json> <layer name> <count>` records <count>
// regions of one layer, one update each, as a publish run records the regions it finishes.
import { LayersFileWriter, withRegionEntry } from '../../builder/publish/layers-file.ts'

const [path, layer, count] = process.argv.slice(2)
if (!path || !layer || !count) throw new Error('usage: layers-writer-child.ts <layers.json> <layer name> <count>')
const writer = new LayersFileWriter(path)
for (let i = 1; i <= Number(count); i++) {
  const region = `xx-test-${i}`
  await writer.update((f) => withRegionEntry(f, { name: layer, php: '8.3', arch: 'x86_64' }, region, {
    arn: `arn:aws:lambda:${region}:123456789012:layer:${layer}:1`,
    version: 1,
    php: '8.3.14',
    buildId: 'test',
    codeSha256: 'AAAA',
    zipBytes: 1,
    unzippedBytes: 1,
    publishedAt: '2026-01-01T00:00:00.000+0000',
  }))
}
