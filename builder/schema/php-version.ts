// PHP's version strings are not semver: pre-releases are written 8.6.0alpha1, 8.6.0beta2, 8.6.0RC3. These pure
// helpers map them onto semver (for ordering and ranges), onto Debian's spelling (8.6.0~rc3) and onto the stage
// that names a pre-release layer.
import semver from 'semver'

const PHP_VERSION = /^(\d+)\.(\d+)\.(\d+)(?:(alpha|beta|RC)(\d+))?$/

export type PreStage = 'alpha' | 'beta' | 'rc'

export function isPhpVersion(v: string): boolean {
  return PHP_VERSION.test(v)
}

/** `8.6.0RC3` → `8.6.0-rc.3` (lower case, so alpha < beta < rc sorts as PHP means it); `8.5.9` stays. */
export function toSemver(v: string): string {
  const m = PHP_VERSION.exec(v)
  if (!m) return v
  return m[4] ? `${m[1]}.${m[2]}.${m[3]}-${m[4].toLowerCase()}.${m[5]}` : v
}

/** The pre-release stage of `8.6.0RC3` (`rc`), or undefined for a release. */
export function preStage(v: string): PreStage | undefined {
  return PHP_VERSION.exec(v)?.[4]?.toLowerCase() as PreStage | undefined
}

export const isPreRelease = (v: string): boolean => preStage(v) !== undefined

/** Debian writes upstream pre-releases with a tilde so they sort before the release: `8.6.0RC3` → `8.6.0~rc3`. */
export function debianUpstreamVersion(v: string): string {
  const m = PHP_VERSION.exec(v)
  return m?.[4] ? `${m[1]}.${m[2]}.${m[3]}~${m[4].toLowerCase()}${m[5]}` : v
}

/** Newest first, pre-releases below their release. */
export function compareDesc(a: string, b: string): number {
  return semver.rcompare(toSemver(a), toSemver(b))
}

/**
 * Does the PHP version satisfy a semver range? A pre-release is judged as the release it leads to: a recipe
 * override for `>=8.6` is about the 8.6 code line, so 8.6.0RC3 gets it (strict semver would put RC3 below 8.6.0).
 */
export function satisfies(v: string, range: string): boolean {
  const m = PHP_VERSION.exec(v)
  return semver.satisfies(m ? `${m[1]}.${m[2]}.${m[3]}` : v, range)
}
