// `npm run build`: config → plan → sources → executor → assemble (→ smoke). Each hop is its own module; this
// file only wires them and reports.
import { createHash } from 'node:crypto'
import { createReadStream, existsSync, readFileSync } from 'node:fs'
import { writeFileAtomic, writeJsonAtomic } from './artifact/atomic.ts'
import { basename, join, resolve } from 'node:path'
import { loadConfig, type LoadOptions } from './config/load.ts'
import { EXECUTOR_CAPABILITIES, EXECUTORS } from './executors/index.ts'
import { assembleLayer } from './assemble/layer.ts'
import { LIMITS } from './lambda-limits.ts'
import { seconds, type Logger } from './log.ts'
import { readSidecar, sidecarPath, type ZipManifest } from './artifact/manifest.ts'
import { UsageError } from './errors.ts'
import { crossSysroots, nativeArch } from './host-libs.ts'
import { refusal } from './plan/capabilities.ts'
import { planAddon, planFolded, type AddonPlan } from './plan/addon.ts'
import { plan as makePlan, type BuildPlan, type BuildRequest, type PlanEnvironment, type SourceSpec } from './plan/plan.ts'
import { createRunner } from './run.ts'
import { hashFiles, sha256File } from './sources/digest.ts'
import { mimeTablePhp } from './assemble/runtime-files.ts'
import { fetchSource, type FetchedSource } from './sources/fetch.ts'
import type { CompileResult } from './executors/types.ts'
import { debianMirror, localMirror, upstreamMirror } from './sources/mirrors.ts'
import { obtainPhp } from './sources/obtain.ts'
import { phpCandidates } from './plan/resolve.ts'

export interface BuildOptions {
  root: string
  request: BuildRequest
  /** Alternative versions.yaml / recipes directory (defaults: the project's own). */
  config?: Omit<LoadOptions, 'root'>
  outDir: string
  cacheDir?: string
  log: Logger
  /** Run the smoke test after assembling (default). Without it, publishing refuses the zip until `npm run smoke` passes. */
  smoke?: boolean
  /** Recompile from scratch (no compile cache, no Docker cache of the compile): what `npm run verify` does. */
  fresh?: boolean
  /** Build the newest matching release that can be fetched here, instead of failing when the newest cannot. */
  obtainable?: boolean
}

export interface BuildOutcome {
  plan: BuildPlan
  zipPath: string
  manifestPath: string
  manifest: ZipManifest
  /** The compile the zip was assembled from (its staging tree holds the development files add-ons build against). */
  compiled: CompileResult
  /** The verified sources it was built from. */
  sources: FetchedSource[]
}

export function defaultCacheDir(root: string): string {
  return process.env.PHP_LAYER_CACHE ? resolve(process.env.PHP_LAYER_CACHE) : join(root, '.cache')
}

/** What the planner is told about this machine: the executors' capabilities, its arch, where cross sysroots live. */
export function planEnvironment(): PlanEnvironment {
  return { executors: EXECUTOR_CAPABILITIES, hostArch: nativeArch(), sysroots: crossSysroots() }
}

export function planOnly(root: string, request: BuildRequest, config: Omit<LoadOptions, 'root'> = {}): BuildPlan {
  return makePlan(loadConfig({ root, ...config }), request, planEnvironment())
}

/** Where sources come from, in order: upstream, Debian's source packages, PHP_LAYER_SOURCES directories. */
function fetchContext(root: string, cacheDir: string, run: ReturnType<typeof createRunner>) {
  const localDirs = (process.env.PHP_LAYER_SOURCES ?? '').split(':').filter(Boolean)
  return { cacheDir, keysDir: join(root, 'recipes', 'keys'), mirrors: [upstreamMirror(), debianMirror(run), localMirror(localDirs)], run }
}

