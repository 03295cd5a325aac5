// The publisher's checks against Lambda's layer API limits (builder/lambda-limits.ts), made before it calls anything,
// so bad input fails once, locally, instead of 30 times remotely.
import { PublishError } from '../errors.ts'
import { LIMITS } from '../lambda-limits.ts'

export { LIMITS } from '../lambda-limits.ts'

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
