// The docker executor's side of the plan (pure): which image, platform, packages and glibc pins a build gets; that
// the recipes only name dnf packages Amazon Linux 2023 has; that one Dockerfile template serves every version;
// the CI matrix; and the verify command's byte comparison.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import semver from 'semver'
import { loadConfig } from '../../builder/config/load.ts'
import { UsageError } from '../../builder/errors.ts'
import { buildMatrix } from '../../builder/plan/matrix.ts'
import { plan as planWith, type BuildRequest } from '../../builder/plan/plan.ts'
import { EXECUTOR_CAPABILITIES } from '../../builder/executors/index.ts'

const plan = (c: typeof config, r: BuildRequest) => planWith(c, r, { executors: EXECUTOR_CAPABILITIES, hostArch: 'x86_64' })
import { firstDifference } from '../../builder/verify/verify.ts'

const root = join(import.meta.dirname, '..', '..')
const config = loadConfig({ root })
const v = config.versions

t.test('al2023: the real base pinned by digest, dnf packages, the pinned release, no glibc pins', async (t) => {
  for (const arch of ['x86_64', 'arm64'] as const) {
    const p = plan(config, { php: '8.2.32', arch, executor: 'docker', buildImage: 'al2023' })
    const d = p.docker!
    t.match(d.image, /^public\.ecr\.aws\/lambda\/provided:al2023@sha256:[0-9a-f]{64}$/, `${arch} image pinned by digest`)
    t.equal(d.platform, v.archs[arch].dockerPlatform)
    t.equal(d.packageManager, 'dnf')
    t.same(d.packages, p.packages.dnf)
    t.match(d.releasever, /^2023\.\d+\.\d{8}$/)
    t.notMatch(p.compatHeader, /\.symver/, 'same glibc as the base: no symbol pins')
    t.notOk('ac_cv_func_arc4random_buf' in p.configureEnv)
  }
})

t.test('debian (offline): apt packages and the glibc pins, since its glibc is newer than the base', async (t) => {
  const p = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'docker', buildImage: 'debian' })
  t.equal(p.docker!.packageManager, 'apt')
  t.same(p.docker!.packages, p.packages.apt)
  t.match(p.compatHeader, /\.symver hypot,hypot@GLIBC_2\.2\.5/)
  t.equal(p.configureEnv.ac_cv_func_arc4random_buf, 'no')
  t.equal(p.docker!.make, 'scripts/docker-base-image.sh')
})

t.test('the docker plan is part of the compile key; build images and archs they lack are refused', async (t) => {
  const host = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' })
  const a = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'docker', buildImage: 'al2023' })
  const d = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'docker', buildImage: 'debian' })
  t.equal(new Set([host.compileKey, a.compileKey, d.compileKey]).size, 3)
  t.throws(() => plan(config, { php: '8.2', arch: 'x86_64', executor: 'docker', buildImage: 'centos' }), { message: /^--build-image centos: not in versions\.yaml buildImages; accepted: al2023, debian$/ })
  t.throws(() => plan(config, { php: '8.2', arch: 'arm64', executor: 'docker', buildImage: 'debian' }), UsageError)
  t.throws(() => plan(config, { php: '8.2', arch: 'arm64', executor: 'docker', buildImage: 'debian' }), { message: /debian has no arm64 image; accepted for debian: --arch x86_64/ })
})

t.test('every dnf package the recipes name exists on Amazon Linux 2023', async (t) => {
  const available = new Set(
    readFileSync(join(root, 'recipes', 'bases', 'al2023-packages.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')),
  )
  t.ok(available.size > 10000, `${available.size} package names listed`)
  const named = new Map<string, string>()
  for (const p of config.php.packages.dnf ?? []) named.set(p, 'packages.dnf')
  for (const [name, ext] of Object.entries(config.php.extensions)) {
    for (const p of ext.packages?.dnf ?? []) named.set(p, `extensions.${name}`)
    for (const [i, o] of (ext.overrides ?? []).entries()) for (const p of o.set.packages?.dnf ?? []) named.set(p, `extensions.${name}.overrides[${i}]`)
  }
  t.ok(named.size >= 10)
  for (const [pkg, where] of named) t.ok(available.has(pkg), `${pkg} (${where})`)
  // Every extension that needs a library on Debian names its Amazon Linux package too.
  for (const [name, ext] of Object.entries(config.php.extensions)) {
    if (ext.packages?.apt?.length) t.ok(ext.packages.dnf?.length, `${name} names dnf packages as well as apt`)
  }
})

