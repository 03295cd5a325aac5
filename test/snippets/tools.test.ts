// The generated deployment snippets through the tools that consume them, offline:
// - CDK: the generated app run as `cdk synth` runs it (CDK_OUTDIR, CDK_CONTEXT_JSON), its cloud assembly read back,
//   and the generated TypeScript type-checked with tsc;
// - SAM: the template read by aws-cdk-lib's CloudFormation importer (typed SAM and CloudFormation resources; a wrong
//   property type fails synthesis);
// - Terraform: `terraform fmt -check`, and `terraform validate` against a local copy of the hashicorp/aws provider.
//   Terraform is not an npm or Debian package, so these run only where `terraform` is on PATH (validate also needs
//   the provider mirror: PHP_LAYER_TF_PLUGIN_DIR, else /opt/tf-plugins); the HCL structure is checked in
//   test/unit/snippets.test.ts everywhere.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { App, Stack } from 'aws-cdk-lib'
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include'
import { npmRun, projectRoot } from '../support/cli.ts'

// Inside the project's node_modules so the generated code resolves aws-cdk-lib as a user's project would.
await mkdir(join(projectRoot, 'node_modules', '.cache'), { recursive: true })
const dir = await mkdtemp(join(projectRoot, 'node_modules', '.cache', 'snippets-'))
t.teardown(() => rm(dir, { recursive: true, force: true }))
const EU = 'arn:aws:lambda:eu-west-1:123456789012:layer:arm-php-84:7'
const US = 'arn:aws:lambda:us-east-1:123456789012:layer:arm-php-84:9'

const gen = npmRun('snippets', ['--php', '8.4', '--arch', 'arm64', '--layers-file', 'test/fixtures/snippets/layers.json', '--out', dir])
t.equal(gen.code, 0, `npm run snippets: ${gen.stderr}`)
t.match(gen.stderr, /8 files for arm-php-84 \(eu-west-1, us-east-1\) written under/)

function exec(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, out }))
  })
}

/** The output only when it failed: tap prints an assertion's message on success too. */
const why = (what: string, r: { code: number | null; out: string }) => (r.code === 0 ? what : `${what}: ${r.out}`)

const onPath = (name: string) => (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, name)))

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>

t.test('CDK: the generated app synthesizes, and its TypeScript type-checks', { timeout: 240_000 }, async (t) => {
  const cdk = join(dir, 'cdk')
  const app = join(dir, 'app')
  await mkdir(join(app, 'public'), { recursive: true })
  await writeFile(join(app, 'public', 'index.php'), '<?php echo "hello";\n')
  const out = join(dir, 'cdk.out')
  // What `cdk synth` does: run the "app" command from cdk.json with the output directory and context in the environment.
  const cdkJson = JSON.parse(await readFile(join(cdk, 'cdk.json'), 'utf8')) as { app: string }
  t.equal(cdkJson.app, 'npx tsx app.ts')
  const [synth, tsc] = await Promise.all([
    exec(process.execPath, ['--import', 'tsx', 'app.ts'], { cwd: cdk, env: { CDK_OUTDIR: out, CDK_CONTEXT_JSON: JSON.stringify({ codeDir: app }) } }),
    exec(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { cwd: cdk }),
  ])
  t.equal(synth.code, 0, why('cdk app (synth)', synth))
  t.equal(tsc.code, 0, why('tsc -p cdk', tsc))
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { artifacts: Record<string, { type: string }> }
  t.equal(manifest.artifacts.PhpWebsite?.type, 'aws:cloudformation:stack')
  const template = JSON.parse(await readFile(join(out, 'PhpWebsite.template.json'), 'utf8')) as { Mappings: any; Resources: Resources }
  t.same(template.Mappings.PhpLayer, { 'eu-west-1': { arn: EU }, 'us-east-1': { arn: US } })
  const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type)
  const [[fnId, fn]] = byType('AWS::Lambda::Function') as [[string, Resources[string]]]
  t.match(fn.Properties, {
    Runtime: 'provided.al2023',
    Architectures: ['arm64'],
    Handler: 'public/index.php',
    Layers: [{ 'Fn::FindInMap': ['PhpLayer', { Ref: 'AWS::Region' }, 'arn'] }],
  })
  const [[versionId]] = byType('AWS::Lambda::Version') as [[string, Resources[string]]]
  const [[aliasId, alias]] = byType('AWS::Lambda::Alias') as [[string, Resources[string]]]
  t.same(alias.Properties, { FunctionName: { Ref: fnId }, FunctionVersion: { 'Fn::GetAtt': [versionId, 'Version'] }, Name: 'production' })
  const urls = byType('AWS::Lambda::Url').map(([, r]) => r.Properties)
  t.same(urls.map((u) => u.Qualifier ?? '$LATEST').sort(), ['$LATEST', 'production'], 'a Function URL per stage')
  const groups = byType('AWS::ElasticLoadBalancingV2::TargetGroup').map(([, r]) => r.Properties)
  t.same(groups.map((g) => g.Targets).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
    [{ Id: { 'Fn::GetAtt': [fnId, 'Arn'] } }],
    [{ Id: { Ref: aliasId } }],
  ], 'ALB targets: the alias (production) and the function ($LATEST, staging)')
  for (const g of groups) t.match(g, { TargetType: 'lambda', TargetGroupAttributes: [{ Key: 'lambda.multi_value_headers.enabled', Value: 'true' }] })
  const [[, rule]] = byType('AWS::ElasticLoadBalancingV2::ListenerRule') as [[string, Resources[string]]]
  t.match(rule.Properties.Conditions, [{ Field: 'host-header', HostHeaderConfig: { Values: ['staging.example.com'] } }])
  t.equal(byType('AWS::ElasticLoadBalancingV2::LoadBalancer').length, 1)
})

