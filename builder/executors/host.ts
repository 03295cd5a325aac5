// Compiles on the machine itself (Debian/Ubuntu), with the distribution's toolchain and -dev packages. The plan
// already carries the glibc pins a newer host glibc needs; the ABI gate in assembly proves they worked.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { addonWorkDir } from './addon-work.ts'
import { BuildError } from '../errors.ts'
import { seconds } from '../log.ts'
import { COMPILE_STEPS } from '../plan/compile-script.ts'
import { addonSteps } from '../plan/addon.ts'
import type { AddonCompileContext, AddonPreflightContext, CompileContext, CompileResult, Executor, PreflightContext } from './types.ts'
import { debianLibDirs, sysrootLibDirs } from '../host-libs.ts'
import { privateBinfmt, type PrivateBinfmt } from './binfmt.ts'

export function hostExecutor(): Executor {
  return {
    name: 'host',
    async preflight(ctx: PreflightContext): Promise<void> {
      const { plan } = ctx
      // Which targets this executor builds where is declared in executors/index.ts and decided by the planner.
      if (!plan.buildable.ok) throw new BuildError(`the plan says the host executor cannot build this target: ${plan.buildable.reason}`)
      const onMachine = await missingPackages(ctx, plan.packages.apt)
      const problems = onMachine.length ? [`build packages not installed: ${onMachine.join(' ')}`] : []
      if (plan.sysroot) problems.push(...sysrootProblems(plan.sysroot, plan.arch))
      if (problems.length) {
        const setup = `scripts/setup-host.sh${plan.cross ? ` --arch ${plan.arch}` : ''}`
        throw new BuildError(problems.join('; '), `Run ${setup} (it installs everything the recipes name${plan.cross ? ` for ${plan.arch} builds on this ${plan.machine} machine` : ''}).`)
      }
    },
    async compile(ctx: CompileContext): Promise<CompileResult> {
      const { plan, run, log } = ctx
      // build() has run preflight (packages, sysroot) before fetching the sources.
      const sysroot = plan.sysroot ? readSysroot(plan.sysroot.dir) : undefined
      const toolchain = await identify(ctx, plan.packages.apt)
      if (sysroot) toolchain.sysroot = sysroot.digest
      // A cross build runs the target's programs (configure's run tests, phar.phar) through qemu-user.
      let binfmt: PrivateBinfmt | undefined
      if (plan.emulator) {
        mkdirSync(join(ctx.cacheDir, 'work'), { recursive: true })
        binfmt = await privateBinfmt(run, join(ctx.cacheDir, 'work'), plan.emulator, plan.archInfo.elfMachine)
        toolchain.emulator = binfmt.identity
        if (binfmt.prefix.length) log.info(`» ${plan.arch} programs the compile runs go through ${binfmt.identity} (private binfmt_misc)`)
        else log.info(`! ${plan.arch} programs cannot run during this compile (${binfmt.identity}); configure uses the recipe's answers instead`)
      }
      const key = createHash('sha256').update(plan.compileKey).update(JSON.stringify(toolchain)).digest('hex').slice(0, 32)
      const triplet = plan.archInfo.gnuTriplet
      const result = (stagingRoot: string, cached: boolean): CompileResult => ({
        stagingRoot,
        toolchain,
        libSearchDirs: plan.sysroot ? sysrootLibDirs(plan.sysroot.dir, triplet) : debianLibDirs(triplet),
        strip: [plan.strip],
        cached,
      })

      const done = join(ctx.cacheDir, 'builds', key)
      if (existsSync(join(done, 'opt', 'bin', 'php-cgi'))) {
        log.info(`✓ compile php ${plan.php.version} ${plan.arch}: cached (${key.slice(0, 12)})`)
        return result(done, true)
      }

      // Per-process work directory: two builds of the same key may run at once; the first to finish wins.
      const work = join(ctx.cacheDir, 'work', `${key}-${process.pid}`)
      rmSync(work, { recursive: true, force: true })
      mkdirSync(work, { recursive: true })
      const script = join(work, 'compile.sh')
      writeFileSync(script, plan.compileScript, { mode: 0o755 })
      const tarball = ctx.sources.find((s) => s.spec.name === 'php')!.path
      const buildDir = join(work, 'src')
      const stage = join(work, 'stage')
      // A failed step leaves nothing behind in work/ (its logs stay in the log directory).
      try {
        for (const stepName of COMPILE_STEPS) {
          const label = `${stepName} php ${plan.php.version} ${plan.arch}`
          const logFile = join(ctx.logDir, `${plan.artifact}-${stepName}.log`)
          rmSync(logFile, { force: true })
          if (stepName === 'make' || stepName === 'configure') log.start(`${label} (log: ${logFile})`)
          const r = await run([...(binfmt?.prefix ?? []), 'bash', script, stepName, tarball, buildDir, stage], { logFile, cwd: work })
          if (r.exitCode !== 0) {
            const tail = lastLines(logFile, 1)
            log.fail(label, r.ms, `exit ${r.exitCode}`)
            throw new BuildError(`${label} failed with exit ${r.exitCode}: ${tail}; full log: ${logFile}`, 'Read the log; a missing library usually means a package is missing from the recipe.')
          }
          log.done(label, r.ms)
        }
        writeFileSync(join(stage, 'toolchain.json'), JSON.stringify(toolchain, null, 2) + '\n')
        mkdirSync(join(ctx.cacheDir, 'builds'), { recursive: true })
        if (!existsSync(join(done, 'opt', 'bin', 'php-cgi'))) {
          rmSync(done, { recursive: true, force: true })
          renameSync(stage, done)
        }
      } finally {
        rmSync(work, { recursive: true, force: true })
      }
      return result(done, false)
    },
    async preflightAddon(ctx: AddonPreflightContext): Promise<void> {
      const { plan } = ctx
      const onMachine = await missingPackages({ plan: plan.base, run: ctx.run, log: ctx.log }, plan.packages.apt)
      const problems = onMachine.length ? [`packages the add-on needs are not installed: ${onMachine.join(' ')}`] : []
      if (plan.sysroot) problems.push(...sysrootProblems(plan.sysroot, plan.base.arch))
      if (problems.length) {
        const setup = `scripts/setup-host.sh${plan.base.cross ? ` --arch ${plan.base.arch}` : ''}`
        throw new BuildError(problems.join('; '), `Run ${setup} (it installs what recipes/ext names too).`)
      }
    },
    async compileAddon(ctx: AddonCompileContext): Promise<CompileResult> {
      const { plan, run, log } = ctx
      const label0 = `${plan.name} add-on for php ${plan.base.php.version} ${plan.base.arch}`
      const versions = await ctx.run(['dpkg-query', '-W', '-f', '${Package}=${Version}\n', ...plan.packages.apt.map((p) => p.split(':')[0]!)])
      const toolchain = { ...ctx.base.toolchain, addonPackages: versions.stdout.trim().split('\n').filter(Boolean).join(' ') }
      const key = createHash('sha256').update(plan.addonKey).update(JSON.stringify(toolchain)).digest('hex').slice(0, 32)
      const result = (stagingRoot: string, cached: boolean): CompileResult => ({ ...ctx.base, stagingRoot, toolchain, cached })
      const done = join(ctx.cacheDir, 'addons', key)
      if (plan.extensions.every((e) => existsSync(join(done, 'php', 'extensions', `${e.name}.so`)))) {
        log.info(`✓ compile ${label0}: cached (${key.slice(0, 12)})`)
        return result(done, true)
      }
      let binfmt: PrivateBinfmt | undefined
      if (plan.base.emulator) {
        mkdirSync(join(ctx.cacheDir, 'work'), { recursive: true })
        binfmt = await privateBinfmt(run, join(ctx.cacheDir, 'work'), plan.base.emulator, plan.base.archInfo.elfMachine)
      }
      const { work, script, build, stage } = addonWorkDir(ctx.cacheDir, key, plan.script)
      const steps = addonSteps(plan, { baseOpt: join(ctx.base.stagingRoot, 'opt'), build, stage, sources: ctx.sources, where: '' })
      try {
        for (const step of steps) {
          const logFile = join(ctx.logDir, `${plan.artifact}-${step.log}.log`)
          rmSync(logFile, { force: true })
          const r = await run([...(binfmt?.prefix ?? []), 'bash', script, ...step.argv], { logFile, cwd: work })
          if (r.exitCode !== 0) {
            log.fail(step.label, r.ms, `exit ${r.exitCode}`)
            throw new BuildError(`${step.label} failed with exit ${r.exitCode}: ${errorLine(logFile)}; full log: ${logFile}`, 'Read the log; a missing library usually means a package is missing from the recipe in recipes/ext.')
          }
          log.done(step.label, r.ms)
        }
        writeFileSync(join(stage, 'toolchain.json'), JSON.stringify(toolchain, null, 2) + '\n')
        mkdirSync(join(ctx.cacheDir, 'addons'), { recursive: true })
        rmSync(done, { recursive: true, force: true })
        renameSync(stage, done)
      } finally {
        rmSync(work, { recursive: true, force: true })
      }
      return result(done, false)
    },
  }
}

