// Reading layers.json back: one ARN for `npm run arn`, and the README's ARN table. Pure functions over the parsed
// file, plus replacing the generated section of a markdown file between two markers.
import semver from 'semver'
import { UsageError } from '../errors.ts'
import type { LayerEntry, LayerRegionEntry, LayersFile } from './layers-file.ts'

export const TABLE_START = '<!-- layers-arn-table:start -->'
export const TABLE_END = '<!-- layers-arn-table:end -->'

/** `8.3` → { minor: '8.3' }; `8.3.14` → { minor: '8.3', exact: '8.3.14' }. */
export function parsePhpOption(php: string): { minor: string; exact?: string } {
  const m = /^(\d+)\.(\d+)(?:\.(\d+(?:(?:alpha|beta|RC)\d+)?))?$/.exec(php.trim())
  if (!m) throw new UsageError(`--php is "${php}"; accepted: a PHP minor like 8.3 or an exact version like 8.3.14`)
  const minor = `${m[1]}.${m[2]}`
  return m[3] === undefined ? { minor } : { minor, exact: php.trim() }
}

export function findRegionEntry(file: LayersFile, query: { layerName: string; region: string; exactPhp?: string }): LayerRegionEntry {
  const layer = file.layers[query.layerName]
  if (layer === undefined) {
    const known = Object.keys(file.layers)
    throw new UsageError(
      `layers.json has no layer ${query.layerName}${known.length > 0 ? `; published layers: ${known.join(', ')}` : ' (nothing is published yet)'}`,
      'Publish it first: npm run publish -- <zip> --regions …',
    )
  }
  const entry = layer.regions[query.region]
  if (entry === undefined) {
    throw new UsageError(
      `${query.layerName} is not published in ${query.region}; it is in ${Object.keys(layer.regions).join(', ') || 'no region'}`,
      `Publish it there: npm run publish -- <zip> --regions ${query.region}`,
    )
  }
  if (query.exactPhp !== undefined && entry.php !== query.exactPhp) {
    throw new UsageError(
      `${query.layerName} in ${query.region} holds PHP ${entry.php}, not ${query.exactPhp}; layers.json records only the newest published build`,
      `Ask for --php ${query.exactPhp.split('.').slice(0, 2).join('.')} to get the current ARN.`,
    )
  }
  return entry
}

function layerOrder([an, a]: [string, LayerEntry], [bn, b]: [string, LayerEntry]): number {
  const av = semver.coerce(a.php)
  const bv = semver.coerce(b.php)
  if (av && bv && !semver.eq(av, bv)) return semver.compare(av, bv)
  if (a.arch !== b.arch) return a.arch === 'x86_64' ? -1 : 1
  return an < bn ? -1 : an > bn ? 1 : 0
}

/** Markdown: one table per layer (PHP minor ascending, x86_64 before arm64), regions sorted. */
export function renderArnTable(file: LayersFile): string {
  const layers = Object.entries(file.layers).sort(layerOrder)
  const out = ['_Generated from layers.json by `npm run arn -- --table`; do not edit by hand._', '']
  if (layers.length === 0) out.push('No layers are published yet.', '')
  for (const [name, layer] of layers) {
    out.push(`### ${name} — PHP ${layer.php}, ${layer.arch}`, '', '| Region | PHP | Version | ARN |', '| --- | --- | --- | --- |')
    for (const [region, e] of Object.entries(layer.regions).sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push(`| ${region} | ${e.php} | ${e.version} | \`${e.arn}\` |`)
    }
    out.push('')
  }
  return out.join('\n')
}

/** Replaces what lies between the markers (keeping them); refuses a file without exactly one pair. */
export function replaceTableSection(markdown: string, table: string, fileName: string): string {
  const start = markdown.indexOf(TABLE_START)
  const end = markdown.indexOf(TABLE_END)
  if (start < 0 || end < start || markdown.indexOf(TABLE_START, start + 1) >= 0) {
    throw new UsageError(
      `${fileName} has no (or more than one) ${TABLE_START} … ${TABLE_END} section`,
      `Add the two marker lines where the table belongs, then rerun.`,
    )
  }
  return `${markdown.slice(0, start + TABLE_START.length)}\n${table.trimEnd()}\n${markdown.slice(end)}`
}
