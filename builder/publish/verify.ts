// Pure checks deciding whether a zip may be published: the sidecar must describe exactly these bytes, a smoke run
// must have passed against exactly these bytes, and the layer inside must be the one the sidecar describes.
import { isPreRelease } from '../schema/php-version.ts'
import { PublishError } from '../errors.ts'
import type { LayerManifest, ZipManifest } from '../artifact/manifest.ts'

export const AL2023 = 'provided.al2023'

/** What hashing the zip file itself produced. */
export interface ZipFacts {
  /** hex sha256 */
  sha256: string
  /** base64 of the raw sha256, as Lambda reports CodeSha256 */
  codeSha256: string
  bytes: number
}

export interface VerifyOptions {
  allowNonAl2023?: boolean
  /** Publish a pre-release (8.6.0RC3) build; the scheduled workflow never passes this. */
  allowPreRelease?: boolean
  /** For messages. */
  zipName: string
  sidecarName: string
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** The fields publishing relies on; a sidecar missing one is not ours (or is from an older builder). */
function checkShape(m: unknown, name: string): asserts m is ZipManifest {
  const missing: string[] = []
  const need = (ok: boolean, path: string): void => {
    if (!ok) missing.push(path)
  }
  if (!isRecord(m)) throw new PublishError(`${name}: not a JSON object`)
  need(typeof m.layerName === 'string', 'layerName')
  need(typeof m.buildId === 'string', 'buildId')
  need(m.arch === 'x86_64' || m.arch === 'arm64', 'arch')
  need(isRecord(m.php) && typeof m.php.version === 'string' && typeof m.php.minor === 'string', 'php.version/php.minor')
  need(isRecord(m.base) && typeof m.base.name === 'string' && typeof m.base.runtime === 'string', 'base.name/base.runtime')
  need(isRecord(m.zip) && typeof m.zip.sha256 === 'string' && typeof m.zip.bytes === 'number', 'zip.sha256/zip.bytes')
  need(m.smoke === undefined || isRecord(m.smoke), 'smoke')
  if (missing.length > 0) {
    throw new PublishError(`${name}: not a layer manifest (missing or wrong: ${missing.join(', ')})`, 'Rebuild the zip with npm run build.')
  }
}

/** Validates the sidecar against the zip's bytes; returns it typed. */
export function verifySidecar(sidecar: unknown, facts: ZipFacts, opts: VerifyOptions): ZipManifest {
  checkShape(sidecar, opts.sidecarName)
  const m = sidecar
  if (m.zip.sha256.toLowerCase() !== facts.sha256 || m.zip.bytes !== facts.bytes) {
    throw new PublishError(
      `${opts.zipName} does not match its manifest: sha256 ${facts.sha256} (${facts.bytes} bytes), ${opts.sidecarName} says ${m.zip.sha256} (${m.zip.bytes} bytes)`,
      'The zip changed after it was built; rebuild and smoke-test it (npm run build, npm run smoke).',
    )
  }
  if (m.zip.codeSha256 !== undefined && m.zip.codeSha256 !== facts.codeSha256) {
    throw new PublishError(`${opts.sidecarName}: zip.codeSha256 ${m.zip.codeSha256} is not the base64 of zip.sha256 (${facts.codeSha256})`)
  }
  const smoke = m.smoke
  if (smoke === undefined) {
    throw new PublishError(`${opts.zipName} has no smoke record; only smoke-tested zips are published`, `Run npm run smoke -- ${opts.zipName}`)
  }
  if (smoke.zipSha256?.toLowerCase() !== facts.sha256) {
    throw new PublishError(
      `${opts.zipName}: the smoke record is for another zip (sha256 ${smoke.zipSha256}, this zip ${facts.sha256})`,
      `Run npm run smoke -- ${opts.zipName}`,
    )
  }
  if (smoke.passed !== true) {
    const failed = (smoke.checks ?? []).filter((c) => !c.passed).map((c) => c.name)
    throw new PublishError(
      `${opts.zipName} failed its smoke test${failed.length > 0 ? ` (${failed.join(', ')})` : ''}; refusing to publish`,
      'Fix the build and run npm run smoke again.',
    )
  }
  if (isPreRelease(m.php.version) && opts.allowPreRelease !== true) {
    throw new PublishError(
      `${opts.zipName} is PHP ${m.php.version}, a pre-release; refusing to publish it`,
      'Pass --pre to publish a pre-release layer deliberately (it keeps its own name, e.g. php-86-rc).',
    )
  }
  if (m.base.name !== AL2023 && opts.allowNonAl2023 !== true) {
    throw new PublishError(
      `${opts.zipName} was built against ${m.base.name}, not ${AL2023}`,
      'Pass --allow-non-al2023 if publishing a layer for another base is intended.',
    )
  }
  return m
}

/** The copy inside the zip (/opt/php/manifest.json) must describe the same build as the sidecar. */
export function checkInnerManifest(sidecar: ZipManifest, inner: unknown, zipName: string): void {
  if (!isRecord(inner)) throw new PublishError(`${zipName}: php/manifest.json is not a JSON object`)
  const i = inner as Partial<LayerManifest>
  const diffs: string[] = []
  if (i.buildId !== sidecar.buildId) diffs.push(`buildId ${String(i.buildId)} ≠ ${sidecar.buildId}`)
  if (i.php?.version !== sidecar.php.version) diffs.push(`php.version ${String(i.php?.version)} ≠ ${sidecar.php.version}`)
  if (i.arch !== sidecar.arch) diffs.push(`arch ${String(i.arch)} ≠ ${sidecar.arch}`)
  if (diffs.length > 0) {
    throw new PublishError(`${zipName}: php/manifest.json inside the zip disagrees with the sidecar (${diffs.join('; ')})`, 'Rebuild the zip with npm run build.')
  }
}
