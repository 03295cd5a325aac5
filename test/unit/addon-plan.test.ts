// Planning add-on layers from recipes/ext: load order, names, sources with their offline origin, packages per
// target, and the one-line refusals (unknown add-on, a minor it does not build on, an executor without add-ons).
import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { EXECUTOR_CAPABILITIES } from '../../builder/executors/index.ts'
import { addonSteps, allAddonPackages, planAddon, planFolded } from '../../builder/plan/addon.ts'
import { plan } from '../../builder/plan/plan.ts'
import { projectRoot } from '../support/cli.ts'

const config = loadConfig({ root: projectRoot })
const env = { executors: EXECUTOR_CAPABILITIES, hostArch: 'x86_64' as const, sysroots: { arm64: '/sysroot/arm64' } }
const req = { php: '8.2.32', arch: 'x86_64', executor: 'host' }

t.test('every recipe in recipes/ext plans for PHP 8.2 on both architectures, with a probe and a pinned source', async (t) => {
  const names = Object.keys(config.addons)
  t.ok(names.length >= 12, names.join(', '))
  const defaults = config.versions.extensions.default
  for (const name of names) {
    // One of the default set (pdo_pgsql) is an add-on on a base built without it.
    const extensions = defaults.includes(name) ? defaults.filter((n) => n !== name) : undefined
    for (const arch of ['x86_64', 'arm64']) {
      const a = planAddon(config, { ...req, arch, addon: name, ...(extensions ? { extensions } : {}) }, env)
      t.equal(a.layerName, `${arch === 'arm64' ? 'arm-' : ''}php-82-${name.replaceAll('_', '-')}`)
      t.equal(a.artifact, `${a.layerName}-8.2.32-${arch}`)
      t.ok(a.extensions.at(-1)!.probe.code.length > 20, `${name}: a probe that does something`)
      for (const s of a.sources) {
        t.match(s.sha256, /^[0-9a-f]{64}$/)
        const lib = config.libs[s.name]
        if (lib) {
          t.same(s.urls, lib.source.repack ? [] : [lib.source.url], `${name}: library ${s.name} from ${lib.source.repack ? 'Debian only (a repack)' : 'upstream first'}`)
          continue
        }
        const recipe = config.addons[s.name]!.source
        if ('pecl' in recipe && recipe.repack) {
          // A Debian repack is other bytes than the PECL file: only Debian is asked for it.
          t.same([s.urls, s.file], [[], recipe.debian!.origFile], `${name}: a repack comes from Debian only`)
          continue
        }
        t.match(s.urls[0], /^https:\/\/pecl\.php\.net\/get\/[\w-]+-[\d.]+\.tgz$/, `${name}: upstream is the PECL release`)
        t.match(s.debian?.origFile, /^php-[\w-]+_[\d.]+\.orig\.tar\.(gz|xz)$/, `${name}: and Debian serves the same bytes offline`)
      }
    }
  }
})

t.test('redis: igbinary first (it needs its headers and must load first), one layer, zstd from the base image', async (t) => {
  const a = planAddon(config, { ...req, addon: 'redis' }, env)
  t.same(a.extensions.map((e) => [e.name, e.iniFile, e.iniLines[0]]), [['igbinary', '40-igbinary.ini', 'extension=igbinary'], ['redis', '41-redis.ini', 'extension=redis']])
  t.same(a.sources.map((s) => s.file), ['igbinary-3.2.16.tgz', 'redis-6.2.0.tgz'])
  t.same(a.packages.apt, ['autoconf', 'libzstd-dev', 'patchelf'])
  t.ok(a.expectedModules.includes('redis') && a.expectedModules.includes('igbinary') && a.expectedModules.includes('Core'), 'php -m with both layers')
  t.match(a.script, /configure:igbinary\)[\s\S]*configure:redis\)/)
  t.match(a.script, /'--enable-redis-igbinary'|--enable-redis-igbinary/)
  t.notMatch(a.script, /--host=/, 'native: no cross flags')
  // The same extension's files are identical in every add-on that carries it, so two add-ons stack cleanly.
  const alone = planAddon(config, { ...req, addon: 'igbinary' }, env)
  t.same([alone.extensions[0]!.iniFile, alone.extensions[0]!.iniLines], [a.extensions[0]!.iniFile, a.extensions[0]!.iniLines])
})

