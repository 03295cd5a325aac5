// The emulator itself, exercised with the real SDK over HTTP: it must behave like the documented layer API
// (shapes, limits, error codes), or the publisher tests prove nothing.
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import {
  AddLayerVersionPermissionCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  LambdaClient,
  ListLayerVersionsCommand,
  PublishLayerVersionCommand,
  RemoveLayerVersionPermissionCommand,
  type PublishLayerVersionCommandInput,
} from '@aws-sdk/client-lambda'
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { credentialScope, LambdaEmulator, spawnEmulator } from '../support/lambda-emulator.ts'
import { FAKE_CREDENTIALS, makeLayerZip, tempDir } from '../support/publish-fixtures.ts'

const dir = await tempDir()
t.teardown(() => rm(dir, { recursive: true, force: true }))
const zip = await readFile((await makeLayerZip({ dir })).zipPath)

async function start(opts: Parameters<typeof LambdaEmulator.start>[0] = {}) {
  const emu = await LambdaEmulator.start(opts)
  const clients: Array<{ destroy(): void }> = []
  const lambda = (region: string, maxAttempts = 1) => {
    const c = new LambdaClient({ region, endpoint: emu.endpoint, credentials: FAKE_CREDENTIALS, maxAttempts })
    clients.push(c)
    return c
  }
  const s3 = (region: string) => {
    const c = new S3Client({ region, endpoint: emu.endpoint, credentials: FAKE_CREDENTIALS, maxAttempts: 1 })
    clients.push(c)
    return c
  }
  t.teardown(async () => {
    for (const c of clients) c.destroy()
    await emu.close()
  })
  return { emu, lambda, s3 }
}

const input = (over: Partial<PublishLayerVersionCommandInput> = {}): PublishLayerVersionCommandInput => ({
  LayerName: 'php-83',
  Content: { ZipFile: zip },
  CompatibleRuntimes: ['provided.al2023'],
  CompatibleArchitectures: ['x86_64'],
  Description: 'PHP 8.3.14',
  LicenseInfo: 'PHP-3.01',
  ...over,
})

t.test('credential scope parsing', async (t) => {
  t.same(credentialScope('AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/lambda/aws4_request, SignedHeaders=host, Signature=abc'), {
    accessKeyId: 'AKID',
    region: 'eu-west-1',
    service: 'lambda',
  })
  t.equal(credentialScope(undefined), undefined)
})

t.test('publish, get, list: shapes as Lambda returns them, region from the signature', async (t) => {
  const { emu, lambda } = await start()
  const eu = lambda('eu-west-1')
  const p1 = await eu.send(new PublishLayerVersionCommand(input()))
  t.equal(p1.$metadata.httpStatusCode, 201)
  t.equal(p1.Version, 1)
  t.equal(p1.LayerVersionArn, 'arn:aws:lambda:eu-west-1:123456789012:layer:php-83:1')
  t.equal(p1.LayerArn, 'arn:aws:lambda:eu-west-1:123456789012:layer:php-83')
  t.equal(p1.Content?.CodeSha256, (await import('node:crypto')).createHash('sha256').update(zip).digest('base64'))
  t.equal(p1.Content?.CodeSize, zip.length)
  t.match(p1.CreatedDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/)
  t.same(p1.CompatibleArchitectures, ['x86_64'])
  const p2 = await eu.send(new PublishLayerVersionCommand(input({ Description: 'second' })))
  t.equal(p2.Version, 2, 'versions count up per layer')

  // Same layer name in another region is another layer.
  const us = await lambda('us-east-1').send(new PublishLayerVersionCommand(input()))
  t.equal(us.Version, 1)
  t.equal(us.LayerVersionArn, 'arn:aws:lambda:us-east-1:123456789012:layer:php-83:1')
  t.same(emu.regionsWith('php-83'), ['eu-west-1', 'us-east-1'])

  const got = await eu.send(new GetLayerVersionCommand({ LayerName: 'php-83', VersionNumber: 2 }))
  t.equal(got.Description, 'second')
  t.equal(got.Content?.CodeSha256, p1.Content?.CodeSha256)

  const list = await eu.send(new ListLayerVersionsCommand({ LayerName: 'php-83' }))
  t.same(list.LayerVersions?.map((v) => v.Version), [2, 1], 'newest first')
  t.equal((list.LayerVersions?.[0] as Record<string, unknown>).Content, undefined, 'list items carry no Content')
  const none = await eu.send(new ListLayerVersionsCommand({ LayerName: 'never-published' }))
  t.same(none.LayerVersions, [])
  await t.rejects(eu.send(new GetLayerVersionCommand({ LayerName: 'php-83', VersionNumber: 9 })), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } })
  t.equal(emu.stats.versionsCreated, 3)
  t.equal(emu.stats.uploadedZipBytes, 3 * zip.length)
})

