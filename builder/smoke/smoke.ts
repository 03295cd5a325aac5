// `npm run smoke -- <zip>`: runs a layer the way Lambda runs it and records the outcome in the zip's sidecar
// manifest. Publishing refuses a zip without a passing record for its exact sha256.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { release, tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { writeJsonAtomic } from '../artifact/atomic.ts'
import { glibcOffenders, glibcReport, isElf, readElf } from '../artifact/elf.ts'
import { LIMITS } from '../lambda-limits.ts'
import { SmokeError } from '../errors.ts'
import { seconds, type Logger } from '../log.ts'
import { LAYER_MANIFEST_PATH, parseLayerManifest, sidecarPath, type SmokeCheck, type SmokeRecord, type ZipManifest } from '../artifact/manifest.ts'
import { readZip, type ZipFileEntry } from '../artifact/zip-read.ts'
import { expectationsFor, type AssumedBase } from './expectations.ts'
import { createRunner, type Runner } from '../run.ts'
import { hashFiles } from '../sources/digest.ts'
import { emulationWrapper, prepareBaseLibs, sandboxArgv, type Emulation, type SandboxSpec } from './sandbox.ts'
import { crossSysroot, debianLibDirs, nativeArch, nativeArchName, sysrootLibDirs } from '../host-libs.ts'
import type { Arch } from '../schema/common.ts'
import { startTlsServer, type TestTls } from './tls.ts'
import { writeEntries } from './unpack.ts'
import { eventChecks, type EventChecks } from './events.ts'
import { detectConfinement } from './confinement.ts'
import { probeServices } from './services.ts'

export interface SmokeOptions {
  zipPath: string
  /** Project root: identifies the smoke suite (its code and fixtures) for the record. */
  root: string
  cacheDir: string
  log: Logger
  /** Host CA bundle is never used: TLS is checked against a throwaway CA. Set false to leave the CA out. */
  mountCaBundle?: boolean
  /**
   * The base a layer without a manifest (one this factory did not build) is checked against. The command supplies
   * it from versions.yaml; smoke itself reads nothing but the zip and its manifest.
   */
  assumedBase?: (arch: Arch) => AssumedBase
  /**
   * Layers under this one, bottom first (an add-on's base layer): unpacked into the same /opt first, as Lambda merges
   * a function's layers, and their own checks and probes run too.
   */
  stack?: string[]
}

/**
 * Hash of everything that decides how the smoke test checks: this folder (code, event fixtures). What it checks
 * (modules, probes, base libraries) comes from the manifest inside the zip, which the zip's sha256 already covers.
 */
export function smokeSuiteId(root: string): string {
  return hashFiles(root, ['builder/smoke']).slice(0, 16)
}

/** A passing record from the same suite for these exact bytes makes running again pointless. */
export function smokeIsCurrent(manifest: ZipManifest, root: string): boolean {
  return !!manifest.smoke?.passed && manifest.smoke.zipSha256 === manifest.zip.sha256 && manifest.smoke.suite === smokeSuiteId(root)
}

