// What every deployment snippet is built from: the layer's ARN per region, read from layers.json through the same
// naming function and lookup as `npm run arn`, plus the few facts about the user's function the snippets need.
// Pure: the caller reads layers.json and versions.yaml.
import type { Arch, VersionsFile } from '../config/types.ts'
import { UsageError } from '../errors.ts'
import { layerName } from '../plan/naming.ts'
import { findRegionEntry, parsePhpOption } from '../publish/arn.ts'
import type { LayersFile } from '../publish/layers-file.ts'

export interface SnippetTarget {
  layerName: string
  /** PHP minor the layer carries, e.g. 8.4 */
  phpMinor: string
  arch: Arch
  /** region → layer version ARN, sorted by region (one entry when --region was given) */
  arns: Record<string, string>
  /** region → exact PHP version in that region's layer version */
  phpVersions: Record<string, string>
  /** the front controller relative to the function root; Lambda hands it to the layer as _HANDLER */
  handler: string
  /** the Lambda function's name (also used for the stack and resource names) */
  functionName: string
  /** the command that regenerates these files, written into each file's header */
  command: string
}

export interface TargetRequest {
  php: string
  arch: Arch
  /** one region, or every region the layer is published in */
  region?: string
  handler?: string
  functionName?: string
  /** use this layer name instead of the naming function's (a private or staging copy) */
  layerName?: string
}

export const DEFAULT_HANDLER = 'public/index.php'
export const DEFAULT_FUNCTION_NAME = 'php-website'

const HANDLER_RE = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._/-]+\.php$/
// Target group names ("<name>-production") may have at most 32 characters.
const FUNCTION_NAME_RE = /^[A-Za-z][A-Za-z0-9-]{0,20}$/

export function resolveTarget(versions: Pick<VersionsFile, 'layer' | 'php'>, layers: LayersFile, request: TargetRequest): SnippetTarget {
  const php = parsePhpOption(request.php)
  if (php.exact !== undefined) {
    throw new UsageError(`--php is "${request.php}"; snippets pin the newest published build of a minor, so accepted: a minor like ${php.minor}`)
  }
  if (!(php.minor in versions.php)) {
    throw new UsageError(`--php ${request.php}: PHP ${php.minor} is not in versions.yaml; accepted: ${Object.keys(versions.php).join(', ')}`)
  }
  const handler = request.handler ?? DEFAULT_HANDLER
  if (!HANDLER_RE.test(handler)) {
    throw new UsageError(`--handler is "${handler}"; accepted: a .php path relative to the function root, e.g. ${DEFAULT_HANDLER}`)
  }
  const functionName = request.functionName ?? DEFAULT_FUNCTION_NAME
  if (!FUNCTION_NAME_RE.test(functionName)) {
    throw new UsageError(`--name is "${functionName}"; accepted: a letter, then up to 20 letters, digits or dashes (load balancer target groups are named <name>-production, at most 32 characters)`)
  }
  // The release's layer, or, for a minor that has only pre-releases published (php-86-rc), theirs.
  const names = request.layerName !== undefined ? [request.layerName]
    : [...new Set([layerName(versions.layer, php.minor, request.arch), ...(versions.php[php.minor]?.releases ?? []).map((r) => layerName(versions.layer, php.minor, request.arch, r.version))])]
  const name = names.find((n) => layers.layers[n] !== undefined) ?? names[0]!
  const layer = layers.layers[name]
  if (layer === undefined) {
    const known = Object.keys(layers.layers)
    throw new UsageError(
      `layers.json has no layer ${name} (PHP ${php.minor} ${request.arch})${known.length > 0 ? `; published layers: ${known.join(', ')}` : ': nothing is published yet'}`,
      'Publish it first (npm run publish -- <zip> --regions …), or point --layers-file at the layers.json your own publish wrote.',
    )
  }
  const regions = request.region !== undefined ? [request.region] : Object.keys(layer.regions).sort()
  if (regions.length === 0) throw new UsageError(`layers.json lists ${name} but in no region`, 'Publish it: npm run publish -- <zip> --regions …')
  const arns: Record<string, string> = {}
  const phpVersions: Record<string, string> = {}
  for (const region of regions) {
    const entry = findRegionEntry(layers, { layerName: name, region })
    arns[region] = entry.arn
    phpVersions[region] = entry.php
  }
  const command = [
    'npm run snippets --',
    `--php ${php.minor}`,
    `--arch ${request.arch}`,
    ...(request.region !== undefined ? [`--region ${request.region}`] : []),
    ...(request.layerName !== undefined ? [`--layer-name ${request.layerName}`] : []),
    ...(handler !== DEFAULT_HANDLER ? [`--handler ${handler}`] : []),
    ...(functionName !== DEFAULT_FUNCTION_NAME ? [`--name ${functionName}`] : []),
  ].join(' ')
  return { layerName: name, phpMinor: php.minor, arch: request.arch, arns, phpVersions, handler, functionName, command }
}

/** "PHP 8.4.12" when every region holds the same build, else "PHP 8.4.11–8.4.12". */
export function phpLabel(target: SnippetTarget): string {
  const versions = [...new Set(Object.values(target.phpVersions))].sort()
  return versions.length === 1 ? `PHP ${versions[0]}` : `PHP ${versions[0]}–${versions[versions.length - 1]}`
}
