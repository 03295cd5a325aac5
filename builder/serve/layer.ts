// Which layer build `npm run serve` runs: the zip given with --layer, else the newest zip in dist/ that has the
// manifest `npm run build` writes beside it. The zip is checked against its manifest, as smoke and publish do.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { arch as hostArch } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { readSidecar } from '../assemble/layer.ts'
import { UsageError } from '../errors.ts'
import { sidecarPath, type ZipManifest } from '../manifest.ts'
import { sha256File } from '../sources/digest.ts'

const NATIVE: Record<string, string> = { x64: 'x86_64', arm64: 'arm64' }

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
  const manifest = readSidecar(sidecarPath(zipPath))
  if (!manifest?.zip) throw new UsageError(`${relative(process.cwd(), zipPath)}: no readable manifest beside it (${sidecarPath(zipPath)})`, 'Serve zips written by npm run build.')
  const sha = await sha256File(zipPath)
  if (sha !== manifest.zip.sha256) {
    throw new UsageError(`${zipPath}: sha256 ${sha} differs from its manifest (${manifest.zip.sha256})`, 'The zip was changed after the build; rebuild it.')
  }
  if (NATIVE[hostArch()] !== manifest.arch) {
    throw new UsageError(`${manifest.layerName} is an ${manifest.arch} layer and this machine is ${NATIVE[hostArch()] ?? hostArch()}`, 'Serve a layer built for this machine\'s architecture.')
  }
  return { zipPath, manifest }
}

/** One line naming the build: what startup prints. */
export function describeLayer(l: ServedLayer, root: string): string {
  const m = l.manifest
  const smoke = m.smoke?.zipSha256 === m.zip.sha256 ? (m.smoke.passed ? 'smoke passed' : 'smoke FAILED') : 'not smoke-tested'
  return `${m.layerName} (PHP ${m.php.version}, ${m.arch}, build ${m.buildId.slice(0, 12)}, sha256 ${m.zip.sha256.slice(0, 12)}, ${smoke}) from ${relative(root, l.zipPath) || l.zipPath}`
}
