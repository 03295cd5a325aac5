// Plans an add-on layer (`npm run build -- --addon <name>`): one extension from recipes/ext/ (and the recipes/ext
// extensions it requires), compiled with phpize against a finished base build, shipped as its own layer that a
// function stacks on the base layer. Pure: reads the typed Config only.
import { createHash } from 'node:crypto'
import type { AddonSource, Config } from '../config/types.ts'
import { addonOrder, checkAddonExecutor, checkAddonPhp, checkConflicts, type OrderedAddon } from './addon-order.ts'
import { UsageError } from '../errors.ts'
import { renderAddonScript, type LibraryBuild } from './compile-script.ts'
import { matches } from './extensions.ts'
import { addonLayerName } from './naming.ts'
import type { ProbeService } from '../schema/common.ts'
import { plan, type BuildPlan, type BuildRequest, type PlanEnvironment, type SourceSpec } from './plan.ts'

export interface AddonRequest extends BuildRequest {
  /** A recipes/ext name. */
  addon: string
}

export interface PlannedAddonExtension {
  name: string
  /** As `php -m` prints it. */
  module: string
  zend: boolean
  /** PECL release version, or the PHP version for an extension from the PHP tarball. */
  version: string
  source: AddonSource
  /** The source file it is built from (a PECL tarball, or the base's PHP tarball for bundled extensions). */
  sourceFile: string
  configureFlags: string[]
  /** conf.d file (under php/etc/conf.d) that loads it; a dependency's number is lower, so it loads first. */
  iniFile: string
  iniLines: string[]
  probe: { code: string; expect: string; ini?: string[]; services?: ProbeService[] }
  devOnly: boolean
}

export interface PlannedLibrary extends LibraryBuild {
  version: string
}

export interface AddonPlan {
  /** The base layer build this add-on is compiled against (and smoke-tested on). */
  base: BuildPlan
  /** recipes/ext name asked for. */
  name: string
  description: string
  layerName: string
  /** File stem of the outputs, e.g. php-82-apcu-8.2.32-x86_64. */
  artifact: string
  /** Load order: what an extension requires comes before it. */
  extensions: PlannedAddonExtension[]
  /** recipes/lib libraries built from source first, in build order; their shared objects ship in lib/. */
  libraries: PlannedLibrary[]
  /** PECL tarballs and library sources (the PHP tarball comes from the base plan). */
  sources: SourceSpec[]
  /** What the machine needs beyond the base build's packages (autoconf for phpize, the extensions' -dev packages). */
  packages: { apt: string[]; dnf: string[] }
  /** Cross builds: the target packages unpacked into the sysroot, as in BuildPlan.sysroot. */
  sysroot?: { dir: string; packages: string[] }
  /** What `php -m` prints with the base layer and this add-on together. */
  expectedModules: string[]
  script: string
  /** Hash of every input of the add-on compile (the base's compile key included). */
  addonKey: string
}

const uniqSorted = (xs: string[]) => [...new Set(xs)].sort()
const sortCi = (a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase())

/**
 * Tools on the build machine, per package manager: autoconf for phpize; patchelf takes out the RUNPATH configure
 * scripts give extensions and libraries (a cross build's sysroot, a library's private prefix).
 */
const ADDON_TOOLS = { apt: ['autoconf', 'patchelf'], dnf: ['autoconf', 'patchelf'] }
/** For recipes/lib libraries with `build: cmake`. */
const CMAKE = { apt: 'cmake', dnf: 'cmake' }

/**
 * A pinned source (a PECL release, a recipes/lib library) as the fetcher takes it. A Debian repack is other bytes than
 * the upstream file: its origFile, from Debian only.
 */
function pinnedSource(name: string, version: string, s: { url: string; sha256: string; debian?: { package: string; origFile: string } | undefined; repack: boolean }): SourceSpec {
  if (s.repack) return { name, version, file: s.debian!.origFile, sha256: s.sha256, urls: [], debian: s.debian! }
  return { name, version, file: s.url.split('/').pop()!, sha256: s.sha256, urls: [s.url], ...(s.debian ? { debian: s.debian } : {}) }
}

