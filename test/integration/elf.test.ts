import t from 'tap'
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkAbi } from '../../builder/assemble/abi.ts'
import { gateElfFiles } from '../../builder/assemble/layer.ts'
import { compareVersions, isElf, maxGlibc, readElf } from '../../builder/artifact/elf.ts'
import { AssembleError } from '../../builder/errors.ts'
import { cc, scratch } from '../support/cc.ts'

const dir = scratch()
// volatile keeps gcc from folding hypot() into a constant.
const prog = '#include <math.h>\n#include <stdio.h>\nint main(void){ volatile double a = 3, b = 4; printf("%g\\n", hypot(a, b)); return 0; }\n'

t.test('reads NEEDED, version needs and the symbols behind them', async (t) => {
  const exe = cc(dir, 'plain', prog, ['-lm'])
  const info = readElf(readFileSync(exe))
  t.equal(info.machine, 62, 'EM_X86_64')
  t.equal(info.interpreter, '/lib64/ld-linux-x86-64.so.2')
  t.ok(info.needed.includes('libm.so.6'))
  t.ok(info.needed.includes('libc.so.6'))
  const m = maxGlibc(info)!
  // bookworm's glibc (2.36) versions hypot at 2.35
  t.equal(m.version, '2.35')
  t.ok(m.symbols.includes('hypot'))
  t.ok(info.hasSymtab, 'unstripped binary has .symtab')
})

t.test('the symver pin brings hypot back to the baseline version', async (t) => {
  const hdr = join(dir, 'compat.h')
  writeFileSync(hdr, '#ifndef __ASSEMBLER__\n__asm__(".symver hypot,hypot@GLIBC_2.2.5");\n#endif\n')
  const exe = cc(dir, 'pinned', prog, ['-include', hdr, '-lm'])
  const info = readElf(readFileSync(exe))
  const hypot = info.versionNeeds.find((n) => n.symbols.includes('hypot'))!
  t.equal(hypot.version, 'GLIBC_2.2.5')
  t.ok(compareVersions(maxGlibc(info)!.version, '2.34') <= 0)
})

t.test('the ABI gate names the file and the symbol', async (t) => {
  const exe = cc(dir, 'gate', prog, ['-lm'])
  const files = new Map([['bin/gate', readElf(readFileSync(exe))]])
  const err = t.throws(() => checkAbi(files, '2.34')) as unknown as AssembleError
  t.ok(err instanceof AssembleError)
  t.match(err.message, /bin\/gate needs GLIBC_2\.35 \(hypot\)/)
  t.equal(checkAbi(files, '2.36').maxGlibc, '2.35')
})

t.test('shared objects: SONAME and non-ELF input', async (t) => {
  const so = cc(dir, 'libx.so.1', 'int x(void){return 1;}\n', ['-shared', '-fPIC', '-Wl,-soname,libx.so.1'])
  t.equal(readElf(readFileSync(so)).soname, 'libx.so.1')
  t.notOk(isElf(Buffer.from('#!/bin/sh\n')))
  t.throws(() => readElf(Buffer.from('nope')), { message: 'not an ELF file' })
})

t.test('version comparison is numeric', async (t) => {
  t.ok(compareVersions('2.2.5', '2.17') < 0)
  t.ok(compareVersions('2.34', '2.35') < 0)
  t.equal(compareVersions('2.34', '2.34.0'), 0)
})

t.test('the ELF gate refuses a RUNPATH into the build machine, and takes $ORIGIN and /opt', async (t) => {
  const tree = join(dir, 'runpath-tree')
  mkdirSync(join(tree, 'php/extensions'), { recursive: true })
  const lib = 'int answer(void) { return 42; }\n'
  const plan = { arch: 'x86_64', archInfo: { elfMachine: 62 }, base: { glibc: '2.34' } } as unknown as Parameters<typeof gateElfFiles>[2]
  const build = (name: string, runpath: string) => {
    const so = cc(dir, name, lib, ['-shared', '-fPIC', '-s', `-Wl,-rpath,${runpath}`, '-Wl,--enable-new-dtags'])
    copyFileSync(so, join(tree, 'php/extensions', `${name}.so`))
  }
  build('origin', '$ORIGIN/../lib')
  build('opt', '/opt/lib')
  t.doesNotThrow(() => gateElfFiles(tree, ['php/extensions'], plan))
  build('leaky', '/work/build/deps/lib')
  t.throws(() => gateElfFiles(tree, ['php/extensions'], plan), { name: 'AssembleError', message: /php\/extensions\/leaky\.so has RUNPATH \/work\/build\/deps\/lib, which points outside the layer/ })
})
