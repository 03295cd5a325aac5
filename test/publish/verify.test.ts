// Local checks that run before any network call: zip ↔ manifest, smoke record, base, regions, Lambda's limits,
// policy reading and retry classification.
import t from 'tap'
import { appendFile, readFile, rm, writeFile } from 'node:fs/promises'
import { PublishError, UsageError } from '../../builder/errors.ts'
import { layerDescription } from '../../builder/publish/description.ts'
import { checkLayerVersionFields, directRequestBytes, LIMITS, needsS3 } from '../../builder/publish/limits.ts'
import { isPublicPolicy, ourStatement, PUBLIC_STATEMENT_ID } from '../../builder/publish/policy.ts'
import { resolveRegions } from '../../builder/publish/regions.ts'
import { isRetryable } from '../../builder/publish/retry.ts'
import { loadPublishableZip } from '../../builder/publish/zip.ts'
import { makeLayerZip, repoConfig, tempDir } from '../support/publish-fixtures.ts'

const regions = repoConfig().versions.regions

t.test('regions: all, lists, duplicates, unknown names', async (t) => {
  t.equal(resolveRegions('all', regions).length, regions.length)
  t.same(resolveRegions(' eu-west-1, us-east-1 ,eu-west-1', regions).map((r) => r.name), ['eu-west-1', 'us-east-1'])
  t.equal(resolveRegions('ap-east-2', regions)[0]?.optIn, true, 'opt-in flag comes from versions.yaml')
  const standard = resolveRegions('standard', regions)
  t.ok(standard.length > 10 && standard.length < regions.length, `standard: ${standard.length} regions`)
  t.notOk(standard.some((r) => r.optIn), 'standard leaves opt-in regions out')
  t.throws(() => resolveRegions('eu-west-1,eu-wset-1', regions), UsageError)
  t.throws(() => resolveRegions('eu-west-1,eu-wset-1', regions), /unknown region "eu-wset-1"; accepted: all, standard, or any of us-east-1/)
  t.throws(() => resolveRegions(' , ', regions), /--regions is empty/)
})

t.test('versions.yaml lists every commercial Lambda region once, opt-in ones marked', async (t) => {
  const names = regions.map((r) => r.name)
  t.equal(new Set(names).size, names.length, 'no duplicates')
  t.ok(names.length >= 30, `${names.length} regions`)
  for (const r of ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'sa-east-1']) t.ok(names.includes(r), r)
  const optIn = regions.filter((r) => r.optIn).map((r) => r.name)
  for (const r of ['af-south-1', 'ap-east-1', 'me-south-1', 'eu-south-1', 'il-central-1']) t.ok(optIn.includes(r), `${r} is opt-in`)
  for (const r of ['us-east-1', 'eu-west-1', 'ap-northeast-1']) t.notOk(optIn.includes(r), `${r} is not opt-in`)
})

t.test('Lambda field limits are checked locally', async (t) => {
  const ok = {
    layerName: 'php-83',
    description: 'PHP 8.3.14',
    licenseInfo: 'PHP-3.01',
    compatibleRuntimes: ['provided.al2023'],
    compatibleArchitectures: ['arm64'],
  }
  t.doesNotThrow(() => checkLayerVersionFields(ok))
  t.doesNotThrow(() => checkLayerVersionFields({ ...ok, description: 'x'.repeat(LIMITS.description) }), 'exactly 256 is fine')
  t.throws(() => checkLayerVersionFields({ ...ok, description: 'x'.repeat(257) }), /description is 257 characters; Lambda accepts at most 256/)
  t.throws(() => checkLayerVersionFields({ ...ok, licenseInfo: 'x'.repeat(513) }), /license info is 513 characters/)
  t.throws(() => checkLayerVersionFields({ ...ok, layerName: 'php 83' }), /layer name "php 83" is not valid/)
  t.throws(() => checkLayerVersionFields({ ...ok, layerName: 'x'.repeat(141) }), PublishError)
  t.throws(() => checkLayerVersionFields({ ...ok, compatibleRuntimes: Array(16).fill('provided.al2023') }), /16 compatible runtimes/)
  t.throws(() => checkLayerVersionFields({ ...ok, compatibleArchitectures: ['x86_64', 'arm64', 'x86_64'] }), /3 compatible architectures/)
})

