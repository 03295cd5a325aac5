// The ELF reader on AArch64 files made by the cross toolchain the arm64 build uses (scripts/setup-host.sh --arch
// arm64 installs it; without it this test fails and says so, rather than skipping).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkAbi } from '../../builder/assemble/abi.ts'
import { compareVersions, maxGlibc, readElf } from '../../builder/artifact/elf.ts'
import { cc, scratch } from '../support/cc.ts'

const CROSS = 'aarch64-linux-gnu-gcc'
const EM_AARCH64 = 183
const dir = scratch()
const prog = '#include <math.h>\n#include <stdio.h>\nint main(void){ volatile double a = 3, b = 4; printf("%g\\n", hypot(a, b)); return 0; }\n'

t.before(() => {
  try {
    execFileSync(CROSS, ['--version'], { stdio: 'pipe' })
  } catch {
    throw new Error(`${CROSS} not found: run scripts/setup-host.sh --arch arm64`)
  }
})

t.test('machine, loader, NEEDED and version needs of an AArch64 executable', async (t) => {
  const info = readElf(readFileSync(cc(dir, 'plain', prog, ['-lm'], CROSS)))
  t.equal(info.machine, EM_AARCH64)
  t.equal(info.interpreter, '/lib/ld-linux-aarch64.so.1')
  t.ok(info.needed.includes('libm.so.6') && info.needed.includes('libc.so.6'))
  // bookworm's glibc gives hypot a 2.35 version on every arch; AArch64's oldest is 2.17.
  t.equal(maxGlibc(info)!.version, '2.35')
  t.throws(() => checkAbi(new Map([['bin/plain', info]]), '2.34'), { message: /bin\/plain needs GLIBC_2\.35 \(hypot\)/ })
})

t.test('the symver pin to the arm64 baseline passes the ABI gate', async (t) => {
  const hdr = join(dir, 'compat.h')
  writeFileSync(hdr, '#ifndef __ASSEMBLER__\n__asm__(".symver hypot,hypot@GLIBC_2.17");\n#endif\n')
  const info = readElf(readFileSync(cc(dir, 'pinned', prog, ['-include', hdr, '-lm'], CROSS)))
  t.equal(info.versionNeeds.find((n) => n.symbols.includes('hypot'))!.version, 'GLIBC_2.17')
  t.ok(compareVersions(checkAbi(new Map([['bin/pinned', info]]), '2.34').maxGlibc, '2.34') <= 0)
})

t.test('an AArch64 shared object: SONAME, no loader', async (t) => {
  const info = readElf(readFileSync(cc(dir, 'liby.so.2', 'int y(void){return 2;}\n', ['-shared', '-fPIC', '-Wl,-soname,liby.so.2'], CROSS)))
  t.same([info.machine, info.soname, info.interpreter], [EM_AARCH64, 'liby.so.2', undefined])
})
