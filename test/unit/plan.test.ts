import t from 'tap'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { UsageError } from '../../builder/errors.ts'
import { planFolded } from '../../builder/plan/addon.ts'
import { plan } from '../../builder/plan/plan.ts'
import { EXECUTOR_CAPABILITIES, EXECUTOR_NAMES, EXECUTORS } from '../../builder/executors/index.ts'
import { buildability, refusal } from '../../builder/plan/capabilities.ts'
import { WHEN_EXECUTORS } from '../../builder/config/schema.ts'

import { layerName } from '../../builder/plan/naming.ts'
import { newestMinor, phpCandidates, resolveArch, resolvePhp } from '../../builder/plan/resolve.ts'
import { compareDesc, debianUpstreamVersion, satisfies } from '../../builder/schema/php-version.ts'

/** The planner's view of an x86_64 machine with the registered executors. */
const env = { executors: EXECUTOR_CAPABILITIES, hostArch: 'x86_64' as const }

const config = loadConfig({ root: join(import.meta.dirname, '..', '..') })
const v = config.versions

t.test('--php resolution', async (t) => {
  const newest82 = v.php['8.2']!.releases[0]!.version
  const table: Array<[string, string]> = [
    ['8.2', newest82],
    ['8.2.32', '8.2.32'],
    ['8.3', v.php['8.3']!.releases[0]!.version],
    ['~8.2.30', newest82],
    ['<=8.2.31', '8.2.31'],
  ]
  for (const [spec, want] of table) t.equal(resolvePhp(v, spec).release.version, want, spec)
  for (const bad of ['7.4', '8.9', '8.2.999', 'latest', '']) {
    t.throws(() => resolvePhp(v, bad), UsageError, bad)
  }
  t.throws(() => resolvePhp(v, '7.4'), { message: /^--php 7\.4: .*accepted: 8\.2, 8\.3, 8\.4, 8\.5, 8\.6/ })
})

t.test('--arch resolution', async (t) => {
  t.equal(resolveArch('x86_64'), 'x86_64')
  t.equal(resolveArch('aarch64'), 'arm64')
  t.throws(() => resolveArch('mips'), { message: '--arch mips: unknown architecture; accepted: x86_64, arm64' })
})

t.test('layer names come from one template', async (t) => {
  t.equal(layerName(v.layer, '8.3', 'x86_64'), 'php-83')
  t.equal(layerName(v.layer, '8.3', 'arm64'), 'arm-php-83')
})

t.test('default plan for 8.2.32 x86_64 on the host', async (t) => {
  const p = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' }, env)
  t.equal(p.layerName, 'php-82')
  t.equal(p.artifact, 'php-82-8.2.32-x86_64')
  t.equal(p.configureFlags[0], '--enable-option-checking=fatal')
  for (const m of ['Core', 'curl', 'mbstring', 'PDO', 'pdo_sqlite', 'Zend OPcache', 'sodium', 'zip', 'posix', 'pcntl']) {
    t.ok(p.expectedModules.includes(m), `expects ${m}`)
  }
  t.notOk(p.extensions.some((e) => e.name === 'intl'), 'intl is an add-on, not in the base layer')
  t.notOk(p.configureFlags.some((f) => f.includes('intl')))
  t.notOk(p.expectedModules.includes('soap'), 'soap is built but off')
  const soap = p.extensions.find((e) => e.name === 'soap')!
  t.same([soap.shared, soap.enabled], [true, false])
  t.ok(p.sharedCore, 'one core for both programs')
  t.ok(p.configureFlags.includes('--enable-embed=shared'), 'built by the embed SAPI')
  t.match(p.compileScript, /\$link -o sapi\/cli\/php \$\(objs PHP_CLI_OBJS\) \$libs/, 'php linked again against it')
  t.match(p.compileScript, /\$link -o sapi\/cgi\/php-cgi \$\(objs PHP_FASTCGI_OBJS\) \$\(objs PHP_CGI_OBJS\) \$libs/, 'php-cgi too')
  t.match(p.compatHeader, /__attribute__\(\(visibility\("default"\)\)\) void zend_signal_init\(void\);/, 'what the programs call that PHP leaves hidden is exported')
  t.match(p.compileScript, /cp libs\/libphp\.so "\$dest\$prefix\/lib\/libphp\.so"/)
  t.match(p.compatHeader, /\.symver hypot,hypot@GLIBC_2\.2\.5/)
  t.equal(p.configureEnv.ac_cv_func_arc4random_buf, 'no')
  t.ok(p.packages.apt.includes('libonig-dev'))
  t.ok(p.packages.dnf.includes('oniguruma-devel'))
  const src = p.sources[0]!
  t.equal(src.sha256, 'e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2')
  t.same(src.debian, { package: 'php8.2', origFile: 'php8.2_8.2.32.orig.tar.xz' })
  t.match(p.compileScript, /--with-pdo-sqlite \\/)
  t.same(p.ini.confd.map((f) => f.file), ['10-opcache.ini'])
  t.equal(p.ini.confd[0]!.lines[0], 'zend_extension=opcache')
})

