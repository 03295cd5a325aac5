// The planner: (config, request) → BuildPlan. Pure: no fs, no processes, no network, so `--dry-run --json` answers
// instantly anywhere and CI can derive its matrix from it.
import { createHash } from 'node:crypto'
import type { Arch, BuildImage, Config } from '../config/types.ts'
import { UsageError } from '../errors.ts'
import { buildability, type Buildability, type ExecutorCapabilities } from './capabilities.ts'
import { matches, planExtensions, type PlannedExtension } from './extensions.ts'
import { layerName } from './naming.ts'
import { resolveArch, resolvePhp } from './resolve.ts'
import { renderCompileScript } from './compile-script.ts'
import { addonOrder, checkAddonExecutor, checkAddonPhp, checkConflicts } from './addon-order.ts'
import { debianUpstreamVersion, isPreRelease } from '../schema/php-version.ts'

export interface BuildRequest {
  php: string
  arch: string
  /** undefined → the default set from versions.yaml */
  extensions?: string[]
  /** A name from the executor registry (builder/executors/index.ts). */
  executor: string
  /** Let a minor or range pick pre-releases (an exact pre-release version needs no flag). */
  pre?: boolean
  /** Today's date (YYYY-MM-DD), to flag a minor past its end of life; the planner reads no clock itself. */
  today?: string
  /** docker executor only: a key of versions.yaml buildImages (default al2023). */
  buildImage?: string
}

/** The build image the docker executor uses unless told otherwise (versions.yaml buildImages). */
export const DEFAULT_BUILD_IMAGE = 'al2023'

/** Everything the docker executor needs to build the toolchain image and run the compile script in it. */
export interface DockerPlan {
  /** Key in versions.yaml buildImages, e.g. al2023. */
  buildImage: string
  /** FROM reference (pinned by digest where it comes from a registry). */
  image: string
  dockerfile: string
  platform: string
  packageManager: 'apt' | 'dnf'
  /** Packages the toolchain image installs (the plan's packages for its manager). */
  packages: string[]
  releasever?: string
  /** How to make the image when it cannot be pulled (local images). */
  make?: string
}

/** What the planner knows about the machine and the executors, passed in so planning stays pure. */
export interface PlanEnvironment {
  executors: readonly ExecutorCapabilities[]
  /** This machine's architecture (undefined: one Lambda does not run). */
  hostArch: Arch | undefined
  /** Where another arch's Debian packages are unpacked on this machine (builder/host-libs.ts crossSysroot). */
  sysroots?: Partial<Record<Arch, string>>
}

export interface SourceSpec {
  name: string
  version: string
  /** File name in the cache and in every mirror. */
  file: string
  sha256: string
  /** Upstream URLs, tried first and in order. */
  urls: string[]
  signature?: { url: string; signers: string[] }
  /** A Debian source package whose orig tarball is byte-identical to the upstream file. */
  debian?: { package: string; origFile: string }
}

export interface PlannedPhp {
  version: string
  minor: string
  /** 8.6.0RC3 and friends: built only on request, named apart (php-86-rc), never published by schedule. */
  preRelease: boolean
  /** Last day of security support, when versions.yaml says. */
  endOfLife?: string
  /** True when the request's date is after endOfLife: the layer still builds, and says so. */
  pastEndOfLife?: boolean
}

