// Registers `snippets` on the factory's commander program; the work is imported inside the action.
import type { Command } from 'commander'

const HELP = `
Writes deployment examples for a published layer, with its ARN taken from layers.json: AWS SAM, Serverless
Framework, Terraform and AWS CDK (TypeScript). Each deploys one function (provided.al2023, the layer, _HANDLER) behind
an Application Load Balancer and behind Function URLs, with staging on $LATEST and production on an alias that each
deploy moves to a new version. Without --region, the layer's ARNs in every published region are included and picked
by the region you deploy to. See docs/deploy/README.md.

Examples:
  npm run snippets -- --php 8.4 --arch arm64 --region eu-west-1 --out deploy/
  npm run snippets -- --php 8.2 --tool terraform            # print to stdout
  npm run snippets -- --readme --write README.md            # refresh the README's generated example
`

export interface SnippetsOptions {
  php?: string
  arch: string
  region?: string
  tool: string
  out?: string
  handler?: string
  name?: string
  layerName?: string
  layersFile?: string
  readme?: boolean
  write?: string
}

export function registerSnippetsCommand(program: Command): void {
  program
    .command('snippets')
    .description('write SAM, Serverless, Terraform and CDK examples that deploy a function with a published layer')
    .option('--php <minor>', 'PHP minor, e.g. 8.4 (the newest published build of it)')
    .option('--arch <arch>', 'x86_64 or arm64', 'x86_64')
    .option('--region <region>', 'only this region\'s ARN (default: every region the layer is published in)')
    .option('--tool <list>', 'all, or a comma-separated list of sam, serverless, terraform, cdk', 'all')
    .option('--out <dir>', 'write the files under this directory (sam/, serverless/, terraform/, cdk/) instead of printing them')
    .option('--handler <path>', 'front controller relative to the code root (becomes _HANDLER)', 'public/index.php')
    .option('--name <name>', 'function name', 'php-website')
    .option('--layer-name <name>', 'use this layer name instead of the naming function\'s (e.g. your own copy)')
    .option('--readme', 'print the generated part of the README\'s "Use the layers" section instead')
    .option('--write <file>', 'with --readme: replace that section of this markdown file (e.g. README.md)')
    .option('--layers-file <path>', 'the ARN manifest to read (default: layers.json at the project root)')
    .addHelpText('after', HELP)
    .action(async (opts: SnippetsOptions) => {
      const { snippetsAction } = await import('./action.ts')
      await snippetsAction(opts)
    })
}