t.test('requirements are pulled in, requested order does not matter', async (t) => {
  const a = plan(config, { php: '8.2', arch: 'x86_64', executor: 'host', extensions: ['xsl', 'pdo_mysql'] }, env)
  const b = plan(config, { php: '8.2', arch: 'x86_64', executor: 'host', extensions: ['pdo_mysql', 'xsl'] }, env)
  t.same(a.extensions.map((e) => e.name), b.extensions.map((e) => e.name))
  const names = a.extensions.map((e) => e.name)
  for (const n of ['libxml', 'dom', 'pdo', 'mysqlnd', 'pcntl', 'posix']) t.ok(names.includes(n), `pulls in ${n}`)
  t.ok(names.indexOf('libxml') < names.indexOf('xsl'), 'requirements come first')
  t.equal(a.compileKey, b.compileKey)
  t.ok(a.extensions.find((e) => e.name === 'pcntl')!.implicit, 'runtime requirement marked implicit')
})

t.test('keyed overrides by PHP version', async (t) => {
  const p85 = plan(config, { php: '8.5', arch: 'x86_64', executor: 'host', extensions: ['opcache', 'ftp'] }, env)
  const op = p85.extensions.find((e) => e.name === 'opcache')!
  t.same([op.shared, op.flags], [false, []], '8.5 builds opcache in')
  t.ok(p85.configureFlags.includes('--with-ftp-ssl'), '8.4+ has its own FTP TLS switch')
  t.ok(p85.expectedModules.includes('Zend OPcache'))
  t.same(p85.ini.confd.map((f) => f.file), ['10-opcache.ini'], 'built-in opcache still gets its settings')
  t.equal(p85.ini.confd[0]!.lines[0], 'opcache.enable = 1')
  const p82 = plan(config, { php: '8.2', arch: 'x86_64', executor: 'host', extensions: ['ftp'] }, env)
  t.notOk(p82.configureFlags.includes('--with-ftp-ssl'))
})

t.test('plans differ by arch only where the data says so', async (t) => {
  const x = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' }, env)
  const a = plan(config, { php: '8.2.32', arch: 'arm64', executor: 'host' }, { ...env, hostArch: 'arm64' })
  t.equal(a.layerName, 'arm-php-82')
  t.match(a.compatHeader, /hypot@GLIBC_2\.17/)
  t.same(a.configureFlags, x.configureFlags)
  t.not(a.compileKey, x.compileKey)
  t.ok(a.baseLibraries.length > 100)
})

