// The smoke test on the real layer: it passes as built, and it catches each way a layer can be broken that the
// build itself would not notice.
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { loadConfig } from '../../builder/config/load.ts'
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

/** Runs the smoke test; returns its outcome and every line it printed. */
async function runSmoke(zip: string): Promise<{ error: unknown; lines: string[] }> {
  const lines: string[] = []
  const log = createLogger({ stream: { write: (s: string) => (lines.push(s.trimEnd()), true) } as unknown as NodeJS.WritableStream })
  const config = loadConfig({ root: projectRoot })
  const assumedBase = (arch: 'x86_64' | 'arm64') => ({
    name: config.versions.base.name,
    glibc: config.versions.base.glibc,
    libraries: config.baseLibraries[arch],
    gconvModules: config.versions.base.gconvModules,
    gnuTriplet: config.versions.archs[arch].gnuTriplet,
  })
  const error = await smoke({ zipPath: zip, root: projectRoot, cacheDir, log, assumedBase }).then(() => undefined, (e: unknown) => e)
  return { error, lines }
}

t.test('a zip without a sidecar is checked against its own manifest, and a missing library is named', async (t) => {
  const zip = await variant('nolib-nosidecar', (es) => es.filter((e) => e.path !== 'lib/libonig.so.5'))
  rmSync(sidecarPath(zip))
  const { error, lines } = await runSmoke(zip)
  t.type(error, SmokeError)
  t.ok(lines.some((l) => /^» checking nolib-nosidecar\.zip .* against its layer manifest$/.test(l)), lines.join('\n'))
  t.ok(lines.some((l) => /^✗ php -m equals the manifest.*libonig\.so\.5/.test(l)), 'the failure names the library')
  t.ok(lines.some((l) => /passed, [1-9]\d* failed \(not recorded: no build manifest for these bytes\)$/.test(l)))
  t.notOk(existsSync(sidecarPath(zip)), 'no record written for bytes without a build manifest')
})

t.test('a zip whose sidecar describes other bytes is checked against its own manifest, and nothing is recorded', async (t) => {
  const zip = await variant('edited', (es) => es.map((e) => (e.path === 'php/etc/php.ini' ? { ...e, data: Buffer.concat([e.data, Buffer.from('; edited by hand\n')]) } : e)))
  const side = JSON.parse(readFileSync(sidecarPath(zip), 'utf8')) as ZipManifest
  writeFileSync(sidecarPath(zip), JSON.stringify({ ...side, zip: { ...side.zip, sha256: 'f'.repeat(64) } }))
  const before = readFileSync(sidecarPath(zip), 'utf8')
  const { error, lines } = await runSmoke(zip)
  t.equal(error, undefined, lines.join('\n'))
  t.ok(lines.some((l) => /manifest\.json describes other bytes .* checking against the layer's own manifest; nothing will be recorded/.test(l)))
  t.ok(lines.some((l) => /^✓ probe mbstring/.test(l)), 'probes come from the layer manifest')
  t.equal(readFileSync(sidecarPath(zip), 'utf8'), before, 'the sidecar is left as it was')
})

t.test('a layer this factory did not build is checked for what applies', async (t) => {
  const zip = await variant('foreign', (es) => es.filter((e) => e.path !== 'php/manifest.json'))
  rmSync(sidecarPath(zip))
  const { error, lines } = await runSmoke(zip)
  t.equal(error, undefined, lines.join('\n'))
  t.ok(lines.some((l) => /against what it holds$/.test(l)))
  t.ok(lines.some((l) => /note: no manifest: checked against provided\.al2023 \(x86_64, glibc 2\.34\)/.test(l)))
  t.ok(lines.some((l) => /^✓ php -v runs .*PHP 8\.2\.32 \(cli\)/.test(l)))
  t.ok(lines.some((l) => /^✓ php -m runs with no startup warnings .* mbstring/.test(l)))
  t.ok(lines.some((l) => /^✓ HTTPS with curl/.test(l)))
  t.ok(lines.some((l) => /^✓ runtime answers function-url/.test(l)))
  t.notOk(lines.some((l) => /^. probe /.test(l)), 'no probes: nothing says what they would be')
})