/** No single check may hang the smoke test: each gets this long. */
const CHECK_TIMEOUT_MS = 60_000

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result after ${ms / 1000}s (${what})`)), ms)
  })
  return Promise.race([p, limit]).finally(() => clearTimeout(timer))
}

interface Check {
  name: string
  fn: () => Promise<string | void>
}

/** qemu-user (static build, from Debian's qemu-user-static) per target arch. */
const QEMU: Record<Arch, string> = { arm64: 'qemu-aarch64-static', x86_64: 'qemu-x86_64-static' }

function findQemu(arch: Arch): string {
  const name = QEMU[arch]
  const found = (process.env.PATH ?? '/usr/bin').split(':').filter(Boolean).map((d) => join(d, name)).find((p) => existsSync(p))
  if (!found) {
    throw new SmokeError(`${arch} layer on this ${nativeArchName()} machine needs ${name} to run emulated, and it is not installed`, `Run scripts/setup-host.sh --arch ${arch} (installs qemu-user-static and the ${arch} libraries), or smoke-test on an ${arch} machine.`)
  }
  return found
}

async function qemuVersion(run: Runner, qemu: string): Promise<string> {
  const r = await run([qemu, '--version'])
  return `${basename(qemu)} ${/version (\S+)/.exec(r.stdout)?.[1] ?? 'unknown'}`
}

/** This machine's loader (the sandbox's own tools need it in an emulated run). */
function hostLoader(): string {
  const sh = readElf(readFileSync(realpathSync('/bin/sh')))
  if (!sh.interpreter) throw new SmokeError('/bin/sh names no loader; cannot run the sandbox\'s own tools')
  return sh.interpreter
}

function targetLoader(interpreter: string, dirs: string[], arch: Arch): string {
  const found = dirs.map((d) => join(d, basename(interpreter))).find((p) => existsSync(p))
  if (!found) throw new SmokeError(`the ${arch} loader ${basename(interpreter)} is in none of ${dirs.join(', ')}`, `Run scripts/setup-host.sh --arch ${arch}.`)
  return found
}

/**
 * Wrappers for the layer's executables. The sandbox's own tools are this machine's and use this machine's library
 * directory (the layer's binaries skip its files: wrong ELF machine).
 */
function emulate(qemu: string, entries: Array<{ path: string; data: Buffer }>, work: string): Emulation {
  const executables = entries.filter((e) => /^bin\/[^/]+$/.test(e.path) && isElf(e.data)).map((e) => e.path.slice(4))
  const interpreter = entries.map((e) => (isElf(e.data) ? readElf(e.data).interpreter : undefined)).find((i) => !!i)
  if (!interpreter) throw new SmokeError('no executable in the layer names a loader (PT_INTERP)', 'Check that bin/php is a dynamically linked executable.')
  const wrapperDir = join(work, 'emulation')
  mkdirSync(wrapperDir)
  for (const name of executables) writeFileSync(join(wrapperDir, name), emulationWrapper(qemu, name), { mode: 0o755 })
  // Debian: /lib64/ld-linux-x86-64.so.2 resolves into the machine's multiarch directory.
  const hostLibDir = dirname(realpathSync(hostLoader()))
  return { qemu, executables, wrapperDir, hostLibDir, hostTriplet: basename(hostLibDir), interpreter }
}

async function readLayerZip(zipPath: string): Promise<{ bytes: Buffer; entries: ZipFileEntry[] }> {
  const name = basename(zipPath)
  let bytes: Buffer
  try {
    bytes = readFileSync(zipPath)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new SmokeError(code === 'ENOENT' ? `${zipPath}: no such zip` : `cannot read ${zipPath} (${code ?? String(e)})`, 'Build one with npm run build, or give the path of a layer zip.')
  }
  try {
    return { bytes, entries: await readZip(bytes) }
  } catch (e) {
    throw new SmokeError(`${name}: ${(e as Error).message}`, 'Give the path of a layer zip (npm run build writes one; npm run smoke -- --arn ARN downloads a published one).')
  }
}

/** Lambda's merge of layers into /opt: later layers add files; the same path with other bytes is a conflict. */
export function mergeLayers(layers: Array<{ name: string; entries: ZipFileEntry[] }>): ZipFileEntry[] {
  const merged = new Map<string, { from: string; entry: ZipFileEntry }>()
  for (const layer of layers) {
    for (const e of layer.entries) {
      const had = merged.get(e.path)
      if (had && !had.entry.data.equals(e.data)) {
        throw new SmokeError(`${layer.name} and ${had.from} both have ${e.path}, with different contents: on Lambda the later layer's copy would silently win`, 'Layers stacked on one function must not overwrite each other\'s files.')
      }
      merged.set(e.path, { from: layer.name, entry: e })
    }
  }
  return [...merged.values()].map((m) => m.entry)
}

