// One real layer, end to end: PHP 8.2.32 x86_64 compiled on this host from the pinned, verified tarball, assembled,
// and run the way Lambda would run it. The first run on a fresh machine compiles (about 15 minutes alone on 2
// cores; test/e2e/addons.test.ts usually starts that build and this file waits for it). That a second compile
// from scratch gives the same bytes is test/matrix/host-repro.test.ts (npm run test:matrix).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { compareVersions, isElf, maxGlibc, readElf } from '../../builder/artifact/elf.ts'
import type { ZipManifest } from '../../builder/artifact/manifest.ts'
import { codeSha256 } from '../../builder/sources/digest.ts'
import { prepareBaseLibs, sandboxArgv } from '../../builder/smoke/sandbox.ts'
import { debianLibDirs } from '../../builder/host-libs.ts'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { writeEntries } from '../../builder/smoke/unpack.ts'
import { modules as phpModules } from '../../builder/smoke/smoke.ts'
import { npmRun, projectRoot } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer, testCacheDir } from '../support/layer.ts'

const config = loadConfig({ root: projectRoot })
// Built once per test run for all end-to-end tests (test/support/layer.ts), with the README's command.
const { run: build, result, outDir } = await ensureLayer(DEFAULT_LAYER)
const manifest = JSON.parse(readFileSync(result.manifest, 'utf8')) as ZipManifest
const entries = await readZip(result.zip)
const byPath = new Map(entries.map((e) => [e.path, e]))

t.test('--json reports the artifact', async (t) => {
  t.equal(result.zip, join(outDir, 'php-82-8.2.32-x86_64.zip'))
  t.equal(result.php, '8.2.32')
  t.equal(result.arch, 'x86_64')
  t.equal(result.sha256, manifest.zip.sha256)
  t.equal(result.codeSha256, codeSha256(result.sha256))
  t.ok(result.zippedBytes > 0 && result.unzippedBytes > result.zippedBytes)
  t.match(build.stderr, /zipped, .* unzipped/, 'sizes printed')
  t.match(build.stderr, /✓ assemble php-82-8\.2\.32-x86_64\.zip/)
  t.same(result.smoke && result.smoke.passed, true, 'the build ran its smoke test and it passed')
  t.equal(manifest.smoke?.zipSha256, result.sha256, 'smoke record is for these bytes')
})

t.test('binaries are executable, stripped x86-64 ELF', async (t) => {
  for (const p of ['bin/php', 'bin/php-cgi', 'bootstrap']) {
    const e = byPath.get(p)
    t.ok(e, `${p} present`)
    t.equal((e!.mode & 0o111) === 0o111, true, `${p} executable`)
  }
  for (const p of ['bin/php', 'bin/php-cgi']) {
    const info = readElf(byPath.get(p)!.data)
    t.equal(info.machine, 62, `${p} is x86-64`)
    t.notOk(info.hasSymtab, `${p} stripped`)
  }
})

t.test('lib/ holds what the base lacks and nothing it has', async (t) => {
  const base = new Set(config.baseLibraries.x86_64.filter((n) => !config.versions.base.notOnLambdaHost.includes(n)))
  const libs = entries.filter((e) => e.path.startsWith('lib/')).map((e) => e.path.slice(4))
  t.ok(libs.length > 0, 'some libraries bundled')
  for (const l of libs) t.notOk(base.has(l), `${l} is not in the base image`)
  for (const l of ['libonig.so.5', 'libsodium.so.23', 'libzip.so.4', 'libpq.so.5', 'libxslt.so.1']) t.ok(libs.includes(l), `${l} bundled`)
  // libpq is built from recipes/lib for pdo_pgsql (built after the core), with TLS and nothing else: none of the LDAP,
  // SASL and GnuTLS libraries a distribution's libpq brings along.
  t.same(readElf(entries.find((e) => e.path === 'lib/libpq.so.5')!.data).needed.filter((n) => !/^lib(c|m)\.so/.test(n)).sort(), ['libcrypto.so.3', 'libssl.so.3'])
  for (const l of libs) t.notMatch(l, /^lib(ldap|lber|sasl2|gnutls|nettle|hogweed)\b/, `${l}: nothing a lean libpq leaves out`)
  t.ok(entries.some((e) => e.path === 'php/extensions/pdo_pgsql.so') && entries.some((e) => e.path === 'php/etc/conf.d/40-pdo_pgsql.ini'), 'pdo_pgsql loaded from conf.d')
  // The manifest lists what was bundled from the build environment; libphp.so is the layer's own PHP core.
  t.same(manifest.libraries, libs.filter((l) => l !== 'libphp.so').sort())
  // Every NEEDED entry resolves to the layer or the base.
  const have = new Set([...libs, ...base])
  for (const e of entries) {
    if (!isElf(e.data)) continue
    for (const n of readElf(e.data).needed) t.ok(have.has(n), `${e.path} needs ${n}: resolvable`)
  }
})

t.test('no ELF file needs a GLIBC newer than 2.34', async (t) => {
  let highest = '0'
  for (const e of entries) {
    if (!isElf(e.data)) continue
    const m = maxGlibc(readElf(e.data))
    if (m && compareVersions(m.version, highest) > 0) highest = m.version
  }
  t.ok(compareVersions(highest, '2.34') <= 0, `highest is GLIBC_${highest}`)
  t.equal(manifest.maxGlibc, highest)
})