t.test('list pagination with Marker and MaxItems ≤ 50', async (t) => {
  const { lambda } = await start()
  const c = lambda('eu-west-1')
  for (let i = 0; i < 7; i++) await c.send(new PublishLayerVersionCommand(input()))
  const page1 = await c.send(new ListLayerVersionsCommand({ LayerName: 'php-83', MaxItems: 3 }))
  t.same(page1.LayerVersions?.map((v) => v.Version), [7, 6, 5])
  t.ok(page1.NextMarker)
  const page2 = await c.send(new ListLayerVersionsCommand({ LayerName: 'php-83', MaxItems: 3, Marker: page1.NextMarker }))
  t.same(page2.LayerVersions?.map((v) => v.Version), [4, 3, 2])
  const page3 = await c.send(new ListLayerVersionsCommand({ LayerName: 'php-83', MaxItems: 3, Marker: page2.NextMarker }))
  t.same(page3.LayerVersions?.map((v) => v.Version), [1])
  t.equal(page3.NextMarker, undefined)
  await t.rejects(c.send(new ListLayerVersionsCommand({ LayerName: 'php-83', MaxItems: 51 })), { name: 'ValidationException' })
})

t.test('documented limits → ValidationException / 413, nothing created', async (t) => {
  const { emu, lambda } = await start()
  const c = lambda('eu-west-1')
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ Description: 'd'.repeat(257) }))), {
    name: 'ValidationException',
    $metadata: { httpStatusCode: 400 },
    message: /1 validation error detected: Value 'd+' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256/,
  })
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ LicenseInfo: 'l'.repeat(513) }))), { name: 'ValidationException', message: /licenseInfo.*512/ })
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ CompatibleRuntimes: Array(16).fill('provided.al2023') }))), {
    name: 'ValidationException',
    message: /compatibleRuntimes.*less than or equal to 15/,
  })
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ CompatibleArchitectures: ['x86_64', 'arm64', 'x86_64'] }))), {
    name: 'ValidationException',
    message: /compatibleArchitectures.*less than or equal to 2/,
  })
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ CompatibleArchitectures: ['riscv64' as 'arm64'] }))), { message: /enum value set: \[x86_64, arm64\]/ })
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ Description: 'd'.repeat(300), LicenseInfo: 'l'.repeat(600) }))), {
    message: /^2 validation errors detected/,
  })
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ LayerName: 'bad name' }))), { name: 'ValidationException', message: /layerName/ })
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ Content: { ZipFile: Buffer.from('not a zip') } }))), {
    name: 'InvalidParameterValueException',
    message: /Could not unzip uploaded file/,
  })
  // Over the direct-upload limit: 50 MiB of zip become > 69,905,067 bytes of base64 JSON.
  const big = randomBytes(50 * 1024 * 1024 + 1024)
  await t.rejects(c.send(new PublishLayerVersionCommand(input({ Content: { ZipFile: big } }))), {
    name: 'RequestEntityTooLargeException',
    $metadata: { httpStatusCode: 413 },
    message: 'Request must be smaller than 69905067 bytes for the PublishLayerVersion operation',
  })
  t.equal(emu.stats.versionsCreated, 0)
})

