// Add-on staging tree → add-on layer zip + manifests. The layer holds only what its base layer lacks: the
// extensions (php/extensions), the conf.d file that loads each, the libraries neither the base image nor the base
// layer ships (lib/), and its manifest (php/addons/<name>.json). Lambda merges it with the base layer under /opt.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { MANIFEST_SCHEMA_VERSION, type LayerManifest, type ZipManifest } from '../artifact/manifest.ts'
import { AssembleError } from '../errors.ts'
import { LIMITS } from '../lambda-limits.ts'
import type { AddonPlan } from '../plan/addon.ts'
import { resolveClosure } from './closure.ts'
import { layAddonFiles } from './addon-files.ts'
import { bundleLibraries, elfFiles, fixManifestSize, gateElfFiles, stripAll, treeDigest, writeLayerZip, type AssembleInput, type AssembleResult } from './layer.ts'
import { collectTree } from './zip.ts'

/** Inside an add-on layer, its manifest (base layers keep theirs at php/manifest.json). */
export function addonManifestPath(name: string): string {
  return `php/addons/${name}.json`
}

/** What a layer assembly gets, less the base plan and the runtime (an add-on carries neither). */
export interface AssembleAddonInput extends Omit<AssembleInput, 'plan' | 'runtimeDir'> {
  plan: AddonPlan
  /** Directory holding php/extensions/<name>.so for every planned extension. */
  stagingRoot: string
  /** The base layer's sidecar manifest: what it bundles, and its identity. */
  base: ZipManifest
  /** PHP's module API number of the base build (e.g. 20220829). */
  phpApi: string
}

export async function assembleAddon(input: AssembleAddonInput): Promise<AssembleResult> {
  const { plan, base } = input
  const bp = plan.base
  mkdirSync(input.workDir, { recursive: true })
  const tree = mkdtempSync(join(input.workDir, 'addon-'))
  try {
    // Libraries built from recipes/lib ship as they were built: roots of the closure like the extensions, so what
    // they need is bundled too, and they satisfy the extensions' own needs.
    const ownLibs = layAddonFiles(plan, input.stagingRoot, tree, (e) => `${plan.layerName}: ${e.name} ${e.version}. Loaded because this layer is attached; detach it to remove.`)
    const elfDirs = ['php/extensions', 'lib']
    await stripAll(input, tree, elfDirs)
    const closure = resolveClosure({
      roots: elfFiles(tree, elfDirs),
      searchDirs: input.libSearchDirs,
      baseLibraries: bp.baseLibraries,
      notOnLambdaHost: bp.notOnLambdaHost,
      machine: bp.archInfo.elfMachine,
      providedByLayers: base.libraries,
    })
    await bundleLibraries(input, tree, closure.bundle)
    const abi = gateElfFiles(tree, elfDirs, bp)

    const manifest: LayerManifest = {
      schema: MANIFEST_SCHEMA_VERSION,
      layerName: plan.layerName,
      php: { version: bp.php.version, minor: bp.php.minor },
      arch: bp.arch,
      base: base.base,
      target: base.target,
      executor: bp.executor,
      buildId: '',
      modules: plan.expectedModules,
      extensions: plan.extensions.map((e) => ({ name: e.name, module: e.module, shared: true, enabled: true, zend: e.zend, probe: e.probe })),
      libraries: [...ownLibs, ...closure.bundle.map((l) => l.name)].sort(),
      sources: input.sources.map(({ origin: _where, ...s }) => s),
      configureFlags: plan.extensions.flatMap((e) => e.configureFlags),
      maxGlibc: abi.maxGlibc,
      unzippedBytes: 0,
      files: [],
      license: input.license,
      toolchain: input.toolchain,
      addon: {
        name: plan.name,
        description: plan.description,
        extensions: plan.extensions.map((e) => ({ name: e.name, version: e.version })),
        devOnly: plan.extensions.some((e) => e.devOnly),
        base: { layerName: base.layerName, artifact: base.zip.file.replace(/\.zip$/, ''), buildId: base.buildId, phpApi: input.phpApi },
      },
    }
    const entries = collectTree(tree)
    manifest.buildId = treeDigest(entries)
    manifest.files = entries.map((e) => ({ path: e.path, bytes: e.data.length })).sort((a, b) => (a.path < b.path ? -1 : 1))
    entries.push(fixManifestSize(manifest, entries, addonManifestPath(plan.name)))
    const stacked = manifest.unzippedBytes + base.unzippedBytes
    if (stacked > LIMITS.unzipped) {
      throw new AssembleError(`${plan.layerName} and its base layer unzip to ${stacked} bytes together, over Lambda's ${LIMITS.unzipped}`)
    }
    return await writeLayerZip(entries, manifest, join(input.outDir, `${plan.artifact}.zip`), input)
  } finally {
    rmSync(tree, { recursive: true, force: true })
  }
}