t.test('an arm64 plan for an x86_64 machine is a cross build, all of it from recipe data', async (t) => {
  const sysroots = { arm64: '/sysroots/arm64' }
  const native = plan(config, { php: '8.2.32', arch: 'arm64', executor: 'host' }, { ...env, hostArch: 'arm64', sysroots })
  const cross = plan(config, { php: '8.2.32', arch: 'arm64', executor: 'host' }, { ...env, sysroots })
  t.match(cross.buildable, { ok: true, mode: 'cross' }, 'the registry declares host on x86_64 → arm64 as a cross build')
  t.same([native.cross, cross.cross, cross.machine], [false, true, 'x86_64'])
  t.equal(native.strip, 'strip')
  t.equal(cross.strip, 'aarch64-linux-gnu-strip')
  t.ok(cross.configureFlags.includes('--host=aarch64-linux-gnu'))
  t.notOk(native.configureFlags.some((f) => f.startsWith('--host=')))
  t.equal(cross.configureEnv.ac_cv_func_arc4random_buf, 'no', 'the new-glibc answers still apply')
  t.match(cross.compatHeader, /hypot@GLIBC_2\.17/, 'pinned to the arm64 baseline')
  t.match(cross.compileScript, /--host=aarch64-linux-gnu/)
  // The machine gets tools only; the target's libraries (and libc) go to the arm64 sysroot, never to the machine.
  t.same(cross.packages.apt, ['build-essential', 'crossbuild-essential-arm64', 'file', 'pkg-config', 'qemu-user-static', 'xz-utils'])
  const sysroot = '/sysroots/arm64'
  t.equal(cross.sysroot?.dir, sysroot)
  for (const p of ['libc6-dev:arm64', 'libonig-dev:arm64', 'libsqlite3-dev:arm64']) t.ok(cross.sysroot?.packages.includes(p), p)
  t.equal(cross.configureEnv.CC, `aarch64-linux-gnu-gcc --sysroot=${sysroot}`)
  t.equal(cross.configureEnv.PKG_CONFIG_SYSROOT_DIR, sysroot)
  // pdo_pgsql is built after the core, on libpq from recipes/lib, cross-compiled like the core.
  t.notOk(cross.configureFlags.some((f) => f.startsWith('--with-pdo-pgsql')))
  const folded = planFolded(config, cross)!
  t.same(folded.libraries.map((l) => l.name), ['libpq'])
  t.ok(folded.sysroot?.packages.includes('libssl-dev:arm64'), 'its OpenSSL headers are the target\'s')
  t.match(folded.script, /--with-pdo-pgsql="\$deps"/)
  t.match(folded.script, /--host=aarch64-linux-gnu/)
  t.notOk(JSON.stringify(cross).includes('{sysroot}'), 'every {sysroot} filled in')
  t.equal(cross.emulator, 'qemu-aarch64-static')
  t.same([native.emulator, native.sysroot], [undefined, undefined])
  t.ok(native.packages.apt.includes('libonig-dev'))
  t.not(native.compileKey, cross.compileKey)
  // Sysroots matter only to cross builds: a native x86_64 plan is unchanged by them.
  t.equal(plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' }, { ...env, sysroots }).compileKey, plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' }, env).compileKey)
})

t.test('unknown extension is a usage error listing the accepted ones', async (t) => {
  t.throws(() => plan(config, { php: '8.2', arch: 'x86_64', executor: 'host', extensions: ['nosuch'] }, env), {
    message: /^--ext nosuch: unknown extension; accepted: bcmath, ctype,/,
  })
})

t.test('an empty --ext is a usage error, not a layer with only what the runtime needs', async (t) => {
  t.throws(() => plan(config, { php: '8.2', arch: 'x86_64', executor: 'host', extensions: [] }, env), {
    name: 'UsageError',
    message: /^--ext is empty; accepted: a comma-separated list of bcmath, /,
  })
})

