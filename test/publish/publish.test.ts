// End to end against the emulator with the real SDK: idempotency, fault tolerance, a failing region, bad input,
// dry runs, half-finished earlier runs, new builds, and the concurrency cap.
import t, { type Test } from 'tap'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { AddLayerVersionPermissionCommand, LambdaClient, PublishLayerVersionCommand } from '@aws-sdk/client-lambda'
import { parseLayersFile } from '../../builder/publish/layers-file.ts'
import { isPublicPolicy, PUBLIC_STATEMENT_ID } from '../../builder/publish/policy.ts'
import { publish, type PublishInput } from '../../builder/publish/publisher.ts'
import { formatReport } from '../../builder/publish/report.ts'
import type { EmulatorOptions } from '../support/lambda-emulator.ts'
import { emulatorAndDir, emulatorClients, FAKE_CREDENTIALS, FAST_RETRY, makeLayerZip, repoConfig } from '../support/publish-fixtures.ts'

const versions = repoConfig().versions
const thirty = versions.regions.slice(0, 30).map((r) => r.name)

async function setup(t: Test, opts: EmulatorOptions = {}) {
  const { emu, dir } = await emulatorAndDir(t, opts)
  const layersFile = join(dir, 'layers.json')
  const run = (zipPath: string, regions: string, more: Partial<PublishInput> = {}) =>
    publish({ zipPath, regions, versions, layersFile, clients: emulatorClients(emu.endpoint), retry: FAST_RETRY, ...more })
  const publicIn = (region: string, layer: string, version: number) => {
    const v = emu.layerVersions(region, layer).find((x) => x.version === version)
    return v !== undefined && isPublicPolicy(JSON.stringify({ Statement: v.statements }))
  }
  return { emu, dir, layersFile, run, publicIn }
}

t.test('the same zip twice to 30 regions: the second run uploads 0 bytes and creates 0 versions', async (t) => {
  const { emu, dir, layersFile, run, publicIn } = await setup(t)
  const z = await makeLayerZip({ dir, payloadBytes: 64 * 1024 })
  const first = await run(z.zipPath, thirty.join(','))
  t.equal(first.failed, 0)
  t.same(new Set(first.regions.map((r) => r.status)), new Set(['published']))
  t.equal(emu.stats.versionsCreated, 30)
  t.equal(emu.stats.uploadedZipBytes, 30 * z.manifest.zip.bytes)
  for (const region of thirty) {
    t.equal(emu.layerVersions(region, 'php-83').length, 1, `${region}: one version`)
    t.ok(publicIn(region, 'php-83', 1), `${region}: public`)
  }
  const file1 = await readFile(layersFile, 'utf8')
  const parsed = parseLayersFile(file1, 'layers.json')
  t.same(Object.keys(parsed.layers['php-83']!.regions).sort(), [...thirty].sort())
  const eu = parsed.layers['php-83']!.regions['eu-west-1']!
  t.same(
    { php: eu.php, version: eu.version, codeSha256: eu.codeSha256, zipBytes: eu.zipBytes, buildId: eu.buildId },
    { php: '8.3.14', version: 1, codeSha256: z.manifest.zip.codeSha256, zipBytes: z.manifest.zip.bytes, buildId: z.manifest.buildId },
  )
  t.equal(eu.arn, 'arn:aws:lambda:eu-west-1:123456789012:layer:php-83:1')
  t.equal(parsed.layers['php-83']!.arch, 'x86_64')
  t.equal(parsed.layers['php-83']!.php, '8.3')

  emu.resetStats()
  const second = await run(z.zipPath, thirty.join(','))
  t.equal(second.failed, 0)
  t.same(new Set(second.regions.map((r) => r.status)), new Set(['reused']))
  t.equal(second.uploadedBytes, 0, 'publisher sent no zip bytes')
  t.equal(emu.stats.uploadedZipBytes, 0, 'emulator received no zip bytes')
  t.equal(emu.stats.bytesReceived, 0, 'no request carried a body at all')
  t.equal(emu.stats.versionsCreated, 0)
  t.equal(emu.stats.byOperation.PublishLayerVersion, undefined)
  t.equal(emu.stats.byOperation.AddLayerVersionPermission, undefined)
  t.equal(await readFile(layersFile, 'utf8'), file1, 'layers.json unchanged byte for byte')
  t.match(formatReport(second), /30 regions: 0 published, 30 reused, 0 failed; uploaded 0 B/)
})