t.test('arm64 on x86_64: cross flags, the target packages in the sysroot, the machine gets only autoconf', async (t) => {
  const a = planAddon(config, { ...req, arch: 'arm64', addon: 'redis' }, env)
  t.equal(a.layerName, 'arm-php-82-redis')
  t.same(a.packages.apt, ['autoconf', 'patchelf'])
  t.same(a.sysroot, { dir: '/sysroot/arm64', packages: ['libzstd-dev:arm64'] })
  t.match(a.script, /--host=aarch64-linux-gnu/)
  t.match(a.script, /export CC='aarch64-linux-gnu-gcc --sysroot=\/sysroot\/arm64'/)
})

t.test('gd comes from the base layer\'s PHP tarball, with no source of its own', async (t) => {
  const a = planAddon(config, { ...req, addon: 'gd' }, env)
  t.same(a.sources, [])
  t.equal(a.extensions[0]!.sourceFile, 'php-8.2.32.tar.xz')
  t.equal(a.extensions[0]!.version, '8.2.32')
  t.match(a.script, /tar --no-same-owner -xf "\$php_tarball" -C "\$build\/php"/)
  t.match(a.script, /cd "\$build\/php\/ext\/gd"/)
  t.notMatch(a.script, /--with-avif/, 'no AVIF: the base image has no libavif')
})

t.test('the add-on is keyed to its base build: another base extension set, another add-on key', async (t) => {
  const a = planAddon(config, { ...req, addon: 'apcu' }, env)
  const b = planAddon(config, { ...req, addon: 'apcu', extensions: ['ctype'] }, env)
  t.equal(a.base.compileKey, plan(config, req, env).compileKey)
  t.not(a.addonKey, b.addonKey)
})

t.test('one clear line for what cannot be planned', async (t) => {
  t.throws(() => planAddon(config, { ...req, addon: 'nosuch' }, env), { name: 'UsageError', message: /^--addon nosuch: no recipes\/ext\/nosuch\.yaml; accepted: amqp, apcu, ast, .*redis/ })
  t.throws(() => planAddon(config, { ...req, addon: 'curl' }, env), { name: 'UsageError', hint: /curl is a core extension: use --ext/ })
  t.throws(() => planAddon(config, { ...req, php: '8.6.0RC3', addon: 'apcu' }, env), { name: 'UsageError', message: /apcu does not build on PHP 8\.6\.0RC3 \(recipes\/ext\/apcu\.yaml php: ">=8\.1 <8\.5"\); accepted: --php 8\.2, 8\.3, 8\.4$/ })
  const noAddons = { ...env, executors: env.executors.map((e) => (e.name === 'docker' ? { ...e, addons: false } : e)) }
  t.throws(() => planAddon(config, { ...req, executor: 'docker', addon: 'apcu' }, noAddons), { name: 'UsageError', message: /^--addon with --executor docker: the docker executor does not build recipes\/ext extensions yet; accepted: --executor host$/ })
})

t.test('the docker executor plans add-ons on its build image: the base\'s packages plus the add-on\'s, for its package manager', async (t) => {
  const a = planAddon(config, { ...req, executor: 'docker', buildImage: 'al2023', addon: 'intl' }, env)
  t.equal(a.base.docker?.packageManager, 'dnf')
  t.same(a.packages.dnf, ['autoconf', 'gcc-c++', 'libicu-devel', 'patchelf'])
  t.notOk(a.base.docker?.packages.includes('libicu-devel'), 'ICU is the add-on\'s, not the base build\'s')
  t.match(a.script, /configure:intl\)/)
})

