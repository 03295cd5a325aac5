import t from 'tap'
import { mkdirSync, readFileSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { resolveClosure } from '../../builder/assemble/closure.ts'
import { readElf } from '../../builder/artifact/elf.ts'
import { AssembleError } from '../../builder/errors.ts'
import { cc, scratch } from '../support/cc.ts'

// A real dependency chain: app → libfoo.so.1 → libbar.so.2 → libc (base).
const dir = scratch('closure-')
const libs = join(dir, 'libs')
mkdirSync(libs)
cc(libs, 'libbar.so.2', 'int bar(void){return 2;}\n', ['-shared', '-fPIC', '-Wl,-soname,libbar.so.2'])
cc(libs, 'libfoo.so.1', 'int bar(void); int foo(void){return bar()+1;}\n', ['-shared', '-fPIC', '-Wl,-soname,libfoo.so.1', `-L${libs}`, '-l:libbar.so.2'])
const app = cc(dir, 'app', 'int foo(void); int main(void){return foo();}\n', [`-L${libs}`, `-Wl,-rpath-link,${libs}`, '-l:libfoo.so.1'])
const roots = new Map([['bin/app', readElf(readFileSync(app))]])
const base = ['libc.so.6', 'ld-linux-x86-64.so.2']

t.test('bundles the chain the base lacks, nothing the base has', async (t) => {
  const c = resolveClosure({ roots, searchDirs: [libs], baseLibraries: base, notOnLambdaHost: [], machine: 62 })
  t.same(c.bundle.map((l) => l.name), ['libbar.so.2', 'libfoo.so.1'])
  t.equal(c.bundle.find((l) => l.name === 'libbar.so.2')!.neededBy, 'libfoo.so.1')
  t.same(c.fromBase, ['libc.so.6'])
})

t.test('a library on the not-on-the-host list is bundled even though the image has it', async (t) => {
  const c = resolveClosure({ roots, searchDirs: [libs], baseLibraries: [...base, 'libbar.so.2'], notOnLambdaHost: ['libbar.so.2'], machine: 62 })
  t.ok(c.bundle.some((l) => l.name === 'libbar.so.2'))
  const c2 = resolveClosure({ roots, searchDirs: [libs], baseLibraries: [...base, 'libbar.so.2'], notOnLambdaHost: [], machine: 62 })
  t.notOk(c2.bundle.some((l) => l.name === 'libbar.so.2'), 'provided by the base otherwise')
})

t.test('an unresolvable library fails naming it and who needs it', async (t) => {
  const hidden = join(dir, 'hidden')
  mkdirSync(hidden)
  renameSync(join(libs, 'libbar.so.2'), join(hidden, 'libbar.so.2'))
  t.teardown(() => renameSync(join(hidden, 'libbar.so.2'), join(libs, 'libbar.so.2')))
  const err = t.throws(() => resolveClosure({ roots, searchDirs: [libs], baseLibraries: base, notOnLambdaHost: [], machine: 62 })) as unknown as AssembleError
  t.ok(err instanceof AssembleError)
  t.match(err.message, /^libfoo\.so\.1 needs libbar\.so\.2, which the base image lacks/)
})

t.test('a library for another architecture is refused', async (t) => {
  t.throws(() => resolveClosure({ roots, searchDirs: [libs], baseLibraries: base, notOnLambdaHost: [], machine: 183 }), {
    message: /is for ELF machine 62, not 183/,
  })
})

t.test('the program interpreter is never bundled, even when a binary names it in DT_NEEDED (aarch64 stack guard)', async (t) => {
  // A real program that links the loader explicitly, as aarch64 binaries do for __stack_chk_guard.
  const loader = readElf(readFileSync(app)).interpreter!
  const withLoader = cc(dir, 'app-loader', 'int foo(void); int main(void){return foo();}\n', [`-L${libs}`, `-Wl,-rpath-link,${libs}`, '-l:libfoo.so.1', '-Wl,--no-as-needed', loader])
  const info = readElf(readFileSync(withLoader))
  t.ok(info.needed.includes(loader.split('/').pop()!), `it needs ${loader}`)
  const c = resolveClosure({ roots: new Map([['bin/app', info]]), searchDirs: [libs, '/lib/x86_64-linux-gnu', '/lib64'], baseLibraries: ['libc.so.6'], notOnLambdaHost: [], machine: 62 })
  t.same(c.bundle.map((l) => l.name), ['libbar.so.2', 'libfoo.so.1'], 'not the loader')
  // An add-on has shared objects only (no PT_INTERP anywhere): the loader is still known, by its name.
  const ext = cc(dir, 'ext-loader.so', 'int foo(void); int ext(void){return foo();}\n', ['-shared', '-fPIC', `-L${libs}`, '-l:libfoo.so.1', '-Wl,--no-as-needed', loader])
  const extInfo = readElf(readFileSync(ext))
  t.notOk(extInfo.interpreter, 'a shared object has no interpreter')
  t.ok(extInfo.needed.includes(loader.split('/').pop()!), `it needs ${loader} all the same`)
  const e = resolveClosure({ roots: new Map([['php/extensions/ext.so', extInfo]]), searchDirs: [libs, '/lib/x86_64-linux-gnu', '/lib64'], baseLibraries: ['libc.so.6'], notOnLambdaHost: [], machine: 62 })
  t.same(e.bundle.map((l) => l.name), ['libbar.so.2', 'libfoo.so.1'], 'not the loader')
  // An add-on's own libraries: what the base layer already bundles is not bundled again.
  const again = resolveClosure({ roots, searchDirs: [libs], baseLibraries: base, notOnLambdaHost: [], machine: 62, providedByLayers: ['libfoo.so.1'] })
  t.same(again.bundle.map((l) => l.name), [])
})
