// Zips over the 50 MiB direct-upload limit go through an S3 bucket in the layer's region.
import t from 'tap'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { publish, type PublishInput } from '../../builder/publish/publisher.ts'
import { LambdaEmulator } from '../support/lambda-emulator.ts'
import { emulatorClients, FAST_RETRY, makeLayerZip, repoConfig, tempDir } from '../support/publish-fixtures.ts'

const emu = await LambdaEmulator.start({ buckets: { 'layers-eu-west-1': 'eu-west-1', 'layers-us-east-1': 'us-east-1' } })
const dir = await tempDir()
t.teardown(async () => {
  await emu.close()
  await rm(dir, { recursive: true, force: true })
})
const run = (zipPath: string, regions: string, more: Partial<PublishInput> = {}) =>
  publish({ zipPath, regions, versions: repoConfig().versions, layersFile: join(dir, 'layers.json'), clients: emulatorClients(emu.endpoint), retry: FAST_RETRY, ...more })

// 51 MiB of incompressible payload, stored: over the limit once base64-encoded into the JSON body.
const big = await makeLayerZip({ dir, payloadBytes: 51 * 1024 * 1024, variant: 'big' })
const size = big.manifest.zip.bytes

t.test('no bucket configured: one clear error before anything is sent', async (t) => {
  await t.rejects(run(big.zipPath, 'eu-west-1'), {
    name: 'UsageError',
    message: /the zip is 51\.0 MiB, over Lambda's 50 MiB direct-upload limit, and no S3 bucket is configured/,
    hint: /--s3-bucket NAME \(or set PHP_LAYERS_S3_BUCKET\)/,
  })
  await t.rejects(run(big.zipPath, 'eu-west-1,us-east-1', { s3Bucket: 'one-bucket' }), { name: 'UsageError', message: /names one bucket for 2 regions/ })
  t.equal(emu.stats.requests, 0)
})

t.test('published from S3 in each region; a rerun uploads nothing', async (t) => {
  emu.resetStats()
  const report = await run(big.zipPath, 'eu-west-1,us-east-1', { s3Bucket: 'layers-{region}' })
  t.equal(report.failed, 0, report.regions.map((r) => r.error ?? '').join(' '))
  t.equal(report.viaS3, true)
  t.same(report.regions.map((r) => r.status), ['published', 'published'])
  for (const region of ['eu-west-1', 'us-east-1']) {
    const [v] = emu.layerVersions(region, 'php-83')
    t.equal(v?.codeSize, size, `${region}: layer holds the whole zip`)
    t.equal(v?.codeSha256, big.manifest.zip.codeSha256)
    t.equal(emu.s3Object(`layers-${region}`, `php-lambda-layers/php-83/${big.manifest.zip.sha256}.zip`)?.length, size)
  }
  t.equal(emu.stats.byOperation['S3:PUT'], 2)
  t.equal(emu.stats.uploadedZipBytes, 2 * size)
  t.ok(emu.stats.bytesReceived < 2 * size + 10_000, 'PublishLayerVersion carried a reference, not the zip')

  emu.resetStats()
  const again = await run(big.zipPath, 'eu-west-1,us-east-1', { s3Bucket: 'layers-{region}' })
  t.same(again.regions.map((r) => r.status), ['reused', 'reused'])
  t.equal(emu.stats.uploadedZipBytes, 0)
  t.equal(emu.stats.byOperation['S3:PUT'], undefined)
})

t.test('an interrupted S3 publish resumes without uploading again', async (t) => {
  const other = await makeLayerZip({ dir, payloadBytes: 51 * 1024 * 1024, variant: 'resume', php: '8.3.15' })
  emu.setFaults({ rate: 1, kinds: ['server-error'], operations: ['PublishLayerVersion'] })
  const failed = await run(other.zipPath, 'eu-west-1', { s3Bucket: 'layers-{region}', retry: { ...FAST_RETRY, regionAttempts: 1 } })
  t.equal(failed.failed, 1)
  t.equal(failed.regions[0]?.uploadedBytes, other.manifest.zip.bytes, 'the object made it to S3')
  emu.setFaults(undefined)
  emu.resetStats()
  const resumed = await run(other.zipPath, 'eu-west-1', { s3Bucket: 'layers-{region}' })
  t.same([resumed.regions[0]?.status, resumed.regions[0]?.version, resumed.uploadedBytes], ['published', 2, 0])
  t.equal(emu.stats.uploadedZipBytes, 0)
  t.equal(emu.stats.byOperation['S3:HEAD'], 1)
})

t.test('a region without its bucket fails alone, with S3 error in the report', async (t) => {
  const report = await run(big.zipPath, 'us-east-1,ap-south-1', { s3Bucket: 'layers-{region}' })
  t.same(report.regions.map((r) => r.status), ['reused', 'failed'])
  t.match(report.regions[1]?.error, /NoSuchBucket/)
})