t.test('the description carries the exact PHP version and build id within 256 characters', async (t) => {
  const d = layerDescription({
    php: { version: '8.3.14', minor: '8.3' },
    arch: 'arm64',
    base: { name: 'provided.al2023', image: '', glibc: '2.34', runtime: 'provided.al2023' },
    buildId: 'a'.repeat(64),
  })
  t.match(d, /PHP 8\.3\.14/)
  t.match(d, 'a'.repeat(64))
  t.ok(d.length <= LIMITS.description, `${d.length} chars`)
})

t.test('direct upload vs S3: the 413 boundary is the base64 JSON body', async (t) => {
  const other = { Description: 'd', LicenseInfo: 'l' }
  const skeleton = Buffer.byteLength(JSON.stringify({ Content: { ZipFile: '' }, ...other }))
  t.equal(directRequestBytes(3, other), skeleton + 4)
  // The largest zip that still fits, and one byte-triple more.
  const fits = Math.floor((LIMITS.requestBody - skeleton) / 4) * 3
  t.notOk(needsS3(fits, other))
  t.ok(needsS3(fits + 3, other))
  t.ok(needsS3(LIMITS.directZip, other), 'a full 50 MiB zip plus JSON does not fit')
  t.notOk(needsS3(40 * 1024 * 1024, other))
})

t.test('policy reading', async (t) => {
  const doc = (statements: unknown[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements })
  const ours = { Sid: PUBLIC_STATEMENT_ID, Effect: 'Allow', Principal: '*', Action: 'lambda:GetLayerVersion', Resource: 'x' }
  t.ok(isPublicPolicy(doc([ours])))
  t.ok(isPublicPolicy(doc([{ ...ours, Sid: 'other', Principal: { AWS: '*' } }])), 'another statement making it public counts')
  t.notOk(isPublicPolicy(undefined))
  t.notOk(isPublicPolicy(doc([{ ...ours, Principal: { AWS: 'arn:aws:iam::123456789012:root' } }])))
  t.notOk(isPublicPolicy(doc([{ ...ours, Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abcdefghij' } } }])), 'org-only is not public')
  t.equal(ourStatement(doc([ours])), 'identical')
  t.equal(ourStatement(doc([{ ...ours, Sid: 'x' }])), 'absent')
  t.equal(ourStatement(doc([{ ...ours, Principal: '123456789012' }])), 'different')
  t.equal(ourStatement('not json'), 'absent')
})

t.test('retry classification', async (t) => {
  t.ok(isRetryable({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } }))
  t.ok(isRetryable({ name: 'ServiceException', $metadata: { httpStatusCode: 500 } }))
  t.ok(isRetryable({ name: 'Whatever', $metadata: { httpStatusCode: 503 } }))
  t.ok(isRetryable(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })))
  t.ok(isRetryable(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })))
  t.ok(isRetryable({ name: 'Error', cause: { code: 'ECONNRESET' } }), 'looks through cause')
  t.notOk(isRetryable({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } }))
  t.notOk(isRetryable({ name: 'UnrecognizedClientException', $metadata: { httpStatusCode: 403 } }))
  t.notOk(isRetryable(new PublishError('policy not public')))
})

