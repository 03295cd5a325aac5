// One region, idempotently: find the newest version of the layer; if it already holds these exact bytes (same
// CodeSha256) reuse it, otherwise publish a new version; then make sure the version is public and verify it.
// Every step can be re-run from the top after any failure — that is what makes retries, a killed run's rerun and a
// lost PublishLayerVersion response all converge on exactly one version per region.
import {
  AddLayerVersionPermissionCommand,
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  PublishLayerVersionCommand,
  paginateListLayerVersions,
  type Architecture,
  type GetLayerVersionCommandOutput,
  type LambdaClient,
  type LayerVersionContentInput,
  type PublishLayerVersionCommandOutput,
  type Runtime,
} from '@aws-sdk/client-lambda'
import { PublishError } from '../errors.ts'
import type { RegionClients } from './clients.ts'
import type { LayerVersionFields } from './limits.ts'
import { LIMITS } from './limits.ts'
import { isPublicPolicy, ourStatement, PUBLIC_ACTION, PUBLIC_PRINCIPAL, PUBLIC_STATEMENT_ID } from './policy.ts'
import { retryRegion, type RetryPolicy } from './retry.ts'
import { ensureS3Object } from './s3-upload.ts'
import type { SharedZipBody } from './shared-body.ts'

export interface RegionJob {
  region: string
  fields: LayerVersionFields
  zip: { bytes: Buffer; sha256: string; codeSha256: string }
  /** Set when the zip is over the direct-upload limit. */
  s3?: { bucket: string; key: string }
  /** The direct-upload request body, built and hashed once for all regions. */
  sharedBody: SharedZipBody
  dryRun: boolean
  clients: RegionClients
  /** Caps concurrent uploads across regions (each direct upload holds a base64 copy of the zip in memory). */
  uploadSlot: <T>(fn: () => Promise<T>) => Promise<T>
  retry: RetryPolicy
  onRetry?: (error: unknown, attempt: number) => void
}

export interface LayerVersionInfo {
  version: number
  arn: string
  codeSha256: string
  codeSize: number
  createdDate: string
}

export type RegionStatus = 'published' | 'reused' | 'would-publish' | 'would-make-public' | 'up-to-date'

export interface RegionOutcome {
  region: string
  status: RegionStatus
  /** Undefined only for would-publish. */
  layerVersion?: LayerVersionInfo
  /** The newest version before this run (dry runs report it). */
  previousVersion?: number
  /** AddLayerVersionPermission was called in this run. */
  permissionAdded: boolean
  /** Zip bytes sent to Lambda or S3, including attempts whose response was lost. */
  uploadedBytes: number
  attempts: number
}

function errorName(e: unknown): string | undefined {
  return (e as { name?: string }).name
}

async function newestVersion(lambda: LambdaClient, layerName: string): Promise<number | undefined> {
  let newest: number | undefined
  try {
    // Versions come back newest first, but reading every page costs one call per 50 versions and does not depend on it.
    for await (const page of paginateListLayerVersions({ client: lambda, pageSize: LIMITS.listMaxItems }, { LayerName: layerName })) {
      for (const v of page.LayerVersions ?? []) {
        if (v.Version !== undefined && (newest === undefined || v.Version > newest)) newest = v.Version
      }
    }
  } catch (e) {
    if (errorName(e) === 'ResourceNotFoundException') return undefined
    throw e
  }
  return newest
}

function info(out: GetLayerVersionCommandOutput | PublishLayerVersionCommandOutput, region: string): LayerVersionInfo {
  if (out.Version === undefined || out.LayerVersionArn === undefined || out.Content?.CodeSha256 === undefined) {
    throw new PublishError(`${region}: Lambda returned a layer version without Version, LayerVersionArn or CodeSha256`)
  }
  return {
    version: out.Version,
    arn: out.LayerVersionArn,
    codeSha256: out.Content.CodeSha256,
    codeSize: out.Content.CodeSize ?? 0,
    createdDate: out.CreatedDate ?? '',
  }
}

async function policyOf(lambda: LambdaClient, layerName: string, version: number): Promise<string | undefined> {
  try {
    const out = await lambda.send(new GetLayerVersionPolicyCommand({ LayerName: layerName, VersionNumber: version }))
    return out.Policy
  } catch (e) {
    // No policy at all is reported as not found.
    if (errorName(e) === 'ResourceNotFoundException') return undefined
    throw e
  }
}

/**
 * Makes the version public unless it already is, then verifies. A version this run just created has no policy yet,
 * so the look before adding is skipped for it (`fresh`). Dry runs only look.
 */