t.test('imagick: ImageMagick from recipes/lib is built first into a private prefix, and ships in the add-on', async (t) => {
  const a = planAddon(config, { ...req, addon: 'imagick' }, env)
  t.same(a.libraries.map((l) => [l.name, l.version]), [['imagemagick', '7.1.1-43']])
  // Debian's +dfsg1 repack: pinned as Debian serves it, from Debian only.
  t.same(a.sources.map((s) => [s.name, s.file, s.urls.length]), [['imagemagick', 'imagemagick_7.1.1.43+dfsg1.orig.tar.xz', 0], ['imagick', 'imagick-3.8.0.tgz', 1]])
  t.ok(a.packages.apt.includes('patchelf') && a.packages.apt.includes('libtiff-dev'), a.packages.apt.join(' '))
  const steps = addonSteps(a, { baseOpt: '/b', build: '/w', stage: '/s', sources: [...a.sources, a.base.sources[0]!].map((spec) => ({ spec, path: `/src/${spec.file}` })), where: '' })
  t.same(steps.map((s) => s.argv[0]), ['prepare', 'lib-configure', 'lib-make', 'configure', 'make', 'install'])
  t.match(a.script, /lib-configure:imagemagick\)\n\s+cd "\$build\/imagemagick"\n\s+\.\/configure --prefix="\$deps_prefix"/)
  t.match(a.script, /make install DESTDIR="\$deps_destdir"\n.*patchelf --remove-rpath "\$f"; done\n\s+rm -f "\$deps"\/lib\/\*\.la\n/)
  // Native: the prefix is "$build/deps"; cross: a private sysroot, since pkg-config puts the sysroot before .pc paths.
  t.match(a.script, /deps="\$build\/deps" deps_prefix="\$build\/deps" deps_destdir= deps_sysroot=\n/)
  t.match(a.script, /deps="\$over\/deps" deps_prefix=\/deps deps_destdir="\$over" deps_sysroot="\$real"\n/)
  t.match(a.script, /--without-modules/)
  // {deps} stays for the shell; the extension loses the RUNPATH its configure adds; libX.so.N files are collected.
  t.match(a.script, /\n\s+'?--with-imagick='?"\$deps" \\\n/)
  t.match(a.script, /patchelf --remove-rpath "\$dest\/php\/extensions\/imagick\.so"/)
  t.match(a.script, /lib\*\.so\.\*; do if \[\[ \$f =~ \\\.so\\\.\[0-9\]\+\$ \]\]; then cp -L "\$f" "\$dest\/lib\/"/)
  // Cross: the library's -dev packages go to the sysroot like the extension's, and its configure gets --host.
  const cross = planAddon(config, { ...req, arch: 'arm64', addon: 'imagick' }, env)
  t.ok(cross.sysroot!.packages.includes('libtiff-dev:arm64'))
  t.match(cross.script, /\.\/configure --prefix="\$deps_prefix" \\\n\s+'?--host=aarch64-linux-gnu'? \\/)
  // Without libraries the script has none of it.
  const apcu = planAddon(config, { ...req, addon: 'apcu' }, env)
  t.same(apcu.libraries, [])
  t.notMatch(apcu.script, /lib-configure|deps_env/)
  t.match(apcu.script, /patchelf --remove-rpath "\$dest\/php\/extensions\/apcu\.so"/, 'every extension loses a RUNPATH into the build machine')
})