t.test('zip checks', async (t) => {
  const dir = await tempDir()
  t.teardown(() => rm(dir, { recursive: true, force: true }))

  t.test('a built, smoke-tested AL2023 zip loads', async (t) => {
    const z = await makeLayerZip({ dir, variant: 'good' })
    const p = await loadPublishableZip(z.zipPath)
    t.equal(p.facts.sha256, z.manifest.zip.sha256)
    t.equal(p.facts.codeSha256, z.manifest.zip.codeSha256)
    t.equal(p.manifest.php.version, '8.3.14')
  })

  t.test('zip without manifest', async (t) => {
    const z = await makeLayerZip({ dir, variant: 'nosidecar' })
    await rm(z.sidecar)
    await t.rejects(loadPublishableZip(z.zipPath), { name: 'PublishError', message: /php-83-nosidecar\.zip has no manifest \(expected .*php-83-nosidecar\.manifest\.json\)/ })
  })

  t.test('missing zip', async (t) => {
    await t.rejects(loadPublishableZip(`${dir}/nope.zip`), { name: 'UsageError', message: /cannot read .*nope\.zip \(ENOENT\)/ })
  })

  t.test('tampered zip: sha256 differs from the manifest', async (t) => {
    const z = await makeLayerZip({ dir, variant: 'tampered' })
    await appendFile(z.zipPath, 'x')
    await t.rejects(loadPublishableZip(z.zipPath), { name: 'PublishError', message: /does not match its manifest: sha256 [0-9a-f]{64} \(\d+ bytes\), .* says [0-9a-f]{64}/ })
  })

  t.test('smoke record missing, failed, or for another zip', async (t) => {
    const missing = await makeLayerZip({ dir, variant: 'nosmoke', smoke: 'missing' })
    await t.rejects(loadPublishableZip(missing.zipPath), { message: /has no smoke record/ })
    const failed = await makeLayerZip({ dir, variant: 'smokefail', smoke: 'failed' })
    await t.rejects(loadPublishableZip(failed.zipPath), { message: /failed its smoke test \(php -v\)/ })
    const other = await makeLayerZip({ dir, variant: 'smokeother', smoke: 'other-zip' })
    await t.rejects(loadPublishableZip(other.zipPath), { message: /smoke record is for another zip/ })
  })

  t.test('non-AL2023 base refused unless allowed', async (t) => {
    const z = await makeLayerZip({ dir, variant: 'al2', baseName: 'provided.al2' })
    await t.rejects(loadPublishableZip(z.zipPath), { message: /was built against provided\.al2, not provided\.al2023/ })
    const p = await loadPublishableZip(z.zipPath, { allowNonAl2023: true })
    t.equal(p.manifest.base.name, 'provided.al2')
  })

  t.test('a pre-release build is refused unless --pre says it is meant', async (t) => {
    const z = await makeLayerZip({ dir, variant: 'rc', php: '8.6.0RC3' })
    t.equal(z.manifest.layerName, 'php-86-rc')
    await t.rejects(loadPublishableZip(z.zipPath), { name: 'PublishError', message: /is PHP 8\.6\.0RC3, a pre-release; refusing to publish it/ })
    const p = await loadPublishableZip(z.zipPath, { allowPreRelease: true })
    t.equal(p.manifest.php.version, '8.6.0RC3')
  })

  t.test('the layer inside must carry php/manifest.json describing the same build', async (t) => {
    const noInner = await makeLayerZip({ dir, variant: 'noinner', innerManifest: false })
    await t.rejects(loadPublishableZip(noInner.zipPath), { message: /has no php\/manifest\.json inside/ })
    const z = await makeLayerZip({ dir, variant: 'mismatch' })
    const sidecar = JSON.parse(await readFile(z.sidecar, 'utf8')) as { buildId: string }
    sidecar.buildId = 'f'.repeat(64)
    await writeFile(z.sidecar, JSON.stringify(sidecar))
    await t.rejects(loadPublishableZip(z.zipPath), { message: /php\/manifest\.json inside the zip disagrees with the sidecar \(buildId/ })
  })

  t.test('a sidecar that is not a layer manifest', async (t) => {
    const z = await makeLayerZip({ dir, variant: 'junk' })
    await writeFile(z.sidecar, '{"hello": 1}')
    await t.rejects(loadPublishableZip(z.zipPath), { message: /not a layer manifest \(missing or wrong: layerName, buildId/ })
    await writeFile(z.sidecar, '{not json')
    await t.rejects(loadPublishableZip(z.zipPath), { message: /not valid JSON/ })
  })
})
