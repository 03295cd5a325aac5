// The shared direct-upload body must be byte-for-byte what the SDK would have sent, apart from being built once.
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { LambdaClient, PublishLayerVersionCommand, type PublishLayerVersionCommandInput } from '@aws-sdk/client-lambda'
import { SharedZipBody } from '../../builder/publish/shared-body.ts'
import { FAKE_CREDENTIALS } from '../support/publish-fixtures.ts'

const seen: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = []
const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    seen.push({ headers: req.headers, body: Buffer.concat(chunks) })
    res.writeHead(201, { 'content-type': 'application/json' }).end('{"Version":1}')
  })
})
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const client = new LambdaClient({ region: 'eu-west-1', endpoint, credentials: FAKE_CREDENTIALS, maxAttempts: 1 })
t.teardown(() => {
  client.destroy()
  server.close()
})

t.test('same JSON, correct length and payload hash, built once for many requests', async (t) => {
  const zip = randomBytes(300_000)
  const fields: Omit<PublishLayerVersionCommandInput, 'Content'> = {
    LayerName: 'php-83',
    Description: 'PHP 8.3.14 "quoted" \\ build',
    LicenseInfo: 'PHP-3.01',
    CompatibleRuntimes: ['provided.al2023'],
    CompatibleArchitectures: ['arm64'],
  }
  await client.send(new PublishLayerVersionCommand({ ...fields, Content: { ZipFile: zip } }))
  const shared = new SharedZipBody(zip)
  for (let i = 0; i < 3; i++) await client.send(shared.attach(new PublishLayerVersionCommand({ ...fields, Content: { ZipFile: shared.placeholder } })))
  const [plain, ...viaShared] = seen
  for (const got of viaShared) {
    t.same(JSON.parse(got.body.toString()), JSON.parse(plain!.body.toString()), 'same JSON document')
    t.equal(got.body.length, plain!.body.length, 'same length')
    t.equal(got.headers['content-length'], String(got.body.length))
    t.equal(got.headers['x-amz-content-sha256'], createHash('sha256').update(got.body).digest('hex'), 'signed payload hash is the body hash')
    t.match(got.headers.authorization, /SignedHeaders=[^,]*x-amz-content-sha256/)
  }
})

t.test('a body without the placeholder is refused rather than sent wrong', async (t) => {
  const shared = new SharedZipBody(Buffer.from('zip'))
  t.throws(() => shared.build('{"Content":{"ZipFile":"aGVsbG8="}}'), /placeholder not found exactly once/)
})
