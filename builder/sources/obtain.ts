// Which of the releases `--php` may mean can actually be fetched (and verified) here. The build asks for the
// preferred one; when it cannot be had, the others are tried newest first, so the error can name the newest that
// can (or, with --obtainable, the build simply uses it). Every successful probe lands in the verified cache, so
// nothing fetched here is fetched twice.
import { SourceError } from '../errors.ts'
import type { SourceSpec } from '../plan/plan.ts'
import { fetchSource, UnobtainableError, type FetchContext, type FetchedSource } from './fetch.ts'

export interface Candidate {
  version: string
  minor: string
  spec: SourceSpec
}

export interface Obtained {
  /** Index into the candidates of the release that was fetched. */
  index: number
  fetched: FetchedSource
  /** Why the preferred candidates before it could not be had (empty when index is 0). */
  skipped: Array<{ version: string; why: string }>
}

const short = (e: UnobtainableError) => e.tried.map((t) => `${t.mirror}: ${t.message}`).join(' | ')

/** A Debian failure that means "no suite here carries it at all" (as opposed to a failed download). */
const noDebianPackage = (message: string) => /found nothing|no Debian source package known|source version carries/.test(message)

export async function obtainPhp(candidates: Candidate[], ctx: FetchContext, opts: { obtainable: boolean }): Promise<Obtained> {
  const failures: Array<{ version: string; error: UnobtainableError }> = []
  for (const [index, c] of candidates.entries()) {
    let fetched: FetchedSource
    try {
      fetched = await fetchSource(c.spec, ctx)
    } catch (e) {
      if (!(e instanceof UnobtainableError)) throw e // a verification failure of a file we did get: never paper over it
      failures.push({ version: c.version, error: e })
      continue
    }
    if (index === 0 || opts.obtainable) return { index, fetched, skipped: failures.map((f) => ({ version: f.version, why: short(f.error) })) }
    const first = failures[0]!
    throw new SourceError(
      `PHP ${first.version} cannot be fetched here (${short(first.error)}); the newest listed release that can is ${c.version}`,
      `Rerun with --obtainable to build ${c.version} (or name it: --php ${c.version}).`,
    )
  }
  const first = failures[0]
  if (!first) throw new SourceError('no PHP release to fetch')
  const minors = [...new Set(candidates.map((c) => c.minor))].join(', ')
  const upstreamDown = failures.every((f) => f.error.tried.some((t) => t.mirror === 'upstream' && /unreachable/.test(t.message)))
  const noOffline = failures.every((f) => f.error.tried.filter((t) => t.mirror !== 'upstream').every((t) => noDebianPackage(t.message) || t.mirror === 'local'))
  if (upstreamDown && noOffline) {
    throw new SourceError(
      `PHP ${minors} needs php.net, which is unreachable here, and no offline mirror carries it (no Debian source package in the configured suites, no tarball in PHP_LAYER_SOURCES)`,
      `Build it where php.net is reachable, or put ${first.error.spec.file} and its .asc in a directory named by PHP_LAYER_SOURCES.`,
    )
  }
  throw new SourceError(
    `no listed PHP ${minors} release can be fetched here (${failures.length} tried); the newest, ${first.version}: ${short(first.error)}`,
    'Check network access, run scripts/setup-host.sh --php <minor> to enable the Debian suites that carry it, or use PHP_LAYER_SOURCES.',
  )
}
