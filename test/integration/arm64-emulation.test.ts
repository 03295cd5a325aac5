// The two ways arm64 programs run on an x86_64 machine, with a tiny AArch64 program instead of a PHP build:
// through a private binfmt_misc registration (what the cross compile gives configure and make), and through
// qemu wrappers in the smoke sandbox (what the smoke test does with a layer). Needs scripts/setup-host.sh
// --arch arm64 (cross compiler, qemu-user-static, the arm64 sysroot); fails, not skips, without it.
import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { defaultCacheDir } from '../../builder/build.ts'
import { loadConfig } from '../../builder/config/load.ts'
import { binfmtRule, privateBinfmt } from '../../builder/executors/binfmt.ts'
import { crossSysroot, debianLibDirs, sysrootLibDirs } from '../../builder/host-libs.ts'
import { createLogger } from '../../builder/log.ts'
import { createRunner } from '../../builder/run.ts'
import { emulationWrapper, prepareBaseLibs, sandboxArgv } from '../../builder/smoke/sandbox.ts'
import { scratch } from '../support/cc.ts'
import { projectRoot } from '../support/cli.ts'

const QEMU = '/usr/bin/qemu-aarch64-static'
const sysroot = crossSysroot('arm64')
const dir = scratch('arm64-emu-')
const run = createRunner(createLogger({ stream: { write: () => true } as unknown as NodeJS.WritableStream }))
// Prints its machine, and with an argument re-executes /opt/bin/php (as php does when starting php-cgi).
const source = `#include <stdio.h>
#include <unistd.h>
#include <sys/utsname.h>
int main(int argc, char **argv) {
  struct utsname u; uname(&u);
  printf("%s %s\\n", argv[0], u.machine); fflush(stdout);
  if (argc > 1) { char *args[] = { "/opt/bin/php", 0 }; execv(args[0], args); return 9; }
  return 0;
}
`

t.before(() => {
  writeFileSync(join(dir, 'hello.c'), source)
  mkdirSync(join(dir, 'opt', 'bin'), { recursive: true })
  try {
    execFileSync('aarch64-linux-gnu-gcc', ['-O1', '-o', join(dir, 'opt', 'bin', 'php'), join(dir, 'hello.c')], { stdio: 'pipe' })
    execFileSync(QEMU, ['--version'], { stdio: 'pipe' })
    execFileSync('test', ['-e', join(sysroot, '.debs')])
  } catch (e) {
    throw new Error(`the arm64 tools are missing (${(e as Error).message.split('\n')[0]}): run scripts/setup-host.sh --arch arm64`)
  }
})

t.test('the binfmt_misc rule matches AArch64 ELF executables and shared objects', async (t) => {
  const rule = binfmtRule('x', 183, QEMU)
  t.match(rule, /^:x:M::\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01(\\x00){9}\\x02\\x00\\xb7\\x00:/)
  t.match(rule, /\\xfe\\xff\\xff\\xff:\/usr\/bin\/qemu-aarch64-static:F$/)
})

t.test('a private binfmt_misc runs the AArch64 program by its own name, and nothing outside sees it', async (t) => {
  const b = await privateBinfmt(run, dir, 'qemu-aarch64-static', 183)
  t.match(b.identity, /^qemu-aarch64-static \d/)
  // The program's loader and libc come from the arm64 sysroot; nothing of arm64 is installed on the machine.
  const r = await run([...b.prefix, join(dir, 'opt', 'bin', 'php')], { env: { QEMU_LD_PREFIX: sysroot } })
  t.equal(r.exitCode, 0, r.stderr)
  t.equal(r.stdout, `${join(dir, 'opt', 'bin', 'php')} aarch64\n`)
  const outside = await run([join(dir, 'opt', 'bin', 'php')])
  t.not(outside.exitCode, 0, 'the machine itself still cannot run it')
})

t.test('the smoke sandbox runs the layer executables through qemu, also when one starts another', async (t) => {
  const config = loadConfig({ root: projectRoot })
  // The project's cache: these library sets are what the smoke test mounts, prepared once per machine.
  const cache = defaultCacheDir(projectRoot)
  const wrappers = join(dir, 'wrappers')
  mkdirSync(wrappers)
  writeFileSync(join(wrappers, 'php'), emulationWrapper(QEMU, 'php'))
  chmodSync(join(wrappers, 'php'), 0o755)
  mkdirSync(join(dir, 'task'))
  const hostLibDir = prepareBaseLibs(cache, 'x86_64', config.baseLibraries.x86_64, debianLibDirs('x86_64-linux-gnu'), [], { machine: 62 })
  const target = sysrootLibDirs(sysroot, 'aarch64-linux-gnu')
  const baseLibDir = prepareBaseLibs(cache, 'arm64', config.baseLibraries.arm64, target, [], { machine: 183, alsoCopy: [join(target[0]!, 'ld-linux-aarch64.so.1'), '/lib64/ld-linux-x86-64.so.2'] })
  const spec = {
    layerDir: join(dir, 'opt'),
    taskDir: join(dir, 'task'),
    baseLibDir,
    gnuTriplet: 'aarch64-linux-gnu',
    emulation: { qemu: QEMU, executables: ['php'], wrapperDir: wrappers, hostLibDir, hostTriplet: 'x86_64-linux-gnu', interpreter: '/lib/ld-linux-aarch64.so.1' },
  }
  const once = spawnSync('sh', ['-c', '"$@"', 'sh', ...sandboxArgv(spec, ['/opt/bin/php', 'again'])], { encoding: 'utf8' })
  t.equal(once.status, 0, once.stderr)
  t.equal(once.stdout, '/opt/bin/php aarch64\n/opt/bin/php aarch64\n', 'argv[0] is the layer path, and the re-executed program ran emulated too')
  // The sandbox's own tools (sh for the bootstrap) are this machine's and still work beside the arm64 libraries.
  const tools = spawnSync('sh', ['-c', '"$@"', 'sh', ...sandboxArgv(spec, ['/bin/sh', '-c', 'dirname /opt/bin/php && /opt/bin/php'])], { encoding: 'utf8' })
  t.equal(tools.stdout, '/opt/bin\n/opt/bin/php aarch64\n', tools.stderr)
})
