// Registers `publish` and `arn` on the factory's commander program. Kept light on purpose: the SDK and the
// publisher are imported inside the actions, so other commands (`build --dry-run`) never load them.
import type { Command } from 'commander'
import type { Io } from './actions.ts'

const PUBLISH_HELP = `
Reads <zip> and its manifest (<zip minus .zip>.manifest.json) and refuses a zip whose sha256 does not match the
manifest, that has no passing smoke record for that sha256, or (without --allow-non-al2023) that was not built for
provided.al2023. Then, per region and concurrently: reuses the newest layer version when its CodeSha256 equals the
zip's, otherwise publishes a new version; makes the version public (principal *, lambda:GetLayerVersion) and verifies
the policy. Throttling, 5xx and dropped connections are retried with backoff and jitter; a failing region does not
stop the others. Each finished region is recorded in layers.json at once, so rerunning after an interruption only
does what is missing. Exits non-zero if any region failed.

AWS access uses the SDK's standard configuration: credentials from the usual chain (AWS_PROFILE, env, SSO, roles),
AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3 for a local endpoint. See docs/publishing.md.

Examples:
  npm run publish -- dist/php-83.zip --regions all
  npm run publish -- dist/arm-php-83.zip --regions eu-west-1,us-east-1 --dry-run
  npm run publish -- dist/php-84.zip --regions all --s3-bucket my-layers-{region}
`

const ARN_HELP = `
Looks the ARN up in layers.json (the layer name comes from the naming function for --php and --arch).

Examples:
  npm run arn -- --php 8.3 --arch arm64 --region eu-west-1
  npm run arn -- --table                  # markdown ARN table for the README
  npm run arn -- --table --write README.md
`

export function registerPublishCommands(program: Command, io?: Io): void {
  program
    .command('publish')
    .description('publish a smoke-tested layer zip to Lambda in many regions, idempotently')
    .argument('<zip>', 'layer zip written by npm run build (its .manifest.json must sit beside it)')
    .requiredOption('--regions <list>', '"all" (every region in versions.yaml), "standard" (all but opt-in regions) or a comma-separated list')
    .option('--layer-name <name>', 'publish under this name instead of the naming function\'s (e.g. a staging layer)')
    .option('--dry-run', 'check everything and show what each region would do; publish nothing')
    .option('--json', 'print the report as JSON')
    .option('--allow-non-al2023', 'allow a zip built for another base than provided.al2023')
    .option('--pre', 'allow a pre-release build (8.6.0RC3, layer php-86-rc); scheduled publishing never passes it')
    .option('--concurrency <n>', 'regions in flight at once (default 32)')
    .option('--upload-concurrency <n>', 'uploads in flight at once (default: as many as fit 256 MiB of zip, at most 32)')
    .option('--s3-bucket <name>', 'bucket for zips over the 50 MiB direct-upload limit; {region} is replaced (env PHP_LAYERS_S3_BUCKET)')
    .option('--layers-file <path>', 'the ARN manifest to update (default: layers.json at the project root)')
    .addHelpText('after', PUBLISH_HELP)
    .action(async (zip: string, _opts: unknown, cmd: Command) => {
      const { publishAction } = await import('./actions.ts')
      await publishAction(zip, cmd.opts(), io)
    })

  program
    .command('arn')
    .description('print the ARN of a published layer, or the README ARN table, from layers.json')
    .option('--php <version>', 'PHP minor (8.3) or exact version (8.3.14)')
    .option('--arch <arch>', 'x86_64 or arm64', 'x86_64')
    .option('--region <region>', 'AWS region, e.g. eu-west-1')
    .option('--layer-name <name>', 'look up this layer name instead of the naming function\'s')
    .option('--addon <name>', 'the add-on layer for this recipes/ext extension (php-83-redis) instead of the base layer')
    .option('--table', 'print the markdown ARN table of every published layer')
    .option('--write <file>', 'with --table: replace the table section of this markdown file (e.g. README.md)')
    .option('--json', 'print the whole layers.json entry as JSON')
    .option('--layers-file <path>', 'the ARN manifest to read (default: layers.json at the project root)')
    .addHelpText('after', ARN_HELP)
    .action(async (_opts: unknown, cmd: Command) => {
      const { arnAction } = await import('./actions.ts')
      await arnAction(cmd.opts(), io)
    })
}
