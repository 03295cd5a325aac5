// Where source files come from, tried in order: the upstream URL, the Debian source package that carries the same
// upstream tarball, then local directories. Each mirror only places files in a scratch directory; the fetcher
// verifies them (sha256, signature) before anything enters the cache.
import { createWriteStream, existsSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { SourceSpec } from '../plan/plan.ts'
import type { Runner } from '../run.ts'

export interface Fetched {
  file: string
  signature?: string
  /** Public keys the mirror supplies (e.g. Debian's debian/upstream/signing-key.asc). */
  keyFiles?: string[]
  origin: string
}

export interface Mirror {
  name: string
  /** Places the files in `dir`; throws an Error whose message says why this mirror could not. */
  fetch(spec: SourceSpec, dir: string): Promise<Fetched>
}

async function download(url: string, dest: string, timeoutMs: number): Promise<void> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' })
  if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} for ${url}`)
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(dest))
}

/** Errors meaning "this host cannot be reached from here", as opposed to a missing file. */
const UNREACHABLE = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT'])

export function upstreamMirror(timeoutMs = 120_000): Mirror {
  // A host that could not be reached once is not asked again by this mirror, so probing many releases offline
  // (--obtainable) costs one failed lookup, not one per release.
  const down = new Map<string, string>()
  return {
    name: 'upstream',
    async fetch(spec, dir) {
      const errors: string[] = []
      for (const url of spec.urls) {
        const host = new URL(url).host
        const known = down.get(host)
        if (known) {
          errors.push(`${url}: ${known}`)
          continue
        }
        try {
          const file = join(dir, spec.file)
          await download(url, file, timeoutMs)
          const out: Fetched = { file, origin: url }
          if (spec.signature) {
            out.signature = file + '.asc'
            await download(spec.signature.url, out.signature, timeoutMs)
          }
          return out
        } catch (e) {
          const err = e as Error & { cause?: { code?: string } }
          const code = err.cause?.code ?? (err.name === 'TimeoutError' ? 'ETIMEDOUT' : undefined)
          const why = code && UNREACHABLE.has(code) ? `${code} (unreachable)` : (code ?? err.message)
          if (why.endsWith('(unreachable)')) down.set(host, why)
          errors.push(`${url}: ${why}`)
        }
      }
      throw new Error(errors.join('; ') || 'no upstream URL')
    },
  }
}

/** Parses `apt-cache showsrc` output into (version, sha256 by file name) stanzas. */
export function parseShowsrc(text: string): Array<{ version: string; sha256: Map<string, string> }> {
  const out: Array<{ version: string; sha256: Map<string, string> }> = []
  for (const stanza of text.split(/\n\s*\n/)) {
    const version = /^Version: (.+)$/m.exec(stanza)?.[1]?.trim()
    if (!version) continue
    const sums = new Map<string, string>()
    const block = /^Checksums-Sha256:\n((?: .+\n?)+)/m.exec(stanza)?.[1] ?? ''
    for (const line of block.split('\n')) {
      const [hash, , name] = line.trim().split(/\s+/)
      if (hash && name) sums.set(name, hash)
    }
    out.push({ version, sha256: sums })
  }
  return out
}

/**
 * Debian keeps upstream tarballs byte-identical as `<pkg>_<version>.orig.tar.*` with the upstream signature
 * beside them. The stanza to download is the one whose orig file has exactly our pinned sha256, so a suite that
 * lists a newer version it does not serve (bookworm-security does this) is never chosen.
 */
export function debianMirror(run: Runner): Mirror {
  // One look-up per package per mirror: probing several releases of a minor reads the index once.
  const shown = new Map<string, Promise<Awaited<ReturnType<Runner>>>>()
  return {
    name: 'debian',
    async fetch(spec, dir) {
      if (!spec.debian) throw new Error('no Debian source package known for this source')
      const { package: pkg, origFile } = spec.debian
      if (!shown.has(pkg)) shown.set(pkg, run(['apt-cache', 'showsrc', pkg]))
      const show = await shown.get(pkg)!
      if (show.exitCode !== 0 || !show.stdout.trim()) {
        throw new Error(`apt-cache showsrc ${pkg} found nothing (deb-src not enabled? run scripts/setup-host.sh)`)
      }
      const stanza = parseShowsrc(show.stdout).find((s) => s.sha256.get(origFile) === spec.sha256)
      if (!stanza) throw new Error(`no ${pkg} source version carries ${origFile} with sha256 ${spec.sha256.slice(0, 12)}…`)
      // Only the files needed, each checked by apt against the signed index: the orig tarball, its upstream
      // signature, and the packaging (for the upstream signing keys). Some mirrors serve a suite's orig tarballs but
      // not its .dsc, so `apt-get source` as a whole would fail where this works.
      const listed = await run(['apt-get', 'source', '--print-uris', '-qq', `${pkg}=${stanza.version}`], { cwd: dir })
      const uris = new Map<string, { uri: string; hash: string }>()
      for (const line of listed.stdout.split('\n')) {
        const m = /^'([^']+)' (\S+) \d+ (\S+)$/.exec(line.trim())
        if (m) uris.set(m[2]!, { uri: m[1]!, hash: m[3]! })
      }
      const download = async (file: string) => {
        const u = uris.get(file)
        if (!u) throw new Error(`apt-get source --print-uris ${pkg}=${stanza.version} lists no ${file}`)
        const got = await run(['/usr/lib/apt/apt-helper', 'download-file', u.uri, join(dir, file), u.hash], { cwd: dir })
        if (got.exitCode !== 0) {
          const lines = got.stderr.trim().split('\n')
          throw new Error(`apt-helper download-file ${file} (${pkg}=${stanza.version}): ${lines.find((l) => /^E: /.test(l)) ?? lines.pop()}`)
        }
      }
      await download(origFile)
      const file = join(dir, spec.file)
      copyFileSync(join(dir, origFile), file)
      const out: Fetched = { file, origin: `debian:${pkg}=${stanza.version}` }
      if (spec.signature && uris.has(origFile + '.asc')) {
        await download(origFile + '.asc')
        out.signature = file + '.asc'
        copyFileSync(join(dir, origFile + '.asc'), out.signature)
        // The packaging tarball carries the upstream signing keys; offer them to the signature check (recipes/keys
        // has them too, so a mirror without the packaging still verifies).
        const debianTar = [...uris.keys()].find((n) => /\.debian\.tar\.\w+$/.test(n))
        if (debianTar) {
          const ok = await download(debianTar).then(() => true, () => false)
          const ex = ok ? await run(['tar', '-xf', debianTar, 'debian/upstream/signing-key.asc'], { cwd: dir }) : undefined
          if (ex?.exitCode === 0) out.keyFiles = [join(dir, 'debian/upstream/signing-key.asc')]
        }
      }
      return out
    },
  }
}

/** Directories holding source files under their upstream or Debian names (offline builds, air-gapped CI). */
export function localMirror(dirs: string[]): Mirror {
  return {
    name: 'local',
    async fetch(spec, dir) {
      const names = [spec.file, spec.debian?.origFile].filter((n): n is string => !!n)
      for (const d of dirs) {
        for (const n of names) {
          const p = join(d, n)
          if (!existsSync(p)) continue
          const file = join(dir, spec.file)
          copyFileSync(p, file)
          const out: Fetched = { file, origin: p }
          if (spec.signature && existsSync(p + '.asc')) {
            out.signature = file + '.asc'
            copyFileSync(p + '.asc', out.signature)
          }
          return out
        }
      }
      throw new Error(dirs.length ? `not found in ${dirs.join(', ')}` : 'no local source directory configured (PHP_LAYER_SOURCES)')
    },
  }
}
