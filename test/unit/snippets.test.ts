// Deployment snippets: the ARN lookup, the one-line errors, and the structure of each tool's file as that tool's
// parser reads it (YAML with CloudFormation tags; HCL through @cdktf/hcl2json). The tools themselves (cdk synth,
// terraform fmt/validate) run in test/snippets/tools.test.ts.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseHcl } from '../support/hcl.ts'
import { loadConfig } from '../../builder/config/load.ts'
import { parseLayersFile, emptyLayersFile, type LayersFile } from '../../builder/publish/layers-file.ts'
import { renderReadmeSection, replaceReadmeSection, README_END, README_START } from '../../builder/snippets/readme.ts'
import { renderSnippets } from '../../builder/snippets/render.ts'
import { resolveTarget, type TargetRequest } from '../../builder/snippets/target.ts'
import { parseTools } from '../../builder/snippets/action.ts'
import { parseCfnYaml } from '../support/cfn-yaml.ts'
import { projectRoot } from '../support/cli.ts'

const versions = loadConfig({ root: projectRoot }).versions
const fixture = parseLayersFile(readFileSync(join(projectRoot, 'test/fixtures/snippets/layers.json'), 'utf8'), 'layers.json')
const EU = 'arn:aws:lambda:eu-west-1:123456789012:layer:arm-php-84:7'
const US = 'arn:aws:lambda:us-east-1:123456789012:layer:arm-php-84:9'

const files = (layers: LayersFile, req: TargetRequest) =>
  Object.fromEntries(renderSnippets(resolveTarget(versions, layers, req)).map((f) => [f.path, f.text]))

t.test('ARNs come from layers.json through the naming function', async (t) => {
  const all = resolveTarget(versions, fixture, { php: '8.4', arch: 'arm64' })
  t.equal(all.layerName, 'arm-php-84')
  t.same(all.arns, { 'eu-west-1': EU, 'us-east-1': US })
  const one = resolveTarget(versions, fixture, { php: '8.4', arch: 'arm64', region: 'eu-west-1' })
  t.same(one.arns, { 'eu-west-1': EU })
  t.equal(one.command, 'npm run snippets -- --php 8.4 --arch arm64 --region eu-west-1')
  t.same(resolveTarget(versions, fixture, { php: '8.2', arch: 'x86_64' }).arns, { 'eu-west-1': 'arn:aws:lambda:eu-west-1:123456789012:layer:php-82:3' })
})

t.test('a minor published only as a pre-release pins its -rc layer', async (t) => {
  const layers = structuredClone(fixture)
  const entry = structuredClone(Object.values(fixture.layers)[0]!)
  layers.layers['php-86-rc'] = entry
  t.equal(resolveTarget(versions, layers, { php: '8.6', arch: 'x86_64' }).layerName, 'php-86-rc')
  // Once the release is published, it wins.
  layers.layers['php-86'] = entry
  t.equal(resolveTarget(versions, layers, { php: '8.6', arch: 'x86_64' }).layerName, 'php-86')
})

t.test('one clear line for what cannot be generated', async (t) => {
  t.throws(() => resolveTarget(versions, emptyLayersFile(), { php: '8.4', arch: 'arm64' }), {
    name: 'UsageError',
    message: 'layers.json has no layer arm-php-84 (PHP 8.4 arm64): nothing is published yet',
  })
  t.throws(() => resolveTarget(versions, fixture, { php: '8.3', arch: 'x86_64' }), { message: /no layer php-83 \(PHP 8\.3 x86_64\); published layers: arm-php-84, php-82/ })
  t.throws(() => resolveTarget(versions, fixture, { php: '8.4', arch: 'arm64', region: 'sa-east-1' }), { message: /arm-php-84 is not published in sa-east-1; it is in eu-west-1, us-east-1/ })
  t.throws(() => resolveTarget(versions, fixture, { php: '8.4.27', arch: 'arm64' }), { message: /--php is "8\.4\.27"; .*accepted: a minor like 8\.4/ })
  t.throws(() => resolveTarget(versions, fixture, { php: '7.4', arch: 'arm64' }), { message: /PHP 7\.4 is not in versions\.yaml; accepted: / })
  t.throws(() => resolveTarget(versions, fixture, { php: '8.4', arch: 'arm64', handler: '../index.php' }), { message: /--handler is "\.\.\/index\.php"/ })
  t.throws(() => resolveTarget(versions, fixture, { php: '8.4', arch: 'arm64', handler: 'public/index.html' }), { message: /--handler/ })
  t.throws(() => resolveTarget(versions, fixture, { php: '8.4', arch: 'arm64', functionName: 'my site' }), { message: /--name is "my site"/ })
  t.same(parseTools('all'), ['sam', 'serverless', 'terraform', 'cdk'])
  t.same(parseTools('cdk, sam'), ['cdk', 'sam'])
  t.throws(() => parseTools('pulumi'), { message: '--tool is "pulumi"; accepted: all, or a comma-separated list of sam, serverless, terraform, cdk' })
})

