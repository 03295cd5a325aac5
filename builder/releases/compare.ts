// What php.net has that versions.yaml lacks. Pure: (versions.yaml's php map, parsed release data) → a report.
import semver from 'semver'
import type { PhpMinor } from '../config/types.ts'
import type { ParsedReleases, Rejected, UpstreamRelease } from './phpnet.ts'

export interface ReleaseReport {
  /** Stable patches newer than the newest listed release of a minor versions.yaml knows, newest first. */
  newPatches: UpstreamRelease[]
  /** Minors php.net has that versions.yaml does not (adding one needs its release managers, so a human). */
  newMinors: Array<{ minor: string; newest: string }>
  /** Entries in php.net's answer the checker refused. */
  rejected: Rejected[]
  /** A listed release whose pinned sha256 differs from what php.net publishes now. */
  mismatched: Array<{ version: string; listed: string; published: string }>
}

/** Pre-releases (8.6.0RC3) do not count: a stable 8.6.0 is still news. */
const newestStable = (info: PhpMinor): string | undefined =>
  info.releases.map((r) => r.version).filter((v) => /^\d+\.\d+\.\d+$/.test(v)).sort(semver.rcompare)[0]

export function compareReleases(php: Record<string, PhpMinor>, data: ParsedReleases): ReleaseReport {
  const report: ReleaseReport = { newPatches: [], newMinors: [], rejected: [...data.rejected], mismatched: [] }
  const listed = new Map<string, string>()
  for (const info of Object.values(php)) for (const r of info.releases) listed.set(r.version, r.sha256)
  const unknown = new Map<string, string>()
  for (const r of data.releases) {
    const info = php[r.minor]
    if (!info) {
      if (!unknown.has(r.minor)) unknown.set(r.minor, r.version)
      continue
    }
    const pinned = listed.get(r.version)
    if (pinned !== undefined) {
      if (pinned !== r.sha256) report.mismatched.push({ version: r.version, listed: pinned, published: r.sha256 })
      continue
    }
    const newest = newestStable(info)
    if (!newest || semver.gt(r.version, newest)) report.newPatches.push(r)
  }
  for (const minor of data.supported) if (!php[minor] && !unknown.has(minor)) unknown.set(minor, `${minor}.x`)
  report.newMinors = [...unknown].map(([minor, newest]) => ({ minor, newest })).sort((a, b) => semver.compare(a.minor + '.0', b.minor + '.0'))
  return report
}

/** versions.yaml is behind (or disagrees with php.net) when any list is non-empty. */
export function isBehind(r: ReleaseReport): boolean {
  return r.newPatches.length + r.newMinors.length + r.mismatched.length > 0
}