t.test('amqp: rabbitmq-c is a cmake library (Amazon Linux has no package of it); cmake is a tool of the machine', async (t) => {
  const a = planAddon(config, { ...req, addon: 'amqp' }, env)
  t.same(a.libraries.map((l) => [l.name, l.version, l.build]), [['rabbitmq-c', '0.15.0', 'cmake']])
  t.same(a.sources.map((s) => s.file), ['rabbitmq-c-0.15.0.tar.gz', 'amqp-2.1.2.tgz'])
  t.ok(a.packages.apt.includes('cmake') && a.packages.dnf.includes('cmake') && a.packages.dnf.includes('openssl-devel'), `${a.packages.apt} / ${a.packages.dnf}`)
  // The layer's flags from the environment (no build type's own), installed into the private prefix as autoconf ones.
  t.match(a.script, /lib-configure:rabbitmq-c\)\n\s+cd "\$build\/rabbitmq-c"\n\s+cmake -S \. -B _build -DCMAKE_INSTALL_PREFIX="\$deps_prefix" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_BUILD_TYPE=None \\\n\s+'?-DBUILD_SHARED_LIBS=ON'? \\/)
  t.match(a.script, /cmake --build _build -j"\$\{JOBS:-\$\(nproc\)\}"\n\s+DESTDIR="\$deps_destdir" cmake --install _build\n.*patchelf --remove-rpath/)
  t.notMatch(a.script, /CMAKE_SYSTEM_NAME/, 'native: no cross settings')
  t.same(a.extensions.at(-1)!.probe.services, ['rabbitmq-server'])
  // Cross: the target system, and OpenSSL from the sysroot only; cmake stays on the machine, libssl-dev goes to the sysroot.
  const cross = planAddon(config, { ...req, arch: 'arm64', addon: 'amqp' }, env)
  t.match(cross.script, /-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR='?aarch64'? \\\n\s+\$\{deps_sysroot:\+-DCMAKE_SYSROOT="\$deps_sysroot"\} \\\n\s+-DCMAKE_FIND_ROOT_PATH_MODE_PROGRAM=NEVER -DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY/)
  t.ok(cross.packages.apt.includes('cmake') && !cross.packages.apt.some((p) => p.startsWith('libssl')), cross.packages.apt.join(' '))
  t.ok(cross.sysroot!.packages.includes('libssl-dev:arm64'))
  // Every other add-on's machine tools stay as they were.
  t.notOk(planAddon(config, { ...req, addon: 'imagick' }, env).packages.apt.includes('cmake'))
  t.ok(allAddonPackages(config, 'apt').tools.includes('cmake'), 'setup installs it, as any --addon may need it')
})

t.test('mongodb: Debian\'s repack of four releases is pinned as it is, and the build takes mongodb-1.15.0 from it', async (t) => {
  const a = planAddon(config, { ...req, addon: 'mongodb' }, env)
  t.same(a.sources.map((s) => [s.file, s.urls, s.debian?.package]), [['php-mongodb_1.15.0+1.11.1+1.9.2+1.7.5.orig.tar.xz', [], 'php-mongodb']])
  t.match(a.script, /mongodb\) top="\$build\/\$name\/"'?mongodb-1\.15\.0'?; \[ -d "\$top" \] \|\| top= ;;/)
  t.match(a.script, /--with-mongodb-icu=no/)
  t.throws(() => planAddon(config, { ...req, php: '8.4.27', addon: 'mongodb' }, env), { name: 'UsageError', message: /mongodb does not build on PHP 8\.4\.27 .*accepted: --php 8\.2$/ })
})

t.test('setup installs what every recipe needs', async (t) => {
  const apt = allAddonPackages(config, 'apt')
  t.same(apt.tools, ['autoconf', 'patchelf', 'cmake'], 'phpize, patchelf for RUNPATHs, cmake for recipes/lib/rabbitmq-c')
  t.ok(['libzstd-dev', 'libjpeg-dev', 'libwebp-dev', 'libyaml-dev', 'uuid-dev'].every((p) => apt.target.includes(p)), apt.target.join(' '))
  t.ok(allAddonPackages(config, 'dnf').target.includes('libwebp-devel'))
})