t.test('one Dockerfile template per build image, for every PHP version, arch and extension set', async (t) => {
  const images = Object.entries(v.buildImages ?? {})
  t.same(images.map(([k]) => k).sort(), ['al2023', 'debian'])
  const files = readdirSync(join(root, 'dockerfiles')).filter((f) => f.endsWith('.Dockerfile')).sort()
  t.same(files, images.map(([, b]) => b.dockerfile.replace('dockerfiles/', '')).sort(), 'no Dockerfile without a build image, none per version')
  for (const f of files) {
    const text = readFileSync(join(root, 'dockerfiles', f), 'utf8')
    t.notMatch(text.replace(/^#.*$/gm, ''), /\b8\.\d+(\.\d+)?\b/, `${f} names no PHP version`)
    for (const arg of ['BASE_IMAGE', 'PACKAGES', 'FRESH', 'STEPS']) t.match(text, new RegExp(`ARG ${arg}\\b`), `${f}: ARG ${arg}`)
    t.match(text, /AS toolchain/)
    t.match(text, /FROM scratch AS out/)
  }
  t.match(readFileSync(join(root, 'dockerfiles', 'al2023.Dockerfile'), 'utf8'), /--releasever=\$\{RELEASEVER\}/)
})

t.test('the CI matrix: newest release of every minor × arch, with the native runner', async (t) => {
  const m = buildMatrix(config)
  // 8.6 has only a release candidate so far: scheduled builds leave it out.
  const minors = Object.keys(v.php).filter((minor) => v.php[minor]!.releases.some((r) => /^\d+\.\d+\.\d+$/.test(r.version)))
  t.notOk(minors.includes('8.6'))
  t.equal(m.include.length, minors.length * 2)
  for (const e of m.include) {
    t.equal(e.php, v.php[e.minor]!.releases[0]!.version)
    t.notMatch(e.php, /alpha|beta|RC/, 'never a pre-release')
    t.equal(e.runner, e.arch === 'arm64' ? 'ubuntu-24.04-arm' : 'ubuntu-24.04')
    t.equal(e.buildImage, 'al2023')
    t.match(e.artifact, new RegExp(`-${e.php.replaceAll('.', '\\.')}-${e.arch}$`))
    // The add-ons whose PHP range takes this release are built (and published) with it; intl above all, since the
    // base layer has none.
    const addons = e.addons.split(' ')
    t.ok(addons.includes('intl'), `${e.php}: intl among ${e.addons}`)
    for (const a of addons) t.ok(v.php[e.minor] && a in config.addons, `${a} is a recipes/ext add-on`)
  }
  const notOn85 = Object.entries(config.addons).filter(([, r]) => !semver.satisfies('8.5.0', r.php)).map(([n]) => n)
  for (const e of m.include.filter((x) => semver.gte(x.php, '8.5.0'))) for (const n of notOn85) t.notOk(e.addons.split(' ').includes(n), `${n} not built on ${e.php}`)
  t.same(buildMatrix(config, { minors: ['8.2'], archs: ['arm64'] }).include.map((e) => `${e.minor} ${e.arch}`), ['8.2 arm64'])
  t.ok(m.include.every((e, i, a) => i === 0 || semver.gte(e.php, a[i - 1]!.php)), 'ordered by version')
})

t.test('verify names the first differing file (path order), or the mode, or a missing entry', async (t) => {
  const e = (path: string, data: string, mode = 0o100644) => ({ path, mode, size: data.length, data: Buffer.from(data) })
  const a = [e('bin/php', 'ELF1'), e('php/etc/php.ini', 'memory_limit = 512M\n'), e('bootstrap', '#!/bin/sh', 0o100755)]
  t.equal(firstDifference(a, [...a]), undefined)
  t.same(firstDifference(a, [e('bin/php', 'ELF1'), e('php/etc/php.ini', 'memory_limit = 256M\n'), e('bootstrap', '#!/bin/sh', 0o100755)]), {
    path: 'php/etc/php.ini',
    why: 'content differs (20 vs 20 bytes; first differing byte at offset 15)',
  })
  t.match(firstDifference(a, [e('bin/php', 'ELF1'), e('php/etc/php.ini', 'memory_limit = 512M\n'), e('bootstrap', '#!/bin/sh')]), { path: 'bootstrap', why: /^mode 100755 here, 100644 rebuilt$/ })
  t.same(firstDifference(a, a.slice(0, 2)), { path: 'bootstrap', why: 'only in the given layer' })
  t.same(firstDifference(a.slice(1), a), { path: 'bin/php', why: 'only in the rebuilt layer' })
})
