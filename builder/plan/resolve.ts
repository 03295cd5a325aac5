// `--php` and `--arch` resolution: pure functions over versions.yaml, so they can be table-tested.
import semver from 'semver'
import { UsageError } from '../errors.ts'
import { ARCHS, type Arch, type PhpRelease, type VersionsFile } from '../config/types.ts'

export interface ResolvedPhp {
  minor: string
  release: PhpRelease
}

function minors(v: VersionsFile): string[] {
  return Object.keys(v.php).sort((a, b) => semver.compare(a + '.0', b + '.0'))
}

/**
 * `8.2` → the newest listed 8.2 patch; `8.2.32` → exactly that release; any other semver range (`^8.3`, `8.x`)
 * → the newest listed release it matches.
 */
export function resolvePhp(v: VersionsFile, spec: string): ResolvedPhp {
  const all = minors(v).flatMap((minor) => v.php[minor]!.releases.map((release) => ({ minor, release })))
  const accepted = `${minors(v).join(', ')} or an exact listed release such as ${all.find((r) => r.minor === minors(v)[0])?.release.version ?? '8.2.32'}`
  const trimmed = spec.trim()
  // semver reads '' and '*' as "anything"; a build must name what it wants.
  if (trimmed === '' || trimmed === '*') throw new UsageError(`--php ${JSON.stringify(spec)}: empty version; accepted: ${accepted}`)
  if (/^\d+\.\d+$/.test(trimmed)) {
    const info = v.php[trimmed]
    if (!info) throw new UsageError(`--php ${spec}: no such PHP minor in versions.yaml; accepted: ${accepted}`)
    return { minor: trimmed, release: info.releases[0]! }
  }
  if (semver.valid(trimmed)) {
    const hit = all.find((r) => r.release.version === trimmed)
    if (!hit) throw new UsageError(`--php ${spec}: release not listed in versions.yaml; accepted: ${accepted}`)
    return hit
  }
  const range = semver.validRange(trimmed)
  if (range) {
    const hits = all.filter((r) => semver.satisfies(r.release.version, range))
    hits.sort((a, b) => semver.rcompare(a.release.version, b.release.version))
    if (hits[0]) return hits[0]
  }
  throw new UsageError(`--php ${spec}: no listed release matches; accepted: ${accepted}`)
}

export function resolveArch(spec: string): Arch {
  const aliases: Record<string, Arch> = { x86_64: 'x86_64', amd64: 'x86_64', arm64: 'arm64', aarch64: 'arm64' }
  const arch = aliases[spec.trim()]
  if (!arch) throw new UsageError(`--arch ${spec}: unknown architecture; accepted: ${ARCHS.join(', ')}`)
  return arch
}