/** What a cross build's sysroot lacks: the directory itself, or packages the plan names. */
function sysrootProblems(sysroot: { dir: string; packages: string[] }, arch: string): string[] {
  if (!existsSync(sysroot.dir)) return [`no ${arch} sysroot at ${sysroot.dir}`]
  const inSysroot = readSysroot(sysroot.dir).packages
  const absent = sysroot.packages.filter((p) => !inSysroot.has(p))
  return absent.length ? [`packages missing from the ${arch} sysroot ${sysroot.dir}: ${absent.join(' ')}`] : []
}

/** The line that says what went wrong: the compiler's first error, else the log's last line. */
export function errorLine(file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return '(no log)'
  }
  const lines = text.trimEnd().split('\n')
  return (lines.find((l) => /(^|\s)(fatal )?error:|^configure: error|No such file or directory$/.test(l)) ?? lines.at(-1) ?? '').trim()
}

function lastLines(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join(' | ')
  } catch {
    return '(no log)'
  }
}

/**
 * What scripts/setup-host.sh unpacked into a sysroot: the packages asked for (`.packages`) and every Debian package
 * of their closure with its version (`.debs`, hashed into the toolchain identity).
 */
function readSysroot(dir: string): { packages: Set<string>; digest: string } {
  const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '')
  return {
    packages: new Set(read('.packages').split('\n').filter(Boolean)),
    digest: createHash('sha256').update(read('.debs')).digest('hex').slice(0, 16),
  }
}

