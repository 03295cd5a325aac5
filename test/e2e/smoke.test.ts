// The smoke test on the real layer: it passes as built, and it catches each way a layer can be broken that the
// build itself would not notice.
import t, { type Test } from 'tap'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { writeZip, type ZipEntry } from '../../builder/assemble/zip.ts'
import { SmokeError } from '../../builder/errors.ts'
import { createLogger } from '../../builder/log.ts'
import { sidecarPath, type ZipManifest } from '../../builder/artifact/manifest.ts'
import { codeSha256, sha256File } from '../../builder/sources/digest.ts'
import { smoke } from '../../builder/smoke/smoke.ts'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { npmRun, projectRoot } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer, testCacheDir } from '../support/layer.ts'

const { result } = await ensureLayer(DEFAULT_LAYER)
const original = await readZip(result.zip)
const manifest = JSON.parse(readFileSync(result.manifest, 'utf8')) as ZipManifest
const cacheDir = testCacheDir()

/** Writes a changed copy of the layer with a consistent sidecar (no smoke record) and returns the zip path. */
async function variant(name: string, change: (entries: ZipEntry[]) => ZipEntry[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), `smoke-${name}-`))
  const zip = join(dir, `${name}.zip`)
  await writeZip(change(original.map((e) => ({ path: e.path, mode: e.mode, data: e.data }))), zip)
  const sha = await sha256File(zip)
  const { smoke: _old, ...rest } = manifest
  const side: ZipManifest = { ...rest, zip: { file: basename(zip), bytes: readFileSync(zip).length, sha256: sha, codeSha256: codeSha256(sha) } }
  writeFileSync(sidecarPath(zip), JSON.stringify(side))
  return zip
}

/** Runs the smoke test expecting failure; returns the names of the failed checks from the recorded result. */
async function failures(t: Test, zip: string, opts: { mountCaBundle?: boolean } = {}): Promise<string[]> {
  const lines: string[] = []
  const log = createLogger({ stream: { write: (s: string) => (lines.push(s), true) } as unknown as NodeJS.WritableStream })
  await t.rejects(smoke({ zipPath: zip, root: projectRoot, cacheDir, log, ...opts }), SmokeError)
  const side = JSON.parse(readFileSync(sidecarPath(zip), 'utf8')) as ZipManifest
  t.equal(side.smoke?.passed, false, 'the failure is recorded in the manifest')
  return side.smoke!.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`)
}

t.test('npm run smoke passes on the built layer and records it', async (t) => {
  const r = npmRun('smoke', [result.zip])
  t.equal(r.code, 0, r.stderr.slice(-2000))
  t.match(r.stderr, /✓ php -m equals the manifest, no startup warnings/)
  t.match(r.stderr, /✓ probe mbstring/)
  t.match(r.stderr, /✓ HTTPS with curl and PHP streams/)
  t.match(r.stderr, /✓ opcache active in php-cgi/)
  t.match(r.stderr, /✓ runtime answers apigw-rest-get-multivalue as API Gateway REST/)
  t.match(r.stderr, /✓ runtime answers alb-multi-value as ALB \(multi-value\)/)
  t.match(r.stderr, /\d+ passed, 0 failed/)
  const side = JSON.parse(readFileSync(result.manifest, 'utf8')) as ZipManifest
  t.equal(side.smoke?.passed, true)
  t.equal(side.smoke?.zipSha256, result.sha256)
  t.ok(side.smoke!.checks.length > 40, `${side.smoke!.checks.length} checks recorded`)
})

t.test('a layer missing a bundled library fails', async (t) => {
  const zip = await variant('nolib', (es) => es.filter((e) => e.path !== 'lib/libonig.so.5'))
  const failed = await failures(t, zip)
  t.ok(failed.some((f) => /^php -m equals the manifest.*libonig\.so\.5/.test(f)), failed.join('\n'))
})

t.test('a bootstrap without its exec bit fails', async (t) => {
  const zip = await variant('noexec', (es) => es.map((e) => (e.path === 'bootstrap' ? { ...e, mode: 0o100644 } : e)))
  const failed = await failures(t, zip)
  t.ok(failed.some((f) => /^bootstrap is an executable file: bootstrap mode is 644/.test(f)), failed.join('\n'))
})

t.test('a corrupted extension fails', async (t) => {
  const zip = await variant('badso', (es) => es.map((e) => (e.path === 'php/extensions/opcache.so' ? { ...e, data: e.data.subarray(0, 4096) } : e)))
  const failed = await failures(t, zip)
  t.ok(failed.some((f) => /^php -m equals the manifest/.test(f)), failed.join('\n'))
  t.ok(failed.some((f) => /^opcache active in php-cgi/.test(f)), failed.join('\n'))
})

t.test('a missing CA bundle fails the TLS check', async (t) => {
  const zip = await variant('noca', (es) => es)
  const failed = await failures(t, zip, { mountCaBundle: false })
  t.same(failed.map((f) => f.split(':')[0]), ['HTTPS with curl and PHP streams against the CA bundle at Amazon Linux\'s path'], failed.join('\n'))
})

t.test('a layer over the size limit fails', async (t) => {
  const zip = await variant('huge', (es) => [...es, { path: 'php/padding.bin', mode: 0o100644, data: Buffer.alloc(251 * 1024 * 1024) }])
  const failed = await failures(t, zip)
  t.ok(failed.some((f) => /^size within Lambda limits: unzips to \d+ bytes, over the 262144000-byte limit/.test(f)), failed.join('\n'))
})

t.test('a zip that does not match its manifest is refused before anything runs', async (t) => {
  const zip = await variant('tampered', (es) => es)
  writeFileSync(zip, Buffer.concat([readFileSync(zip), Buffer.from('x')]))
  const log = createLogger({ quiet: true })
  await t.rejects(smoke({ zipPath: zip, root: projectRoot, cacheDir, log }), { name: 'SmokeError', message: /differs from its manifest/ })
})
