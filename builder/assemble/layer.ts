// Staging tree → layer zip + manifests. Lays out /opt, bundles exactly the libraries the base lacks, strips,
// enforces the ABI gate and size limits, and writes a deterministic zip with its sidecar manifest.
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { AssembleError } from '../errors.ts'
import { LIMITS } from '../lambda-limits.ts'
import type { Logger } from '../log.ts'
import { writeJsonAtomic } from '../artifact/atomic.ts'
import { LAYER_MANIFEST_PATH, MANIFEST_SCHEMA_VERSION, readSidecar, sidecarPath, type LayerManifest, type ManifestSource, type ZipManifest } from '../artifact/manifest.ts'
import type { BuildPlan } from '../plan/plan.ts'
import type { AddonPlan } from '../plan/addon.ts'
import type { Runner } from '../run.ts'
import { codeSha256, sha256File } from '../sources/digest.ts'
import { checkAbi } from './abi.ts'
import { stageRuntime } from './runtime-files.ts'
import { layAddonFiles } from './addon-files.ts'
import { resolveClosure } from './closure.ts'
import { isElf, readElf, type ElfInfo } from '../artifact/elf.ts'
import { collectTree, writeZip, type ZipEntry } from './zip.ts'


export interface AssembleInput {
  plan: BuildPlan
  stagingRoot: string
  /** recipes/ext extensions --ext builds into the layer: their compile's staging tree (php/extensions, lib/). */
  folded?: { plan: AddonPlan; stagingRoot: string }
  runtimeDir: string
  libSearchDirs: string[]
  strip: string[]
  toolchain: Record<string, string>
  sources: ManifestSource[]
  /** LicenseInfo the layer is published with (versions.yaml layer.license). */
  license: string
  outDir: string
  workDir: string
  /** Recorded in the sidecar so an unchanged rebuild can reuse the zip. */
  assemblyKey?: string
  run: Runner
  log: Logger
}

export interface AssembleResult {
  zipPath: string
  manifestPath: string
  manifest: ZipManifest
}

export async function assembleLayer(input: AssembleInput): Promise<AssembleResult> {
  const { plan } = input
  mkdirSync(input.workDir, { recursive: true })
  const tree = mkdtempSync(join(input.workDir, 'layer-'))
  try {
    // Libraries built from recipes/lib for recipes/ext extensions built in (libpq for pdo_pgsql): in lib/ already.
    const ownLibs = layout(input, tree)
    await stripAll(input, tree, ['bin', 'php/extensions', 'lib'])

    // lib/ holds libphp.so already when the core is shared: it is part of the layer, and its own needs count.
    const roots = elfFiles(tree, ['bin', 'php/extensions', 'lib'])
    const closure = resolveClosure({
      roots,
      searchDirs: input.libSearchDirs,
      baseLibraries: plan.baseLibraries,
      notOnLambdaHost: plan.notOnLambdaHost,
      machine: plan.archInfo.elfMachine,
    })
    mkdirSync(join(tree, 'lib'), { recursive: true })
    await bundleLibraries(input, tree, closure.bundle)
    const abi = gateElfFiles(tree, ['bin', 'php/extensions', 'lib'], plan)

    const manifest: LayerManifest = {
      schema: MANIFEST_SCHEMA_VERSION,
      layerName: plan.layerName,
      // Only what identifies the build: end-of-life status depends on the day, and the zip must not.
      php: { version: plan.php.version, minor: plan.php.minor },
      arch: plan.arch,
      base: {
        name: plan.base.name,
        image: plan.base.image,
        glibc: plan.base.glibc,
        runtime: plan.base.runtime,
        libraries: plan.baseLibraries,
        notOnLambdaHost: plan.notOnLambdaHost,
        gconvModules: plan.base.gconvModules,
      },
      target: { gnuTriplet: plan.archInfo.gnuTriplet, elfMachine: plan.archInfo.elfMachine },
      executor: plan.executor,
      buildId: '',
      modules: plan.expectedModules,
      extensions: [
        ...plan.extensions.map((e) => ({ name: e.name, module: e.module, shared: e.shared, enabled: e.enabled, zend: e.zend, ...(e.probe ? { probe: e.probe } : {}) })),
        ...(input.folded?.plan.extensions ?? []).map((e) => ({ name: e.name, module: e.module, shared: true, enabled: true, zend: e.zend, probe: e.probe })),
      ],
      libraries: [...ownLibs, ...closure.bundle.map((l) => l.name)].sort(),
      sources: input.sources.map(({ origin: _where, ...s }) => s),
      configureFlags: [...plan.configureFlags, ...(input.folded?.plan.extensions ?? []).flatMap((e) => e.configureFlags)],
      maxGlibc: abi.maxGlibc,
      unzippedBytes: 0,
      files: [],
      license: input.license,
      toolchain: input.toolchain,
    }
    const entries = collectTree(tree)
    manifest.buildId = treeDigest(entries)
    manifest.files = entries.map((e) => ({ path: e.path, bytes: e.data.length })).sort((a, b) => (a.path < b.path ? -1 : 1))
    const manifestEntry = fixManifestSize(manifest, entries)
    entries.push(manifestEntry)

    if (manifest.unzippedBytes > LIMITS.unzipped) {
      throw new AssembleError(`layer unzips to ${manifest.unzippedBytes} bytes, over Lambda's ${LIMITS.unzipped}`, 'Drop extensions with --ext or move large libraries out.')
    }

    return await writeLayerZip(entries, manifest, join(input.outDir, `${plan.artifact}.zip`), input)
  } finally {
    rmSync(tree, { recursive: true, force: true })
  }
}

