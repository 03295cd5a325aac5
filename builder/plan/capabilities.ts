// What an executor can build, as data, and the pure decision whether a target can be built here. Executors declare
// their capabilities in the registry (builder/executors/index.ts); the planner receives them as input (it imports
// no executor), so `--dry-run` can say what would build a target and a build is refused before anything is fetched.
import type { Arch } from '../schema/common.ts'

/** native: same arch as the machine; cross: a cross toolchain; emulated: the target's own toolchain under qemu. */
export type BuildMode = 'native' | 'cross' | 'emulated'

export interface ExecutorTarget {
  /** Architecture of the machine the executor runs on. */
  host: Arch
  /** Architecture of the layers it builds there. */
  arch: Arch
  mode: BuildMode
  /** What this combination needs installed beyond `needs` (packages, tools), for messages and set-up scripts. */
  needs: string[]
}

export interface ExecutorCapabilities {
  name: string
  /** One line for --help and messages. */
  summary: string
  /** Base images (versions.yaml base.name) it builds for. */
  bases: string[]
  /** What every build with it needs installed (beyond the recipes' build packages). */
  needs: string[]
  targets: ExecutorTarget[]
  /** Builds add-on layers (recipes/ext, phpize against a finished base build). */
  addons: boolean
}

export type Buildability =
  | { ok: true; mode: BuildMode; needs: string[] }
  | { ok: false; reason: string; /** e.g. `host on an arm64 machine (native)` */ alternatives: string[] }

function describe(t: ExecutorTarget, name: string, hostArch: Arch | undefined): string {
  return t.host === hostArch ? `--executor ${name} here (${t.mode})` : `--executor ${name} on an ${t.host} machine (${t.mode})`
}

/**
 * Can `executor` build `arch` for `base` on a machine of `hostArch`? Unknown executors are the CLI's concern (it
 * offers only registered names); here they are simply not buildable.
 */
export function buildability(
  executors: readonly ExecutorCapabilities[],
  want: { executor: string; arch: Arch; base: string },
  hostArch: Arch | undefined,
): Buildability {
  const alternatives = executors.flatMap((e) =>
    e.bases.includes(want.base) ? e.targets.filter((t) => t.arch === want.arch).map((t) => describe(t, e.name, hostArch)) : [],
  )
  // What works on this machine first: that is what the user can do right now.
  alternatives.sort((a, b) => Number(b.includes(' here ')) - Number(a.includes(' here ')))
  const caps = executors.find((e) => e.name === want.executor)
  const here = hostArch ?? 'unknown'
  if (!caps) return { ok: false, reason: `no executor named ${want.executor}`, alternatives }
  if (!caps.bases.includes(want.base)) {
    return { ok: false, reason: `the ${caps.name} executor does not build for ${want.base} (it builds for ${caps.bases.join(', ')})`, alternatives }
  }
  const hit = caps.targets.find((t) => t.host === hostArch && t.arch === want.arch)
  if (!hit) {
    const builds = caps.targets.filter((t) => t.host === hostArch).map((t) => t.arch)
    return {
      ok: false,
      reason: `the ${caps.name} executor cannot build ${want.arch} on this ${here} machine${builds.length ? ` (it builds ${[...new Set(builds)].join(', ')} here)` : ''}`,
      alternatives,
    }
  }
  return { ok: true, mode: hit.mode, needs: [...caps.needs, ...hit.needs] }
}

/** One line for a refused target: why, and what would build it. */
export function refusal(b: Extract<Buildability, { ok: false }>, arch: Arch): string {
  return `${b.reason}; ${arch} is built by: ${b.alternatives.length ? b.alternatives.join(', ') : 'no registered executor'}`
}
