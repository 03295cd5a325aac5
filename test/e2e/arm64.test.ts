// arm64 end to end on an x86_64 machine: a cross build with a reduced extension set (enough for every smoke
// check: curl and openssl for HTTPS, and mbstring for a bundled library), then the smoke test under
// qemu-user. Needs scripts/setup-host.sh --arch arm64; without it the build fails and says what to run.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { compareVersions, isElf, maxGlibc, readElf } from '../../builder/artifact/elf.ts'
import type { ZipManifest } from '../../builder/artifact/manifest.ts'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { ensureLayer } from '../support/layer.ts'

const EM_AARCH64 = 183
// The CI's one arm64 build, sized for .ci/run's budget: curl and openssl for the HTTPS check, mbstring for a bundled
// library. opcache is left out: its JIT alone is minutes of cross compiling; the default layer's checks cover it.
export const ARM64_CI_LAYER = { php: '8.2.32', arch: 'arm64', executor: 'host', ext: ['curl', 'openssl', 'mbstring'] } as const
const { run: build, result: r } = await ensureLayer({ ...ARM64_CI_LAYER, ext: [...ARM64_CI_LAYER.ext] })

t.test('the cross build succeeds and its smoke test ran emulated, every check passing', async (t) => {
  t.equal(build.code, 0)
  t.match(build.stderr, /arm-php-82: PHP 8\.2\.32 arm64 .*executor host/)
  const side = JSON.parse(readFileSync(r.manifest, 'utf8')) as ZipManifest
  // The record is for these bytes whether the smoke ran in this build or passed earlier for the same zip.
  t.equal(side.smoke?.zipSha256, r.sha256)
  t.equal(side.smoke?.passed, true)
  t.match(side.smoke?.toolchain.emulator ?? '', /^qemu-aarch64-static \d/, 'ran under qemu')
  const passed = new Set(side.smoke!.checks.filter((c) => c.passed).map((c) => c.name))
  t.equal(passed.size, side.smoke!.checks.length, 'no check failed')
  for (const name of [
    'php -m equals the manifest, no startup warnings',
    'probe mbstring',
    'runtime answers apigw-rest-get-multivalue as API Gateway REST',
    'runtime answers httpapi-v2-cookies as HTTP API / Function URL',
    'runtime answers function-url as HTTP API / Function URL',
    'runtime answers alb-multi-value as ALB (multi-value)',
    'runtime reports a non-HTTP event (SQS) as an error and keeps serving',
  ]) t.ok(passed.has(name), name)
  t.ok([...passed].some((n) => n.startsWith('HTTPS with curl and PHP streams')), 'HTTPS check')
  if (!/passed earlier for these exact bytes/.test(build.stderr)) {
    t.match(build.stderr, /arm64 layer on this x86_64 machine: every layer executable runs emulated through .*qemu-aarch64-static/)
    t.match(build.stderr, /\d+ passed, 0 failed \(emulated: arm64 through qemu-aarch64-static\)/)
  }
})

t.test('the zip is an arm64 layer: named so, every ELF file AArch64, GLIBC within the base', async (t) => {
  t.equal(basename(r.zip), 'arm-php-82-8.2.32-arm64.zip')
  t.equal(r.layerName, 'arm-php-82')
  t.equal(r.arch, 'arm64')
  t.ok(compareVersions(r.maxGlibc, '2.34') <= 0, `max GLIBC_${r.maxGlibc}`)
  t.ok(r.libraries.includes('libonig.so.5'), 'oniguruma (not in the base) bundled from the arm64 libraries')
  const manifest = JSON.parse(readFileSync(r.manifest, 'utf8')) as ZipManifest
  t.equal(manifest.arch, 'arm64')
  t.equal(manifest.smoke?.passed, true)
  t.match(manifest.smoke?.toolchain.emulator ?? '', /^qemu-aarch64-static \d/)
  t.match(manifest.toolchain.emulator ?? '', /^qemu-aarch64-static \d/, 'configure ran its arm64 test programs under qemu')
  const base = new Set(readFileSync(join(import.meta.dirname, '..', '..', 'recipes', 'bases', 'al2023-libs-arm64.txt'), 'utf8').split('\n'))
  const elves = (await readZip(r.zip)).filter((e) => isElf(e.data))
  const names = elves.map((e) => e.path)
  for (const p of ['bin/php', 'bin/php-cgi', 'lib/libonig.so.5']) t.ok(names.includes(p), `${p} is in the zip (ELF files: ${names.join(', ')})`)
  for (const e of elves) {
    const info = readElf(e.data)
    t.equal(info.machine, EM_AARCH64, `${e.path} is AArch64`)
    const g = maxGlibc(info)
    if (g) t.ok(compareVersions(g.version, '2.34') <= 0, `${e.path} needs at most GLIBC_2.34 (GLIBC_${g.version})`)
    if (e.path.startsWith('lib/')) t.notOk(base.has(basename(e.path)), `${e.path} is not a base library`)
  }
  t.equal(elves.find((e) => e.path === 'bin/php') && readElf(elves.find((e) => e.path === 'bin/php')!.data).interpreter, '/lib/ld-linux-aarch64.so.1')
})