export async function smoke(opts: SmokeOptions): Promise<SmokeRecord> {
  const { log } = opts
  const name = basename(opts.zipPath)
  const { bytes, entries: own } = await readLayerZip(opts.zipPath)
  const sha = createHash('sha256').update(bytes).digest('hex')
  const below = await Promise.all((opts.stack ?? []).map(async (p) => ({ name: basename(p), ...(await readLayerZip(p)) })))
  const entries = below.length ? mergeLayers([...below, { name, entries: own }]) : own
  const expect = expectationsFor(opts.zipPath, sha, own, opts.assumedBase ?? noAssumedBase, (l) => log.info(l), below.length ? entries : undefined)
  if (expect.addon && !below.length) {
    throw new SmokeError(`${name} is an add-on layer (${expect.addon.name}); it runs only on its base layer ${expect.addon.base.artifact}`, `Give the base layer too: npm run smoke -- ${opts.zipPath} --base ${expect.addon.base.artifact}.zip`)
  }
  if (expect.addon) {
    // The base's own manifest: it must be the build the add-on was compiled against, and its probes run too.
    const inner = below[0]!.entries.find((e) => e.path === LAYER_MANIFEST_PATH)
    const baseManifest = inner ? parseLayerManifest(inner.data.toString('utf8'), `${below[0]!.name}:${LAYER_MANIFEST_PATH}`, (m) => new SmokeError(m)) : undefined
    if (!baseManifest || baseManifest.buildId !== expect.addon.base.buildId) {
      throw new SmokeError(
        `${name} was built against ${expect.addon.base.artifact} (build ${expect.addon.base.buildId.slice(0, 12)}…); ${below[0]!.name} is ${baseManifest ? `build ${baseManifest.buildId.slice(0, 12)}…` : 'a layer without a manifest'}`,
        `Smoke-test it on the base layer it was built with (${expect.addon.base.artifact}.zip), or rebuild the add-on against this one.`,
      )
    }
    expect.extensions = [...baseManifest.extensions, ...expect.extensions]
  }
  log.info(`» checking ${name} (sha256 ${sha.slice(0, 12)}…) against ${expect.source === 'inferred' ? 'what it holds' : `its ${expect.source}`}${below.length ? `, stacked on ${below.map((b) => b.name).join(', ')} (their checks and probes run too)` : ''}`)
  for (const n of expect.notes) log.info(`  note: ${n}`)
  const machine = nativeArch()
  // A layer of another architecture runs through qemu-user, found before anything is unpacked.
  const qemu = machine === expect.arch ? undefined : findQemu(expect.arch)

  const run = createRunner(log)
  // Everything the run writes (the unpacked layer, function dirs, the throwaway CA and its keys) lives below this
  // one directory, removed on every path out.
  const work = mkdtempSync(join(tmpdir(), 'smoke-'))
  let tls: TestTls | undefined
  let events: EventChecks | undefined
  const services = probeServices(work)
  try {
    tls = await startTlsServer(run, work)
    const layerDir = join(work, 'opt')
    writeEntries(entries, layerDir)
    const emulation = qemu ? emulate(qemu, entries, work) : undefined
    // On a machine of another arch the target's libraries come from its sysroot (scripts/setup-host.sh --arch).
    const targetDirs = emulation ? sysrootLibDirs(crossSysroot(expect.arch), expect.gnuTriplet) : debianLibDirs(expect.gnuTriplet)
    const baseLibDir = prepareBaseLibs(opts.cacheDir, expect.arch, expect.base.libraries, targetDirs, expect.base.gconvModules, {
      machine: expect.elfMachine,
      // The target's loader (the base has it, outside the /lib64 list), and the loader of the sandbox's own tools
      // (sh for the bootstrap is this machine's).
      ...(emulation ? { alsoCopy: [targetLoader(emulation.interpreter, targetDirs, expect.arch), hostLoader()] } : {}),
    })
    if (emulation) log.info(`» ${expect.arch} layer on this ${nativeArchName()} machine: every layer executable runs emulated through ${qemu}`)
    const task = makeTask(work, 'task', {})
    const confinement = await detectConfinement(run).catch((e: Error) => {
      throw new SmokeError(e.message, 'Install bubblewrap (scripts/setup-host.sh). In a container: Docker before 23.0 denies user namespaces (--security-opt seccomp=unconfined lifts only that), or run it --privileged.')
    })
    for (const lost of confinement.lost) log.info(`» sandbox fidelity: ${lost}`)
    const caFile = tls.caFile
    const sandbox = (taskDir = task): SandboxSpec => ({
      confinement,
      layerDir,
      taskDir,
      baseLibDir,
      gnuTriplet: expect.gnuTriplet,
      ...(opts.mountCaBundle === false ? {} : { caBundle: caFile }),
      ...(emulation ? { emulation } : {}),
    })
    const exec = (cmd: string[], spec: SandboxSpec = sandbox(), env: Record<string, string> = {}) => run(sandboxArgv({ ...spec, env: { ...spec.env, ...env } }, cmd))
    const php = async (code: string, spec?: SandboxSpec) => {
      const r = await exec(['/opt/bin/php', '-r', code], spec)
      if (r.exitCode !== 0 || r.stderr.trim()) throw new Error(`exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`)
      return r.stdout
    }

    events = eventChecks({ run, sandbox: sandbox(), work })
    const off = expect.extensions.filter((e) => e.shared && !e.enabled)
    const zipBytes = bytes.length
    const tlsServer = tls
    // Checks that need a module apply only where the layer has it: by its manifest, else by what php -m printed.
    let printedModules: string[] | undefined
    const has = (module: string) => (expect.modules ?? printedModules ?? []).includes(module)
    const taskWithOff = makeTask(work, 'task-off', { 'php/conf.d/50-smoke.ini': off.map((e) => `${e.zend ? 'zend_extension' : 'extension'}=${e.name}`).join('\n') + '\n' })

    const checks: Check[] = [
      {
        name: 'bootstrap is an executable file',
        fn: async () => {
          const b = entries.find((e) => e.path === 'bootstrap')
          if (!b) throw new Error('no bootstrap at the layer root')
          if ((b.mode & 0o111) !== 0o111) throw new Error(`bootstrap mode is ${(b.mode & 0o777).toString(8)}, not executable`)
          for (const p of ['bin/php', 'bin/php-cgi']) {
            const e = entries.find((x) => x.path === p)
            if (!e || (e.mode & 0o111) !== 0o111) throw new Error(`${p} missing or not executable`)
          }
        },
      },
      {
        name: 'size within Lambda limits',
        fn: async () => {
          const unzipped = entries.reduce((n, e) => n + e.size, 0)
          if (unzipped > LIMITS.unzipped) throw new Error(`unzips to ${unzipped} bytes, over the ${LIMITS.unzipped}-byte limit for all layers of a function`)
          const note = zipBytes > LIMITS.directZip ? '; over 50 MB: publish through S3' : ''
          return `${(zipBytes / 1048576).toFixed(1)} MB zipped, ${(unzipped / 1048576).toFixed(1)} MB unzipped${note}`
        },
      },
      {
        name: `ABI: no ELF file needs GLIBC > ${expect.base.glibc}`,
        fn: async () => {
          const report = glibcReport(entries.map((e) => [e.path, e.data]))
          const offenders = glibcOffenders(report, expect.base.glibc)
          if (offenders.length) throw new Error(offenders.join('; '))
          return `highest GLIBC_${report.maxGlibc}`
        },
      },
      {
        name: expect.php ? 'php -v matches the manifest' : 'php -v runs',
        fn: async () => {
          const r = await exec(['/opt/bin/php', '-v'])
          const first = r.stdout.split('\n')[0] ?? ''
          if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`)
          if (!/^PHP \d+\.\d+\.\d+\S* \(cli\)/.test(first)) throw new Error(`printed "${first}"`)
          if (expect.php !== undefined && !first.startsWith(`PHP ${expect.php} (cli)`)) throw new Error(`printed "${first}", the manifest says ${expect.php}`)
          return first
        },
      },
      {
        name: expect.modules ? 'php -m equals the manifest, no startup warnings' : 'php -m runs with no startup warnings',
        fn: async () => {
          const r = await exec(['/opt/bin/php', '-m'])
          if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`)
          const noise = [r.stderr.trim(), ...r.stdout.split('\n').filter((l) => /warning|error|deprecated/i.test(l))].filter(Boolean)
          if (noise.length) throw new Error(`startup output: ${noise[0]!.split('\n')[0]}`)
          const got = modules(r.stdout)
          printedModules = got
          if (!expect.modules) return `${got.length} modules: ${got.join(', ')}`
          const want = [...expect.modules]
          const missing = want.filter((m) => !got.includes(m))
          const extra = got.filter((m) => !want.includes(m))
          if (missing.length || extra.length) throw new Error(`missing: ${missing.join(', ') || '-'}; unexpected: ${extra.join(', ') || '-'}`)
          return `${got.length} modules`
        },
      },
      {
        name: `shared extensions off by default load from /var/task/php/conf.d (${off.map((e) => e.name).join(', ') || 'none'})`,
        fn: async () => {
          if (!off.length) return 'none built'
          const r = await exec(['/opt/bin/php', '-m'], sandbox(taskWithOff))
          if (r.exitCode !== 0 || r.stderr.trim()) throw new Error((r.stderr || r.stdout).trim().split('\n')[0])
          const got = modules(r.stdout)
          const missing = off.filter((e) => !got.includes(e.module))
          if (missing.length) throw new Error(`not loaded: ${missing.map((e) => e.name).join(', ')}`)
        },
      },
      ...expect.extensions
        .filter((e) => e.probe)
        .map((e): Check => ({
          name: `probe ${e.name}`,
          fn: async () => {
            const spec = e.shared && !e.enabled ? sandbox(taskWithOff) : sandbox()
            const env: Record<string, string> = {}
            for (const svc of e.probe!.services ?? []) env[`SMOKE_${svc.toUpperCase().replaceAll('-', '_')}_PORT`] = String(await services.start(svc))
            const r = await exec(['/opt/bin/php', ...(e.probe!.ini ?? []).flatMap((i) => ['-d', i]), '-r', e.probe!.code], spec, env)
            if (r.exitCode !== 0 || r.stderr.trim()) throw new Error(`exit ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`)
            const out = r.stdout
            if (out !== e.probe!.expect) throw new Error(`printed ${JSON.stringify(out.slice(0, 200))}, expected ${JSON.stringify(e.probe!.expect)}`)
          },
        })),
      {
        name: 'HTTPS with curl and PHP streams against the CA bundle at Amazon Linux\'s path',
        fn: async () => {
          // Each client only where the layer has it: a reduced layer (--ext) may have neither.
          const curl = has('curl') ? `$c = curl_init(${JSON.stringify(tlsServer.url)}); curl_setopt($c, CURLOPT_RETURNTRANSFER, true); $a = curl_exec($c); if ($a === false) { echo "curl: ", curl_error($c); exit(1); } echo $a;` : ''
          const stream = has('openssl') ? `$b = @file_get_contents(${JSON.stringify(tlsServer.url)}); if ($b === false) { echo "stream: ", error_get_last()["message"] ?? "failed"; exit(1); } echo "|", $b;` : ''
          if (!curl && !stream) return 'not applicable: the layer has neither curl nor openssl'
          const r = await exec(['/opt/bin/php', '-r', curl + stream])
          const want = (curl ? tlsServer.body : '') + (stream ? `|${tlsServer.body}` : '')
          if (r.exitCode !== 0 || r.stdout !== want) throw new Error((r.stdout || r.stderr).trim().split('\n')[0] ?? `exit ${r.exitCode}`)
          return [curl && 'curl', stream && 'PHP streams'].filter(Boolean).join(' and ')
        },
      },
      {
        name: 'opcache active in php-cgi',
        fn: async () => {
          if (!has('Zend OPcache')) return 'not applicable: the layer has no opcache'
          const dir = makeTask(work, 'task-cgi', { 'index.php': '<?php $s = function_exists("opcache_get_status") ? opcache_get_status(false) : false; echo is_array($s) && $s["opcache_enabled"] ? "on" : "off";' })
          const r = await exec(['/opt/bin/php-cgi'], sandbox(dir), { REDIRECT_STATUS: '200', REQUEST_METHOD: 'GET', SCRIPT_FILENAME: '/var/task/index.php', SCRIPT_NAME: '/index.php', REQUEST_URI: '/', SERVER_PROTOCOL: 'HTTP/1.1' })
          const body = r.stdout.split(/\r?\n\r?\n/).slice(1).join('\n\n')
          if (r.exitCode !== 0 || body !== 'on') throw new Error(`php-cgi printed ${JSON.stringify(body || r.stderr.slice(0, 200))}`)
        },
      },
      ...events.checks,
    ]

    const results: SmokeCheck[] = []
    for (const c of checks) {
      const t0 = performance.now()
      try {
        const detail = await withTimeout(c.fn(), CHECK_TIMEOUT_MS, c.name)
        const ms = Math.round(performance.now() - t0)
        results.push({ name: c.name, passed: true, ms, ...(detail ? { detail } : {}) })
        log.info(`✓ ${c.name} (${seconds(ms)})${detail ? ` — ${detail}` : ''}`)
      } catch (e) {
        const ms = Math.round(performance.now() - t0)
        const detail = (e as Error).message
        results.push({ name: c.name, passed: false, ms, detail })
        log.info(`✗ ${c.name} (${seconds(ms)}) — ${detail}`)
      }
    }
    const bw = await run(['bwrap', '--version'])
    const record: SmokeRecord = {
      zipSha256: sha,
      passed: results.every((r) => r.passed),
      at: new Date().toISOString(),
      suite: smokeSuiteId(opts.root),
      toolchain: { sandbox: bw.stdout.trim(), kernel: release(), host: nativeArchName(), ...(confinement.lost.length ? { confinement: confinement.lost.join('; ') } : {}), ...(qemu ? { emulator: await qemuVersion(run, qemu) } : {}) },
      checks: results,
    }
    // Recorded only in a sidecar that describes exactly the bytes checked (publishing trusts nothing else).
    if (expect.sidecar) await writeJsonAtomic(sidecarPath(opts.zipPath), { ...expect.sidecar, smoke: record } satisfies ZipManifest)
    const failed = results.filter((r) => !r.passed)
    log.info(`${results.length - failed.length} passed, ${failed.length} failed${qemu ? ` (emulated: ${expect.arch} through ${basename(qemu)})` : ''}${expect.sidecar ? '' : ' (not recorded: no build manifest for these bytes)'}`)
    if (failed.length) {
      throw new SmokeError(`${failed.length} smoke check(s) failed: ${failed.map((f) => f.name).join('; ')}`, `Fix the layer; the failures are listed above${expect.sidecar ? ' and recorded in the manifest' : ''}.`)
    }
    return record
  } finally {
    await services.close()
    await events?.close()
    await tls?.close()
    rmSync(work, { recursive: true, force: true })
  }
}

const noAssumedBase = (arch: Arch): AssumedBase => {
  throw new SmokeError(`the layer carries no manifest, and no base to check a ${arch} layer against was given`, 'Run it through npm run smoke, which checks such layers against versions.yaml\'s base.')
}

/** The `[PHP Modules]` section of `php -m` (zend extensions appear again under `[Zend Modules]`). */
export function modules(phpM: string): string[] {
  const out: string[] = []
  let section = ''
  for (const raw of phpM.split('\n')) {
    const l = raw.trim()
    if (l.startsWith('[')) section = l
    else if (l && section === '[PHP Modules]') out.push(l)
  }
  return out
}

function makeTask(work: string, name: string, files: Record<string, string>): string {
  const dir = join(work, name)
  mkdirSync(dir, { recursive: true })
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), content)
  }
  return dir
}

export type { Runner }
