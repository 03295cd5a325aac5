// php.net's release data, as the checker reads it. php.net answers `GET /releases/index.php?json&version=<v>[&max=N]`
// with JSON (the format is described in docs/releases.md). The checker makes a fixed set of those queries; a
// recorded file maps each query string to the body php.net returned, so `--from FILE` replays exactly what a live
// run would have seen. Everything here is pure: parsing and validation only, no network.
import semver from 'semver'
import { SourceError } from '../errors.ts'

/** Query strings the checker asks php.net, relative to /releases/index.php. */
export const LATEST_QUERY = 'json&version=8'
export const minorQuery = (minor: string): string => `json&version=${minor}&max=100`
export const RELEASES_ENDPOINT = 'https://www.php.net/releases/index.php'
export const DISTRIBUTIONS = 'https://www.php.net/distributions/'

/** A recorded run: query string → the JSON body php.net answered. */
export type ReleaseData = Record<string, unknown>

/** One stable release as the checker uses it, after validation. */
export interface UpstreamRelease {
  version: string
  minor: string
  /** The .tar.xz file name and its published sha256. */
  file: string
  sha256: string
  date?: string
}

/** A release php.net lists that the checker refuses to use, and why (printed to the user as one line). */
export interface Rejected {
  version: string
  why: string
}

export interface ParsedReleases {
  releases: UpstreamRelease[]
  rejected: Rejected[]
  /** Minors php.net names as supported (from the latest-release answer), when it says. */
  supported: string[]
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
/** PHP release versions are plain x.y.z; anything else (8.3.x, 8.3.15-dev, 08.3.1) is refused. */
const STABLE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/

/** Validates one release entry (`{version?, date, source: [{filename, sha256}]}`) under its version key. */
export function parseRelease(key: string, body: unknown): UpstreamRelease | Rejected {
  const version = isObject(body) && typeof body.version === 'string' ? body.version : key
  if (!STABLE.test(version) || !semver.valid(version)) return { version, why: `"${version}" is not a release version like 8.3.15` }
  if (isObject(body) && typeof body.version === 'string' && key !== '' && key !== body.version) {
    return { version, why: `listed under "${key}" but says it is ${body.version}` }
  }
  if (!isObject(body) || !Array.isArray(body.source)) return { version, why: 'no "source" list' }
  const file = `php-${version}.tar.xz`
  const xz = body.source.find((s) => isObject(s) && s.filename === file)
  if (!isObject(xz)) return { version, why: `no ${file} in its source list` }
  if (typeof xz.sha256 !== 'string' || xz.sha256 === '') return { version, why: `${file} has no sha256` }
  if (!/^[0-9a-f]{64}$/.test(xz.sha256)) return { version, why: `${file} sha256 "${xz.sha256}" is not 64 lowercase hex characters` }
  const minor = `${semver.major(version)}.${semver.minor(version)}`
  return { version, minor, file, sha256: xz.sha256, ...(typeof body.date === 'string' ? { date: body.date } : {}) }
}

/**
 * Reads the answers for the latest-release query and each minor query. A body that is not the documented shape is
 * an error for the whole run (the data cannot be trusted); a single malformed release is rejected on its own.
 */
export function parseReleaseData(data: ReleaseData, minors: string[]): ParsedReleases {
  const releases = new Map<string, UpstreamRelease>()
  const rejected: Rejected[] = []
  const take = (key: string, body: unknown) => {
    const r = parseRelease(key, body)
    if ('why' in r) rejected.push(r)
    else if (!releases.has(r.version)) releases.set(r.version, r)
  }
  const latest = data[LATEST_QUERY]
  let supported: string[] = []
  if (latest !== undefined) {
    if (!isObject(latest)) throw new SourceError(`release data "${LATEST_QUERY}" is not a JSON object`, 'Record it again with npm run releases -- --record FILE.')
    if (Array.isArray(latest.supported_versions)) supported = latest.supported_versions.filter((s): s is string => typeof s === 'string')
    take('', latest)
  }
  for (const minor of minors) {
    const q = minorQuery(minor)
    const body = data[q]
    if (body === undefined) continue
    if (!isObject(body)) throw new SourceError(`release data "${q}" is not a JSON object keyed by version`, 'Record it again with npm run releases -- --record FILE.')
    if ('error' in body) continue // php.net answers {"error": "Unknown version"} for a minor it does not know yet
    for (const [key, value] of Object.entries(body)) take(key, value)
  }
  const list = [...releases.values()].sort((a, b) => semver.rcompare(a.version, b.version))
  return { releases: list, rejected, supported }
}

/** Checks that a recorded file holds the queries a run needs; names the first missing one. */
export function requireQueries(data: ReleaseData, minors: string[]): void {
  for (const q of [LATEST_QUERY, ...minors.map(minorQuery)]) {
    if (!(q in data)) {
      throw new SourceError(`release data has no answer for "${q}"`, 'Record it with npm run releases -- --record FILE (needs network), or add the query to the file.')
    }
  }
}
