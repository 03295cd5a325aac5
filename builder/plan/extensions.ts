// Which extensions a build gets, with keyed overrides applied and requirements pulled in.
import { satisfies } from '../schema/php-version.ts'
import { UsageError } from '../errors.ts'
import type { Arch, ExtensionFields, PhpRecipe, When } from '../config/types.ts'

export interface Target {
  php: string
  arch: Arch
  executor: string
  /** The build machine's arch differs from `arch`. */
  cross: boolean
}

export interface PlannedExtension {
  name: string
  module: string
  flags: string[]
  shared: boolean
  enabled: boolean
  zend: boolean
  ini: string[]
  packages: { apt: string[]; dnf: string[] }
  probe?: { code: string; expect: string }
  /** Pulled in by another extension or by the runtime rather than asked for. */
  implicit: boolean
}

export function matches(when: When, t: Target): boolean {
  if (when.php !== undefined && !satisfies(t.php, when.php)) return false
  if (when.arch !== undefined && when.arch !== t.arch) return false
  if (when.executor !== undefined && when.executor !== t.executor) return false
  if (when.cross !== undefined && when.cross !== t.cross) return false
  return true
}

function fieldsFor(recipe: PhpRecipe, name: string, t: Target): ExtensionFields {
  const ext = recipe.extensions[name]!
  const { overrides, ...base } = ext
  const hit = (overrides ?? []).find((o) => matches(o.when, t))
  return hit ? { ...base, ...hit.set } : base
}

/**
 * Expands the requested names with `requires` and the runtime's needs, in a stable order (requirements first,
 * then alphabetical), and applies overrides for the target.
 */
export function planExtensions(recipe: PhpRecipe, requested: string[], t: Target): PlannedExtension[] {
  const known = Object.keys(recipe.extensions).sort()
  for (const name of requested) {
    if (!recipe.extensions[name]) {
      throw new UsageError(`--ext ${name}: unknown extension; accepted: ${known.join(', ')}`)
    }
  }
  const asked = new Set(requested)
  const order: string[] = []
  const visiting = new Set<string>()
  const visit = (name: string): void => {
    if (order.includes(name) || visiting.has(name)) return
    visiting.add(name)
    for (const req of [...(fieldsFor(recipe, name, t).requires ?? [])].sort()) visit(req)
    visiting.delete(name)
    order.push(name)
  }
  for (const name of [...new Set([...requested, ...recipe.runtimeRequires])].sort()) visit(name)

  return order.map((name) => {
    const f = fieldsFor(recipe, name, t)
    const shared = f.shared ?? false
    const planned: PlannedExtension = {
      name,
      module: f.module ?? name,
      flags: f.flags ?? [],
      shared,
      enabled: shared ? (f.enabled ?? true) : true,
      zend: f.zend ?? false,
      ini: f.ini ?? [],
      packages: { apt: f.packages?.apt ?? [], dnf: f.packages?.dnf ?? [] },
      implicit: !asked.has(name),
    }
    if (f.probe) planned.probe = f.probe
    return planned
  })
}