t.test('executor capabilities decide what builds here, before anything is fetched', async (t) => {
  const x = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' }, env)
  t.same(x.buildable, { ok: true, mode: 'native', needs: EXECUTORS.host!.capabilities.needs })
  t.match(plan(config, { php: '8.2.32', arch: 'arm64', executor: 'host' }, env).buildable, { ok: true, mode: 'cross' }, 'host cross-builds arm64 on x86_64')
  // Without its cross target the host executor builds only its own arch, and the refusal says what would.
  const nativeOnly = { ...env, executors: env.executors.map((e) => (e.name === 'host' ? { ...e, targets: e.targets.filter((x) => x.mode === 'native') } : e)) }
  const a = plan(config, { php: '8.2.32', arch: 'arm64', executor: 'host' }, nativeOnly)
  t.equal(a.buildable.ok, false, 'the host executor builds only its own arch here')
  if (!a.buildable.ok) {
    t.match(refusal(a.buildable, 'arm64'), /^the host executor cannot build arm64 on this x86_64 machine \(it builds x86_64 here\); arm64 is built by: --executor docker here \(emulated\), --executor host on an arm64 machine \(native\)/)
  }
  // An executor that declares a cross target here is preferred in the message and accepted by the planner.
  const cross = {
    name: 'crossy', summary: 'test', bases: ['provided.al2023'], needs: [],
    targets: [{ host: 'x86_64' as const, arch: 'arm64' as const, mode: 'cross' as const, needs: ['gcc-aarch64-linux-gnu'] }],
    addons: true,
  }
  const withCross = { ...nativeOnly, executors: [...nativeOnly.executors, cross] }
  const b = plan(config, { php: '8.2.32', arch: 'arm64', executor: 'host' }, withCross)
  // What works here comes before what needs another machine.
  if (!b.buildable.ok) t.same(b.buildable.alternatives.slice(0, 2).sort(), ['--executor crossy here (cross)', '--executor docker here (emulated)'])
  t.same(plan(config, { php: '8.2.32', arch: 'arm64', executor: 'crossy' }, withCross).buildable, { ok: true, mode: 'cross', needs: ['gcc-aarch64-linux-gnu'] })
  t.same(buildability([], { executor: 'host', arch: 'x86_64', base: 'provided.al2023' }, 'x86_64'), { ok: false, reason: 'no executor named host', alternatives: [] })
  const wrongBase = buildability(EXECUTOR_CAPABILITIES, { executor: 'host', arch: 'x86_64', base: 'provided.al2' }, 'x86_64')
  t.match(wrongBase, { ok: false, reason: /does not build for provided\.al2 \(it builds for provided\.al2023\)/ })
})

t.test('every registered executor is a name recipes may key on', async (t) => {
  for (const name of EXECUTOR_NAMES) t.ok((WHEN_EXECUTORS as readonly string[]).includes(name), `${name} accepted in when.executor`)
  for (const e of EXECUTOR_CAPABILITIES) t.ok(e.targets.length > 0 && e.bases.length > 0, `${e.name} declares targets and bases`)
})

t.test('pre-releases: only when named exactly or with --pre, and in the order PHP means', async (t) => {
  t.throws(() => resolvePhp(v, '8.6'), { message: /^--php 8\.6: 8\.6 has only pre-releases \(8\.6\.0RC3\); accepted: name one exactly \(--php 8\.6\.0RC3\) or add --pre$/ })
  t.throws(() => resolvePhp(v, '>=8.6'), { message: /range >=8\.6 has only pre-releases/ })
  t.equal(resolvePhp(v, '8.6.0RC3').release.version, '8.6.0RC3', 'exact, no flag needed')
  t.equal(resolvePhp(v, '8.6.0rc3').release.version, '8.6.0RC3', 'case does not matter')
  t.equal(resolvePhp(v, '8.6', { pre: true }).release.version, '8.6.0RC3')
  t.equal(resolvePhp(v, '>=8.5').release.version, v.php['8.5']!.releases[0]!.version, 'a range skips pre-releases without --pre')
  t.equal(resolvePhp(v, '>=8.5', { pre: true }).release.version, '8.6.0RC3')
  t.throws(() => resolvePhp(v, '8.6.0RC9'), { message: /release not listed/ })
  t.same(phpCandidates(v, '8.2').map((c) => c.release.version), v.php['8.2']!.releases.map((r) => r.version), 'a minor means all its patches, newest first')
  t.same(phpCandidates(v, '8.2.32').map((c) => c.release.version), ['8.2.32'])
  t.same(['8.6.0', '8.6.0RC3', '8.6.0beta2', '8.6.0RC1', '8.6.0alpha1', '8.5.9'].sort(compareDesc), ['8.6.0', '8.6.0RC3', '8.6.0RC1', '8.6.0beta2', '8.6.0alpha1', '8.5.9'])
  t.equal(debianUpstreamVersion('8.6.0RC3'), '8.6.0~rc3')
  t.equal(debianUpstreamVersion('8.5.7'), '8.5.7')
})