t.test('AWS SAM template', async (t) => {
  const sam = parseCfnYaml(files(fixture, { php: '8.4', arch: 'arm64' })['sam/template.yaml']!) as any
  t.equal(sam.Transform, 'AWS::Serverless-2016-10-31')
  t.same(sam.Mappings.PhpLayer, { 'eu-west-1': { Arn: EU }, 'us-east-1': { Arn: US } })
  const web = sam.Resources.Web
  t.equal(web.Type, 'AWS::Serverless::Function')
  t.match(web.Properties, {
    Runtime: 'provided.al2023',
    Architectures: ['arm64'],
    Handler: 'public/index.php',
    Layers: [{ 'Fn::FindInMap': ['PhpLayer', { Ref: 'AWS::Region' }, 'Arn'] }],
    AutoPublishAlias: 'production',
    FunctionUrlConfig: { AuthType: 'NONE' },
  })
  // Production (the alias) and staging ($LATEST) each behind a Function URL and a target group.
  t.same(sam.Resources.StagingUrl.Properties.TargetFunctionArn, { Ref: 'Web' })
  t.same(sam.Resources.ProductionTargetGroup.Properties.Targets, [{ Id: { Ref: 'Web.Alias' } }])
  t.same(sam.Resources.StagingTargetGroup.Properties.Targets, [{ Id: { 'Fn::GetAtt': ['Web', 'Arn'] } }])
  t.same(sam.Resources.ProductionAlbPermission.Properties.FunctionName, { Ref: 'Web.Alias' })
  for (const tg of ['ProductionTargetGroup', 'StagingTargetGroup']) {
    t.match(sam.Resources[tg].Properties, { TargetType: 'lambda', TargetGroupAttributes: [{ Key: 'lambda.multi_value_headers.enabled', Value: 'true' }] })
  }
  t.same(sam.Resources.Listener.Properties.DefaultActions[0].TargetGroupArn, { Ref: 'ProductionTargetGroup' })
  t.same(sam.Resources.StagingRule.Properties.Actions[0].TargetGroupArn, { Ref: 'StagingTargetGroup' })
  // Every reference names a parameter, a resource, a pseudo parameter or a name SAM generates.
  const known = new Set([...Object.keys(sam.Parameters), ...Object.keys(sam.Resources), 'AWS::Region', 'Web.Alias', 'WebUrl'])
  const refs = [...JSON.stringify(sam).matchAll(/\{"Ref":"([^"]+)"\}|\{"Fn::GetAtt":\["([^"]+)"/g)].map((m) => m[1] ?? m[2]!)
  t.ok(refs.length > 10)
  t.same(refs.filter((r) => !known.has(r)), [], 'no dangling reference')
})

t.test('Serverless Framework config', async (t) => {
  const sls = parseCfnYaml(files(fixture, { php: '8.4', arch: 'arm64' })['serverless/serverless.yml']!) as any
  t.match(sls.provider, { name: 'aws', runtime: 'provided.al2023', architecture: 'arm64', versionFunctions: false })
  t.same(sls.custom.phpLayer, { 'eu-west-1': EU, 'us-east-1': US })
  const web = sls.functions.web
  t.equal(web.handler, 'public/index.php')
  t.same(web.layers, ['${self:custom.phpLayer.${aws:region}}'])
  t.equal(web.url, true)
  t.match(web.events[0].alb, { multiValueHeaders: true, conditions: { host: ['${self:custom.stagingHost}'] } })
  const r = sls.resources.Resources
  t.match(r.ProductionVersion, { Type: 'AWS::Lambda::Version', UpdateReplacePolicy: 'Retain', Properties: { FunctionName: { Ref: 'WebLambdaFunction' }, Description: 'deploy ${sls:instanceId}' } })
  t.match(r.ProductionAlias, { Type: 'AWS::Lambda::Alias', Properties: { Name: 'production', FunctionVersion: { 'Fn::GetAtt': ['ProductionVersion', 'Version'] } } })
  t.same(r.ProductionUrl.Properties.TargetFunctionArn, { Ref: 'ProductionAlias' })
  t.same(r.ProductionTargetGroup.Properties.Targets, [{ Id: { Ref: 'ProductionAlias' } }])
})

t.test('Terraform configuration, as HCL', async (t) => {
  const tf = (await parseHcl('main.tf', files(fixture, { php: '8.4', arch: 'arm64' })['terraform/main.tf']!)) as any
  t.same(tf.locals[0].php_layer_arns, { 'eu-west-1': EU, 'us-east-1': US })
  const fn = tf.resource.aws_lambda_function.web[0]
  t.match(fn, {
    runtime: 'provided.al2023',
    architectures: ['arm64'],
    handler: 'public/index.php',
    layers: ['${local.php_layer_arns[data.aws_region.current.name]}'],
    publish: true,
  })
  t.match(tf.resource.aws_lambda_alias.production[0], { name: 'production', function_version: '${aws_lambda_function.web.version}' })
  t.match(tf.resource.aws_lambda_function_url.production[0], { qualifier: '${aws_lambda_alias.production.name}', authorization_type: 'NONE' })
  t.notOk('qualifier' in tf.resource.aws_lambda_function_url.staging[0], 'staging URL on $LATEST')
  t.equal(tf.resource.aws_lb_target_group_attachment.production[0].target_id, '${aws_lambda_alias.production.arn}')
  t.equal(tf.resource.aws_lb_target_group_attachment.staging[0].target_id, '${aws_lambda_function.web.arn}')
  t.equal(tf.resource.aws_lb_target_group.production[0].lambda_multi_value_headers_enabled, true)
  t.same(tf.terraform[0].required_providers[0].aws.source, 'hashicorp/aws')
})

t.test('a change to layers.json reaches the snippets through the generator only', async (t) => {
  const before = files(fixture, { php: '8.4', arch: 'arm64' })
  const republished = structuredClone(fixture)
  republished.layers['arm-php-84']!.regions['eu-west-1']!.arn = EU.replace(/:7$/, ':8')
  const after = files(republished, { php: '8.4', arch: 'arm64' })
  t.same(Object.keys(after), Object.keys(before))
  const withArn = Object.keys(before).filter((path) => before[path]!.includes(EU))
  t.same(withArn, ['sam/template.yaml', 'serverless/serverless.yml', 'terraform/main.tf', 'cdk/php-website-stack.ts'])
  for (const [path, text] of Object.entries(before)) {
    t.equal(after[path], text.replaceAll(EU, EU.replace(/:7$/, ':8')), `${path}: only the ARN changed`)
  }
  t.same(files(fixture, { php: '8.4', arch: 'arm64' }), before, 'deterministic')
})

t.test('the README\'s generated section matches layers.json', async (t) => {
  const readme = readFileSync(join(projectRoot, 'README.md'), 'utf8')
  const layers = parseLayersFile(readFileSync(join(projectRoot, 'layers.json'), 'utf8'), 'layers.json')
  t.equal(replaceReadmeSection(readme, renderReadmeSection(layers), 'README.md'), readme, 'README.md is up to date: npm run snippets -- --readme --write README.md')
  t.match(renderReadmeSection(fixture), `  - ${US}`)
  t.match(renderReadmeSection(emptyLayersFile()), /No layer is published yet/)
  t.throws(() => replaceReadmeSection('# none\n', 'x', 'README.md'), { message: `README.md has no (or more than one) ${README_START} … ${README_END} section` })
})