t.test('30% of calls failing (429, 500, resets, lost responses): every region ends published exactly once and public', async (t) => {
  const { emu, dir, layersFile, run, publicIn } = await setup(t, { faults: { rate: 0.3, seed: 42 } })
  const z = await makeLayerZip({ dir, arch: 'arm64' })
  const retries: string[] = []
  const report = await run(z.zipPath, thirty.join(','), {
    onProgress: (e) => void (e.type === 'retry' && retries.push(`${e.region}: ${e.error}`)),
  })
  const faults = emu.stats.faults
  t.ok(faults.throttle > 0 && faults['server-error'] > 0 && faults.reset > 0 && faults['lost-response'] > 0, `faults injected: ${JSON.stringify(faults)}`)
  const rate = Object.values(faults).reduce((a, b) => a + b, 0) / emu.stats.requests
  t.ok(rate > 0.2 && rate < 0.4, `observed fault rate ${rate.toFixed(2)}`)
  t.equal(report.failed, 0, report.regions.filter((r) => r.error).map((r) => `${r.region}: ${r.error}`).join('; '))
  for (const region of thirty) {
    const vs = emu.layerVersions(region, 'arm-php-83')
    t.equal(vs.length, 1, `${region}: exactly one version`)
    t.ok(publicIn(region, 'arm-php-83', vs[0]?.version ?? 0), `${region}: public`)
    t.equal(vs[0]?.statements.filter((s) => s.Sid === PUBLIC_STATEMENT_ID).length, 1, `${region}: one statement`)
  }
  const file = parseLayersFile(await readFile(layersFile, 'utf8'), 'layers.json')
  t.equal(Object.keys(file.layers['arm-php-83']!.regions).length, 30)
  t.ok(report.regions.some((r) => r.attempts > 1) || retries.length > 0 || faults.throttle > 0, 'retries happened')

  // And once the faults stop, a rerun has nothing to do.
  emu.setFaults(undefined)
  emu.resetStats()
  const again = await run(z.zipPath, thirty.join(','))
  t.equal(again.failed, 0)
  t.equal(emu.stats.versionsCreated, 0)
  t.equal(emu.stats.uploadedZipBytes, 0)
})

t.test('lost PublishLayerVersion responses never produce a second version', async (t) => {
  // The request is applied, the connection dies before the answer: a blind retry would publish twice.
  const { emu, dir, run, publicIn } = await setup(t, { faults: { rate: 0.6, kinds: ['lost-response'], operations: ['PublishLayerVersion'], seed: 7 } })
  const z = await makeLayerZip({ dir })
  const regions = thirty.slice(0, 12)
  const report = await run(z.zipPath, regions.join(','))
  t.ok(emu.stats.faults['lost-response'] > 0, `${emu.stats.faults['lost-response']} responses lost`)
  t.equal(report.failed, 0)
  for (const region of regions) {
    t.equal(emu.layerVersions(region, 'php-83').length, 1, `${region}: one version`)
    t.ok(publicIn(region, 'php-83', 1), `${region}: public`)
  }
  t.same(new Set(report.regions.map((r) => r.status)), new Set(['published']), 'found after a lost response still counts as published by this run')
  t.same(new Set(report.regions.map((r) => r.previousVersion)), new Set([undefined]), 'the version before the run, not the one a lost response made')
})

t.test('a region that keeps failing does not stop the others; the report names it', async (t) => {
  const { emu, dir, run } = await setup(t, { disabledRegions: ['ap-east-2'] })
  const z = await makeLayerZip({ dir })
  const report = await run(z.zipPath, 'eu-west-1,ap-east-2,us-east-1')
  t.equal(report.failed, 1)
  const bad = report.regions.find((r) => r.region === 'ap-east-2')!
  t.equal(bad.status, 'failed')
  t.match(bad.error, /UnrecognizedClientException: The security token included in the request is invalid/)
  t.match(bad.hint, /ap-east-2 is an opt-in region/)
  t.same(emu.regionsWith('php-83'), ['eu-west-1', 'us-east-1'])
  t.match(formatReport(report), /ap-east-2\s+failed\s+-\s+-\s+1\s+\S+\s+UnrecognizedClientException/)
})

t.test('transient failures that outlast every retry fail the region with a rerun hint', async (t) => {
  const { emu, dir, run } = await setup(t, { faults: { rate: 1, kinds: ['server-error'], operations: ['PublishLayerVersion'] } })
  const z = await makeLayerZip({ dir })
  const report = await run(z.zipPath, 'eu-west-1', { retry: { ...FAST_RETRY, regionAttempts: 2 } })
  t.equal(report.failed, 1)
  t.equal(report.regions[0]?.attempts, 2)
  t.match(report.regions[0]?.hint, /rerun the same command/)
  t.equal(emu.stats.versionsCreated, 0)
})

