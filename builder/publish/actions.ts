// What `publish` and `arn` do once commander has parsed them. Loaded lazily by command.ts, so the SDK and the rest
// of the publisher are only imported when one of these commands actually runs.
import { readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../config/load.ts'
import { ARCHS, type Arch } from '../config/types.ts'
import { PublishError, UsageError } from '../errors.ts'
import { addonLayerName, layerName } from '../plan/naming.ts'
import { findRegionEntry, parsePhpOption, renderArnTable, replaceTableSection } from './arn.ts'
import { writeFileAtomic } from '../artifact/atomic.ts'
import { readLayersFile } from './layers-file.ts'
import { publish, type ProgressEvent } from './publisher.ts'
import { formatReport } from './report.ts'
import { S3_BUCKET_ENV } from './s3-upload.ts'

/** Where versions.yaml and layers.json live, whatever the working directory (as builder/cli.ts does). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

export interface Io {
  out: (text: string) => void
  err: (text: string) => void
}

export const processIo: Io = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
}

export interface PublishOptions {
  regions: string
  layerName?: string
  dryRun?: boolean
  json?: boolean
  allowNonAl2023?: boolean
  pre?: boolean
  concurrency?: string
  uploadConcurrency?: string
  s3Bucket?: string
  layersFile?: string
  root?: string
}

function intOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1) throw new UsageError(`${flag} is "${value}"; accepted: a whole number ≥ 1`)
  return n
}

function progressLine(e: ProgressEvent): string {
  if (e.type === 'retry') return `  ${e.region}: attempt ${e.attempt} failed (${e.error}); retrying\n`
  const r = e.result
  const what = r.status === 'failed' ? `FAILED: ${r.error ?? ''}` : `${r.status}${r.version !== undefined ? ` v${r.version}` : ''}`
  return `  ${r.region}: ${what}\n`
}

export async function publishAction(zip: string, opts: PublishOptions, io: Io = processIo): Promise<void> {
  const root = resolve(opts.root ?? PROJECT_ROOT)
  const concurrency = intOption(opts.concurrency, '--concurrency')
  const uploadConcurrency = intOption(opts.uploadConcurrency, '--upload-concurrency')
  const config = loadConfig({ root })
  const report = await publish({
    zipPath: resolve(zip),
    regions: opts.regions,
    versions: config.versions,
    layersFile: opts.layersFile === undefined ? join(root, 'layers.json') : resolve(opts.layersFile),
    layerName: opts.layerName,
    dryRun: opts.dryRun === true,
    allowNonAl2023: opts.allowNonAl2023 === true,
    allowPreRelease: opts.pre === true,
    concurrency,
    uploadConcurrency,
    s3Bucket: opts.s3Bucket ?? process.env[S3_BUCKET_ENV],
    onProgress: (e) => io.err(progressLine(e)),
  })
  io.out(opts.json === true ? JSON.stringify(report, null, 2) + '\n' : formatReport(report))
  if (report.failed > 0) {
    const failed = report.regions.filter((r) => r.status === 'failed')
    const names = failed.map((r) => r.region)
    // "Rerun" only when a rerun can help: a bad credential or a refused request fails the same way again.
    const hint = failed.every((r) => r.retryable === true)
      ? 'Rerun the same command: finished regions are reused and only the missing ones are published.'
      : 'Fix what the failed regions report (the table above); a rerun alone fails the same way. Finished regions are reused when you rerun.'
    throw new PublishError(`${report.failed} of ${report.regions.length} regions failed: ${names.join(', ')}`, hint)
  }
}

export interface ArnOptions {
  php?: string
  arch?: string
  region?: string
  layerName?: string
  /** An add-on layer (recipes/ext name) instead of the base layer. */
  addon?: string
  layersFile?: string
  table?: boolean
  write?: string
  json?: boolean
  root?: string
}

export async function arnAction(opts: ArnOptions, io: Io = processIo): Promise<void> {
  const root = resolve(opts.root ?? PROJECT_ROOT)
  const layersPath = opts.layersFile === undefined ? join(root, 'layers.json') : resolve(opts.layersFile)
  if (opts.table === true || opts.write !== undefined) {
    const table = renderArnTable(await readLayersFile(layersPath))
    if (opts.write === undefined) {
      io.out(table)
      return
    }
    const target = resolve(opts.write)
    let current: string
    try {
      current = await readFile(target, 'utf8')
    } catch (e) {
      throw new UsageError(`cannot read ${opts.write} (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
    }
    const updated = replaceTableSection(current, table, basename(target))
    if (updated !== current) await writeFileAtomic(target, updated)
    io.err(`${opts.write}: ARN table ${updated === current ? 'already up to date' : 'updated'}\n`)
    return
  }
  if (opts.php === undefined || opts.region === undefined) {
    throw new UsageError('arn needs --php and --region (or --table)', 'Example: npm run arn -- --php 8.3 --arch arm64 --region eu-west-1')
  }
  const arch = (opts.arch ?? 'x86_64') as Arch
  if (!ARCHS.includes(arch)) throw new UsageError(`--arch is "${opts.arch}"; accepted: ${ARCHS.join(', ')}`)
  const php = parsePhpOption(opts.php)
  let name = opts.layerName
  if (name === undefined) {
    const config = loadConfig({ root })
    if (!(php.minor in config.versions.php)) {
      throw new UsageError(`--php ${opts.php}: PHP ${php.minor} is not in versions.yaml; accepted: ${Object.keys(config.versions.php).join(', ')}`)
    }
    if (opts.addon !== undefined && !(opts.addon in config.addons)) {
      throw new UsageError(`--addon ${opts.addon}: no recipes/ext/${opts.addon}.yaml; accepted: ${Object.keys(config.addons).sort().join(', ')}`)
    }
    name = opts.addon === undefined ? layerName(config.versions.layer, php.minor, arch, php.exact) : addonLayerName(config.versions.layer, php.minor, arch, php.exact ?? `${php.minor}.0`, opts.addon)
  }
  const entry = findRegionEntry(await readLayersFile(layersPath), { layerName: name, region: opts.region, exactPhp: php.exact })
  io.out(opts.json === true ? JSON.stringify({ layerName: name, region: opts.region, ...entry }, null, 2) + '\n' : `${entry.arn}\n`)
}
