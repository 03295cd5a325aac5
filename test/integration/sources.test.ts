import t from 'tap'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { SourceError } from '../../builder/errors.ts'
import { createLogger } from '../../builder/log.ts'
import type { SourceSpec } from '../../builder/plan/plan.ts'
import { createRunner } from '../../builder/run.ts'
import { fetchSource } from '../../builder/sources/fetch.ts'
import { localMirror, parseShowsrc, upstreamMirror } from '../../builder/sources/mirrors.ts'
import { scratch } from '../support/cc.ts'
import { makeKey } from '../support/gpg.ts'

const run = createRunner(createLogger({ quiet: true }))
const key = makeKey()
const other = makeKey('Somebody Else <else@example.test>')

function tarball(content: string): { dir: string; spec: SourceSpec } {
  const dir = scratch('mirror-')
  const file = join(dir, 'php-9.9.9.tar.xz')
  writeFileSync(file, content)
  key.sign(file)
  const sha256 = createHash('sha256').update(content).digest('hex')
  return {
    dir,
    spec: {
      name: 'php',
      version: '9.9.9',
      file: 'php-9.9.9.tar.xz',
      sha256,
      // Unroutable on purpose: the upstream mirror must fail fast and the next one be tried.
      urls: ['http://127.0.0.1:9/php-9.9.9.tar.xz'],
      signature: { url: 'http://127.0.0.1:9/php-9.9.9.tar.xz.asc', signers: [key.fingerprint] },
    },
  }
}

t.test('falls through mirrors, verifies sha256 and signature, caches by content', async (t) => {
  const { dir, spec } = tarball('release bytes')
  const cacheDir = scratch('cache-')
  const ctx = { cacheDir, keysDir: key.keysDir, run, mirrors: [upstreamMirror(2000), localMirror([dir])] }
  const got = await fetchSource(spec, ctx)
  t.equal(got.path, join(cacheDir, 'sources', spec.sha256, spec.file))
  t.same(got.manifest.verified, ['sha256', `gpg:${key.fingerprint}`])
  t.equal(got.manifest.origin, join(dir, spec.file))
  t.same(readdirSync(join(cacheDir, 'tmp')), [], 'scratch directories removed')

  const again = await fetchSource(spec, { ...ctx, mirrors: [] })
  t.same(again.manifest.verified, ['sha256', `gpg:${key.fingerprint}`], 'a cache hit is verified again')
})

t.test('a tampered cache entry is deleted and the fetch fails closed', async (t) => {
  const { dir, spec } = tarball('cached bytes')
  const cacheDir = scratch('cache-')
  const ctx = { cacheDir, keysDir: key.keysDir, run, mirrors: [localMirror([dir])] }
  const got = await fetchSource(spec, ctx)
  appendFileSync(got.path, 'evil')
  await t.rejects(fetchSource(spec, ctx), { name: 'SourceError', message: /^cached php-9\.9\.9\.tar\.xz: sha256 [0-9a-f]{64} does not match the pinned [0-9a-f]{64}; the file was deleted$/ })
  t.notOk(existsSync(got.path), 'the bad file is gone')
  // The next fetch goes back to the mirrors and gets good bytes.
  const again = await fetchSource(spec, ctx)
  t.equal(again.manifest.origin, join(dir, spec.file))
})

t.test('every mirror failing lists what was tried', async (t) => {
  const { dir, spec } = tarball('some bytes')
  const wrong = { ...spec, sha256: 'f'.repeat(64) }
  const cacheDir = scratch('cache-')
  await t.rejects(fetchSource(wrong, { cacheDir, keysDir: key.keysDir, run, mirrors: [upstreamMirror(2000), localMirror([dir])] }), {
    message: /could not obtain php-9\.9\.9\.tar\.xz \(sha256 f{64}\); tried upstream: .*127\.0\.0\.1:9.* \| local: local php-9\.9\.9\.tar\.xz: sha256 [0-9a-f]{64} does not match/,
  })
  t.notOk(existsSync(join(cacheDir, 'sources', wrong.sha256)))
})

t.test('a good signature by a key that is not an allowed signer is refused', async (t) => {
  const { dir, spec } = tarball('signed by someone else')
  other.sign(join(dir, spec.file))
  const keysDir = scratch('keys-')
  mkdirSync(keysDir, { recursive: true })
  const { copyFileSync } = await import('node:fs')
  copyFileSync(join(key.keysDir, `${key.fingerprint}.asc`), join(keysDir, 'a.asc'))
  copyFileSync(join(other.keysDir, `${other.fingerprint}.asc`), join(keysDir, 'b.asc'))
  await t.rejects(fetchSource(spec, { cacheDir: scratch('cache-'), keysDir, run, mirrors: [localMirror([dir])] }), {
    message: new RegExp(`signed by ${other.fingerprint}, which is not an allowed signer`),
  })
})

t.test('a missing signature fails closed', async (t) => {
  const { dir, spec } = tarball('unsigned')
  const { rmSync } = await import('node:fs')
  rmSync(join(dir, spec.file + '.asc'))
  await t.rejects(fetchSource(spec, { cacheDir: scratch('cache-'), keysDir: key.keysDir, run, mirrors: [localMirror([dir])] }), {
    message: /no signature available/,
  })
})

t.test('apt-cache showsrc stanzas are matched by sha256', async (t) => {
  const text = [
    'Package: php8.2',
    'Version: 8.2.36-1~deb12u1',
    'Checksums-Sha256:',
    ' aaaa 100 php8.2_8.2.36-1~deb12u1.dsc',
    ' bbbb 200 php8.2_8.2.36.orig.tar.xz',
    '',
    'Package: php8.2',
    'Version: 8.2.32-1~deb12u1',
    'Checksums-Sha256:',
    ' cccc 300 php8.2_8.2.32.orig.tar.xz',
    ' dddd 400 php8.2_8.2.32-1~deb12u1.debian.tar.xz',
    'Directory: pool/main/p/php8.2',
    '',
  ].join('\n')
  const s = parseShowsrc(text)
  t.same(s.map((x) => x.version), ['8.2.36-1~deb12u1', '8.2.32-1~deb12u1'])
  t.equal(s[1]!.sha256.get('php8.2_8.2.32.orig.tar.xz'), 'cccc')
  t.equal(s[1]!.sha256.get('php8.2_8.2.32-1~deb12u1.debian.tar.xz'), 'dddd')
})