export function planAddon(config: Config, req: AddonRequest, env: PlanEnvironment): AddonPlan {
  const known = Object.keys(config.addons).sort()
  const recipe = config.addons[req.addon]
  if (!recipe) {
    throw new UsageError(
      `--addon ${req.addon}: no recipes/ext/${req.addon}.yaml; accepted: ${known.join(', ') || '(no add-on recipes)'}`,
      config.php.extensions[req.addon] ? `${req.addon} is a core extension: use --ext to build it into the base layer.` : undefined,
    )
  }
  checkAddonExecutor(env.executors, req.executor, '--addon')
  const base = plan(config, req, env)
  const order = addonOrder(config, [req.addon])
  // An extension PHP would load twice (once from each layer) is refused rather than left to warn at every start.
  const twice = order.filter((o) => base.folded.includes(o.name)).map((o) => o.name)
  if (twice.length) {
    throw new UsageError(
      `--addon ${req.addon}: ${twice.join(', ')} is built into this base layer already (${req.extensions ? `--ext ${req.extensions.join(',')}` : 'the default set'}); accepted: an add-on whose extensions the base lacks`,
      req.extensions ? `Leave ${twice.join(',')} out of --ext, or use the base layer alone.` : `The default layer has ${twice.join(', ')}: use it alone, or build a base without it (--ext).`,
    )
  }
  const inBase = new Set(base.extensions.map((e) => e.name))
  for (const { name, recipe: r } of order) {
    const lacking = (r.baseRequires ?? []).filter((x) => !inBase.has(x))
    if (lacking.length) {
      throw new UsageError(
        `--addon ${req.addon}: ${name} needs the base layer's ${lacking.join(', ')}, which this base build lacks (--ext ${req.extensions?.join(',') ?? '(default)'}); accepted: a base with ${lacking.join(', ')}`,
        `Add ${lacking.join(',')} to --ext, or leave --ext out for the default set.`,
      )
    }
  }
  checkAddonPhp(config, order, base.php.version, `--addon ${req.addon}`)
  checkConflicts(config, [...base.extensions.map((e) => e.name), ...base.folded, ...order.map((o) => o.name)], `--addon ${req.addon}`)
  const layerName = addonLayerName(config.versions.layer, base.php.minor, base.arch, base.php.version, req.addon)
  return addonPlanFor(config, base, order, { name: req.addon, description: recipe.description, layerName, artifact: `${layerName}-${base.php.version}-${base.arch}` })
}

/**
 * The recipes/ext extensions `--ext` builds into a base layer (base.folded), as an add-on compile against that base's
 * own build; undefined when --ext names none. Its extensions ship in the base layer, enabled.
 */
export function planFolded(config: Config, base: BuildPlan): AddonPlan | undefined {
  if (!base.folded.length) return undefined
  return addonPlanFor(config, base, addonOrder(config, base.folded), {
    name: base.folded.join('+'),
    description: `built into ${base.layerName} (--ext)`,
    layerName: base.layerName,
    artifact: `${base.artifact}-ext`,
  })
}

function addonPlanFor(config: Config, base: BuildPlan, order: OrderedAddon[], meta: { name: string; description: string; layerName: string; artifact: string }): AddonPlan {
  const version = base.php.version
  const target = { php: version, arch: base.arch, executor: base.executor, cross: base.cross }
  const sysrootDir = base.sysroot?.dir
  const fill = (v: string) => (sysrootDir ? v.replaceAll('{sysroot}', sysrootDir) : v)
  const phpSource = base.sources.find((s) => s.name === 'php')!
  const sources: SourceSpec[] = []
  // recipes/lib libraries the extensions need, each once, in the order first named; built before any extension.
  const libNames = [...new Set(order.flatMap(({ recipe: r }) => r.libraries ?? []))]
  const libraries: PlannedLibrary[] = libNames.map((name) => {
    const l = config.libs[name]!
    sources.push(pinnedSource(name, l.version, { ...l.source, repack: l.source.repack === true }))
    return {
      name,
      version: l.version,
      build: l.build ?? 'autoconf',
      configureFlags: l.configure.map(fill),
      ...(l.makeDirs ? { makeDirs: l.makeDirs } : {}),
      ...(l.headers ? { headers: l.headers } : {}),
      ...(l.configTool ? { configTool: l.configTool } : {}),
    }
  })
  const extensions: PlannedAddonExtension[] = order.map(({ name, recipe: r, depth }) => {
    const set = (r.overrides ?? []).filter((o) => matches(o.when, target)).map((o) => o.set)
    const configureFlags = (set.map((s) => s.configure).filter((c) => c !== undefined).pop() ?? r.configure ?? []).map(fill)
    let sourceFile = phpSource.file
    let extVersion = version
    if ('pecl' in r.source) {
      const spec = pinnedSource(name, r.source.version, { ...r.source, repack: r.source.repack !== undefined })
      sources.push(spec)
      sourceFile = spec.file
      extVersion = r.source.version
    }
    const zend = r.zend === true
    return {
      name,
      module: r.module ?? name,
      zend,
      version: extVersion,
      source: r.source,
      sourceFile,
      configureFlags,
      iniFile: `${40 + depth}-${name}.ini`,
      iniLines: [`${zend ? 'zend_extension' : 'extension'}=${name}`, ...(r.ini ?? [])],
      probe: { ...r.probe, ...(r.probeServices?.length ? { services: r.probeServices } : {}) },
      devOnly: r.devOnly === true,
    }
  })

  const packageSets = order.map(({ recipe: r }) => {
    const set = (r.overrides ?? []).filter((o) => matches(o.when, target)).map((o) => o.set)
    return set.map((s) => s.packages).filter((p) => p !== undefined).pop() ?? r.packages ?? {}
  })
  for (const name of libNames) packageSets.push(config.libs[name]!.packages ?? {})
  const extApt = packageSets.flatMap((p) => p.apt ?? [])
  const debianArch = base.archInfo.debianArch
  const sysroot = base.sysroot ? { dir: base.sysroot.dir, packages: uniqSorted(extApt.map((n) => `${n}:${debianArch}`)) } : undefined
  // cmake runs on the build machine: a tool, never a sysroot package.
  const tools = (m: 'apt' | 'dnf') => [...ADDON_TOOLS[m], ...(libraries.some((l) => l.build === 'cmake') ? [CMAKE[m]] : [])]
  const packages = {
    apt: uniqSorted([...tools('apt'), ...(sysroot ? [] : base.cross ? extApt.map((n) => `${n}:${debianArch}`) : extApt)]),
    dnf: uniqSorted([...tools('dnf'), ...packageSets.flatMap((p) => p.dnf ?? [])]),
  }

  const crossHost = base.configureFlags.find((f) => f.startsWith('--host='))
  const script = renderAddonScript({
    php: { version },
    configureEnv: base.configureEnv,
    compatHeader: base.compatHeader,
    ...(crossHost ? { hostFlag: crossHost } : {}),
    extensions: extensions.map((e) => ({
      name: e.name,
      bundledDir: 'bundled' in e.source ? e.source.bundled : undefined,
      ...('pecl' in e.source && e.source.repack ? { sourceDir: e.source.repack.dir } : {}),
      configureFlags: e.configureFlags,
    })),
    libraries: libraries.map(({ version: _, ...l }) => l),
  })
  const addonKey = createHash('sha256')
    .update(JSON.stringify({ base: base.compileKey, script, sources: sources.map((s) => s.sha256), packages, ...(sysroot ? { sysroot } : {}) }))
    .digest('hex')
  return {
    base,
    ...meta,
    extensions,
    libraries,
    sources,
    packages,
    ...(sysroot ? { sysroot } : {}),
    expectedModules: [...new Set([...base.expectedModules, ...extensions.map((e) => e.module)])].sort(sortCi),
    script,
    addonKey,
  }
}