export interface BuildPlan {
  php: PlannedPhp
  arch: Arch
  archInfo: Config['versions']['archs'][Arch]
  base: Config['versions']['base']
  executor: string
  /** Present when executor is docker. */
  docker?: DockerPlan
  /** Whether the executor can build this target on this machine (and how), decided from its declared capabilities. */
  buildable: Buildability
  /** The build machine's arch (the plan's environment); differs from `arch` in a cross build. */
  machine: Arch | undefined
  /** The executor builds this target with a cross toolchain here (the recipes' `cross: true` overrides apply). */
  cross: boolean
  layerName: string
  /** LicenseInfo the layer is published with. */
  license: string
  /** File stem for dist outputs, e.g. php-82-8.2.32-x86_64 */
  artifact: string
  extensions: PlannedExtension[]
  /**
   * recipes/ext extensions --ext builds into this layer (and those they require), in load order: compiled after the
   * core against its build, as an add-on is (plan/addon.ts planFolded), and shipped enabled in this layer.
   */
  folded: string[]
  /** Exactly what `php -m` must print with the layer's ini (sorted, case-insensitively). */
  expectedModules: string[]
  configureFlags: string[]
  configureEnv: Record<string, string>
  /** Body of a header force-included into every compile (glibc symbol version pins, sharedCore exports), or '' for none. */
  compatHeader: string
  /** php and php-cgi link against libphp.so (lib/ in the layer) instead of each carrying the core. */
  sharedCore: boolean
  packages: { apt: string[]; dnf: string[] }
  /** The strip tool for the target's binaries. */
  strip: string
  /** qemu-user command for running target programs during the compile (cross builds), if the recipes name one. */
  emulator?: string
  /**
   * A cross build's target packages (Debian names with the target's arch), unpacked with their closure into `dir`
   * by scripts/setup-host.sh --arch <arch> instead of installed; `packages.apt` then holds the machine's tools only.
   */
  sysroot?: { dir: string; packages: string[] }
  sources: SourceSpec[]
  ini: { php: string[]; confd: Array<{ file: string; lines: string[] }> }
  baseLibraries: string[]
  notOnLambdaHost: string[]
  compileScript: string
  /** Hash of every compile input in this plan; the executor adds its toolchain's identity. */
  compileKey: string
}

const sortCi = (a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase())
const uniqSorted = (xs: string[]) => [...new Set(xs)].sort()