/** Lays out the tree; returns the recipes/lib libraries it copied into lib/. */
function layout(input: AssembleInput, tree: string): string[] {
  const { plan, stagingRoot, runtimeDir } = input
  const opt = join(stagingRoot, 'opt')
  mkdirSync(join(tree, 'bin'), { recursive: true })
  for (const bin of ['php', 'php-cgi']) {
    const src = join(opt, 'bin', bin)
    if (!existsSync(src)) throw new AssembleError(`staging tree lacks bin/${bin} (${src})`, 'The compile did not install it; check the install log.')
    copyFileSync(src, join(tree, 'bin', bin))
    chmodSync(join(tree, 'bin', bin), 0o755)
  }
  if (plan.sharedCore) {
    const src = join(opt, 'lib', 'libphp.so')
    if (!existsSync(src)) throw new AssembleError(`staging tree lacks lib/libphp.so (${src}), which php and php-cgi are linked against`, 'The compile did not install it; check the make and install logs.')
    mkdirSync(join(tree, 'lib'), { recursive: true })
    copyFileSync(src, join(tree, 'lib', 'libphp.so'))
    chmodSync(join(tree, 'lib', 'libphp.so'), 0o644)
  }
  const extDir = join(tree, 'php', 'extensions')
  mkdirSync(extDir, { recursive: true })
  for (const ext of plan.extensions.filter((e) => e.shared)) {
    const src = join(opt, 'php', 'extensions', `${ext.name}.so`)
    if (!existsSync(src)) throw new AssembleError(`shared extension ${ext.name}.so missing from the staging tree`, 'Check its configure flag (=shared) in recipes/php.yaml.')
    copyFileSync(src, join(extDir, `${ext.name}.so`))
    chmodSync(join(extDir, `${ext.name}.so`), 0o755)
  }
  mkdirSync(join(tree, 'php', 'etc', 'conf.d'), { recursive: true })
  writeFileSync(join(tree, 'php', 'etc', 'php.ini'), [...plan.ini.php, 'extension_dir = /opt/php/extensions', ''].join('\n'))
  for (const f of plan.ini.confd) writeFileSync(join(tree, 'php', 'etc', 'conf.d', f.file), f.lines.join('\n') + '\n')
  // recipes/ext extensions built in (--ext redis): loaded like the layer's own shared extensions.
  const ownLibs = input.folded ? layAddonFiles(input.folded.plan, input.folded.stagingRoot, tree, (e) => `${e.name} ${e.version} from recipes/ext, built into this layer after the core.`) : []

  try {
    stageRuntime(runtimeDir, join(tree, 'bootstrap'), join(tree, 'php', 'runtime'))
  } catch (e) {
    throw new AssembleError((e as Error).message, 'Run the build from a complete checkout.')
  }
  return ownLibs
}

/**
 * Writes the zip and its sidecar (the manifest plus the zip's digests, the sources with their origins and the
 * assembly key). A smoke record already in the sidecar stays only if it tested these exact bytes.
 */
export async function writeLayerZip(entries: ZipEntry[], manifest: LayerManifest, zipPath: string, input: Pick<AssembleInput, 'sources' | 'assemblyKey'>): Promise<AssembleResult> {
  mkdirSync(dirname(zipPath), { recursive: true })
  await writeZip(entries, zipPath)
  const sha = await sha256File(zipPath)
  const manifestPath = sidecarPath(zipPath)
  const sidecar: ZipManifest = {
    ...manifest,
    sources: input.sources,
    ...(input.assemblyKey ? { assemblyKey: input.assemblyKey } : {}),
    zip: { file: basename(zipPath), bytes: statSync(zipPath).size, sha256: sha, codeSha256: codeSha256(sha) },
  }
  const previous = readSidecar(zipPath)
  if (previous.state === 'ok' && previous.manifest.smoke?.zipSha256 === sha) sidecar.smoke = previous.manifest.smoke
  await writeJsonAtomic(manifestPath, sidecar)
  return { zipPath, manifestPath, manifest: sidecar }
}

