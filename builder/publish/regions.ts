// Turns `--regions all|standard|r1,r2` into the list of regions to publish to (`standard`: every region that is not
// opt-in, i.e. those every account can use without enabling them first). Regions are data (versions.yaml), so an
// unknown name is a typo or a region we have not added yet — either way, refuse before touching any region.
import { UsageError } from '../errors.ts'
import type { Region } from '../config/types.ts'

export function resolveRegions(spec: string, known: readonly Region[]): Region[] {
  const trimmed = spec.trim()
  if (trimmed === 'all') return [...known]
  if (trimmed === 'standard') return known.filter((r) => r.optIn !== true)
  const names = trimmed
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if (names.length === 0) {
    throw new UsageError(`--regions is empty; accepted: all, standard, or a comma-separated list like eu-west-1,us-east-1`)
  }
  const byName = new Map(known.map((r) => [r.name, r]))
  const unknown = names.filter((n) => !byName.has(n))
  if (unknown.length > 0) {
    throw new UsageError(
      `unknown region${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `"${n}"`).join(', ')}; accepted: all, standard, or any of ${known.map((r) => r.name).join(', ')}`,
      'Regions come from the regions: list in versions.yaml; add a new region there first.',
    )
  }
  // Keep the user's order but drop repeats, so "eu-west-1,eu-west-1" publishes once.
  return [...new Set(names)].map((n) => byName.get(n)!)
}
