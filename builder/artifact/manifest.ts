// Where the manifests live and how every stage reads them. Two copies exist: /opt/php/manifest.json inside the
// layer (LayerManifest) and the sidecar `<zip minus .zip>.manifest.json` beside the zip (ZipManifest). Both are read
// through the one validator, so a reader gets either a well-formed manifest or one line naming what is wrong.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { parseAndValidate, type MakeError } from '../schema/validate.ts'
import { LayerManifestSchema, ZipManifestSchema, type LayerManifest, type ZipManifest } from './schema.ts'

export * from './schema.ts'

export const LAYER_MANIFEST_PATH = 'php/manifest.json'

export function sidecarPath(zipPath: string): string {
  return zipPath.replace(/\.zip$/i, '') + '.manifest.json'
}

/** Parses and validates a sidecar's text; throws `error` naming the file, line and key. */
export function parseSidecar(text: string, file: string, error: MakeError): ZipManifest {
  return parseAndValidate(text, ZipManifestSchema, { file, error, hint: () => 'Rebuild the zip with npm run build.' })
}

/** Parses and validates the manifest inside a layer. */
export function parseLayerManifest(text: string, file: string, error: MakeError): LayerManifest {
  return parseAndValidate(text, LayerManifestSchema, { file, error, hint: () => 'Rebuild the zip with npm run build.' })
}

export type SidecarState = { state: 'absent' } | { state: 'invalid'; reason: string } | { state: 'ok'; manifest: ZipManifest }

/** The sidecar beside a zip, if any, validated; never throws (callers decide what a missing or bad one means). */
export function readSidecar(zipPath: string): SidecarState {
  const path = sidecarPath(zipPath)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'absent' }
    return { state: 'invalid', reason: `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})` }
  }
  try {
    return { state: 'ok', manifest: parseSidecar(text, basename(path), (m) => new Error(m)) }
  } catch (e) {
    return { state: 'invalid', reason: (e as Error).message }
  }
}
