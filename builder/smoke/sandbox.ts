// A Lambda-like sandbox built with bubblewrap: the layer read-only at /opt, the function read-only at /var/task, a
// fresh tmpfs /tmp, an unprivileged user, Lambda's environment and LD_LIBRARY_PATH order, and library directories
// holding only the base image's libraries. A library the layer forgot to bundle fails to load here, as on Lambda.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { basename, join } from 'node:path'
import type { Arch } from '../schema/common.ts'
import { readElf } from '../artifact/elf.ts'
import { bwrapPrefix, FULL, namespaceArgs, type Confinement } from './confinement.ts'

/** Lambda's library search order: the base's directories come before the layer's /opt/lib. */
export const LAMBDA_LD_LIBRARY_PATH = '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib'
/** OpenSSL's config as Debian's libssl (OPENSSLDIR /usr/lib/ssl) looks for it. */
const HOST_OPENSSL_CNF = '/usr/lib/ssl/openssl.cnf'
/** Where Amazon Linux keeps its CA bundle. */
export const CA_BUNDLE_PATH = '/etc/pki/tls/certs/ca-bundle.crt'

export interface SandboxSpec {
  /** Unpacked layer, mounted at /opt. */
  layerDir: string
  /** Function code, mounted at /var/task. */
  taskDir: string
  /** Directory holding only the base image's libraries (see prepareBaseLibs), mounted at /usr/lib64. */
  baseLibDir: string
  /**
   * The host loader's multiarch directory name (x86_64-linux-gnu). Amazon Linux's loader searches /lib64 by
   * default; the host's loader (which runs in the sandbox) searches /usr/lib/<triplet> instead, so the base set
   * is mounted there too and lookups behave as on Lambda even without LD_LIBRARY_PATH.
   */
  gnuTriplet: string
  /** A CA bundle to mount at Amazon Linux's path, or undefined to leave it out. */
  caBundle?: string
  env?: Record<string, string>
  /** What this machine allows (see confinement.ts); the full sandbox when absent. */
  confinement?: Confinement
  /** Run the layer's executables through qemu-user (a layer of another architecture than this machine's). */
  emulation?: Emulation
}

/**
 * How a layer of another architecture runs in the sandbox without binfmt_misc (often absent or not ours to
 * register): each executable in /opt/bin is replaced, inside the sandbox only, by a shell wrapper that runs the
 * layer's own binary through qemu-user. So the bootstrap, php starting php-cgi, and every command a check runs
 * go through qemu with the paths and environment they have on Lambda. The sandbox's own tools (sh, dirname) are
 * this machine's, with this machine's libraries beside the target's base set.
 */
export interface Emulation {
  /** The qemu-user binary (static) on this machine. */
  qemu: string
  /** Names of the layer's executables in /opt/bin (php, php-cgi). */
  executables: string[]
  /** Directory holding one wrapper per executable (see emulationWrapper). */
  wrapperDir: string
  /** Libraries for the sandbox's own tools: this machine's base set, mounted at /usr/lib/<hostTriplet>. */
  hostLibDir: string
  hostTriplet: string
  /** The loader the layer's executables name (PT_INTERP), e.g. /lib/ld-linux-aarch64.so.1. */
  interpreter: string
}

/** Where the layer's real executables are visible to qemu in an emulated sandbox. */
export const EMULATED_BIN = '/usr/libexec/emulated-opt-bin'

/** The wrapper standing in for /opt/bin/<name>: argv[0] stays /opt/bin/<name>, so PHP_BINARY re-runs the wrapper. */
export function emulationWrapper(qemu: string, name: string): string {
  return `#!/bin/sh\n# smoke test: the layer's ${name} is for another architecture; run it through qemu-user.\nexec ${qemu} -0 "$0" ${EMULATED_BIN}/${name} "$@"\n`
}

export function lambdaEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin/:/bin:/opt/bin',
    LD_LIBRARY_PATH: LAMBDA_LD_LIBRARY_PATH,
    LAMBDA_TASK_ROOT: '/var/task',
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'smoke',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
    AWS_EXECUTION_ENV: 'AWS_Lambda_provided.al2023',
    HOME: '/tmp',
    ...extra,
  }
}