export function plan(config: Config, req: BuildRequest, env: PlanEnvironment): BuildPlan {
  const { versions, php: recipe } = config
  const { minor, release } = resolvePhp(versions, req.php, { pre: req.pre === true })
  const arch = resolveArch(req.arch)
  const archInfo = versions.archs[arch]
  const buildable = buildability(env.executors, { executor: req.executor, arch, base: versions.base.name }, env.hostArch)
  const cross = buildable.ok && buildable.mode === 'cross'
  const target = { php: release.version, arch, executor: req.executor, cross }
  const build = (recipe.overrides ?? []).filter((o) => matches(o.when, target)).map((o) => o.set)
  const addonNames = Object.keys(config.addons ?? {}).sort()
  const accepted = () => `${Object.keys(recipe.extensions).sort().join(', ')}; built from recipes/ext: ${addonNames.join(', ') || '(none)'}; default (versions.yaml's default set)`
  if (req.extensions !== undefined && req.extensions.length === 0) {
    // An empty --ext would silently plan a layer with only what the runtime needs.
    throw new UsageError(`--ext is empty; accepted: a comma-separated list of ${accepted()}`, 'Leave --ext out for the default set (versions.yaml extensions.default).')
  }
  // `default` in --ext stands for versions.yaml's default set: --ext default,redis adds redis to it.
  const requested = [...new Set((req.extensions ?? versions.extensions.default).flatMap((n) => (n === 'default' ? versions.extensions.default : [n])))]
  const core: string[] = []
  const asked: string[] = []
  for (const name of requested) {
    if (recipe.extensions[name]) core.push(name)
    else if (config.addons?.[name]) asked.push(name)
    else throw new UsageError(`--ext ${name}: unknown extension; accepted: ${accepted()}`)
  }
  // recipes/ext extensions (PECL, or bundled ones built with phpize) are compiled after the core, against its build.
  const foldedOrder = addonOrder(config, asked)
  if (foldedOrder.length) {
    // Errors name the request as given: the default set holds recipes/ext extensions too (pdo_pgsql).
    const what = req.extensions ? `--ext ${req.extensions.join(',')}` : `the default set (versions.yaml extensions.default: ${asked.join(', ')} from recipes/ext)`
    checkAddonExecutor(env.executors, req.executor, what)
    checkAddonPhp(config, foldedOrder, release.version, what)
    // The core extensions they need (session for redis) come along, as a core extension's own requirements do.
    for (const b of foldedOrder.flatMap((o) => o.recipe.baseRequires ?? [])) if (!core.includes(b)) core.push(b)
    checkConflicts(config, [...core, ...foldedOrder.map((o) => o.name)], what)
  }
  // Recipe values may name the target's sysroot (cross builds) as {sysroot}.
  const sysrootDir = cross ? env.sysroots?.[arch] : undefined
  const fill = (v: string) => (sysrootDir ? v.replaceAll('{sysroot}', sysrootDir) : v)
  const extensions = planExtensions(recipe, core, target).map((e) => ({ ...e, flags: e.flags.map(fill) }))

  const expectedModules = [
    ...recipe.builtinModules,
    ...extensions.filter((e) => e.enabled).map((e) => e.module),
    ...foldedOrder.map((o) => o.recipe.module ?? o.name),
  ].sort(sortCi)

  const buildImage = req.executor === 'docker' ? resolveBuildImage(versions, req.buildImage ?? DEFAULT_BUILD_IMAGE, arch) : undefined
  // Host toolchains may carry a newer glibc than the base: pin the symbols whose versions moved and keep
  // configure from detecting functions the base lacks. A build image with the base's own glibc needs neither.
  const host = req.executor === 'host' || (buildImage !== undefined && compareVersions(buildImage.info.glibc, versions.base.glibc) > 0)
  const pins = host && recipe.glibcPins.length
    ? [
        '/* Generated from recipes/php.yaml glibcPins: bind to symbol versions the base glibc has. */',
        '/* CFLAGS also reach preprocessed assembly (Zend fibers), where __asm__ is not valid. */',
        '#ifndef __ASSEMBLER__',
        ...recipe.glibcPins.map((s) => `__asm__(".symver ${s},${s}@GLIBC_${archInfo.glibcBaseline}");`),
        '#endif',
      ]
    : []
  const sharedCore = recipe.sharedCore !== undefined
  const exported = recipe.sharedCore?.export ?? []
  const exports = exported.length
    ? [
        '/* Generated from recipes/php.yaml sharedCore.export: functions the programs call that PHP leaves hidden. */',
        '#ifndef __ASSEMBLER__',
        ...exported.map((d) => `#ifdef __cplusplus\nextern "C"\n#endif\n__attribute__((visibility("default"))) ${d};`),
        '#endif',
      ]
    : []
  const compatHeader = pins.length || exports.length ? [...pins, ...exports, ''].join('\n') : ''
  const configureEnv = Object.fromEntries(
    Object.entries(Object.assign({ ...recipe.configure.env, ...(host ? recipe.newGlibcConfigureEnv : {}) }, ...build.map((b) => b.configureEnv ?? {}))).map(([k, v]) => [k, fill(v as string)]),
  ) as Record<string, string>
  const configureFlags = [
    ...recipe.configure.flags,
    ...(sharedCore ? ['--enable-embed=shared'] : []),
    ...build.flatMap((b) => b.configureFlags ?? []),
    ...extensions.flatMap((e) => e.flags),
  ].map(fill)

  // In a cross build the extensions' packages are the target's: they go to the target's sysroot, not the machine.
  const extApt = extensions.flatMap((e) => e.packages.apt)
  const sysroot = sysrootDir ? { dir: sysrootDir, packages: uniqSorted(['libc6-dev', ...extApt].map((n) => `${n}:${archInfo.debianArch}`)) } : undefined
  const packages = {
    // Without a sysroot a cross build takes the target's packages through Debian multiarch (name:arch).
    apt: uniqSorted([...(recipe.packages.apt ?? []), ...build.flatMap((b) => b.packages?.apt ?? []), ...(sysroot ? [] : cross ? extApt.map((n) => `${n}:${archInfo.debianArch}`) : extApt)]),
    dnf: uniqSorted([...(recipe.packages.dnf ?? []), ...build.flatMap((b) => b.packages?.dnf ?? []), ...extensions.flatMap((e) => e.packages.dnf)]),
  }
  const strip = build.map((b) => b.strip).filter((s): s is string => !!s).pop() ?? 'strip'
  const emulator = build.map((b) => b.emulator).filter((s): s is string => !!s).pop()

  const docker: DockerPlan | undefined = buildImage && {
    buildImage: buildImage.key,
    image: buildImage.image,
    dockerfile: buildImage.info.dockerfile,
    platform: archInfo.dockerPlatform,
    packageManager: buildImage.info.packageManager,
    packages: packages[buildImage.info.packageManager],
    ...(buildImage.info.releasever ? { releasever: buildImage.info.releasever } : {}),
    ...(buildImage.info.make ? { make: buildImage.info.make } : {}),
  }

  const minorInfo = versions.php[minor]!
  const file = release.url.split('/').pop()!
  const phpSource: SourceSpec = {
    name: 'php',
    version: release.version,
    file,
    sha256: release.sha256,
    urls: [release.url],
    signature: { url: release.signature, signers: minorInfo.signers },
  }
  if (minorInfo.debianSource) {
    const ext = file.slice(`php-${release.version}`.length)
    const upstream = debianUpstreamVersion(release.version)
    phpSource.debian = { package: minorInfo.debianSource, origFile: `${minorInfo.debianSource}_${upstream}.orig${ext}` }
  }

  const confd = extensions
    .filter((e) => e.shared && e.enabled)
    .map((e) => ({
      file: `${e.zend ? '10' : '20'}-${e.name}.ini`,
      lines: [`${e.zend ? 'zend_extension' : 'extension'}=${e.name}`, ...e.ini],
    }))
  // Settings for built-in extensions (opcache in 8.5+) still belong in conf.d.
  for (const e of extensions.filter((x) => !x.shared && x.ini.length)) confd.push({ file: `10-${e.name}.ini`, lines: e.ini })

  const php: PlannedPhp = { version: release.version, minor, preRelease: isPreRelease(release.version) }
  if (minorInfo.endOfLife) {
    php.endOfLife = minorInfo.endOfLife
    if (req.today) php.pastEndOfLife = req.today > minorInfo.endOfLife
  }
  const name = layerName(versions.layer, minor, arch, release.version)
  const base = {
    php,
    arch,
    archInfo,
    base: versions.base,
    executor: req.executor,
    ...(docker ? { docker } : {}),
    buildable,
    machine: env.hostArch,
    cross,
    layerName: name,
    license: versions.layer.license,
    artifact: `${name}-${release.version}-${arch}`,
    extensions,
    folded: foldedOrder.map((o) => o.name),
    expectedModules,
    configureFlags,
    configureEnv,
    compatHeader,
    sharedCore,
    packages,
    strip,
    ...(emulator ? { emulator } : {}),
    ...(sysroot ? { sysroot } : {}),
    sources: [phpSource],
    ini: { php: recipe.ini, confd },
    baseLibraries: config.baseLibraries[arch],
    notOnLambdaHost: versions.base.notOnLambdaHost,
  }
  const compileScript = renderCompileScript(base)
  const compileKey = createHash('sha256')
    .update(JSON.stringify({ compileScript, sources: base.sources.map((s) => s.sha256), arch, executor: req.executor, packages, ...(docker ? { docker } : {}), ...(cross ? { machine: env.hostArch, sysroot } : {}) }))
    .digest('hex')
  return { ...base, compileScript, compileKey }
}

function resolveBuildImage(versions: Config['versions'], key: string, arch: Arch): { key: string; info: BuildImage; image: string } {
  const all = versions.buildImages ?? {}
  const info = all[key]
  if (!info) {
    throw new UsageError(`--build-image ${key}: not in versions.yaml buildImages; accepted: ${Object.keys(all).join(', ') || '(none defined)'}`)
  }
  const image = info.images[arch]
  if (!image) {
    const other = Object.entries(all).filter(([, b]) => b.images[arch]).map(([k]) => k)
    throw new UsageError(
      `--build-image ${key} has no ${arch} image; accepted for ${key}: --arch ${Object.keys(info.images).join(', ')}`,
      other.length ? `For ${arch}, use --build-image ${other.join(' or ')}.` : undefined,
    )
  }
  return { key, info, image }
}

/** Numeric dotted-version comparison ("2.36" > "2.34"). */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d) return d
  }
  return 0
}