t.test('recipes/ext mistakes are configuration errors naming the file', async (t) => {
  const bad = (file: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'recipes-'))
    cpSync(join(projectRoot, 'recipes'), dir, { recursive: true })
    writeFileSync(join(dir, 'ext', file), text)
    return () => loadConfig({ root: projectRoot, recipesDir: dir })
  }
  const probe = 'probe: { code: "echo 1;", expect: "1" }\n'
  t.throws(bad('x.yaml', `description: x\nsource: { bundled: ext/x }\nphp: ">=8.1"\nrequires: [nosuch]\n${probe}`), { name: 'ConfigError', message: /recipes\/ext\/x\.yaml: requires names unknown extension "nosuch"; accepted: / })
  t.throws(bad('y.yaml', `description: y\nsource: { bundled: ext/y }\nphp: "eight"\n${probe}`), { name: 'ConfigError', message: /y\.yaml: php is "eight"; accepted: a semver range/ })
  t.throws(bad('curl.yaml', `description: c\nsource: { bundled: ext/curl }\nphp: ">=8.1"\n${probe}`), { name: 'ConfigError', message: /curl is already a core extension in recipes\/php\.yaml/ })
  t.throws(bad('z.yaml', `description: z\nsource: { pecl: z, version: 1.0.0, url: "http://x/z.tgz", sha256: abc }\nphp: ">=8.1"\n${probe}`), { name: 'ConfigError', message: /z\.yaml/ })
  t.throws(bad('l.yaml', `description: l\nsource: { bundled: ext/l }\nphp: ">=8.1"\nlibraries: [nosuch]\n${probe}`), { name: 'ConfigError', message: /recipes\/ext\/l\.yaml: libraries names "nosuch", which has no recipes\/lib\/nosuch\.yaml; accepted: imagemagick/ })
  t.throws(bad('r.yaml', `description: r\nsource: { pecl: r, version: 1.0.0, url: "https://x/r.tgz", sha256: ${'a'.repeat(64)}, repack: { dir: r-1.0.0 } }\nphp: ">=8.1"\n${probe}`), { name: 'ConfigError', message: /r\.yaml: source\.repack needs source\.debian/ })
  // recipes/lib: a flag of the other build system.
  const badLib = (file: string, text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'recipes-'))
    cpSync(join(projectRoot, 'recipes'), dir, { recursive: true })
    writeFileSync(join(dir, 'lib', file), text)
    return () => loadConfig({ root: projectRoot, recipesDir: dir })
  }
  const src = `source: { url: "https://x/l-1.0.tar.gz", sha256: ${'a'.repeat(64)} }\n`
  t.throws(badLib('l.yaml', `description: l\nversion: "1.0"\nbuild: cmake\n${src}configure: [--disable-x]\n`), { name: 'ConfigError', message: /lib\/l\.yaml: configure flag --disable-x does not fit build: cmake; accepted: -DNAME=value flags for cmake$/ })
  t.throws(badLib('m.yaml', `description: m\nversion: "1.0"\n${src}configure: [-DX=1]\n`), { name: 'ConfigError', message: /lib\/m\.yaml: configure flag -DX=1 does not fit build: autoconf; accepted: --flags and NAME=value variables for \.\/configure$/ })
  t.throws(badLib('n.yaml', `description: n\nversion: "1.0"\nbuild: cmake\n${src}configure: [-DX=1]\nmakeDirs: [src/lib]\n`), { name: 'ConfigError', message: /lib\/n\.yaml: makeDirs src\/lib does not fit build: cmake; accepted: makeDirs with build: autoconf$/ })
  t.throws(badLib('o.yaml', `description: o\nversion: "1.0"\n${src}configure: []\nheaders: { from: src, files: [a/../../../etc/x.h] }\n`), { name: 'ConfigError', message: /lib\/o\.yaml: a\/\.\.\/\.\.\/\.\.\/etc\/x\.h leaves the source tree; accepted: paths inside it, without \.\.$/ })
  t.throws(badLib('p.yaml', `description: p\nversion: "1.0"\n${src}configure: []\nconfigTool: { name: p-config, answers: { --libdir: "$(id)" } }\n`), { name: 'ConfigError', message: /lib\/p\.yaml/ })
})