/** The bwrap argv that runs `cmd` in the sandbox (pure: the caller runs it). */
export function sandboxArgv(spec: SandboxSpec, cmd: string[]): string[] {
  const args = [
    ...bwrapPrefix(spec.confinement ?? FULL),
    '--die-with-parent',
    '--unshare-user', '--uid', '993', '--gid', '990',
    ...namespaceArgs(spec.confinement ?? FULL), '--hostname', 'sandbox',
    '--dev', '/dev',
    '--tmpfs', '/tmp',
    // Tools only (sh, dirname, env...). They find their libraries through LD_LIBRARY_PATH in the base set.
    '--ro-bind', '/usr/bin', '/usr/bin',
    '--symlink', 'usr/bin', '/bin',
    '--ro-bind', spec.baseLibDir, '/usr/lib64',
    '--symlink', 'usr/lib64', '/lib64',
    '--dir', '/usr/lib',
    '--ro-bind', spec.baseLibDir, `/usr/lib/${spec.gnuTriplet}`,
    '--symlink', 'usr/lib', '/lib',
    '--dir', '/var/runtime',
    '--dir', '/var/lang/lib',
    '--ro-bind', spec.layerDir, '/opt',
    '--ro-bind', spec.taskDir, '/var/task',
    '--dir', '/etc',
  ]
  for (const f of ['/etc/hosts', '/etc/passwd', '/etc/group', '/etc/nsswitch.conf']) {
    if (existsSync(f)) args.push('--ro-bind', f, f)
  }
  // The base's libssl reads its config (Amazon Linux: /etc/pki/tls/openssl.cnf); the host's copy standing in for
  // it reads the host's path, so that is where the host's config goes.
  for (const cnf of [HOST_OPENSSL_CNF]) if (existsSync(cnf)) args.push('--ro-bind', realpathSync(cnf), cnf)
  if (spec.caBundle) args.push('--ro-bind', spec.caBundle, CA_BUNDLE_PATH)
  const emu = spec.emulation
  if (emu) {
    args.push('--ro-bind', emu.qemu, emu.qemu, '--ro-bind', join(spec.layerDir, 'bin'), EMULATED_BIN)
    for (const name of emu.executables) args.push('--ro-bind', join(emu.wrapperDir, name), `/opt/bin/${name}`)
    args.push('--ro-bind', emu.hostLibDir, `/usr/lib/${emu.hostTriplet}`)
    // /lib is a link to usr/lib here (as on Amazon Linux); a loader named outside /lib64 links to the base's copy.
    const interp = emu.interpreter.replace(/^\/lib\//, '/usr/lib/')
    if (!/^\/usr\/lib64\/|^\/lib64\//.test(interp)) args.push('--symlink', `/usr/lib64/${basename(interp)}`, interp)
  }
  args.push('--clearenv')
  for (const [k, v] of Object.entries(lambdaEnv(spec.env))) args.push('--setenv', k, v)
  args.push('--chdir', '/var/task', '--')
  return [...args, ...cmd]
}

export interface BaseLibOptions {
  /** ELF machine the libraries must have (skip another architecture's file of the same name). */
  machine?: number
  /** Host files copied in by name as well (this machine's loader, for the sandbox's own tools in an emulated run). */
  alsoCopy?: string[]
}

function machineOf(path: string): number | undefined {
  try {
    return readElf(readFileSync(path)).machine
  } catch {
    return undefined
  }
}

/**
 * Collects the base image's libraries that exist on this machine into `cacheDir` (once per list and arch), so the
 * sandbox's /usr/lib64 holds those and nothing else. Names the host lacks are simply absent, which can only make
 * the sandbox stricter than Lambda. The host's copies may need libraries the real base's copies do not (Debian's
 * libcurl links librtmp and libssh2; Amazon Linux's does not): those dependencies of base libraries are added
 * too, because on Lambda the base satisfies its own libraries. A layer's own direct needs are not widened by this.
 */
export function prepareBaseLibs(cacheDir: string, arch: Arch, names: string[], hostDirs: string[], gconvModules: string[] = [], opts: BaseLibOptions = {}): string {
  const key = createHash('sha256').update(arch).update(names.join('\n')).update(hostDirs.join(':')).update(gconvModules.join(',')).update(JSON.stringify(opts)).digest('hex').slice(0, 16)
  const dir = join(cacheDir, 'sandbox', `base-libs-${arch}-${key}`)
  if (existsSync(join(dir, '.complete'))) return dir
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  const listed: string[] = []
  const support: string[] = []
  const queue = [...names]
  const seen = new Set<string>()
  while (queue.length) {
    const name = queue.shift()!
    if (seen.has(name)) continue
    seen.add(name)
    // With several architectures' libraries on the machine, only the target's copy will do.
    const src = hostDirs.map((d) => join(d, name)).find((p) => existsSync(p) && (opts.machine === undefined || machineOf(p) === opts.machine))
    if (!src) continue
    const real = realpathSync(src)
    copyFileSync(real, join(tmp, name))
    ;(names.includes(name) ? listed : support).push(name)
    try {
      queue.push(...readElf(readFileSync(real)).needed)
    } catch {
      // linker scripts and data files in the list have no dependencies
    }
  }
  // The converters the base has, with the host's module index (the host's loader reads <libdir>/gconv).
  const gconv = hostDirs.map((d) => join(d, 'gconv')).find((d) => existsSync(join(d, 'gconv-modules')))
  if (gconv && gconvModules.length) {
    mkdirSync(join(tmp, 'gconv'))
    for (const f of ['gconv-modules', ...gconvModules]) if (existsSync(join(gconv, f))) copyFileSync(join(gconv, f), join(tmp, 'gconv', f))
    if (existsSync(join(gconv, 'gconv-modules.d'))) cpSync(join(gconv, 'gconv-modules.d'), join(tmp, 'gconv', 'gconv-modules.d'), { recursive: true })
  }
  for (const f of opts.alsoCopy ?? []) copyFileSync(realpathSync(f), join(tmp, basename(f)))
  writeFileSync(join(tmp, '.complete'), `# base libraries present on this host\n${listed.sort().join('\n')}\n# their host-only dependencies\n${support.sort().join('\n')}\n`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(cacheDir, 'sandbox'), { recursive: true })
  renameSync(tmp, dir)
  return dir
}
