// Which layer build `npm run serve` runs: the zip given with --layer, else the newest zip in dist/ that has the
// manifest `npm run build` writes beside it. The zip is checked against its manifest, as smoke and publish do.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { readSidecar, sidecarPath, type ZipManifest } from '../artifact/manifest.ts'
import { UsageError } from '../errors.ts'
import { nativeArch, nativeArchName } from '../host-libs.ts'
import { sha256File } from '../sources/digest.ts'

export interface ServedLayer {
  zipPath: string
  manifest: ZipManifest
}

export async function findLayer(root: string, layer: string | undefined): Promise<ServedLayer> {
  let zipPath: string
  if (layer !== undefined) {
    zipPath = resolve(layer)
    if (!existsSync(zipPath)) throw new UsageError(`--layer ${layer}: no such file`, 'Pass a zip written by npm run build, e.g. dist/php-82-8.2.32-x86_64.zip.')
  } else {
    const dist = join(root, 'dist')
    const zips = existsSync(dist)
      ? readdirSync(dist).filter((f) => f.endsWith('.zip') && existsSync(sidecarPath(join(dist, f)))).map((f) => join(dist, f))
      : []
    if (zips.length === 0) {
      throw new UsageError('no layer zip in dist/ to serve with', 'Build one (npm run build -- --php 8.2 --arch x86_64) or pass --layer <zip>.')
    }
    zipPath = zips.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!
  }
  const side = readSidecar(zipPath)
  if (side.state !== 'ok') {
    throw new UsageError(side.state === 'absent' ? `${sidecarPath(zipPath)}: missing manifest beside the zip` : side.reason, 'Serve zips written by npm run build.')
  }
  const manifest = side.manifest
  const sha = await sha256File(zipPath)
  if (sha !== manifest.zip.sha256) {
    throw new UsageError(`${zipPath}: sha256 ${sha} differs from its manifest (${manifest.zip.sha256})`, 'The zip was changed after the build; rebuild it.')
  }
  if (nativeArch() !== manifest.arch) {
    throw new UsageError(`${manifest.layerName} is an ${manifest.arch} layer and this machine is ${nativeArchName()}`, 'Serve a layer built for this machine\'s architecture.')
  }
  return { zipPath, manifest }
}

/** One line naming the build: what startup prints. */
export function describeLayer(l: ServedLayer, root: string): string {
  const m = l.manifest
  const smoke = m.smoke?.zipSha256 === m.zip.sha256 ? (m.smoke.passed ? 'smoke passed' : 'smoke FAILED') : 'not smoke-tested'
  const where = relative(root, l.zipPath)
  return `${m.layerName} (PHP ${m.php.version}, ${m.arch}, build ${m.buildId.slice(0, 12)}, sha256 ${m.zip.sha256.slice(0, 12)}, ${smoke}) from ${where.startsWith('..') ? l.zipPath : where}`
}