t.test('permissions: add, duplicate StatementId → 409, policy, revision, remove', async (t) => {
  const { lambda } = await start()
  const c = lambda('eu-west-1')
  await c.send(new PublishLayerVersionCommand(input()))
  await t.rejects(c.send(new GetLayerVersionPolicyCommand({ LayerName: 'php-83', VersionNumber: 1 })), {
    name: 'ResourceNotFoundException',
    message: 'No policy is associated with the given resource.',
  })
  const add = { LayerName: 'php-83', VersionNumber: 1, StatementId: 'public', Action: 'lambda:GetLayerVersion', Principal: '*' }
  const added = await c.send(new AddLayerVersionPermissionCommand(add))
  t.equal(added.$metadata.httpStatusCode, 201)
  t.same(JSON.parse(added.Statement ?? '{}'), {
    Sid: 'public',
    Effect: 'Allow',
    Principal: '*',
    Action: 'lambda:GetLayerVersion',
    Resource: 'arn:aws:lambda:eu-west-1:123456789012:layer:php-83:1',
  })
  await t.rejects(c.send(new AddLayerVersionPermissionCommand(add)), {
    name: 'ResourceConflictException',
    $metadata: { httpStatusCode: 409 },
    message: /The statement id \(public\) provided already exists/,
  })
  const policy = await c.send(new GetLayerVersionPolicyCommand({ LayerName: 'php-83', VersionNumber: 1 }))
  t.equal(policy.RevisionId, added.RevisionId)
  t.equal(JSON.parse(policy.Policy ?? '{}').Statement.length, 1)
  const acct = await c.send(new AddLayerVersionPermissionCommand({ ...add, StatementId: 'acct', Principal: '210987654321', RevisionId: policy.RevisionId }))
  t.same(JSON.parse(acct.Statement ?? '{}').Principal, { AWS: 'arn:aws:iam::210987654321:root' })
  await t.rejects(c.send(new AddLayerVersionPermissionCommand({ ...add, StatementId: 'stale', RevisionId: policy.RevisionId })), {
    name: 'PreconditionFailedException',
    $metadata: { httpStatusCode: 412 },
  })
  await t.rejects(c.send(new AddLayerVersionPermissionCommand({ ...add, StatementId: 'x', Action: 'lambda:InvokeFunction' })), { name: 'ValidationException', message: /at 'action'/ })
  await t.rejects(c.send(new AddLayerVersionPermissionCommand({ ...add, StatementId: 'x', Principal: 'someone' })), { name: 'ValidationException', message: /at 'principal'/ })
  await t.rejects(c.send(new AddLayerVersionPermissionCommand({ ...add, VersionNumber: 5 })), { name: 'ResourceNotFoundException' })
  await c.send(new RemoveLayerVersionPermissionCommand({ LayerName: 'php-83', VersionNumber: 1, StatementId: 'acct' }))
  await t.rejects(c.send(new RemoveLayerVersionPermissionCommand({ LayerName: 'php-83', VersionNumber: 1, StatementId: 'acct' })), { name: 'ResourceNotFoundException' })
  // The permission belongs to that region's layer only.
  await lambda('us-east-1').send(new PublishLayerVersionCommand(input()))
  await t.rejects(lambda('us-east-1').send(new GetLayerVersionPolicyCommand({ LayerName: 'php-83', VersionNumber: 1 })), { name: 'ResourceNotFoundException' })
})

t.test('fault injection: 429, 500, reset, lost response', async (t) => {
  const { emu, lambda } = await start({ retryAfterSeconds: 1 })
  const c = lambda('eu-west-1')
  emu.setFaults({ rate: 1, kinds: ['throttle'] })
  await t.rejects(c.send(new ListLayerVersionsCommand({ LayerName: 'php-83' })), {
    name: 'TooManyRequestsException',
    $metadata: { httpStatusCode: 429 },
    Reason: 'CallerRateLimitExceeded',
  })
  emu.setFaults({ rate: 1, kinds: ['server-error'] })
  await t.rejects(c.send(new ListLayerVersionsCommand({ LayerName: 'php-83' })), { name: 'ServiceException', $metadata: { httpStatusCode: 500 } })
  emu.setFaults({ rate: 1, kinds: ['reset'] })
  await t.rejects(c.send(new PublishLayerVersionCommand(input())), { code: /^(ECONNRESET|EPIPE)$/ })
  t.equal(emu.stats.versionsCreated, 0, 'a reset before the request is read creates nothing')
  emu.setFaults({ rate: 1, kinds: ['lost-response'] })
  await t.rejects(c.send(new PublishLayerVersionCommand(input())), { code: 'ECONNRESET' })
  t.equal(emu.stats.versionsCreated, 1, 'a lost response still applied the request')
  emu.setFaults({ rate: 1, kinds: ['throttle'], operations: ['PublishLayerVersion'] })
  await c.send(new ListLayerVersionsCommand({ LayerName: 'php-83' }))
  t.pass('faults can be limited to some operations')
  emu.setFaults(undefined)
  t.same(emu.stats.faults, { throttle: 1, 'server-error': 1, reset: 1, 'lost-response': 1 })

  // The SDK's standard retry rides through a transient fault on its own.
  emu.setFaults({ rate: 1, kinds: ['server-error'], operations: ['GetLayerVersion'] })
  const retrying = lambda('eu-west-1', 3)
  const before = emu.stats.byOperation.GetLayerVersion ?? 0
  await t.rejects(retrying.send(new GetLayerVersionCommand({ LayerName: 'php-83', VersionNumber: 1 })), { name: 'ServiceException', $metadata: { attempts: 3 } })
  t.equal((emu.stats.byOperation.GetLayerVersion ?? 0) - before, 3, 'three attempts reached the emulator')
  emu.setFaults(undefined)
})