/** Fetches and verifies each source in turn, logging where it came from. */
async function fetchEach(specs: SourceSpec[], ctx: ReturnType<typeof fetchContext>, log: Logger): Promise<FetchedSource[]> {
  const out: FetchedSource[] = []
  for (const spec of specs) {
    const s0 = performance.now()
    const one = await fetchSource(spec, ctx)
    log.done(`source ${spec.file} (${one.manifest.verified.join(', ')}; from ${one.manifest.origin})`, performance.now() - s0)
    out.push(one)
  }
  return out
}

export async function build(opts: BuildOptions): Promise<BuildOutcome> {
  const { log } = opts
  const t0 = performance.now()
  const config = loadConfig({ root: opts.root, ...opts.config })
  const env = planEnvironment()
  // Every release --php may mean, preferred first; each planned (pure, cheap) so its source spec is known.
  const candidates = phpCandidates(config.versions, opts.request.php, { pre: opts.request.pre === true })
    .map((c) => makePlan(config, { ...opts.request, php: c.release.version }, env))
  let plan = candidates[0]!
  // Refused here, before any source is fetched, when the executor cannot build the target on this machine.
  if (!plan.buildable.ok) {
    throw new UsageError(`--arch ${plan.arch} --executor ${plan.executor}: ${refusal(plan.buildable, plan.arch)}`, 'Use one of the executors named, or build on such a machine.')
  }
  const cacheDir = opts.cacheDir ?? defaultCacheDir(opts.root)
  const logDir = join(cacheDir, 'logs')
  const run = createRunner(log, join(logDir, 'commands.log'))
  if (opts.fresh && plan.executor !== 'docker') throw new UsageError('--no-cache applies to --executor docker only; accepted: --executor docker --no-cache')
  // Before any download: what the executor needs on this machine (packages, sysroot, engine), or how to get it.
  const executor = await EXECUTORS[plan.executor]!.load()
  await executor.preflight({ plan, run, log })
  // recipes/ext extensions named in --ext: compiled after the core, as an add-on is, and shipped in this layer.
  let folded = planFolded(config, plan)
  if (folded) {
    if (!executor.preflightAddon || !executor.compileAddon) throw new UsageError(`--ext ${plan.folded.join(',')}: the ${plan.executor} executor does not build recipes/ext extensions`)
    await executor.preflightAddon({ plan: folded, run, log })
  }

  const fetchCtx = fetchContext(opts.root, cacheDir, run)
  const p0 = performance.now()
  const phpSpec = (p: BuildPlan) => p.sources.find((s) => s.name === 'php')!
  const got = await obtainPhp(
    candidates.map((p) => ({ version: p.php.version, minor: p.php.minor, spec: phpSpec(p) })),
    fetchCtx,
    { obtainable: opts.obtainable === true },
  )
  plan = candidates[got.index]!
  folded = planFolded(config, plan)
  for (const s of got.skipped) log.info(`  PHP ${s.version} cannot be fetched here (${s.why})`)
  if (got.index > 0) log.info(`  --obtainable: building PHP ${plan.php.version}, the newest listed release that can be fetched`)
  log.info(`» ${plan.layerName}: PHP ${plan.php.version} ${plan.arch} on ${plan.base.name}, executor ${plan.executor}${plan.docker ? ` (${plan.docker.buildImage}: ${plan.docker.image})` : ''}, ${plan.extensions.length} extensions`)
  log.done(`source ${phpSpec(plan).file} (${got.fetched.manifest.verified.join(', ')}; from ${got.fetched.manifest.origin})`, performance.now() - p0)
  const sources = [got.fetched, ...(await fetchEach(plan.sources.filter((s) => s.name !== 'php'), fetchCtx, log))]

  const compiled = await executor.compile({ plan, sources, cacheDir, logDir, run, log, ...(opts.fresh ? { fresh: true } : {}) })
  let foldedBuild: { plan: AddonPlan; compiled: CompileResult; sources: FetchedSource[] } | undefined
  if (folded) {
    log.info(`» ${folded.extensions.map((e) => `${e.name} ${e.version}`).join(', ')} into ${plan.layerName}, from recipes/ext after the core`)
    const extSources = await fetchEach(folded.sources, fetchCtx, log)
    const fc = await executor.compileAddon!({ plan: folded, base: compiled, sources: [got.fetched, ...extSources], cacheDir, logDir, run, log })
    foldedBuild = { plan: folded, compiled: fc, sources: extSources }
    sources.push(...foldedBuild.sources)
  }

  const a0 = performance.now()
  // The folded extensions' probes and ini lines go into the zip but not into their compile key: they are hashed here.
  const assemblyKey = createHash('sha256')
    .update(JSON.stringify({ compile: plan.compileKey, toolchain: compiled.toolchain, plan: { ...plan, compileScript: undefined }, sources: sources.map((s) => s.manifest), ...(foldedBuild ? { folded: foldedBuild.plan.addonKey, foldedToolchain: foldedBuild.compiled.toolchain, foldedExtensions: foldedBuild.plan.extensions } : {}) }))
    .update(hashFiles(opts.root, ['runtime', 'builder/assemble']))
    // The generated MIME table comes from this data: a dependency bump must re-assemble.
    .update(mimeTablePhp())
    .digest('hex')
    .slice(0, 32)
  const zipPath = join(opts.outDir, `${plan.artifact}.zip`)
  // Assembled zips (with their smoke records) are kept by assembly key, so an unchanged rebuild into any --out
  // directory copies instead of assembling and smoke-testing again.
  const stored = join(cacheDir, 'assembled', assemblyKey, `${plan.artifact}.zip`)
  const reused = (await sameAssembly(zipPath, assemblyKey)) ?? (await copyAssembly(stored, zipPath, assemblyKey))
  const reuse = reused !== undefined
  const assembled = reused ? { zipPath, manifestPath: sidecarPath(zipPath), manifest: reused } : await assembleLayer({
    plan,
    stagingRoot: compiled.stagingRoot,
    ...(foldedBuild ? { folded: { plan: foldedBuild.plan, stagingRoot: foldedBuild.compiled.stagingRoot } } : {}),
    runtimeDir: join(opts.root, 'runtime'),
    libSearchDirs: [...new Set([...compiled.libSearchDirs, ...(foldedBuild?.compiled.libSearchDirs ?? [])])],
    strip: compiled.strip,
    toolchain: compiled.toolchain,
    sources: sources.map((s) => s.manifest),
    license: plan.license,
    outDir: opts.outDir,
    workDir: join(cacheDir, 'tmp'),
    assemblyKey,
    run,
    log,
  })
  if (!reuse) await storeAssembly(zipPath, stored)
  const m = assembled.manifest
  log.done(`assemble ${plan.artifact}.zip: ${reuse ? 'unchanged inputs, zip reused; ' : ''}${m.libraries.length} bundled libraries, max GLIBC_${m.maxGlibc}`, performance.now() - a0)
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`
  log.info(`  zip ${assembled.zipPath}: ${mb(m.zip.bytes)} zipped, ${mb(m.unzippedBytes)} unzipped; sha256 ${m.zip.sha256}`)
  if (m.zip.bytes > LIMITS.directZip) log.info(`  note: over ${mb(LIMITS.directZip)}, so publishing must go through S3`)
  if (opts.smoke !== false && (await smokeStep(assembled, { root: opts.root, cacheDir, log }))) await storeAssembly(zipPath, stored)
  log.info(`» done in ${seconds(performance.now() - t0)}`)
  return { plan, ...assembled, compiled, sources }
}

/**
 * The executor when --executor is not given: docker whenever an engine answers and the build image is there (or can
 * be pulled), else host. Logs the choice and why.
 */
export async function defaultExecutor(root: string, request: Omit<BuildRequest, 'executor'>, config: Omit<LoadOptions, 'root'>, log: Logger): Promise<string> {
  // A bad --php or --ext is the user's error whatever the executor: let it surface as itself.
  planOnly(root, { ...request, executor: 'host' }, config)
  const { findEngine, dockerArgv } = await import('./executors/engine.ts')
  const run = createRunner(log)
  const engine = await findEngine(run)
  if (!engine) {
    log.info('» executor host: no Docker engine answers (scripts/docker-engine.sh start makes one; then docker is the default)')
    return 'host'
  }
  let image: string
  let make: string | undefined
  try {
    const p = planOnly(root, { ...request, executor: 'docker' }, config)
    if (!p.buildable.ok) throw new Error(refusal(p.buildable, p.arch))
    image = p.docker!.image
    make = p.docker!.make
  } catch (e) {
    log.info(`» executor host: an engine answers at ${engine.host}, but ${(e as Error).message}`)
    return 'host'
  }
  const chose = `» executor docker: an engine answers at ${engine.host} (--executor host compiles on this machine instead)`
  if ((await run(dockerArgv(engine, 'image', 'inspect', '--format', '{{.Id}}', image))).exitCode === 0) {
    log.info(chose)
    return 'docker'
  }
  if (!make && (await run(dockerArgv(engine, 'pull', image), { timeoutMs: 120_000 })).exitCode === 0) {
    log.info(chose)
    return 'docker'
  }
  log.info(`» executor host: an engine answers at ${engine.host}, but ${image} is not there${make ? ` (make it with sudo ${make})` : ' and cannot be pulled'}; offline, use --build-image debian after sudo scripts/docker-base-image.sh`)
  return 'host'
}

/** The sidecar beside `zipPath`, if it is from this assembly key and describes the zip as it is on disk. */
async function sameAssembly(zipPath: string, assemblyKey: string): Promise<ZipManifest | undefined> {
  const side = readSidecar(zipPath)
  if (side.state !== 'ok' || side.manifest.assemblyKey !== assemblyKey || !existsSync(zipPath)) return undefined
  return (await sha256File(zipPath)) === side.manifest.zip.sha256 ? side.manifest : undefined
}

/** Copies a stored assembly (zip and sidecar, smoke record included) to `zipPath`; undefined when none fits. */
async function copyAssembly(stored: string, zipPath: string, assemblyKey: string): Promise<ZipManifest | undefined> {
  const manifest = await sameAssembly(stored, assemblyKey)
  if (!manifest) return undefined
  await writeFileAtomic(zipPath, createReadStream(stored))
  await writeJsonAtomic(sidecarPath(zipPath), manifest)
  return manifest
}

/** Keeps the zip and its sidecar (as they are now, smoke record included) under the assembly key. */
async function storeAssembly(zipPath: string, stored: string): Promise<void> {
  const side = readSidecar(zipPath)
  if (side.state !== 'ok') return
  const have = readSidecar(stored)
  if (have.state !== 'ok' || have.manifest.zip.sha256 !== side.manifest.zip.sha256 || !existsSync(stored)) await writeFileAtomic(stored, createReadStream(zipPath))
  await writeJsonAtomic(sidecarPath(stored), side.manifest)
}

/**
 * The smoke test after assembling, unless a passing record from the same suite covers these exact bytes. `stack`: the
 * layers the zip runs on (an add-on's base). Returns whether it ran (its record is then in the sidecar).
 */
async function smokeStep(assembled: { zipPath: string; manifest: ZipManifest }, o: { root: string; cacheDir: string; log: Logger; stack?: string[] }): Promise<boolean> {
  const name = basename(assembled.zipPath)
  const { smoke, smokeIsCurrent } = await import('./smoke/smoke.ts')
  if (smokeIsCurrent(assembled.manifest, o.root)) {
    o.log.info(`✓ smoke ${name}: passed earlier for these exact bytes with the same checks`)
    return false
  }
  const s0 = performance.now()
  o.log.info(`» smoke ${name}${o.stack?.length ? ` stacked on ${o.stack.map((p) => basename(p)).join(', ')}` : ''}`)
  assembled.manifest.smoke = await smoke({ zipPath: assembled.zipPath, root: o.root, cacheDir: o.cacheDir, log: o.log, ...(o.stack ? { stack: o.stack } : {}) })
  o.log.done(`smoke ${name}`, performance.now() - s0)
  return true
}

export interface AddonOutcome {
  plan: AddonPlan
  zipPath: string
  manifestPath: string
  manifest: ZipManifest
  /** The base layer it was built against and smoke-tested on. */
  base: BuildOutcome
}

/**
 * `npm run build -- --addon <name>`: the base layer first (built, or reused from the caches, and smoke-tested as
 * always), then the add-on's extensions compiled against that very build, assembled as their own layer and
 * smoke-tested stacked on the base layer.
 */
export async function buildAddon(opts: BuildOptions & { addon: string }): Promise<AddonOutcome> {
  const { log } = opts
  const t0 = performance.now()
  const config = loadConfig({ root: opts.root, ...opts.config })
  const env = planEnvironment()
  // Plan first: an unknown add-on, a minor it does not build on or an executor without add-ons fails before the
  // base layer is built.
  planAddon(config, { ...opts.request, addon: opts.addon }, env)
  const base = await build(opts)
  const plan = planAddon(config, { ...opts.request, php: base.plan.php.version, addon: opts.addon }, env)
  const cacheDir = opts.cacheDir ?? defaultCacheDir(opts.root)
  const logDir = join(cacheDir, 'logs')
  const run = createRunner(log, join(logDir, 'commands.log'))
  const executor = await EXECUTORS[plan.base.executor]!.load()
  if (!executor.preflightAddon || !executor.compileAddon) throw new UsageError(`the ${plan.base.executor} executor does not build add-on layers`)
  log.info(`» ${plan.layerName}: ${plan.extensions.map((e) => `${e.name} ${e.version}`).join(', ')} for ${base.plan.layerName} (PHP ${plan.base.php.version} ${plan.base.arch})`)
  await executor.preflightAddon({ plan, run, log })

  const fetchCtx = fetchContext(opts.root, cacheDir, run)
  const sources = [base.sources.find((s) => s.spec.name === 'php')!, ...(await fetchEach(plan.sources, fetchCtx, log))]
  const compiled = await executor.compileAddon({ plan, base: base.compiled, sources, cacheDir, logDir, run, log })

  const a0 = performance.now()
  // The module API number PHP checks when it loads an extension: the add-on is for this number and no other.
  const modulesH = join(base.compiled.stagingRoot, 'opt', 'include', 'php', 'Zend', 'zend_modules.h')
  const phpApi = /^#define ZEND_MODULE_API_NO (\d{8})$/m.exec(existsSync(modulesH) ? readFileSync(modulesH, 'utf8') : '')?.[1]
  if (!phpApi) throw new UsageError(`the base build has no ZEND_MODULE_API_NO in ${modulesH}`, 'Its compile predates add-on support: rebuild the base layer (its compile key changes with the install step).')
  const { assembleAddon } = await import('./assemble/addon.ts')
  const assembled = await assembleAddon({
    plan,
    stagingRoot: compiled.stagingRoot,
    base: base.manifest,
    phpApi,
    libSearchDirs: compiled.libSearchDirs,
    strip: compiled.strip,
    toolchain: compiled.toolchain,
    sources: sources.filter((s) => s.spec.name !== 'php' || plan.extensions.some((e) => 'bundled' in e.source)).map((s) => s.manifest),
    license: plan.base.license,
    outDir: opts.outDir,
    workDir: join(cacheDir, 'tmp'),
    run,
    log,
  })
  const m = assembled.manifest
  log.done(`assemble ${plan.artifact}.zip: ${m.extensions.length} extension(s), ${m.libraries.length} bundled libraries, max GLIBC_${m.maxGlibc}`, performance.now() - a0)
  log.info(`  zip ${assembled.zipPath}: ${(m.zip.bytes / 1048576).toFixed(1)} MB zipped, ${(m.unzippedBytes / 1048576).toFixed(1)} MB unzipped; sha256 ${m.zip.sha256}`)
  if (opts.smoke !== false) await smokeStep(assembled, { root: opts.root, cacheDir, log, stack: [base.zipPath] })
  log.info(`» done in ${seconds(performance.now() - t0)}`)
  return { plan, ...assembled, base }
}