t.test('libpq: only the client library, its one missing header, and a pg_config answering for the private prefix', async (t) => {
  const extensions = config.versions.extensions.default.filter((n) => n !== 'pdo_pgsql')
  const a = planAddon(config, { ...req, extensions, addon: 'pdo_pgsql' }, env)
  t.same(a.libraries.map((l) => [l.name, l.version]), [['libpq', '15.18']])
  t.same(a.sources.map((s) => s.file), ['postgresql-15.18.tar.bz2'])
  t.ok(a.packages.apt.includes('libssl-dev'), a.packages.apt.join(' '))
  t.match(a.script, /make -C src\/interfaces\/libpq -j"\$\{JOBS:-\$\(nproc\)\}"\n\s+make -C src\/interfaces\/libpq install DESTDIR="\$deps_destdir"/)
  t.notOk(/^\s+make -j/m.test(a.script.split('lib-make:libpq)')[1]!.split(';;')[0]!), 'no make at the top of the tree (the server)')
  t.match(a.script, /\(cd src\/include && cp --parents postgres_ext\.h pg_config_ext\.h libpq\/libpq-fs\.h "\$deps\/include\/"\)/)
  // The script is written with the prefix filled in ($deps expands in the here-document), and $1 left for the caller.
  t.match(a.script, /cat > "\$deps\/bin\/pg_config" <<CONFIG_TOOL_EOF\n#!\/bin\/sh\n/)
  t.match(a.script, /\n {2}--includedir\) echo '\$deps\/include' ;;\n {2}--libdir\) echo '\$deps\/lib' ;;\n/)
  t.match(a.script, /case "\\\$1" in/)
  t.match(a.script, /--with-pdo-pgsql="\$deps"/)
  t.match(config.libs.libpq!.configure, ['--with-ssl=openssl', '--without-ldap', '--without-gssapi'])
})

t.test('conflicts: two extensions one layer, or a base and its add-on, would load together are refused at plan time', async (t) => {
  t.same(config.addons.pcov!.conflicts, ['xdebug'])
  const dir = mkdtempSync(join(tmpdir(), 'recipes-'))
  cpSync(join(projectRoot, 'recipes'), dir, { recursive: true })
  writeFileSync(join(dir, 'ext', 'pcov.yaml'), readFileSync(join(projectRoot, 'recipes', 'ext', 'pcov.yaml'), 'utf8').replace('conflicts: [xdebug]', 'conflicts: [xdebug, apcu]'))
  const c = loadConfig({ root: projectRoot, recipesDir: dir })
  const message = /cannot be loaded with .*\(recipes\/ext\/pcov\.yaml conflicts\); accepted: one of them$/
  t.throws(() => plan(c, { ...req, extensions: ['default', 'pcov', 'apcu'] }, env), { name: 'UsageError', message: /^--ext default,pcov,apcu: pcov cannot be loaded with apcu/ })
  t.throws(() => planAddon(c, { ...req, extensions: ['default', 'pcov'], addon: 'apcu' }, env), { name: 'UsageError', message })
  t.throws(() => planAddon(c, { ...req, extensions: ['default', 'apcu'], addon: 'pcov' }, env), { name: 'UsageError', message })
  t.ok(planAddon(c, { ...req, addon: 'pcov' }, env), 'without apcu, pcov plans')
  t.ok(plan(config, { ...req, extensions: ['default', 'pcov', 'apcu'] }, env), 'the real recipes have no such conflict')
  writeFileSync(join(dir, 'ext', 'pcov.yaml'), readFileSync(join(projectRoot, 'recipes', 'ext', 'pcov.yaml'), 'utf8').replace('conflicts: [xdebug]', 'conflicts: [pcov]'))
  t.throws(() => loadConfig({ root: projectRoot, recipesDir: dir }), { name: 'ConfigError', message: /pcov\.yaml: conflicts names "pcov", which it is or needs/ })
})

t.test('an add-on that builds against a core extension refuses a base without it', async (t) => {
  t.throws(() => planAddon(config, { ...req, extensions: ['ctype'], addon: 'redis' }, env), {
    name: 'UsageError',
    message: /^--addon redis: redis needs the base layer's session, which this base build lacks \(--ext ctype\); accepted: a base with session$/,
  })
  t.ok(planAddon(config, { ...req, extensions: ['ctype', 'session'], addon: 'redis' }, env))
})

