// Publishing a zip to many regions: everything that can be checked locally is checked first (prepare), so bad
// input fails once with nothing published; then each region runs the idempotent procedure in region.ts,
// concurrently under a cap, and records its result in layers.json the moment it succeeds. A failing region never
// stops the others; the report says which failed and the caller turns that into a non-zero exit.
import { accessSync, constants, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import pLimit from 'p-limit'
import type { Region, VersionsFile } from '../config/types.ts'
import { PublishError, UsageError } from '../errors.ts'
import { addonLayerName, layerName as namingLayerName } from '../plan/naming.ts'
import type { Arch } from '../schema/common.ts'
import { ClientFactory, type ClientOverrides } from './clients.ts'
import { layerVersionFields } from './description.ts'
import { LayersFileWriter, withRegionEntry, type LayerRegionEntry } from './layers-file.ts'
import { checkLayerVersionFields, needsS3, type LayerVersionFields } from './limits.ts'
import { publishRegion, RegionFailure, type RegionOutcome, type RegionStatus } from './region.ts'
import { resolveRegions } from './regions.ts'
import { DEFAULT_RETRY, isRetryable, type RetryPolicy } from './retry.ts'
import { bucketFor, checkBucketTemplate, s3Key } from './s3-upload.ts'
import { SharedZipBody } from './shared-body.ts'
import { loadPublishableZip, type PublishableZip } from './zip.ts'

/** Regions in flight at once. Lambda's API limits are per region, so regions do not compete with each other. */
export const DEFAULT_CONCURRENCY = 32
/**
 * Zip bytes allowed in flight at once. Each direct upload holds a base64 JSON copy of the zip (4/3 of its size, and
 * the SDK builds the body string and a signing hash pass over it), so this bounds memory at roughly 3× the budget:
 * small zips go to every region at once, a 50 MiB zip to 5 regions at a time.
 */
export const UPLOAD_BUDGET_BYTES = 256 * 1024 * 1024
const MAX_UPLOADS = 32

/** Uploads in flight at once unless --upload-concurrency says otherwise. */
export function defaultUploadConcurrency(zipBytes: number): number {
  return Math.max(1, Math.min(MAX_UPLOADS, Math.floor(UPLOAD_BUDGET_BYTES / Math.max(1, zipBytes))))
}

export interface PublishInput {
  zipPath: string
  /** `all` or a comma-separated list. */
  regions: string
  versions: Pick<VersionsFile, 'regions' | 'layer'>
  layersFile: string
  /** Overrides the naming function (e.g. a staging layer). */
  layerName?: string
  dryRun?: boolean
  allowNonAl2023?: boolean
  allowPreRelease?: boolean
  concurrency?: number
  uploadConcurrency?: number
  /** Bucket name for zips over the direct-upload limit; `{region}` is replaced per region. */
  s3Bucket?: string
  /** Explicit SDK settings (tests, benchmarks). Normally empty: the SDK's standard configuration applies. */
  clients?: ClientOverrides
  retry?: Partial<RetryPolicy>
  onProgress?: (event: ProgressEvent) => void
}

export type ProgressEvent =
  | { type: 'retry'; region: string; attempt: number; error: string }
  | { type: 'region-done'; result: RegionResult }

export interface RegionResult {
  region: string
  status: RegionStatus | 'failed'
  version?: number
  arn?: string
  /** Newest version before the run. */
  previousVersion?: number
  permissionAdded: boolean
  uploadedBytes: number
  attempts: number
  ms: number
  error?: string
  hint?: string
  /** A failure a rerun may fix (throttling, 5xx, dropped connections), as opposed to one it cannot. */
  retryable?: boolean
}

export interface PublishPlan {
  zip: PublishableZip
  regions: Region[]
  fields: LayerVersionFields
  layer: { name: string; php: string; arch: Arch }
  /** Bucket template when the zip goes through S3. */
  s3Bucket?: string
}

export interface PublishReport {
  zip: string
  layerName: string
  php: string
  arch: Arch
  buildId: string
  codeSha256: string
  zipBytes: number
  viaS3: boolean
  dryRun: boolean
  regions: RegionResult[]
  failed: number
  uploadedBytes: number
  ms: number
}

function positiveInt(value: number | undefined, fallback: number, flag: string): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} is ${value}; accepted: a whole number ≥ 1`)
  return value
}

/** All local checks; throws before any network call. */
export async function preparePublish(input: PublishInput): Promise<PublishPlan> {
  positiveInt(input.concurrency, DEFAULT_CONCURRENCY, '--concurrency')
  positiveInt(input.uploadConcurrency, 1, '--upload-concurrency')
  // Regions first: a typo there is the cheapest thing to report.
  const regions = resolveRegions(input.regions, input.versions.regions)
  const zip = await loadPublishableZip(input.zipPath, { allowNonAl2023: input.allowNonAl2023 === true, allowPreRelease: input.allowPreRelease === true })
  const m = zip.manifest
  const expected = m.addon
    ? addonLayerName(input.versions.layer, m.php.minor, m.arch, m.php.version, m.addon.name)
    : namingLayerName(input.versions.layer, m.php.minor, m.arch, m.php.version)
  if (input.layerName === undefined && m.layerName !== expected) {
    throw new PublishError(
      `the manifest names the layer "${m.layerName}" but the naming function gives "${expected}" for PHP ${m.php.minor} on ${m.arch}${m.addon ? ` (add-on ${m.addon.name})` : ''}`,
      'Rebuild with the current versions.yaml, or pass --layer-name to publish under an explicit name.',
    )
  }
  const name = input.layerName ?? expected
  const fields = layerVersionFields(m, name, input.versions.layer.license)
  checkLayerVersionFields(fields)
  const plan: PublishPlan = { zip, regions, fields, layer: { name, php: m.php.minor, arch: m.arch } }
  const otherFields = {
    Description: fields.description,
    LicenseInfo: fields.licenseInfo,
    CompatibleRuntimes: fields.compatibleRuntimes,
    CompatibleArchitectures: fields.compatibleArchitectures,
  }
  if (input.dryRun !== true) checkLayersFileDir(resolve(input.layersFile))
  if (needsS3(zip.facts.bytes, otherFields)) {
    plan.s3Bucket = checkBucketTemplate(input.s3Bucket, regions.map((r) => r.name), zip.facts.bytes)
  }
  return plan
}

/** layers.json is written after each region; a directory that cannot take it must fail before anything is published. */
function checkLayersFileDir(path: string): void {
  const dir = dirname(path)
  try {
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' })
    accessSync(dir, constants.W_OK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : code === 'EACCES' || code === 'EPERM' ? 'is not writable' : `cannot be used (${code ?? String(e)})`
    throw new PublishError(`--layers-file ${path}: the directory ${dir} ${why}; nothing was published`, 'Give a layers file in an existing, writable directory (default: layers.json at the project root).')
  }
}

function oneLine(e: unknown): string {
  const err = e as { name?: string; message?: string }
  const msg = (err.message ?? String(e)).split('\n')[0] ?? ''
  return err.name && err.name !== 'Error' && !msg.startsWith(err.name) ? `${err.name}: ${msg}` : msg
}

function failureHint(region: Region, cause: unknown): string | undefined {
  const name = (cause as { name?: string }).name ?? ''
  const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
  if (region.optIn && (status === 403 || /UnrecognizedClient|InvalidClientTokenId|AuthFailure/.test(name))) {
    return `${region.name} is an opt-in region: enable it for the account, or leave it out of --regions`
  }
  if (isRetryable(cause)) return 'transient failure; rerun the same command to finish the missing regions'
  return (cause as { hint?: string }).hint
}

export function entryFor(plan: PublishPlan, outcome: RegionOutcome): LayerRegionEntry | undefined {
  const v = outcome.layerVersion
  if (v === undefined) return undefined
  return {
    arn: v.arn,
    version: v.version,
    php: plan.zip.manifest.php.version,
    buildId: plan.zip.manifest.buildId,
    codeSha256: v.codeSha256,
    zipBytes: v.codeSize,
    unzippedBytes: plan.zip.manifest.unzippedBytes,
    publishedAt: v.createdDate,
  }
}

export async function runPlan(plan: PublishPlan, input: PublishInput): Promise<PublishReport> {
  const started = performance.now()
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...input.retry }
  const regionLimit = pLimit(positiveInt(input.concurrency, DEFAULT_CONCURRENCY, '--concurrency'))
  const uploadLimit = pLimit(positiveInt(input.uploadConcurrency, defaultUploadConcurrency(plan.zip.facts.bytes), '--upload-concurrency'))
  const factory = new ClientFactory(input.clients ?? {}, {
    maxAttempts: retry.sdkMaxAttempts,
    idleTimeoutMs: retry.sdkIdleTimeoutMs,
    connectTimeoutMs: retry.sdkConnectTimeoutMs,
  })
  const writer = new LayersFileWriter(resolve(input.layersFile))
  const dryRun = input.dryRun === true
  const sharedBody = new SharedZipBody(plan.zip.bytes)
  const emit = input.onProgress ?? (() => undefined)
  // One clear failure instead of one per region when the credential chain yields nothing.
  try {
    await factory.resolveCredentials(plan.regions[0]!.name)
  } catch (e) {
    factory.destroyAll()
    throw e
  }

  const one = async (region: Region): Promise<RegionResult> => {
    const t0 = performance.now()
    const ms = (): number => Math.round(performance.now() - t0)
    let result: RegionResult
    try {
      const outcome = await publishRegion({
        region: region.name,
        fields: plan.fields,
        zip: { bytes: plan.zip.bytes, sha256: plan.zip.facts.sha256, codeSha256: plan.zip.facts.codeSha256 },
        s3: plan.s3Bucket === undefined ? undefined : { bucket: bucketFor(plan.s3Bucket, region.name), key: s3Key(plan.layer.name, plan.zip.facts.sha256) },
        sharedBody,
        dryRun,
        clients: factory.forRegion(region.name),
        uploadSlot: (fn) => uploadLimit(fn),
        retry,
        onRetry: (error, attempt) => emit({ type: 'retry', region: region.name, attempt, error: oneLine(error) }),
      })
      const entry = entryFor(plan, outcome)
      if (!dryRun && entry !== undefined) {
        // Recorded as soon as this region is done, so an interrupted run loses nothing it finished.
        await writer.update((f) => withRegionEntry(f, plan.layer, region.name, entry))
      }
      result = {
        region: region.name,
        status: outcome.status,
        version: outcome.layerVersion?.version,
        arn: outcome.layerVersion?.arn,
        previousVersion: outcome.previousVersion,
        permissionAdded: outcome.permissionAdded,
        uploadedBytes: outcome.uploadedBytes,
        attempts: outcome.attempts,
        ms: ms(),
      }
    } catch (e) {
      const cause = e instanceof RegionFailure ? e.cause : e
      result = {
        region: region.name,
        status: 'failed',
        // What the region held before is still worth reporting (and the table shows it) when the run then failed.
        ...(e instanceof RegionFailure && e.previousVersion !== undefined ? { previousVersion: e.previousVersion } : {}),
        permissionAdded: false,
        uploadedBytes: e instanceof RegionFailure ? e.uploadedBytes : 0,
        attempts: e instanceof RegionFailure ? e.attempts : 1,
        ms: ms(),
        error: oneLine(cause),
        hint: failureHint(region, cause),
        retryable: isRetryable(cause),
      }
    }
    emit({ type: 'region-done', result })
    return result
  }

  try {
    const results = await Promise.all(plan.regions.map((r) => regionLimit(() => one(r))))
    const m = plan.zip.manifest
    return {
      zip: plan.zip.path,
      layerName: plan.layer.name,
      php: m.php.version,
      arch: m.arch,
      buildId: m.buildId,
      codeSha256: plan.zip.facts.codeSha256,
      zipBytes: plan.zip.facts.bytes,
      viaS3: plan.s3Bucket !== undefined,
      dryRun,
      regions: results,
      failed: results.filter((r) => r.status === 'failed').length,
      uploadedBytes: results.reduce((n, r) => n + r.uploadedBytes, 0),
      ms: Math.round(performance.now() - started),
    }
  } finally {
    factory.destroyAll()
  }
}

/** prepare + run. Throws on bad input; region failures are in the report (`failed`). */
export async function publish(input: PublishInput): Promise<PublishReport> {
  const plan = await preparePublish(input)
  return runPlan(plan, input)
}
