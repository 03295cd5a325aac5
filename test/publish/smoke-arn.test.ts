// `npm run smoke -- --arn`: the published bytes come back through GetLayerVersion's Content.Location (from the local
// Lambda API emulator, with the real SDK) and are checked as any zip is. The fixture layer is not a PHP layer, so
// the check itself refuses it: what this shows is the download, its CodeSha256 check and the error lines.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { LambdaClient, PublishLayerVersionCommand } from '@aws-sdk/client-lambda'
import { LambdaEmulator } from '../support/lambda-emulator.ts'
import { npmRunAsync } from '../support/cli.ts'
import { FAKE_CREDENTIALS, makeLayerZip, tempDir } from '../support/publish-fixtures.ts'

t.test('smoke --arn downloads the version and checks those bytes', async (t) => {
  const emu = await LambdaEmulator.start()
  t.teardown(() => emu.close())
  const z = await makeLayerZip({ dir: await tempDir() })
  const sdk = new LambdaClient({ region: 'eu-west-1', endpoint: emu.endpoint, credentials: FAKE_CREDENTIALS })
  t.teardown(() => sdk.destroy())
  const out = await sdk.send(new PublishLayerVersionCommand({ LayerName: 'php-83', Content: { ZipFile: await readFile(z.zipPath) }, CompatibleRuntimes: ['provided.al2023'] }))
  const env = { AWS_ENDPOINT_URL_LAMBDA: emu.endpoint, AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey, AWS_REGION: 'eu-west-1' }

  const r = await npmRunAsync('smoke', ['--arn', out.LayerVersionArn!], env)
  t.equal(r.code, 7, r.stderr)
  t.match(r.stderr, /» downloading arn:aws:lambda:eu-west-1:\d{12}:layer:php-83:1/)
  t.match(r.stderr, /^error: php-83-1\.zip is not a PHP layer for Lambda's provided runtimes/m, 'the downloaded bytes were read and checked')

  const missing = await npmRunAsync('smoke', ['--arn', out.LayerVersionArn!.replace(/:1$/, ':9')], env)
  t.equal(missing.code, 7)
  t.match(missing.stderr, /^error: GetLayerVersion arn:aws:lambda:eu-west-1:\d{12}:layer:php-83:9 failed \(HTTP 404\): ResourceNotFoundException/m)
  t.equal(missing.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).length, 1)
})
