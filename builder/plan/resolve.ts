// `--php` and `--arch` resolution: pure functions over versions.yaml, so they can be table-tested.
import semver from 'semver'
import { UsageError } from '../errors.ts'
import { ARCHS, type Arch, type PhpRelease, type VersionsFile } from '../config/types.ts'
import { compareDesc, isPreRelease, satisfies, toSemver } from '../schema/php-version.ts'

export interface ResolvedPhp {
  minor: string
  release: PhpRelease
}

export interface ResolveOptions {
  /** Let a minor or range pick pre-releases (8.6.0RC3); an exact pre-release version is always accepted. */
  pre?: boolean
}

function minors(v: VersionsFile): string[] {
  return Object.keys(v.php).sort((a, b) => semver.compare(a + '.0', b + '.0'))
}

/** The newest listed minor by semver (a string sort would put 8.10 before 8.9). */
export function newestMinor(v: Pick<VersionsFile, 'php'>): string {
  return minors(v as VersionsFile).pop()!
}

/**
 * Every listed release `--php` may mean, the preferred first: `8.2` → the 8.2 patches, newest first; `8.2.32` →
 * exactly that release; any other semver range (`^8.3`, `8.x`) → the listed releases it matches, newest first.
 * Pre-releases are included for an exact version, or with `pre`. The build takes the first one it can obtain
 * (`--obtainable`) or the first one, full stop.
 */
export function phpCandidates(v: VersionsFile, spec: string, opts: ResolveOptions = {}): ResolvedPhp[] {
  const all = minors(v).flatMap((minor) => v.php[minor]!.releases.map((release) => ({ minor, release })))
  const example = all.find((r) => r.minor === minors(v)[0])?.release.version ?? '8.2.32'
  const accepted = `${minors(v).join(', ')} or an exact listed release such as ${example}`
  const trimmed = spec.trim()
  const stable = (r: ResolvedPhp) => opts.pre || !isPreRelease(r.release.version)
  const onlyPre = (hits: ResolvedPhp[], what: string): never => {
    const list = hits.map((h) => h.release.version).join(', ')
    throw new UsageError(`--php ${spec}: ${what} has only pre-releases (${list}); accepted: name one exactly (--php ${hits[0]!.release.version}) or add --pre`)
  }
  // semver reads '' and '*' as "anything"; a build must name what it wants.
  if (trimmed === '' || trimmed === '*') throw new UsageError(`--php ${JSON.stringify(spec)}: empty version; accepted: ${accepted}`)
  if (/^\d+\.\d+$/.test(trimmed)) {
    const info = v.php[trimmed]
    if (!info) throw new UsageError(`--php ${spec}: no such PHP minor in versions.yaml; accepted: ${accepted}`)
    const hits = info.releases.map((release) => ({ minor: trimmed, release }))
    const usable = hits.filter(stable).sort((a, b) => compareDesc(a.release.version, b.release.version))
    return usable.length ? usable : onlyPre(hits, trimmed)
  }
  const exact = all.find((r) => r.release.version.toLowerCase() === trimmed.toLowerCase() || toSemver(r.release.version) === trimmed)
  if (exact) return [exact]
  if (semver.valid(trimmed) || /^\d+\.\d+\.\d+(alpha|beta|RC)\d+$/i.test(trimmed)) {
    throw new UsageError(`--php ${spec}: release not listed in versions.yaml; accepted: ${accepted}`)
  }
  const range = semver.validRange(trimmed)
  if (range) {
    const hits = all.filter((r) => satisfies(r.release.version, range))
    const usable = hits.filter(stable).sort((a, b) => compareDesc(a.release.version, b.release.version))
    if (usable.length) return usable
    if (hits.length) return onlyPre(hits, `range ${trimmed}`)
  }
  throw new UsageError(`--php ${spec}: no listed release matches; accepted: ${accepted}`)
}

export function resolvePhp(v: VersionsFile, spec: string, opts: ResolveOptions = {}): ResolvedPhp {
  return phpCandidates(v, spec, opts)[0]!
}

export function resolveArch(spec: string): Arch {
  const aliases: Record<string, Arch> = { x86_64: 'x86_64', amd64: 'x86_64', arm64: 'arm64', aarch64: 'arm64' }
  const arch = aliases[spec.trim()]
  if (!arch) throw new UsageError(`--arch ${spec}: unknown architecture; accepted: ${ARCHS.join(', ')}`)
  return arch
}