t.test('manifest inside the layer matches the sidecar', async (t) => {
  const inner = JSON.parse(byPath.get('php/manifest.json')!.data.toString()) as ZipManifest
  t.equal(inner.php.version, '8.2.32')
  t.equal(inner.buildId, manifest.buildId)
  t.equal(inner.unzippedBytes, entries.reduce((n, e) => n + e.size, 0), 'unzipped size is exact')
  t.equal(manifest.sources[0]!.sha256, 'e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2')
  t.match(manifest.sources[0]!.verified.join(' '), /sha256 gpg:[0-9A-F]{40}/)
})

// Run the layer as Lambda would: unpacked read-only at /opt with only the base's libraries around it.
const layer = mkdtempSync(join(tmpdir(), 'layer-'))
writeEntries(entries, layer)
const task = mkdtempSync(join(tmpdir(), 'task-'))
mkdirSync(join(task, 'public'))
writeFileSync(join(task, 'public', 'index.php'), '<?php echo "Hello from ", PHP_SAPI, " ", PHP_VERSION;\n')
const baseLibDir = prepareBaseLibs(testCacheDir(), 'x86_64', config.baseLibraries.x86_64, debianLibDirs('x86_64-linux-gnu'), config.versions.base.gconvModules)
const inSandbox = (cmd: string[], env: Record<string, string> = {}) => {
  const argv = sandboxArgv({ layerDir: layer, taskDir: task, baseLibDir, gnuTriplet: 'x86_64-linux-gnu', env: { LD_LIBRARY_PATH: '/opt/lib', ...env } }, cmd)
  return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' })
}

t.test('/opt/bin/php -m lists every default extension, with no startup warning', async (t) => {
  const r = inSandbox(['/opt/bin/php', '-m'])
  t.equal(r.status, 0, r.stderr)
  t.equal(r.stderr, '', 'nothing on stderr')
  t.notMatch(r.stdout, /Warning|Error|Deprecated/)
  const modules = phpModules(r.stdout).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))
  t.same(modules, manifest.modules)
  t.match(r.stdout, /\[Zend Modules\]\nZend OPcache\n/)
  const want = config.versions.extensions.default.filter((e) => e !== 'soap')
  const names = new Set(modules.map((m) => m.toLowerCase()))
  for (const e of want) t.ok(names.has(e === 'opcache' ? 'zend opcache' : e), `${e} loaded`)
})

t.test('php and php-cgi share one copy of the core: libphp.so in /opt/lib', async (t) => {
  const lib = byPath.get('lib/libphp.so')
  t.ok(lib, 'lib/libphp.so shipped')
  t.equal(readElf(lib!.data).soname, 'libphp.so')
  for (const p of ['bin/php', 'bin/php-cgi']) {
    const e = byPath.get(p)!
    const info = readElf(e.data)
    t.ok(info.needed.includes('libphp.so'), `${p} needs libphp.so`)
    t.ok(e.data.length < lib!.data.length / 10, `${p} is ${e.data.length} bytes, the core ${lib!.data.length}: no second copy`)
  }
  const r = inSandbox(['/opt/bin/php', '-r', 'echo PHP_VERSION;'])
  t.equal(r.stdout, '8.2.32', r.stderr)
  // libphp.so binds its own symbols (-Bsymbolic), which is sound only while no program holds a copy of PHP's data.
  const readelf = (args: string[]) => spawnSync('readelf', args, { encoding: 'utf8' }).stdout
  t.match(readelf(['-d', join(layer, 'lib/libphp.so')]), /\(FLAGS\)\s+SYMBOLIC/, 'libphp.so is linked -Bsymbolic')
  t.notMatch(readelf(['-rW', join(layer, 'bin/php'), join(layer, 'bin/php-cgi')]), /R_\w+_COPY/, 'no copy relocations in php or php-cgi')
})

t.test('php-cgi renders a hello-world script', async (t) => {
  const r = inSandbox(['/opt/bin/php-cgi'], {
    REDIRECT_STATUS: '200',
    REQUEST_METHOD: 'GET',
    SCRIPT_FILENAME: '/var/task/public/index.php',
    SCRIPT_NAME: '/index.php',
    REQUEST_URI: '/',
    SERVER_PROTOCOL: 'HTTP/1.1',
  })
  t.equal(r.status, 0, r.stderr)
  t.match(r.stdout, /^Content-type: text\/html; charset=UTF-8\r?\n/m)
  t.match(r.stdout, /\r?\n\r?\nHello from cgi-fcgi 8\.2\.32$/)
})

t.test('a second build with unchanged inputs recompiles nothing and gives the same zip', async (t) => {
  const again = npmRun('build', ['--php', '8.2.32', '--arch', 'x86_64', '--executor', 'host', '--json'])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stderr, /compile php 8\.2\.32 x86_64: cached/)
  t.notMatch(again.stderr, /✓ make php/)
  t.equal((JSON.parse(again.stdout) as { sha256: string }).sha256, result.sha256)
  t.comment(`second build took ${(again.ms / 1000).toFixed(1)}s`)
})

t.test('the shared-off extension exists and loads when asked; intl is not in the base layer (an add-on)', async (t) => {
  t.notOk(existsSync(join(layer, 'php', 'extensions', 'intl.so')), 'no intl.so')
  t.notOk(readdirSync(join(layer, 'lib')).some((f) => f.startsWith('libicu')), 'no ICU library')
  for (const ext of ['soap']) {
    t.ok(existsSync(join(layer, 'php', 'extensions', `${ext}.so`)), `${ext}.so shipped`)
    const r = inSandbox(['/opt/bin/php', '-d', `extension=${ext}`, '-r', `echo extension_loaded("${ext}") ? "yes" : "no";`])
    t.equal(r.stdout, 'yes', `${ext} loads: ${r.stderr}`)
  }
})
