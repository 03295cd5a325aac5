// Bad input to publish fails once, before anything is published: no credentials, a layers file nowhere to be
// written, a lock that cannot be taken for reasons other than another publisher. And a region that fails still
// reports the version it found; a reply that is not JSON names the operation and the HTTP status.
import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { LayersFileWriter } from '../../builder/publish/layers-file.ts'
import { publish, type PublishInput } from '../../builder/publish/publisher.ts'
import { formatReport } from '../../builder/publish/report.ts'
import type { EmulatorOptions } from '../support/lambda-emulator.ts'
import { emulatorAndDir, emulatorClients, FAST_RETRY, makeLayerZip, repoConfig, tempDir } from '../support/publish-fixtures.ts'

const versions = repoConfig().versions
const three = 'eu-west-1,us-east-1,ap-south-1'

async function setup(t: Test, opts: EmulatorOptions = {}) {
  const { emu, dir } = await emulatorAndDir(t, opts)
  const z = await makeLayerZip({ dir })
  const run = (more: Partial<PublishInput> = {}) =>
    publish({ zipPath: z.zipPath, regions: three, versions, layersFile: join(dir, 'layers.json'), clients: emulatorClients(emu.endpoint), retry: FAST_RETRY, ...more })
  return { emu, dir, run }
}

t.test('a layers file in a missing directory fails before any version is created', async (t) => {
  const { emu, dir, run } = await setup(t)
  await t.rejects(run({ layersFile: join(dir, 'missing', 'dir', 'layers.json') }), {
    name: 'PublishError',
    message: /^--layers-file .*missing\/dir\/layers\.json: the directory .*missing\/dir does not exist; nothing was published$/,
  })
  t.equal(emu.stats.requests, 0, 'no call reached Lambda')
})

t.test('no usable credentials: one error before any region starts', async (t) => {
  const { emu, run } = await setup(t)
  const noCredentials = async () => {
    throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' })
  }
  await t.rejects(run({ clients: { lambda: { endpoint: emu.endpoint, credentials: noCredentials } } }), {
    name: 'PublishError',
    message: 'no usable AWS credentials: CredentialsProviderError: Could not load credentials from any providers',
  })
  t.equal(emu.stats.requests, 0, 'no region was tried')
})

t.test('a lock that cannot be taken for another reason than a holder fails at once', async (t) => {
  const dir = await tempDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // Waits up to a minute for a holder, as publishing does; a missing directory is not a holder.
  const writer = new LayersFileWriter(join(dir, 'gone', 'layers.json'), { retries: 60, minTimeout: 1000, maxTimeout: 1000 })
  const t0 = performance.now()
  await t.rejects(writer.update((f) => f), { name: 'PublishError', message: /^cannot lock .*gone\/layers\.json \(ENOENT\)$/ })
  const waited = performance.now() - t0
  t.ok(waited < 5000, `failed after ${Math.round(waited)} ms, not after the minute of retries meant for a holder`)
})

t.test('a failed region keeps the version it had found', async (t) => {
  const { emu, dir, run } = await setup(t)
  const older = await makeLayerZip({ dir, variant: 'older' })
  const first = await publish({ zipPath: older.zipPath, regions: 'eu-west-1', versions, layersFile: join(dir, 'layers.json'), clients: emulatorClients(emu.endpoint), retry: FAST_RETRY })
  t.equal(first.regions[0]?.version, 1)
  // From now on every PublishLayerVersion fails with a server fault; listing and reading still work.
  emu.setFaults({ rate: 1, kinds: ['server-error'], operations: ['PublishLayerVersion'] })
  const report = await run({ regions: 'eu-west-1', retry: { ...FAST_RETRY, regionAttempts: 2, sdkMaxAttempts: 1 } })
  const r = report.regions[0]!
  t.equal(r.status, 'failed')
  t.equal(r.previousVersion, 1, 'the version found before the failure is reported')
  t.equal(r.retryable, true, 'a 5xx is a failure a rerun may fix')
  t.match(formatReport(report), /eu-west-1\s+failed\s+\(1\)/)
})

t.test('a reply that is not JSON names the operation and the HTTP status', async (t) => {
  const server = createServer((_req, res) => {
    res.writeHead(404, { 'content-type': 'text/html' })
    res.end('<html><body>Not the Lambda API</body></html>')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => server.close(() => r())))
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const dir = await tempDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const z = await makeLayerZip({ dir })
  const report = await publish({ zipPath: z.zipPath, regions: 'eu-west-1', versions, layersFile: join(dir, 'layers.json'), clients: emulatorClients(endpoint), retry: FAST_RETRY })
  const r = report.regions[0]!
  t.equal(r.status, 'failed')
  t.match(r.error, /^UnexpectedReply: ListLayerVersions: the endpoint answered HTTP 404 \(text\/html\) with a body that is not JSON \(starting "<html><bod"\); check AWS_ENDPOINT_URL_LAMBDA/)
  t.equal(r.retryable, false, 'a 404 page will be the same next time')
  t.match(formatReport(report), /ListLayerVersions: the endpoint answered HTTP 404/)
})