t.test('bad input: one clear error, nothing published', async (t) => {
  const { emu, dir, layersFile, run } = await setup(t)
  const cases: Array<[string, () => Promise<string>, RegExp, string]> = [
    [
      'zip without manifest',
      async () => {
        const z = await makeLayerZip({ dir, variant: 'nomanifest' })
        await rm(z.sidecar)
        return z.zipPath
      },
      /has no manifest/,
      'PublishError',
    ],
    [
      'tampered zip',
      async () => {
        const z = await makeLayerZip({ dir, variant: 'tampered' })
        const bytes = await readFile(z.zipPath)
        bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0xff
        await writeFile(z.zipPath, bytes)
        return z.zipPath
      },
      /does not match its manifest: sha256/,
      'PublishError',
    ],
    ['description over the limit', async () => (await makeLayerZip({ dir, variant: 'longid', buildId: 'b'.repeat(240) })).zipPath, /description is \d+ characters; Lambda accepts at most 256/, 'PublishError'],
    ['no passing smoke record', async () => (await makeLayerZip({ dir, variant: 'unsmoked', smoke: 'missing' })).zipPath, /no smoke record/, 'PublishError'],
  ]
  for (const [what, make, message, name] of cases) {
    const zipPath = await make()
    await t.rejects(run(zipPath, 'eu-west-1,us-east-1'), { name, message }, what)
  }
  const good = await makeLayerZip({ dir, variant: 'good' })
  await t.rejects(run(good.zipPath, 'eu-west-1,mars-north-1'), { name: 'UsageError', message: /unknown region "mars-north-1"/ }, 'unknown region')
  await t.rejects(run(good.zipPath, 'eu-west-1', { concurrency: 0 }), { name: 'UsageError', message: /--concurrency is 0/ })
  await t.rejects(run(good.zipPath, 'eu-west-1', { layerName: 'has space' }), { name: 'PublishError', message: /layer name "has space" is not valid/ })
  t.equal(emu.stats.requests, 0, 'not one request reached Lambda')
  await t.rejects(readFile(layersFile), { code: 'ENOENT' }, 'layers.json not written')
})

t.test('dry run reports what would happen and changes nothing', async (t) => {
  const { emu, dir, layersFile, run } = await setup(t)
  const z = await makeLayerZip({ dir })
  const dry = await run(z.zipPath, 'eu-west-1,us-east-1', { dryRun: true })
  t.same(dry.regions.map((r) => r.status), ['would-publish', 'would-publish'])
  t.equal(emu.stats.versionsCreated, 0)
  t.equal(emu.stats.bytesReceived, 0)
  await t.rejects(readFile(layersFile), { code: 'ENOENT' })
  await run(z.zipPath, 'eu-west-1')
  const after = await run(z.zipPath, 'eu-west-1,us-east-1', { dryRun: true })
  t.same(after.regions.map((r) => [r.status, r.version]), [['up-to-date', 1], ['would-publish', undefined]])
  t.match(formatReport(after), /Dry run: php-83.*\n[\s\S]*1 would publish, 0 would be made public, 1 up to date, 0 failed/)
})

t.test('a version left private by an earlier half-failed run is reused and made public', async (t) => {
  const { emu, dir, run, publicIn } = await setup(t)
  const z = await makeLayerZip({ dir })
  const sdk = new LambdaClient({ region: 'eu-west-1', endpoint: emu.endpoint, credentials: FAKE_CREDENTIALS })
  t.teardown(() => sdk.destroy())
  // What the classic loop leaves behind: the version exists, the permission call never happened.
  await sdk.send(new PublishLayerVersionCommand({ LayerName: 'php-83', Content: { ZipFile: await readFile(z.zipPath) }, CompatibleRuntimes: ['provided.al2023'] }))
  t.notOk(publicIn('eu-west-1', 'php-83', 1))
  emu.resetStats()
  const report = await run(z.zipPath, 'eu-west-1')
  t.same([report.regions[0]?.status, report.regions[0]?.version, report.regions[0]?.permissionAdded], ['reused', 1, true])
  t.equal(emu.stats.versionsCreated, 0)
  t.ok(publicIn('eu-west-1', 'php-83', 1))
})

