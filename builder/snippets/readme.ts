// The generated part of the README's "Use the layers" section: the newest published layer as a function would pin
// it. Pure; `npm run snippets -- --readme --write README.md` puts it between the markers.
import semver from 'semver'
import { UsageError } from '../errors.ts'
import type { LayersFile } from '../publish/layers-file.ts'
import { DEFAULT_HANDLER } from './target.ts'

export const README_START = '<!-- use-the-layers:start -->'
export const README_END = '<!-- use-the-layers:end -->'

/** Prefer the newest PHP minor, x86_64 before arm64, and us-east-1 when published there. */
function newest(file: LayersFile): { name: string; arch: string; minor: string; region: string; php: string; arn: string } | undefined {
  const layers = Object.entries(file.layers)
    .filter(([, l]) => Object.keys(l.regions).length > 0)
    .sort(([an, a], [bn, b]) => {
      const byPhp = semver.compare(semver.coerce(b.php)!, semver.coerce(a.php)!)
      if (byPhp !== 0) return byPhp
      if (a.arch !== b.arch) return a.arch === 'x86_64' ? -1 : 1
      return an < bn ? -1 : 1
    })
  const [name, layer] = layers[0] ?? []
  if (name === undefined || layer === undefined) return undefined
  const regions = Object.keys(layer.regions).sort()
  const region = regions.includes('us-east-1') ? 'us-east-1' : regions[0]!
  const entry = layer.regions[region]!
  return { name, arch: layer.arch, minor: layer.php, region, php: entry.php, arn: entry.arn }
}

export function renderReadmeSection(file: LayersFile): string {
  const out = ['_Generated from layers.json by `npm run snippets -- --readme --write README.md`; do not edit by hand._', '']
  const pick = newest(file)
  if (pick === undefined) {
    out.push(
      'No layer is published yet, so there is no public ARN to pin. Publish your own copy (`npm run publish`) and',
      'generate the examples from the layers.json that writes: `npm run snippets -- --php 8.2 --layers-file <that file> --out deploy/`.',
    )
    return out.join('\n') + '\n'
  }
  out.push(
    `The newest layer, ${pick.name} (PHP ${pick.php}, ${pick.arch}), as a function in ${pick.region} pins it (AWS SAM syntax;`,
    `\`npm run snippets -- --php ${pick.minor} --arch ${pick.arch} --region ${pick.region} --out deploy/\` writes complete SAM, Serverless,`,
    'Terraform and CDK examples):',
    '',
    '```yaml',
    'Runtime: provided.al2023',
    `Architectures: [${pick.arch}]`,
    `Handler: ${DEFAULT_HANDLER}   # becomes _HANDLER`,
    'Layers:',
    `  - ${pick.arn}`,
    '```',
  )
  return out.join('\n') + '\n'
}

/** Replaces what lies between the markers (keeping them); refuses a file without exactly one pair. */
export function replaceReadmeSection(markdown: string, body: string, fileName: string): string {
  const start = markdown.indexOf(README_START)
  const end = markdown.indexOf(README_END)
  if (start < 0 || end < start || markdown.indexOf(README_START, start + 1) >= 0) {
    throw new UsageError(`${fileName} has no (or more than one) ${README_START} … ${README_END} section`, 'Add the two marker lines where the section belongs, then rerun.')
  }
  return `${markdown.slice(0, start + README_START.length)}\n${body.trimEnd()}\n${markdown.slice(end)}`
}
