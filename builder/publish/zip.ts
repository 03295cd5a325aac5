// Loads a zip for publishing: reads it once into memory (the same buffer is uploaded to every region), hashes it,
// reads the sidecar and the manifest inside the zip, and hands everything to the pure checks in verify.ts.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { readZipEntry } from '../artifact/zip-read.ts'
import { PublishError, UsageError } from '../errors.ts'
import { LAYER_MANIFEST_PATH, sidecarPath, type ZipManifest } from '../artifact/manifest.ts'
import { checkInnerManifest, verifySidecar, type ZipFacts } from './verify.ts'

export interface PublishableZip {
  path: string
  bytes: Buffer
  facts: ZipFacts
  manifest: ZipManifest
}

export function zipFacts(bytes: Buffer): ZipFacts {
  const digest = createHash('sha256').update(bytes).digest()
  return { sha256: digest.toString('hex'), codeSha256: digest.toString('base64'), bytes: bytes.length }
}

export async function loadPublishableZip(zipPath: string, opts: { allowNonAl2023?: boolean; allowPreRelease?: boolean } = {}): Promise<PublishableZip> {
  const zipName = basename(zipPath)
  let bytes: Buffer
  try {
    bytes = await readFile(zipPath)
  } catch (e) {
    throw new UsageError(`cannot read ${zipPath} (${(e as NodeJS.ErrnoException).code ?? String(e)})`, 'Give the path of a zip written by npm run build.')
  }
  const sidecar = sidecarPath(zipPath)
  const sidecarName = basename(sidecar)
  let raw: string
  try {
    raw = await readFile(sidecar, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new PublishError(
      code === 'ENOENT' ? `${zipName} has no manifest (expected ${sidecar})` : `cannot read ${sidecar} (${code ?? String(e)})`,
      'Publish only zips written by npm run build and checked by npm run smoke; their manifest sits beside them.',
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (e) {
    throw new PublishError(`${sidecarName}: not valid JSON (${(e as Error).message})`)
  }
  const facts = zipFacts(bytes)
  const manifest = verifySidecar(parsed, facts, { zipName, sidecarName, allowNonAl2023: opts.allowNonAl2023 === true, allowPreRelease: opts.allowPreRelease === true })

  // A base layer keeps its manifest at php/manifest.json; an add-on at php/addons/<name>.json (so both fit in /opt).
  const innerPath = manifest.addon ? `php/addons/${manifest.addon.name}.json` : LAYER_MANIFEST_PATH
  let inner: Buffer | undefined
  try {
    inner = await readZipEntry(bytes, innerPath)
  } catch (e) {
    throw new PublishError(`${zipName}: ${(e as Error).message}`)
  }
  if (inner === undefined) {
    throw new PublishError(`${zipName} has no ${innerPath} inside; it is not a layer built by this factory`, 'Rebuild it with npm run build.')
  }
  let innerJson: unknown
  try {
    innerJson = JSON.parse(inner.toString('utf8'))
  } catch (e) {
    throw new PublishError(`${zipName}: ${innerPath} is not valid JSON (${(e as Error).message})`)
  }
  checkInnerManifest(manifest, innerJson, zipName)
  return { path: zipPath, bytes, facts, manifest }
}
