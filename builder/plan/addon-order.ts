// The recipes/ext extensions a request needs, in load order, and whether they build on the target's PHP. Shared by
// add-on layers (--addon) and by extensions built into the base layer (--ext redis). Pure.
import semver from 'semver'
import type { AddonRecipe, Config } from '../config/types.ts'
import type { ExecutorCapabilities } from './capabilities.ts'
import { UsageError } from '../errors.ts'

export interface OrderedAddon {
  name: string
  recipe: AddonRecipe
  /** 0 for an extension that requires none; one more than the deepest it requires (its conf.d file loads later). */
  depth: number
}

/** `names` and every recipes/ext extension they require, dependencies first (depth-first, each once). */
export function addonOrder(config: Config, names: string[]): OrderedAddon[] {
  const order: OrderedAddon[] = []
  const visit = (name: string, path: string[]): number => {
    if (path.includes(name)) throw new UsageError(`recipes/ext: ${[...path, name].join(' → ')} requires itself; accepted: requires without cycles`)
    const seen = order.find((o) => o.name === name)
    if (seen) return seen.depth
    const r = config.addons[name]!
    const depth = Math.max(-1, ...(r.requires ?? []).map((q) => visit(q, [...path, name]))) + 1
    order.push({ name, recipe: r, depth })
    return depth
  }
  for (const n of names) visit(n, [])
  return order
}

/** Fails naming the minors an extension supports when it does not build on `version` (pre-releases count as the release they lead to). */
export function checkAddonPhp(config: Config, order: OrderedAddon[], version: string, flag: string): void {
  for (const { name, recipe: r } of order) {
    if (semver.satisfies(semver.coerce(version)!, r.php)) continue
    const minors = Object.keys(config.versions.php).filter((m) => semver.satisfies(`${m}.0`, r.php)).sort((a, b) => semver.compare(`${a}.0`, `${b}.0`))
    throw new UsageError(
      `${flag}: ${name} does not build on PHP ${version} (recipes/ext/${name}.yaml php: "${r.php}"); accepted: --php ${minors.join(', ') || '(none listed in versions.yaml)'}`,
    )
  }
}

/**
 * Fails when two of `names` (extensions one layer, or a base and an add-on on it, would load together) conflict: a
 * recipes/ext recipe lists the other in `conflicts`.
 */
export function checkConflicts(config: Config, names: string[], flag: string): void {
  for (const a of names) {
    const b = (config.addons[a]?.conflicts ?? []).find((c) => names.includes(c) && c !== a)
    if (b) throw new UsageError(`${flag}: ${a} cannot be loaded with ${b} (recipes/ext/${a}.yaml conflicts); accepted: one of them`)
  }
}

/** Fails when the executor does not compile recipes/ext extensions (capabilities `addons: false`), naming those that do. */
export function checkAddonExecutor(executors: readonly ExecutorCapabilities[], executor: string, flag: string): void {
  const cap = executors.find((e) => e.name === executor)
  if (!cap || cap.addons) return
  const can = executors.filter((e) => e.addons).map((e) => `--executor ${e.name}`)
  throw new UsageError(`${flag} with --executor ${executor}: the ${executor} executor does not build recipes/ext extensions yet; accepted: ${can.join(', ')}`)
}