async function missingPackages(ctx: PreflightContext, pkgs: string[]): Promise<string[]> {
  const r = await ctx.run(['dpkg-query', '-W', '-f', '${Package} ${Status}\n', ...pkgs])
  const installed = new Set(
    r.stdout.split('\n').filter((l) => l.endsWith('install ok installed')).map((l) => l.split(' ')[0]!.split(':')[0]!),
  )
  return pkgs.filter((p) => !installed.has(p))
}

async function identify(ctx: CompileContext, pkgs: string[]): Promise<Record<string, string>> {
  const t0 = performance.now()
  // The compiler configure will use: the cross compiler in a cross build.
  const cc = (ctx.plan.configureEnv.CC ?? 'gcc').split(/\s+/)[0]!
  const [gcc, libc, versions] = await Promise.all([
    ctx.run([cc, '-dumpfullversion']),
    ctx.run(['getconf', 'GNU_LIBC_VERSION']),
    ctx.run(['dpkg-query', '-W', '-f', '${Package}=${Version}\n', ...pkgs]),
  ])
  const os = existsSync('/etc/os-release') ? (/^PRETTY_NAME="?([^"\n]+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'unknown') : 'unknown'
  const id = {
    executor: 'host',
    os,
    gcc: cc === 'gcc' ? gcc.stdout.trim() : `${cc} ${gcc.stdout.trim()}`,
    glibc: libc.stdout.trim().replace(/^glibc /, ''),
    packages: createHash('sha256').update(versions.stdout.split('\n').sort().join('\n')).digest('hex').slice(0, 16),
  }
  ctx.log.command(`toolchain identified in ${seconds(performance.now() - t0)}`)
  return id
}