t.test('our statement id holding something else is a clear per-region error', async (t) => {
  const { emu, dir, run } = await setup(t)
  const z = await makeLayerZip({ dir })
  const sdk = new LambdaClient({ region: 'eu-west-1', endpoint: emu.endpoint, credentials: FAKE_CREDENTIALS })
  t.teardown(() => sdk.destroy())
  await sdk.send(new PublishLayerVersionCommand({ LayerName: 'php-83', Content: { ZipFile: await readFile(z.zipPath) } }))
  await sdk.send(new AddLayerVersionPermissionCommand({ LayerName: 'php-83', VersionNumber: 1, StatementId: PUBLIC_STATEMENT_ID, Action: 'lambda:GetLayerVersion', Principal: '123456789012' }))
  const report = await run(z.zipPath, 'eu-west-1')
  t.equal(report.failed, 1)
  t.match(report.regions[0]?.error, /has a policy statement "public-get-layer-version" that does not grant lambda:GetLayerVersion to everyone/)
  t.match(report.regions[0]?.hint, /remove-layer-version-permission/)
})

t.test('a new build publishes a new version and layers.json moves to it', async (t) => {
  const { emu, dir, layersFile, run } = await setup(t)
  const v1 = await makeLayerZip({ dir, php: '8.3.14', variant: 'a' })
  const v2 = await makeLayerZip({ dir, php: '8.3.15', variant: 'b' })
  await run(v1.zipPath, 'eu-west-1,us-east-1')
  const report = await run(v2.zipPath, 'eu-west-1')
  t.same([report.regions[0]?.status, report.regions[0]?.version, report.regions[0]?.previousVersion], ['published', 2, 1])
  const file = parseLayersFile(await readFile(layersFile, 'utf8'), 'layers.json')
  t.same(
    Object.entries(file.layers['php-83']!.regions).map(([r, e]) => [r, e.version, e.php]),
    [
      ['eu-west-1', 2, '8.3.15'],
      ['us-east-1', 1, '8.3.14'],
    ],
  )
  t.equal(emu.layerVersions('eu-west-1', 'php-83').length, 2)
})

t.test('layers.json keeps other layers and is written sorted', async (t) => {
  const { dir, layersFile, run } = await setup(t)
  await run((await makeLayerZip({ dir, arch: 'arm64', php: '8.4.1' })).zipPath, 'us-east-1,eu-west-1')
  await run((await makeLayerZip({ dir, php: '8.2.30' })).zipPath, 'eu-west-1')
  const text = await readFile(layersFile, 'utf8')
  const file = parseLayersFile(text, 'layers.json')
  t.same(Object.keys(file.layers), ['arm-php-84', 'php-82'])
  t.same(Object.keys(file.layers['arm-php-84']!.regions), ['eu-west-1', 'us-east-1'])
  t.ok(text.endsWith('}\n'))
})

t.test('the concurrency cap holds', async (t) => {
  const { emu, dir, run } = await setup(t, { latencyMs: 30 })
  const z = await makeLayerZip({ dir })
  const report = await run(z.zipPath, thirty.slice(0, 9).join(','), { concurrency: 3 })
  t.equal(report.failed, 0)
  t.ok(emu.stats.maxInFlight <= 3, `at most 3 requests in flight (saw ${emu.stats.maxInFlight})`)
  emu.resetStats()
  const z2 = await makeLayerZip({ dir, variant: 'wide' })
  await run(z2.zipPath, thirty.slice(0, 9).join(','), { concurrency: 9, uploadConcurrency: 2 })
  t.ok(emu.stats.maxInFlight > 3, `regions overlap when allowed (saw ${emu.stats.maxInFlight})`)
})

t.test('a connection that hangs open times out (idle limit) and fails the region instead of stalling the run', async (t) => {
  // Every ListLayerVersions answer is held for 10 s; the idle limit is 300 ms.
  const { emu, dir, run } = await setup(t, { operationLatencyMs: { ListLayerVersions: 10_000 } })
  const z = await makeLayerZip({ dir })
  const started = performance.now()
  const report = await run(z.zipPath, 'eu-west-1', { retry: { ...FAST_RETRY, sdkMaxAttempts: 2, regionAttempts: 2, sdkIdleTimeoutMs: 300 } })
  const elapsed = performance.now() - started
  t.equal(report.failed, 1)
  t.match(report.regions[0]?.error, /timed out after 300 ms of inactivity/)
  t.match(report.regions[0]?.hint, /rerun the same command/)
  t.equal(report.regions[0]?.attempts, 2, 'a timeout is transient: the region was tried again')
  t.ok(elapsed < 8000, `gave up in ${Math.round(elapsed)} ms, long before the emulator would have answered`)
  t.equal(emu.stats.byOperation.ListLayerVersions, 4, '2 SDK attempts in each of 2 region attempts')
  t.equal(emu.stats.versionsCreated, 0)
})
