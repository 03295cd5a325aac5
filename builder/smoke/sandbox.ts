// A Lambda-like sandbox built with bubblewrap: the layer read-only at /opt, the function read-only at /var/task, a
// fresh tmpfs /tmp, an unprivileged user, Lambda's environment and LD_LIBRARY_PATH order, and library directories
// holding only the base image's libraries. A library the layer forgot to bundle fails to load here, as on Lambda.
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
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
  /** Run the command through this emulator (arm64 on an x86_64 host). */
  emulator?: string
  /** What this machine allows (see confinement.ts); the full sandbox when absent. */
  confinement?: Confinement
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
  if (spec.emulator) args.push('--ro-bind', spec.emulator, spec.emulator)
  args.push('--clearenv')
  for (const [k, v] of Object.entries(lambdaEnv(spec.env))) args.push('--setenv', k, v)
  args.push('--chdir', '/var/task', '--')
  if (spec.emulator) args.push(spec.emulator)
  return [...args, ...cmd]
}

/**
 * Collects the base image's libraries that exist on this machine into `cacheDir` (once per list and arch), so the
 * sandbox's /usr/lib64 holds those and nothing else. Names the host lacks are simply absent, which can only make
 * the sandbox stricter than Lambda. The host's copies may need libraries the real base's copies do not (Debian's
 * libcurl links librtmp and libssh2; Amazon Linux's does not): those dependencies of base libraries are added
 * too, because on Lambda the base satisfies its own libraries. A layer's own direct needs are not widened by this.
 */
export function prepareBaseLibs(cacheDir: string, arch: Arch, names: string[], hostDirs: string[], gconvModules: string[] = []): string {
  const key = createHash('sha256').update(arch).update(names.join('\n')).update(hostDirs.join(':')).update(gconvModules.join(',')).digest('hex').slice(0, 16)
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
    const src = hostDirs.map((d) => join(d, name)).find((p) => existsSync(p))
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
  writeFileSync(join(tmp, '.complete'), `# base libraries present on this host\n${listed.sort().join('\n')}\n# their host-only dependencies\n${support.sort().join('\n')}\n`)
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(cacheDir, 'sandbox'), { recursive: true })
  renameSync(tmp, dir)
  return dir
}
