// Layer zips unpacked for a benchmark that runs them side by side in the smoke sandbox (npm run bench -- cold, cpu):
// each checked to exist and to be for this machine's architecture, unpacked under `work`, with the base image's
// library set for its sandbox. Without zips: the default layer the tests build.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ZipManifest } from '../../builder/artifact/manifest.ts'
import { sidecarPath } from '../../builder/artifact/manifest.ts'
import type { Config } from '../../builder/config/types.ts'
import { debianLibDirs, nativeArch } from '../../builder/host-libs.ts'
import { prepareBaseLibs } from '../../builder/smoke/sandbox.ts'
import { unpackZip } from '../../builder/smoke/unpack.ts'
import { BenchFailed, BenchUsageError } from '../bench/args.ts'
import { builtTestLayerZips, DEFAULT_LAYER, testCacheDir } from './layer.ts'

export interface BenchLayer {
  zip: string
  manifest: ZipManifest
  layerDir: string
  baseLibDir: string
  gnuTriplet: string
}

export async function benchLayers(name: string, zips: string[], work: string, config: Config): Promise<BenchLayer[]> {
  if (!zips.length) {
    const zip = builtTestLayerZips().find((z) => z.includes(`/${DEFAULT_LAYER.php}-x86_64-`))
    if (!zip) throw new BenchFailed(`no layer zip given and no default test layer built yet; accepted: npm run bench -- ${name} <layer.zip …> (or run the tests first)`)
    zips = [zip]
  }
  return Promise.all(zips.map(async (zip, i) => {
    if (!existsSync(zip)) throw new BenchUsageError(`${zip}: no such file; accepted: paths to layer zips`)
    const manifest = JSON.parse(readFileSync(sidecarPath(zip), 'utf8')) as ZipManifest
    if (manifest.arch !== nativeArch()) throw new BenchUsageError(`${zip} is an ${manifest.arch} layer; ${name} is measured natively only (this machine is ${nativeArch()})`)
    const layerDir = join(work, `opt-${i}`)
    await unpackZip(zip, layerDir)
    const archInfo = config.versions.archs[manifest.arch]
    const baseLibDir = prepareBaseLibs(testCacheDir(), manifest.arch, config.baseLibraries[manifest.arch], debianLibDirs(archInfo.gnuTriplet), config.versions.base.gconvModules)
    return { zip, manifest, layerDir, baseLibDir, gnuTriplet: archInfo.gnuTriplet }
  }))
}
