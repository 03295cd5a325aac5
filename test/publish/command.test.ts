// The `publish` and `arn` commands through commander, with the SDK configured the standard way (environment
// variables), as `npm run publish` / `npm run arn` run them.
import t from 'tap'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command } from 'commander'
import { registerPublishCommands } from '../../builder/publish/command.ts'
import { TABLE_END, TABLE_START } from '../../builder/publish/arn.ts'
import { parseLayersFile } from '../../builder/publish/layers-file.ts'
import { LambdaEmulator } from '../support/lambda-emulator.ts'
import { FAKE_CREDENTIALS, makeLayerZip, repoRoot, tempDir } from '../support/publish-fixtures.ts'

const emu = await LambdaEmulator.start({ disabledRegions: ['ap-east-2'] })
const dir = await tempDir()
t.teardown(async () => {
  await emu.close()
  await rm(dir, { recursive: true, force: true })
})
// The publisher takes everything from the SDK's standard configuration; point that at the emulator.
process.env.AWS_ENDPOINT_URL_LAMBDA = emu.endpoint
process.env.AWS_ACCESS_KEY_ID = FAKE_CREDENTIALS.accessKeyId
process.env.AWS_SECRET_ACCESS_KEY = FAKE_CREDENTIALS.secretAccessKey
delete process.env.AWS_PROFILE
const layersFile = join(dir, 'layers.json')

async function cli(...args: string[]): Promise<{ out: string; err: string }> {
  const io = { outText: '', errText: '' }
  const program = new Command().exitOverride().configureOutput({ writeOut: (s) => (io.outText += s), writeErr: (s) => (io.errText += s) })
  registerPublishCommands(program, { out: (s) => (io.outText += s), err: (s) => (io.errText += s) })
  try {
    await program.parseAsync(args, { from: 'user' })
  } catch (e) {
    Object.assign(e as object, { out: io.outText, err: io.errText })
    throw e
  }
  return { out: io.outText, err: io.errText }
}

t.test('help texts', async (t) => {
  const program = new Command()
  registerPublishCommands(program)
  const publish = program.commands.find((c) => c.name() === 'publish')!
  const arn = program.commands.find((c) => c.name() === 'arn')!
  let help = ''
  publish.configureOutput({ writeOut: (s) => (help += s) }).outputHelp()
  for (const flag of ['--regions <list>', '--layer-name', '--dry-run', '--json', '--allow-non-al2023', '--concurrency', '--s3-bucket', 'AWS_ENDPOINT_URL_LAMBDA']) t.match(help, flag)
  help = ''
  arn.configureOutput({ writeOut: (s) => (help += s) }).outputHelp()
  for (const flag of ['--php', '--arch', '--region', '--table', '--write']) t.match(help, flag)
})

t.test('command.ts imports nothing heavy at load time', async (t) => {
  // `npm run build -- --dry-run` loads the CLI, and so this module: the SDK must only load inside the actions.
  const src = await readFile(join(repoRoot, 'builder/publish/command.ts'), 'utf8')
  const staticImports = [...src.matchAll(/^import\s+(?!type\b).*$/gm)].map((m) => m[0])
  t.same(staticImports, [], 'only `import type` at the top')
})

t.test('publish --json, then arn finds the ARN', async (t) => {
  const z = await makeLayerZip({ dir, arch: 'arm64' })
  const { out, err } = await cli('publish', z.zipPath, '--regions', 'eu-west-1,us-east-1', '--json', '--layers-file', layersFile)
  const report = JSON.parse(out) as { failed: number; regions: Array<{ region: string; status: string; arn: string }> }
  t.equal(report.failed, 0)
  t.same(report.regions.map((r) => [r.region, r.status]), [['eu-west-1', 'published'], ['us-east-1', 'published']])
  t.match(err, /eu-west-1: published v1/)
  t.ok(parseLayersFile(await readFile(layersFile, 'utf8'), 'layers.json').layers['arm-php-83'])

  const arn = await cli('arn', '--php', '8.3', '--arch', 'arm64', '--region', 'eu-west-1', '--layers-file', layersFile)
  t.equal(arn.out, 'arn:aws:lambda:eu-west-1:123456789012:layer:arm-php-83:1\n')
  const exact = await cli('arn', '--php', '8.3.14', '--arch', 'arm64', '--region', 'us-east-1', '--json', '--layers-file', layersFile)
  t.match(JSON.parse(exact.out), { layerName: 'arm-php-83', region: 'us-east-1', version: 1, php: '8.3.14' })

  const text = await cli('publish', z.zipPath, '--regions', 'eu-west-1', '--layers-file', layersFile)
  t.match(text.out, /^arm-php-83 — PHP 8\.3\.14 arm64/)
  t.match(text.out, /REGION\s+STATUS\s+VERSION\s+PUBLIC\s+ATTEMPTS\s+TIME\s+ARN \/ ERROR\neu-west-1\s+reused\s+1\s+yes\s+1\s+\S+\s+arn:aws:lambda:eu-west-1:123456789012:layer:arm-php-83:1/)
})