t.test('a pre-release layer is named apart and plans its Debian source and 8.5+ overrides', async (t) => {
  t.equal(layerName(v.layer, '8.6', 'x86_64', '8.6.0RC3'), 'php-86-rc')
  t.equal(layerName(v.layer, '8.6', 'arm64', '8.6.0beta1'), 'arm-php-86-beta')
  t.equal(layerName(v.layer, '8.6', 'x86_64', '8.6.0'), 'php-86')
  const p = plan(config, { php: '8.6.0RC3', arch: 'x86_64', executor: 'host' }, env)
  t.equal(p.layerName, 'php-86-rc')
  t.equal(p.artifact, 'php-86-rc-8.6.0RC3-x86_64')
  t.ok(p.php.preRelease)
  t.same(p.sources[0]!.debian, { package: 'php8.6', origFile: 'php8.6_8.6.0~rc3.orig.tar.xz' })
  t.equal(p.sources[0]!.file, 'php-8.6.0RC3.tar.xz')
  const opcache = p.extensions.find((e) => e.name === 'opcache')!
  t.equal(opcache.shared, false, 'the >=8.5 override (opcache built in) applies to 8.6 pre-releases too')
  t.notOk(p.configureFlags.includes('--enable-opcache=shared'))
})

t.test('end of life is data: flagged after the date, never part of the compile key', async (t) => {
  const before = plan(config, { php: '8.2', arch: 'x86_64', executor: 'host', today: '2026-12-31' }, env)
  const after = plan(config, { php: '8.2', arch: 'x86_64', executor: 'host', today: '2027-01-01' }, env)
  t.same([before.php.endOfLife, before.php.pastEndOfLife], ['2026-12-31', false])
  t.same([after.php.endOfLife, after.php.pastEndOfLife], ['2026-12-31', true])
  t.equal(before.compileKey, after.compileKey, 'the date does not change what is compiled')
  t.equal(plan(config, { php: '8.4', arch: 'x86_64', executor: 'host' }, env).php.pastEndOfLife, undefined, 'no date given, no verdict')
})

t.test('8.3 plans its newest listed patch with its pins, though no offline mirror carries it', async (t) => {
  const p = plan(config, { php: '8.3', arch: 'x86_64', executor: 'host' }, env)
  const newest = v.php['8.3']!.releases[0]!
  t.equal(p.php.version, newest.version)
  t.same(p.sources[0], {
    name: 'php',
    version: newest.version,
    file: `php-${newest.version}.tar.xz`,
    sha256: newest.sha256,
    urls: [newest.url],
    signature: { url: newest.signature, signers: v.php['8.3']!.signers },
    debian: { package: 'php8.3', origFile: `php8.3_${newest.version}.orig.tar.xz` },
  })
})

t.test('recipe ranges judge a pre-release as the release it leads to', async (t) => {
  t.ok(satisfies('8.6.0RC3', '>=8.6'))
  t.ok(satisfies('8.6.0RC3', '>=8.5'))
  t.notOk(satisfies('8.6.0RC3', '<8.6'))
  t.ok(satisfies('8.5.9', '>=8.5'))
  t.notOk(satisfies('8.4.27', '>=8.5'))
})

t.test('the newest minor is chosen by semver, not by string order', async (t) => {
  const info = v.php['8.2']!
  t.equal(newestMinor({ php: { '8.9': info, '8.10': info, '8.2': info } }), '8.10')
  t.equal(newestMinor(v), Object.keys(v.php).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).pop())
})

t.test('the environment build() plans with gives cross builds their sysroot (no arm64 package on the machine)', async (t) => {
  const { planEnvironment } = await import('../../builder/build.ts')
  const { crossSysroot, nativeArch } = await import('../../builder/host-libs.ts')
  const p = plan(config, { php: '8.2.32', arch: 'arm64', executor: 'host' }, planEnvironment())
  if (nativeArch() === 'x86_64') {
    t.equal(p.sysroot?.dir, crossSysroot('arm64'))
    t.notOk(p.packages.apt.some((n) => n.includes(':')), `machine packages are tools only: ${p.packages.apt.join(' ')}`)
  } else {
    t.equal(p.cross, false, 'native on an arm64 machine')
  }
})