t.test('SAM: every resource reads as its typed CloudFormation/SAM resource', { timeout: 120_000 }, async (t) => {
  const text = await readFile(join(dir, 'sam', 'template.yaml'), 'utf8')
  // Names only the SAM transform creates (the alias behind `Web.Alias`, the generated `WebUrl`) cannot be resolved
  // by a CloudFormation importer: point them at the function and leave the outputs out.
  const plain = text.replaceAll('!Ref Web.Alias', '!Ref Web').replace(/\nOutputs:[\s\S]*$/, '\n')
  const templateFile = join(dir, 'sam-plain.yaml')
  await writeFile(templateFile, plain)
  const app = new App({ outdir: join(dir, 'sam.out') })
  const stack = new Stack(app, 'Sam')
  const included = new CfnInclude(stack, 'Template', { templateFile })
  const web = included.getResource('Web') as unknown as { cfnResourceType: string; runtime: string; layers: unknown[]; autoPublishAlias: string; handler: string; architectures: string[] }
  t.equal(web.cfnResourceType, 'AWS::Serverless::Function')
  t.match(web, { runtime: 'provided.al2023', handler: 'public/index.php', autoPublishAlias: 'production', architectures: ['arm64'] })
  t.equal(web.layers.length, 1)
  t.doesNotThrow(() => app.synth(), 'property types check out')
  // The same importer rejects a wrongly typed property, so the check above means something.
  await writeFile(templateFile, plain.replace('MemorySize: 1024', 'MemorySize: [1024]'))
  const bad = new App({ outdir: join(dir, 'sam-bad.out') })
  new CfnInclude(new Stack(bad, 'Sam'), 'Template', { templateFile })
  t.throws(() => bad.synth(), /memorySize: \[1024\] should be a number/)
})

t.test('Terraform: terraform fmt -check and terraform validate', { timeout: 240_000, skip: onPath('terraform') ? false : 'terraform is not on PATH (it is neither an npm nor a Debian package); the HCL structure is checked in test/unit/snippets.test.ts' }, async (t) => {
  const tf = join(dir, 'terraform')
  const cliConfig = join(dir, 'terraformrc')
  await writeFile(cliConfig, '')
  const env = { TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1', TF_CLI_CONFIG_FILE: cliConfig }
  const fmt = await exec('terraform', ['fmt', '-check', '-diff', '-no-color'], { cwd: tf, env })
  t.equal(fmt.code, 0, why('terraform fmt -check', fmt))
  const pluginDir = process.env.PHP_LAYER_TF_PLUGIN_DIR ?? '/opt/tf-plugins'
  if (!existsSync(pluginDir)) {
    t.comment(`terraform validate not run: no provider mirror at ${pluginDir} (set PHP_LAYER_TF_PLUGIN_DIR), and providers cannot be downloaded here`)
    return
  }
  const init = await exec('terraform', ['init', '-backend=false', '-input=false', '-no-color', `-plugin-dir=${pluginDir}`], { cwd: tf, env })
  t.equal(init.code, 0, why('terraform init (offline, local provider)', init))
  const validate = await exec('terraform', ['validate', '-no-color'], { cwd: tf, env })
  t.equal(validate.code, 0, why('terraform validate', validate))
  t.match(validate.out, /The configuration is valid/)
})