t.test('an add-on layer publishes under its own name and arn --addon finds it', async (t) => {
  const z = await makeLayerZip({ dir, addon: 'redis' })
  const { out, err } = await cli('publish', z.zipPath, '--regions', 'eu-west-1', '--json', '--layers-file', layersFile)
  t.equal((JSON.parse(out) as { failed: number }).failed, 0, err)
  const file = parseLayersFile(await readFile(layersFile, 'utf8'), 'layers.json')
  t.match(file.layers['php-83-redis'], { php: '8.3', arch: 'x86_64' })
  t.ok(file.layers['arm-php-83'], 'the base layers stay')
  const arn = await cli('arn', '--php', '8.3', '--addon', 'redis', '--region', 'eu-west-1', '--layers-file', layersFile)
  t.equal(arn.out, 'arn:aws:lambda:eu-west-1:123456789012:layer:php-83-redis:1\n')
  const description = emu.layerVersions('eu-west-1', 'php-83-redis')[0]?.description
  t.match(description, /^redis 1\.0\.0 add-on for PHP 8\.3\.14 for provided\.al2023 \(x86_64\), build [0-9a-f]+$/)
  await t.rejects(cli('arn', '--php', '8.3', '--addon', 'nosuch', '--region', 'eu-west-1', '--layers-file', layersFile), { name: 'UsageError', message: /--addon nosuch: no recipes\/ext\/nosuch\.yaml; accepted: amqp, apcu, / })
})

t.test('arn errors', async (t) => {
  await t.rejects(cli('arn', '--php', '8.3', '--region', 'eu-west-1', '--layers-file', layersFile), { name: 'UsageError', message: /no layer php-83; published layers: arm-php-83/ })
  await t.rejects(cli('arn', '--php', '8.3', '--arch', 'arm64', '--region', 'sa-east-1', '--layers-file', layersFile), { message: /arm-php-83 is not published in sa-east-1/ })
  await t.rejects(cli('arn', '--php', '7.4', '--region', 'eu-west-1', '--layers-file', layersFile), { name: 'UsageError', message: /PHP 7\.4 is not in versions\.yaml/ })
  await t.rejects(cli('arn', '--php', '8.3', '--arch', 'sparc', '--region', 'eu-west-1', '--layers-file', layersFile), { message: /--arch is "sparc"; accepted: x86_64, arm64/ })
  await t.rejects(cli('arn', '--region', 'eu-west-1', '--layers-file', layersFile), { name: 'UsageError', message: /arn needs --php and --region/ })
})

t.test('arn --table, --write README', async (t) => {
  const { out } = await cli('arn', '--table', '--layers-file', layersFile)
  t.match(out, /### arm-php-83 — PHP 8\.3, arm64/)
  const readme = join(dir, 'README.md')
  await writeFile(readme, `# Layers\n\n${TABLE_START}\n${TABLE_END}\n`)
  const w = await cli('arn', '--table', '--write', readme, '--layers-file', layersFile)
  t.match(w.err, /ARN table updated/)
  t.match(await readFile(readme, 'utf8'), /\| us-east-1 \| 8\.3\.14 \| 1 \| `arn:aws:lambda:us-east-1:123456789012:layer:arm-php-83:1` \|/)
  t.match((await cli('arn', '--table', '--write', readme, '--layers-file', layersFile)).err, /already up to date/)
  await writeFile(readme, '# no markers\n')
  await t.rejects(cli('arn', '--table', '--write', readme, '--layers-file', layersFile), { name: 'UsageError' })
})

t.test('a failed region: table printed, then a PublishError (exit 8) naming it', async (t) => {
  const z = await makeLayerZip({ dir, variant: 'optin' })
  const e = (await cli('publish', z.zipPath, '--regions', 'eu-west-1,ap-east-2', '--layers-file', layersFile).then(
    () => t.fail('should fail'),
    (err: unknown) => err,
  )) as { name: string; exitCode: number; message: string; hint: string; out: string }
  t.equal(e.name, 'PublishError')
  t.equal(e.exitCode, 8)
  t.equal(e.message, '1 of 2 regions failed: ap-east-2')
  // A region refused for the account (403) fails the same way on a rerun: the hint must not promise otherwise.
  t.match(e.hint, /^Fix what the failed regions report \(the table above\); a rerun alone fails the same way/)
  t.match(e.out, /eu-west-1\s+published/)
  t.match(e.out, /ap-east-2\s+failed .*opt-in region/)
})

t.test('bad flags', async (t) => {
  const z = await makeLayerZip({ dir, variant: 'flags' })
  await t.rejects(cli('publish', z.zipPath, '--regions', 'eu-west-1', '--concurrency', 'lots', '--layers-file', layersFile), {
    name: 'UsageError',
    exitCode: 2,
    message: '--concurrency is "lots"; accepted: a whole number ≥ 1',
  })
  await t.rejects(cli('publish', z.zipPath, '--layers-file', layersFile), { code: 'commander.missingMandatoryOptionValue' })
  await t.rejects(cli('publish', z.zipPath, '--regions', 'eu-west-1', '--layer-name', 'bad name!', '--layers-file', layersFile), { name: 'PublishError' })
})
