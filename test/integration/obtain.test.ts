// Which release `--php` ends up building when the preferred one cannot be fetched: real mirrors (an upstream host
// that cannot resolve, apt's real index, local directories), real gpg, throwaway keys.
import t from 'tap'
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLogger } from '../../builder/log.ts'
import type { SourceSpec } from '../../builder/plan/plan.ts'
import { createRunner } from '../../builder/run.ts'
import { debianMirror, localMirror, upstreamMirror } from '../../builder/sources/mirrors.ts'
import { obtainPhp, type Candidate } from '../../builder/sources/obtain.ts'
import { scratch } from '../support/cc.ts'
import { makeKey } from '../support/gpg.ts'

const run = createRunner(createLogger({ quiet: true }))
const key = makeKey()
t.teardown(() => rmSync(key.home, { recursive: true, force: true }))
const local = scratch('obtain-local-')
t.teardown(() => rmSync(local, { recursive: true, force: true }))

/** A candidate whose upstream host cannot resolve (.invalid, RFC 2606); `present` puts it in the local mirror. */
function candidate(version: string, present: boolean, debianPackage?: string): Candidate {
  const file = `php-${version}.tar.xz`
  const bytes = `php ${version} bytes`
  if (present) {
    writeFileSync(join(local, file), bytes)
    key.sign(join(local, file))
  }
  const spec: SourceSpec = {
    name: 'php',
    version,
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    urls: [`https://php.invalid/distributions/${file}`],
    signature: { url: `https://php.invalid/distributions/${file}.asc`, signers: [key.fingerprint] },
    ...(debianPackage ? { debian: { package: debianPackage, origFile: `${debianPackage}_${version}.orig.tar.xz` } } : {}),
  }
  return { version, minor: version.split('.').slice(0, 2).join('.'), spec }
}

function ctx() {
  const cacheDir = scratch('obtain-cache-')
  t.teardown(() => rmSync(cacheDir, { recursive: true, force: true }))
  return { cacheDir, keysDir: key.keysDir, run, mirrors: [upstreamMirror(5000), debianMirror(run), localMirror([local])] }
}

const list = [candidate('9.1.3', false), candidate('9.1.2', false), candidate('9.1.1', true), candidate('9.1.0', true)]

t.test('the newest obtainable release is named in the error, and built with --obtainable', async (t) => {
  await t.rejects(obtainPhp(list, ctx(), { obtainable: false }), {
    name: 'SourceError',
    message: /^PHP 9\.1\.3 cannot be fetched here \(upstream: .*ENOTFOUND \(unreachable\).*\); the newest listed release that can is 9\.1\.1$/,
    hint: 'Rerun with --obtainable to build 9.1.1 (or name it: --php 9.1.1).',
  })
  const got = await obtainPhp(list, ctx(), { obtainable: true })
  t.equal(got.index, 2)
  t.same(got.skipped.map((s) => s.version), ['9.1.3', '9.1.2'])
  t.same(got.fetched.manifest.verified, ['sha256', `gpg:${key.fingerprint}`])
})

t.test('the preferred release is used when it can be fetched, without probing others', async (t) => {
  const got = await obtainPhp(list.slice(2), ctx(), { obtainable: false })
  t.equal(got.index, 0)
  t.same(got.skipped, [])
})

t.test('a minor no offline mirror carries, with php.net unreachable, fails with one line saying so', async (t) => {
  // php8.3 is in no Debian suite; the runner asks apt's real index.
  const none = [candidate('8.3.33', false, 'php8.3'), candidate('8.3.32', false, 'php8.3')]
  await t.rejects(obtainPhp(none, ctx(), { obtainable: true }), {
    name: 'SourceError',
    message: 'PHP 8.3 needs php.net, which is unreachable here, and no offline mirror carries it (no Debian source package in the configured suites, no tarball in PHP_LAYER_SOURCES)',
    hint: 'Build it where php.net is reachable, or put php-8.3.33.tar.xz and its .asc in a directory named by PHP_LAYER_SOURCES.',
  })
})

t.test('a file that was fetched but fails verification is never skipped over', async (t) => {
  const bad = candidate('9.2.0', false)
  mkdirSync(join(local, 'bad'), { recursive: true })
  writeFileSync(join(local, bad.spec.file), 'not the pinned bytes')
  key.sign(join(local, bad.spec.file))
  const c = { ...ctx(), mirrors: [localMirror([local])] }
  // The local mirror's verification failure is recorded as that mirror's failure; with nothing else, the error
  // reports it instead of silently building an older release.
  await t.rejects(obtainPhp([bad, list[2]!], c, { obtainable: false }), { message: /PHP 9\.2\.0 cannot be fetched here \(local: local php-9\.2\.0\.tar\.xz: sha256 [0-9a-f]{64} does not match the pinned/ })
})