t.test('the signed payload hash must match the body', async (t) => {
  const { emu, lambda } = await start()
  const cmd = new PublishLayerVersionCommand(input())
  cmd.middlewareStack.add(
    (next) => async (args) => {
      ;(args.request as { headers: Record<string, string> }).headers['x-amz-content-sha256'] = '0'.repeat(64)
      return next(args)
    },
    { step: 'build', name: 'wrongHash' },
  )
  await t.rejects(lambda('eu-west-1').send(cmd), { name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } })
  t.equal(emu.stats.versionsCreated, 0)
})

t.test('latency, disabled (opt-in) regions and foreign access keys', async (t) => {
  const { emu, lambda } = await start({ latencyMs: 40, disabledRegions: ['ap-east-2'], accessKeyId: FAKE_CREDENTIALS.accessKeyId })
  const t0 = performance.now()
  await lambda('eu-west-1').send(new ListLayerVersionsCommand({ LayerName: 'php-83' }))
  t.ok(performance.now() - t0 >= 35, 'latency is added')
  await t.rejects(lambda('ap-east-2').send(new ListLayerVersionsCommand({ LayerName: 'php-83' })), {
    name: 'UnrecognizedClientException',
    $metadata: { httpStatusCode: 403 },
  })
  const stranger = new LambdaClient({ region: 'eu-west-1', endpoint: emu.endpoint, credentials: { accessKeyId: 'AKIDSOMEONEELSE', secretAccessKey: 'x' }, maxAttempts: 1 })
  t.teardown(() => stranger.destroy())
  await t.rejects(stranger.send(new ListLayerVersionsCommand({ LayerName: 'php-83' })), { name: 'UnrecognizedClientException' })
})

t.test('S3: put/head in the bucket region; Lambda reads layer content from its own region only', async (t) => {
  const { emu, lambda, s3 } = await start({ buckets: { 'layers-eu-west-1': 'eu-west-1' } })
  await s3('eu-west-1').send(new PutObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'a/php.zip', Body: zip, Metadata: { sha256: 'abc' } }))
  const head = await s3('eu-west-1').send(new HeadObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'a/php.zip' }))
  t.equal(head.ContentLength, zip.length)
  t.same(head.Metadata, { sha256: 'abc' })
  await t.rejects(s3('eu-west-1').send(new HeadObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'missing' })), { name: 'NotFound' })
  await t.rejects(s3('eu-west-1').send(new PutObjectCommand({ Bucket: 'nope', Key: 'k', Body: zip })), { name: 'NoSuchBucket' })
  await t.rejects(s3('us-east-1').send(new PutObjectCommand({ Bucket: 'layers-eu-west-1', Key: 'k', Body: zip })), { name: 'AuthorizationHeaderMalformed' })

  const out = await lambda('eu-west-1').send(new PublishLayerVersionCommand(input({ Content: { S3Bucket: 'layers-eu-west-1', S3Key: 'a/php.zip' } })))
  t.equal(out.Content?.CodeSize, zip.length)
  await t.rejects(lambda('us-east-1').send(new PublishLayerVersionCommand(input({ Content: { S3Bucket: 'layers-eu-west-1', S3Key: 'a/php.zip' } }))), {
    name: 'InvalidParameterValueException',
    message: /PermanentRedirect/,
  })
  await t.rejects(lambda('eu-west-1').send(new PublishLayerVersionCommand(input({ Content: { S3Bucket: 'layers-eu-west-1', S3Key: 'nope' } }))), { message: /NoSuchKey/ })
  t.equal(emu.stats.uploadedZipBytes, zip.length, 'S3 puts count as uploads; publishing from S3 does not')
})

t.test('the emulator in its own process, driven over its control routes', async (t) => {
  const remote = await spawnEmulator({ latencyMs: 1 })
  t.teardown(() => remote.close())
  const c = new LambdaClient({ region: 'eu-west-1', endpoint: remote.endpoint, credentials: FAKE_CREDENTIALS, maxAttempts: 1 })
  t.teardown(() => c.destroy())
  await c.send(new PublishLayerVersionCommand(input()))
  const stats = await remote.stats()
  t.equal(stats.versionsCreated, 1)
  t.equal(stats.uploadedZipBytes, zip.length)
  await remote.setFaults({ rate: 1, kinds: ['throttle'] })
  await t.rejects(c.send(new ListLayerVersionsCommand({ LayerName: 'php-83' })), { name: 'TooManyRequestsException' })
  await remote.setFaults(undefined)
  await remote.resetStats()
  t.equal((await remote.stats()).requests, 0)
})
