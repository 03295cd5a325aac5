// Lambda's documented limits for the layer API, in one place: the publisher checks them before it calls anything
// (so bad input fails once, locally, instead of 30 times remotely) and the test emulator enforces the same numbers.
import { PublishError } from '../errors.ts'

export const LIMITS = {
  /** PublishLayerVersion Description, characters. */
  description: 256,
  /** PublishLayerVersion LicenseInfo, characters. */
  licenseInfo: 512,
  compatibleRuntimes: 15,
  compatibleArchitectures: 2,
  /** Layer names: 1–140 characters of [a-zA-Z0-9-_] (the ARN form is longer but we never pass ARNs). */
  layerName: 140,
  /**
   * Direct uploads carry the zip base64-encoded inside a JSON body; Lambda rejects bodies over this many bytes with
   * 413 RequestEntityTooLargeException. It is 50 MiB of zip once base64 has grown it by 4/3.
   */
  requestBody: 69_905_067,
  /** The 50 MiB "zipped, uploaded directly" quota, for messages. */
  directZip: 50 * 1024 * 1024,
  /** Unzipped size of one layer (and of a function with all its layers). */
  unzipped: 262_144_000,
  /** StatementId: 1–100 characters of [a-zA-Z0-9-_]. */
  statementId: 100,
  /** ListLayerVersions MaxItems. */
  listMaxItems: 50,
} as const

export const LAYER_NAME_PATTERN = /^[a-zA-Z0-9-_]+$/

/** Bytes of the PublishLayerVersion JSON body when `zipBytes` of zip ride in Content.ZipFile. */
export function directRequestBytes(zipBytes: number, otherFields: Record<string, unknown>): number {
  const base64 = 4 * Math.ceil(zipBytes / 3)
  // The body is {"Content":{"ZipFile":"<base64>"},...other fields}; measure the rest exactly.
  const skeleton = JSON.stringify({ Content: { ZipFile: '' }, ...otherFields })
  return Buffer.byteLength(skeleton) + base64
}

export function needsS3(zipBytes: number, otherFields: Record<string, unknown>): boolean {
  return directRequestBytes(zipBytes, otherFields) > LIMITS.requestBody
}

export interface LayerVersionFields {
  layerName: string
  description: string
  licenseInfo: string
  compatibleRuntimes: string[]
  compatibleArchitectures: string[]
}

/** Throws one PublishError naming the first field Lambda would refuse. */
export function checkLayerVersionFields(f: LayerVersionFields): void {
  if (f.layerName.length < 1 || f.layerName.length > LIMITS.layerName || !LAYER_NAME_PATTERN.test(f.layerName)) {
    throw new PublishError(
      `layer name "${f.layerName}" is not valid; accepted: 1-${LIMITS.layerName} characters of letters, digits, - and _`,
    )
  }
  if (f.description.length > LIMITS.description) {
    throw new PublishError(
      `layer description is ${f.description.length} characters; Lambda accepts at most ${LIMITS.description}: "${f.description.slice(0, 60)}…"`,
      'The description holds the PHP version and the build id; check the manifest for an unexpectedly long buildId.',
    )
  }
  if (f.licenseInfo.length > LIMITS.licenseInfo) {
    throw new PublishError(
      `license info is ${f.licenseInfo.length} characters; Lambda accepts at most ${LIMITS.licenseInfo}`,
      'Shorten layer.license in versions.yaml (an SPDX id or a URL).',
    )
  }
  if (f.compatibleRuntimes.length < 1 || f.compatibleRuntimes.length > LIMITS.compatibleRuntimes) {
    throw new PublishError(`${f.compatibleRuntimes.length} compatible runtimes; accepted: 1-${LIMITS.compatibleRuntimes}`)
  }
  if (f.compatibleArchitectures.length < 1 || f.compatibleArchitectures.length > LIMITS.compatibleArchitectures) {
    throw new PublishError(
      `${f.compatibleArchitectures.length} compatible architectures; accepted: 1-${LIMITS.compatibleArchitectures}`,
    )
  }
}