/** Copies the closure's libraries into lib/ (created by the caller when needed), stripped, mode 0644. */
export async function bundleLibraries(input: Pick<AssembleInput, 'run' | 'strip'>, tree: string, libs: Array<{ name: string; source: string }>): Promise<void> {
  if (!libs.length) return
  mkdirSync(join(tree, 'lib'), { recursive: true })
  for (const lib of libs) copyFileSync(lib.source, join(tree, 'lib', lib.name))
  // Only the copies: what lib/ held before (libphp.so, an add-on's run-time files) is stripped already.
  const copied = libs.map((l) => join(tree, 'lib', l.name))
  await stripFiles(input, copied)
  for (const f of copied) chmodSync(f, 0o644)
}

/** Every ELF file under `dirs` is for the target's machine and stripped; returns the ABI gate's verdict. */
export function gateElfFiles(tree: string, dirs: string[], plan: Pick<BuildPlan, 'arch' | 'archInfo' | 'base'>): ReturnType<typeof checkAbi> {
  const all = elfFiles(tree, dirs)
  for (const [path, info] of all) {
    if (info.machine !== plan.archInfo.elfMachine) throw new AssembleError(`${path} is for ELF machine ${info.machine}, expected ${plan.archInfo.elfMachine} (${plan.arch})`)
    if (info.hasSymtab || info.hasDebugInfo) throw new AssembleError(`${path} is not stripped`, 'Check the strip tool for this architecture.')
    // A search path into the build machine would be looked up on every load on Lambda (and could find other files).
    const foreign = info.runpath?.split(':').filter((d) => !d.startsWith('$ORIGIN') && !d.startsWith('/opt/'))
    if (foreign?.length) {
      throw new AssembleError(`${path} has RUNPATH ${info.runpath}, which points outside the layer (${foreign.join(', ')})`, 'Build it with --disable-rpath or remove the path (patchelf --remove-rpath) before installing it.')
    }
  }
  return checkAbi(all, plan.base.glibc)
}

export async function stripAll(input: Pick<AssembleInput, 'run' | 'strip'>, tree: string, dirs: string[]): Promise<void> {
  await stripFiles(input, [...elfFiles(tree, dirs).keys()].map((p) => join(tree, p)))
}

async function stripFiles(input: Pick<AssembleInput, 'run' | 'strip'>, files: string[]): Promise<void> {
  if (!files.length) return
  // --strip-unneeded keeps the dynamic symbols shared objects and extensions are loaded through.
  const r = await input.run([...input.strip, '--strip-unneeded', '--remove-section=.comment', '--remove-section=.note', ...files])
  if (r.exitCode !== 0) throw new AssembleError(`strip failed: ${r.stderr.trim().split('\n')[0]}`)
}

export function elfFiles(tree: string, dirs: string[]): Map<string, ElfInfo> {
  const out = new Map<string, ElfInfo>()
  for (const d of dirs) {
    const abs = join(tree, d)
    if (!existsSync(abs)) continue
    for (const name of readdirSync(abs).sort()) {
      const p = join(abs, name)
      if (!statSync(p).isFile()) continue
      const buf = readFileSync(p)
      if (isElf(buf)) out.set(`${d}/${name}`, readElf(buf))
    }
  }
  return out
}

/** Content hash of the tree (paths, modes, bytes): equal ids mean identical layers. */
export function treeDigest(entries: ZipEntry[]): string {
  const h = createHash('sha256')
  for (const e of [...entries].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    h.update(`${e.path}\0${e.mode.toString(8)}\0`).update(createHash('sha256').update(e.data).digest())
  }
  return h.digest('hex').slice(0, 32)
}

/** The manifest states the layer's total unzipped size, including its own bytes: iterate to a fixed point. */
export function fixManifestSize(manifest: LayerManifest, entries: ZipEntry[], path = LAYER_MANIFEST_PATH): ZipEntry {
  const others = entries.reduce((n, e) => n + e.data.length, 0)
  let data = Buffer.alloc(0)
  for (let i = 0; i < 5; i++) {
    manifest.unzippedBytes = others + data.length
    const next = Buffer.from(JSON.stringify(manifest, null, 2) + '\n')
    if (next.length === data.length) break
    data = next
  }
  data = Buffer.from(JSON.stringify(manifest, null, 2) + '\n')
  return { path, mode: 0o100644, data }
}