t.test('--ext builds recipes/ext extensions into the base layer, after the core, from the same compile', async (t) => {
  const p = plan(config, { ...req, extensions: ['ctype', 'redis', 'apcu'] }, env)
  // redis needs session (baseRequires), which comes along like a core extension's own requirement; igbinary first.
  t.same(p.extensions.map((e) => e.name).sort(), ['ctype', 'pcntl', 'posix', 'session'])
  t.same(p.folded, ['igbinary', 'redis', 'apcu'])
  t.same(p.expectedModules.filter((m) => ['apcu', 'igbinary', 'redis', 'session'].includes(m)), ['apcu', 'igbinary', 'redis', 'session'])
  // The core compile is the one a base without them has: its cache serves both.
  t.equal(p.compileKey, plan(config, { ...req, extensions: ['ctype', 'session'] }, env).compileKey)
  const f = planFolded(config, p)!
  t.same(f.extensions.map((e) => [e.name, e.iniFile, e.iniLines[0]]), [
    ['igbinary', '40-igbinary.ini', 'extension=igbinary'],
    ['redis', '41-redis.ini', 'extension=redis'],
    ['apcu', '40-apcu.ini', 'extension=apcu'],
  ])
  t.same(f.sources.map((s) => s.name), ['igbinary', 'redis', 'apcu'])
  t.equal(f.base, p)
  t.equal(planFolded(config, plan(config, { ...req, extensions: ['ctype'] }, env)), undefined)

  const noAddons = { ...env, executors: env.executors.map((e) => (e.name === 'docker' ? { ...e, addons: false } : e)) }
  t.throws(() => plan(config, { ...req, executor: 'docker', extensions: ['ctype', 'apcu'] }, noAddons), { name: 'UsageError', message: /^--ext ctype,apcu with --executor docker: the docker executor does not build recipes\/ext extensions yet; accepted: --executor host$/ })
  // The default set holds pdo_pgsql from recipes/ext: an executor without add-on builds cannot build the default layer.
  t.throws(() => plan(config, { ...req, executor: 'docker' }, noAddons), { name: 'UsageError', message: /^the default set \(versions\.yaml extensions\.default: pdo_pgsql from recipes\/ext\) with --executor docker: .*accepted: --executor host$/ })

  // `default` stands for versions.yaml's default set.
  const d = plan(config, { ...req, extensions: ['default', 'apcu'] }, env)
  t.same(d.extensions.map((e) => e.name), plan(config, req, env).extensions.map((e) => e.name))
  t.same(d.folded, ['pdo_pgsql', 'apcu'])
  t.same(plan(config, req, env).folded, ['pdo_pgsql'], 'the default set builds pdo_pgsql from recipes/ext')
  t.equal(d.compileKey, plan(config, req, env).compileKey)

  // Built in, it cannot come again as an add-on layer on top.
  t.throws(() => planAddon(config, { ...req, extensions: ['default', 'igbinary'], addon: 'redis' }, env), {
    name: 'UsageError',
    message: /^--addon redis: igbinary is built into this base layer already \(--ext default,igbinary\); accepted: an add-on whose extensions the base lacks$/,
  })
  // Still one line for a minor an extension does not build on, and for an unknown name (listing every kind).
  t.throws(() => plan(config, { ...req, php: '8.6.0RC3', extensions: ['ctype', 'mongodb'] }, env), {
    name: 'UsageError',
    message: '--ext ctype,mongodb: mongodb does not build on PHP 8.6.0RC3 (recipes/ext/mongodb.yaml php: ">=8.1 <8.3"); accepted: --php 8.2',
  })
  t.throws(() => plan(config, { ...req, extensions: ['nosuch'] }, env), {
    name: 'UsageError',
    message: /^--ext nosuch: unknown extension; accepted: bcmath, .*, zlib; built from recipes\/ext: amqp, apcu, ast, .*, zstd; default \(versions\.yaml's default set\)$/,
  })
})