/**
 * Every package any recipes/ext recipe may need, whatever the target (scripts/setup-host.sh installs them all so
 * any --addon builds): the machine's tools, and the recipes' own packages (for a cross sysroot, as name:arch).
 */
export function allAddonPackages(config: Config, manager: 'apt' | 'dnf'): { tools: string[]; target: string[] } {
  const target = Object.values(config.addons).flatMap((r) => [r.packages, ...(r.overrides ?? []).map((o) => o.set.packages)].flatMap((p) => p?.[manager] ?? []))
  const libs = Object.values(config.libs).flatMap((l) => l.packages?.[manager] ?? [])
  const cmake = Object.values(config.libs).some((l) => l.build === 'cmake') ? [CMAKE[manager]] : []
  return { tools: [...ADDON_TOOLS[manager], ...cmake], target: uniqSorted([...target, ...libs]) }
}

export interface AddonStep {
  /** Progress line, e.g. `make apcu 5.1.24 (php 8.2.32 x86_64)`. */
  label: string
  /** Log file stem: <artifact>-<log>.log */
  log: string
  /** Arguments to the add-on script. */
  argv: string[]
}

/**
 * The add-on script's steps in order, with their arguments (the same for every executor; `where` names the build
 * image in labels, e.g. " in debian"): prepare with the base's /opt, the PHP tarball and each source as name=path;
 * configure and make per extension in load order; install into `stage`.
 */
export function addonSteps(
  plan: AddonPlan,
  paths: { baseOpt: string; build: string; stage: string; sources: Array<{ spec: { name: string }; path: string }>; where: string },
): AddonStep[] {
  const pathOf = (name: string) => {
    const s = paths.sources.find((x) => x.spec.name === name)
    if (!s) throw new Error(`source ${name} was not fetched (internal)`)
    return s.path
  }
  const target = `php ${plan.base.php.version} ${plan.base.arch}${paths.where}`
  const label0 = `${plan.name} add-on for ${target}`
  return [
    { label: `prepare ${label0}`, log: 'prepare', argv: ['prepare', paths.baseOpt, paths.build, pathOf('php'), ...plan.sources.map((s) => `${s.name}=${pathOf(s.name)}`)] },
    ...plan.libraries.flatMap((l) => [
      { label: `configure library ${l.name} ${l.version} (${target})`, log: `lib-${l.name}-configure`, argv: ['lib-configure', l.name, paths.build] },
      { label: `make library ${l.name} ${l.version} (${target})`, log: `lib-${l.name}-make`, argv: ['lib-make', l.name, paths.build] },
    ]),
    ...plan.extensions.flatMap((e) => [
      { label: `configure ${e.name} ${e.version} (${target})`, log: `${e.name}-configure`, argv: ['configure', e.name, paths.build] },
      { label: `make ${e.name} ${e.version} (${target})`, log: `${e.name}-make`, argv: ['make', e.name, paths.build] },
    ]),
    { label: `install ${label0}`, log: 'install', argv: ['install', paths.stage, paths.build] },
  ]
}
