// The executor boundary: an executor turns a plan plus verified sources into a staging tree of /opt. Every
// executor runs the same generated compile script (plan.compileScript); they differ only in where it runs.
import type { Logger } from '../log.ts'
import type { AddonPlan } from '../plan/addon.ts'
import type { BuildPlan } from '../plan/plan.ts'
import type { Runner } from '../run.ts'
import type { FetchedSource } from '../sources/fetch.ts'

export interface CompileContext {
  plan: BuildPlan
  sources: FetchedSource[]
  cacheDir: string
  logDir: string
  run: Runner
  log: Logger
  /** Recompile from scratch: no compile cache and no cache of the build system (docker --no-cache, npm run verify). */
  fresh?: boolean
}

export interface CompileResult {
  /** Directory containing `opt/` as `make install INSTALL_ROOT=` left it. */
  stagingRoot: string
  /** Identity of the toolchain (compiler, libc, library package versions): part of the cache key and manifest. */
  toolchain: Record<string, string>
  /** Where the build environment's shared libraries live, for the closure. */
  libSearchDirs: string[]
  /** argv prefix of the strip tool for the target arch. */
  strip: string[]
  /** True when the staging tree came from the cache and nothing was compiled. */
  cached: boolean
}

/** What a preflight check gets: the plan, and the runner for the commands it asks the machine. */
export type PreflightContext = Pick<CompileContext, 'plan' | 'run' | 'log'>

export interface Executor {
  readonly name: string
  /**
   * Checks, before any source is fetched, that this machine has what the compile needs (build packages, a cross
   * sysroot, an engine); throws an error that says how to set it up.
   */
  preflight(ctx: PreflightContext): Promise<void>
  compile(ctx: CompileContext): Promise<CompileResult>
  /** Executors whose capabilities say `addons: true` implement these two. */
  preflightAddon?(ctx: AddonPreflightContext): Promise<void>
  compileAddon?(ctx: AddonCompileContext): Promise<CompileResult>
}

export type AddonPreflightContext = Pick<AddonCompileContext, 'plan' | 'run' | 'log'>

export interface AddonCompileContext {
  plan: AddonPlan
  /** The base build's compile (its staging tree holds the development files under opt/). */
  base: CompileResult
  /** The base's PHP tarball and the add-on's own sources, verified. */
  sources: FetchedSource[]
  cacheDir: string
  logDir: string
  run: Runner
  log: Logger
}