async function ensurePublic(job: RegionJob, version: number, fresh: boolean): Promise<'present' | 'added' | 'missing'> {
  const { lambda } = job.clients
  const layerName = job.fields.layerName
  const before = fresh ? undefined : await policyOf(lambda, layerName, version)
  if (isPublicPolicy(before)) return 'present'
  if (ourStatement(before) === 'different') {
    throw new PublishError(
      `${job.region}: ${layerName}:${version} has a policy statement "${PUBLIC_STATEMENT_ID}" that does not grant ${PUBLIC_ACTION} to everyone`,
      `Remove it (aws lambda remove-layer-version-permission --statement-id ${PUBLIC_STATEMENT_ID}) and rerun.`,
    )
  }
  if (job.dryRun) return 'missing'
  try {
    await lambda.send(
      new AddLayerVersionPermissionCommand({
        LayerName: layerName,
        VersionNumber: version,
        StatementId: PUBLIC_STATEMENT_ID,
        Action: PUBLIC_ACTION,
        Principal: PUBLIC_PRINCIPAL,
      }),
    )
  } catch (e) {
    // The statement exists already: an earlier attempt's response was lost, or another run got there first.
    // Whether it is the statement we want is decided by the verification below.
    if (errorName(e) !== 'ResourceConflictException') throw e
  }
  const after = await policyOf(lambda, layerName, version)
  if (!isPublicPolicy(after)) {
    throw new PublishError(
      `${job.region}: ${layerName}:${version} is not public after AddLayerVersionPermission (statement "${PUBLIC_STATEMENT_ID}" is ${ourStatement(after)})`,
    )
  }
  return 'added'
}

async function upload(job: RegionJob, account: { bytes: number }): Promise<PublishLayerVersionCommandOutput> {
  const f = job.fields
  return job.uploadSlot(async () => {
    let content: LayerVersionContentInput
    if (job.s3) {
      const s3 = await job.clients.s3()
      account.bytes += await ensureS3Object(s3, job.s3.bucket, job.s3.key, job.zip.bytes, job.zip.sha256)
      content = { S3Bucket: job.s3.bucket, S3Key: job.s3.key }
    } else {
      content = { ZipFile: job.sharedBody.placeholder }
      // Counted before sending: if the response is lost the bytes still went out.
      account.bytes += job.zip.bytes.length
    }
    const command = new PublishLayerVersionCommand({
      LayerName: f.layerName,
      Description: f.description,
      LicenseInfo: f.licenseInfo,
      CompatibleRuntimes: f.compatibleRuntimes as Runtime[],
      CompatibleArchitectures: f.compatibleArchitectures as Architecture[],
      Content: content,
    })
    if (content.ZipFile !== undefined) job.sharedBody.attach(command)
    return job.clients.lambdaOnce.send(command)
  })
}

/** A region that still failed after its retries; carries what the attempts cost. */
export class RegionFailure extends Error {
  constructor(
    readonly region: string,
    override readonly cause: unknown,
    readonly attempts: number,
    readonly uploadedBytes: number,
    /** The newest version the first attempt found, if it got that far. */
    readonly previousVersion?: number,
  ) {
    super(cause instanceof Error ? cause.message : String(cause))
    this.name = 'RegionFailure'
  }
}

export async function publishRegion(job: RegionJob): Promise<RegionOutcome> {
  const { lambda } = job.clients
  const layerName = job.fields.layerName
  const account = { bytes: 0 }
  let attempts = 0
  let triedPublish = false
  // The newest version as the first attempt saw it: later attempts may see one this run created.
  let before: number | undefined
  try {
    return await retryRegion<RegionOutcome>(
      async (attempt) => {
        attempts = attempt
        const newest = await newestVersion(lambda, layerName)
        if (!triedPublish) before = newest
        let current: LayerVersionInfo | undefined
        if (newest !== undefined) {
          const got = info(await lambda.send(new GetLayerVersionCommand({ LayerName: layerName, VersionNumber: newest })), job.region)
          if (got.codeSha256 === job.zip.codeSha256) current = got
        }
        const common = { region: job.region, previousVersion: before, uploadedBytes: account.bytes, attempts }
        if (current === undefined && job.dryRun) return { ...common, status: 'would-publish', permissionAdded: false }
        // A version found after our own lost-response attempt was published by this run, not an earlier one.
        const status: RegionStatus = current === undefined || triedPublish ? 'published' : 'reused'
        const fresh = current === undefined
        if (current === undefined) {
          triedPublish = true
          current = info(await upload(job, account), job.region)
        }
        const permission = await ensurePublic(job, current.version, fresh)
        const dryStatus: RegionStatus = permission === 'missing' ? 'would-make-public' : 'up-to-date'
        return {
          ...common,
          status: job.dryRun ? dryStatus : status,
          layerVersion: current,
          permissionAdded: permission === 'added',
          uploadedBytes: account.bytes,
        }
      },
      job.retry,
      job.onRetry,
    )
  } catch (e) {
    throw new RegionFailure(job.region, e, attempts, account.bytes, before)
  }
}
