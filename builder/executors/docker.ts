// Compiles inside a container made from the plan's build image (versions.yaml buildImages): the real Amazon Linux
// 2023 image in production, a locally made Debian root offline. The same generated compile script as the host
// executor runs there; this module only decides where. Two `docker build` targets of one Dockerfile template:
// `toolchain` (base image + the plan's packages; tagged, reused by strip and the library export) and the compile,
// exported with BuildKit's --output type=local, or with the classic builder through docker create + docker cp.
// Everything recorded about the toolchain comes from the image's content, so two machines record the same.
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { arch as nodeArch } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { addonWorkDir } from './addon-work.ts'
import { BuildError } from '../errors.ts'
import { seconds } from '../log.ts'
import { COMPILE_STEPS } from '../plan/compile-script.ts'
import { addonSteps } from '../plan/addon.ts'
import type { DockerPlan } from '../plan/plan.ts'
import type { Runner } from '../run.ts'
import type { AddonCompileContext, AddonPreflightContext, CompileContext, CompileResult, Executor, PreflightContext } from './types.ts'
import { buildEnv, dockerArgv, requireEngine, type Engine } from './engine.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const NODE_TO_DOCKER: Record<string, string> = { x64: 'amd64', arm64: 'arm64' }
const STEP_MARKER = /php-layer-step (start|done|failed) (\w+)(?: (\d+))?/

export function dockerExecutor(): Executor {
  return {
    name: 'docker',
    async preflight(ctx: PreflightContext): Promise<void> {
      // Before any download: a docker build without an engine fails at once, saying how to start one.
      if (!ctx.plan.docker) throw new BuildError('the plan has no docker section (internal: planned for another executor)')
      await requireEngine(ctx.run)
    },
    async preflightAddon(ctx: AddonPreflightContext): Promise<void> {
      if (!ctx.plan.base.docker) throw new BuildError('the plan has no docker section (internal: planned for another executor)')
      await requireEngine(ctx.run)
    },
    compileAddon,
    async compile(ctx: CompileContext): Promise<CompileResult> {
      const { plan, run, log } = ctx
      // Recompile from scratch: bypass the compile cache and Docker's cache of the compile (the toolchain is kept).
      const opts = { fresh: !!ctx.fresh }
      const d = plan.docker
      if (!d) throw new BuildError('the plan has no docker section (internal: planned for another executor)')
      const engine = await requireEngine(run)
      const platformArch = d.platform.split('/')[1]!
      if (platformArch !== engine.serverArch) {
        const binfmt = platformArch === 'arm64' ? '/proc/sys/fs/binfmt_misc/qemu-aarch64' : '/proc/sys/fs/binfmt_misc/qemu-x86_64'
        if (!existsSync(binfmt)) {
          throw new BuildError(`--arch ${plan.arch} on this ${engine.serverArch} engine needs qemu user emulation, which is not registered (${binfmt} missing)`, 'Install qemu-user-static and binfmt-support (apt-get install qemu-user-static binfmt-support), or build on a native machine.')
        }
        log.info(`» note: ${d.platform} on this ${engine.serverArch} machine runs under qemu emulation: expect the compile to take 5–10× longer than native`)
      }
      await ensureBaseImage(run, engine, d, log)

      const toolchainTag = `php-layer-toolchain:${createHash('sha256').update(JSON.stringify(d)).update(readFileSync(join(ROOT, d.dockerfile))).digest('hex').slice(0, 16)}`
      const work = join(ctx.cacheDir, 'work', `docker-${plan.compileKey.slice(0, 16)}-${process.pid}`)
      rmSync(work, { recursive: true, force: true })
      mkdirSync(work, { recursive: true })
      try {
        const context = join(work, 'context')
        mkdirSync(context)
        writeFileSync(join(context, 'compile.sh'), plan.compileScript, { mode: 0o755 })
        copyFileSync(join(ROOT, 'dockerfiles', 'run-steps.sh'), join(context, 'run-steps.sh'))
        const tarball = ctx.sources.find((s) => s.spec.name === 'php')!.path
        try {
          linkSync(tarball, join(context, 'php.tar'))
        } catch {
          copyFileSync(tarball, join(context, 'php.tar'))
        }
        const buildArgs = [
          '--platform', d.platform,
          '--network', 'host',
          '-f', join(ROOT, d.dockerfile),
          '--build-arg', `BASE_IMAGE=${d.image}`,
          '--build-arg', `PACKAGES=${d.packages.join(' ')}`,
          ...(d.releasever ? ['--build-arg', `RELEASEVER=${d.releasever}`] : []),
          '--build-arg', `STEPS=${COMPILE_STEPS.join(' ')}`,
        ]

        const toolchainLog = join(ctx.logDir, `${plan.artifact}-toolchain.log`)
        rmSync(toolchainLog, { force: true })
        log.start(`toolchain image ${toolchainTag} from ${d.image} (${d.packages.length} ${d.packageManager} packages; log: ${toolchainLog})`)
        const tb = await run(dockerArgv(engine, 'build', ...buildArgs, '--target', 'toolchain', '-t', toolchainTag, context), { env: buildEnv(engine.builder), logFile: toolchainLog })
        if (tb.exitCode !== 0) {
          log.fail('toolchain image', tb.ms, `exit ${tb.exitCode}`)
          throw new BuildError(`toolchain image from ${d.image} failed with exit ${tb.exitCode}: ${lastLines(toolchainLog, 2)}; full log: ${toolchainLog}`, `A missing package name? Check the ${d.packageManager} packages in recipes/php.yaml.`)
        }
        log.done(`toolchain image ${toolchainTag}`, tb.ms)

        const toolchain = await identify(run, engine, toolchainTag, d, ctx.cacheDir, log)
        const key = createHash('sha256').update(plan.compileKey).update(JSON.stringify(toolchain)).digest('hex').slice(0, 32)
        const libDir = await exportLibraries(run, engine, toolchainTag, d, toolchain, ctx.cacheDir, log)
        const result = resultIn(engine, d, toolchainTag, ctx.cacheDir, toolchain, libDir)

        const done = join(ctx.cacheDir, 'builds', key)
        if (!opts.fresh && existsSync(join(done, 'opt', 'bin', 'php-cgi'))) {
          log.info(`✓ compile php ${plan.php.version} ${plan.arch} in ${d.buildImage}: cached (${key.slice(0, 12)})`)
          return result(done, true)
        }

        const buildLog = join(ctx.logDir, `${plan.artifact}-docker-build.log`)
        rmSync(buildLog, { force: true })
        const fresh = opts.fresh ? `${Date.now()}-${process.pid}` : '0'
        const label = (step: string) => `${step} php ${plan.php.version} ${plan.arch} in ${d.buildImage}`
        log.info(`» compile in a ${d.buildImage} container (${engine.builder === 'buildkit' ? 'BuildKit' : 'classic builder'}; log: ${buildLog})`)
        let markers = 0
        const onLine = (line: string) => {
          const m = STEP_MARKER.exec(line)
          if (!m) return
          markers++
          const [, what, step, ms] = m
          if (what === 'start' && (step === 'configure' || step === 'make')) log.start(label(step!))
          else if (what === 'done') log.done(label(step!), Number(ms))
          else if (what === 'failed') log.fail(label(step!), Number(ms), 'failed')
        }
        const out = join(work, 'out')
        const compileArgs = [...buildArgs, '--build-arg', `FRESH=${fresh}`]
        let r
        if (engine.builder === 'buildkit') {
          r = await run(dockerArgv(engine, 'build', '--progress', 'plain', ...compileArgs, '--target', 'out', '--output', `type=local,dest=${out}`, context), { env: buildEnv('buildkit'), logFile: buildLog, onLine })
        } else {
          const tag = `php-layer-compile:${key.slice(0, 16)}-${process.pid}`
          r = await run(dockerArgv(engine, 'build', ...compileArgs, '--target', 'compile', '-t', tag, context), { env: buildEnv('classic'), logFile: buildLog, onLine })
          if (r.exitCode === 0) r = await copyOut(run, engine, tag, out, buildLog)
          await run(dockerArgv(engine, 'rmi', '-f', tag))
        }
        for (const step of COMPILE_STEPS) {
          const from = join(out, 'logs', `${step}.log`)
          if (existsSync(from)) copyFileSync(from, join(ctx.logDir, `${plan.artifact}-${step}.log`))
        }
        if (r.exitCode !== 0 || !existsSync(join(out, 'stage', 'opt', 'bin', 'php-cgi'))) {
          throw new BuildError(`compile in ${d.buildImage} failed with exit ${r.exitCode}: ${lastLines(buildLog, 3)}; full log: ${buildLog}`, 'Read the log; a missing library usually means a package is missing from the recipe.')
        }
        // No step ran: the engine's build cache already had this compile (same script, sources and image).
        if (markers === 0) log.info(`✓ compile php ${plan.php.version} ${plan.arch} in ${d.buildImage}: cached by the Docker engine (${seconds(r.ms)})`)
        writeFileSync(join(out, 'stage', 'toolchain.json'), JSON.stringify(toolchain, null, 2) + '\n')
        mkdirSync(join(ctx.cacheDir, 'builds'), { recursive: true })
        if (opts.fresh || !existsSync(join(done, 'opt', 'bin', 'php-cgi'))) {
          // A fresh build replaces the cached tree only once it is complete; readers never see half a tree.
          const old = `${done}.old-${process.pid}`
          if (existsSync(done)) renameSync(done, old)
          renameSync(join(out, 'stage'), done)
          rmSync(old, { recursive: true, force: true })
        }
        log.info(`  compiled in ${seconds(r.ms)} (${engine.builder}); staging tree ${done}`)
        return result(done, false)
      } finally {
        rmSync(work, { recursive: true, force: true })
      }
    },
  }
}

/**
 * An add-on compile in a container: the base's toolchain image plus the add-on's packages (the same Dockerfile's
 * `toolchain` target), then the plan's add-on script step by step in `docker run`, with the cache directory mounted
 * at its own path, so the base build's staging tree, the verified sources and the work directory have the same paths
 * inside as outside. Cached by add-on key and toolchain identity under .cache/addons/, as on the host.
 */
async function compileAddon(ctx: AddonCompileContext): Promise<CompileResult> {
  const { plan, run, log } = ctx
  const d = plan.base.docker
  if (!d) throw new BuildError('the plan has no docker section (internal: planned for another executor)')
  const engine = await requireEngine(run)
  await ensureBaseImage(run, engine, d, log)
  const label0 = `${plan.name} add-on for php ${plan.base.php.version} ${plan.base.arch} in ${d.buildImage}`
  const packages = [...new Set([...d.packages, ...plan.packages[d.packageManager]])].sort()
  const withAddon: DockerPlan = { ...d, packages }
  const toolchainTag = `php-layer-toolchain:${createHash('sha256').update(JSON.stringify(withAddon)).update(readFileSync(join(ROOT, d.dockerfile))).digest('hex').slice(0, 16)}`
  mkdirSync(join(ctx.cacheDir, 'work'), { recursive: true })
  const context = mkdtempSync(join(ctx.cacheDir, 'work', 'docker-addon-context-'))
  try {
    const toolchainLog = join(ctx.logDir, `${plan.artifact}-toolchain.log`)
    rmSync(toolchainLog, { force: true })
    log.start(`toolchain image ${toolchainTag} from ${d.image} (+ ${plan.packages[d.packageManager].join(' ')}; log: ${toolchainLog})`)
    const buildArgs = [
      '--platform', d.platform, '--network', 'host', '-f', join(ROOT, d.dockerfile),
      '--build-arg', `BASE_IMAGE=${d.image}`, '--build-arg', `PACKAGES=${packages.join(' ')}`,
      ...(d.releasever ? ['--build-arg', `RELEASEVER=${d.releasever}`] : []),
    ]
    const tb = await run(dockerArgv(engine, 'build', ...buildArgs, '--target', 'toolchain', '-t', toolchainTag, context), { env: buildEnv(engine.builder), logFile: toolchainLog })
    if (tb.exitCode !== 0) {
      log.fail('toolchain image', tb.ms, `exit ${tb.exitCode}`)
      throw new BuildError(`toolchain image for ${label0} failed with exit ${tb.exitCode}: ${lastLines(toolchainLog, 2)}; full log: ${toolchainLog}`, `A missing package name? Check the ${d.packageManager} packages in recipes/ext/${plan.name}.yaml.`)
    }
    log.done(`toolchain image ${toolchainTag}`, tb.ms)
  } finally {
    rmSync(context, { recursive: true, force: true })
  }
  const toolchain = { ...ctx.base.toolchain, ...(await identify(run, engine, toolchainTag, withAddon, ctx.cacheDir, log)) }
  const libDir = await exportLibraries(run, engine, toolchainTag, withAddon, toolchain, ctx.cacheDir, log)
  const key = createHash('sha256').update(plan.addonKey).update(JSON.stringify(toolchain)).digest('hex').slice(0, 32)
  const result = resultIn(engine, d, toolchainTag, ctx.cacheDir, toolchain, libDir)
  const done = join(ctx.cacheDir, 'addons', key)
  if (plan.extensions.every((e) => existsSync(join(done, 'php', 'extensions', `${e.name}.so`)))) {
    log.info(`✓ compile ${label0}: cached (${key.slice(0, 12)})`)
    return result(done, true)
  }
  const cacheDir = resolve(ctx.cacheDir)
  const inCache = (p: string) => {
    if (!resolve(p).startsWith(cacheDir + '/')) throw new BuildError(`${p} is outside the cache directory ${cacheDir}, so the build container cannot see it (internal)`)
    return p
  }
  const { work, script, build, stage } = addonWorkDir(cacheDir, key, plan.script)
  for (const f of ctx.sources) inCache(f.path)
  const steps = addonSteps(plan, { baseOpt: inCache(join(ctx.base.stagingRoot, 'opt')), build, stage, sources: ctx.sources, where: ` in ${d.buildImage}` })
  try {
    for (const step of steps) {
      const logFile = join(ctx.logDir, `${plan.artifact}-${step.log}.log`)
      rmSync(logFile, { force: true })
      const argv = dockerArgv(engine, 'run', '--rm', '--platform', d.platform, '--network', 'none', '--user', userSpec(), '-e', 'HOME=/tmp', '-v', `${cacheDir}:${cacheDir}`, '-w', work, '--entrypoint', 'bash', toolchainTag, script, ...step.argv)
      const r = await run(argv, { logFile })
      if (r.exitCode !== 0) {
        log.fail(step.label, r.ms, `exit ${r.exitCode}`)
        throw new BuildError(`${step.label} failed with exit ${r.exitCode}: ${lastLines(logFile, 2)}; full log: ${logFile}`, `Read the log; a missing library usually means a package is missing from recipes/ext/${plan.name}.yaml.`)
      }
      log.done(step.label, r.ms)
    }
    writeFileSync(join(stage, 'toolchain.json'), JSON.stringify(toolchain, null, 2) + '\n')
    mkdirSync(join(cacheDir, 'addons'), { recursive: true })
    rmSync(done, { recursive: true, force: true })
    renameSync(stage, done)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return result(done, false)
}

/**
 * What a compile with toolchain image `tag` hands the assembler: the image's libraries for the closure and the image's
 * own strip (the host's binutils differ between machines, and so would the bytes).
 */
function resultIn(engine: Engine, d: DockerPlan, tag: string, cacheDir: string, toolchain: Record<string, string>, libDir: string) {
  return (stagingRoot: string, cached: boolean): CompileResult => ({
    stagingRoot,
    toolchain,
    libSearchDirs: [libDir],
    strip: dockerArgv(engine, 'run', '--rm', '--platform', d.platform, '--network', 'none', '--user', userSpec(), '-v', `${cacheDir}:${cacheDir}`, '--entrypoint', 'strip', tag),
    cached,
  })
}

/** The base image must be present or pullable; a local one (made by a script) must have been made. */
async function ensureBaseImage(run: Runner, engine: Engine, d: DockerPlan, log: CompileContext['log']): Promise<void> {
  if ((await run(dockerArgv(engine, 'image', 'inspect', '--format', '{{.Id}}', d.image))).exitCode === 0) return
  if (d.make) {
    throw new BuildError(`build image ${d.image} (--build-image ${d.buildImage}) is not in this engine`, `Make it with sudo ${d.make} (about a minute), then build again.`)
  }
  const t0 = performance.now()
  log.start(`pull ${d.image} (${d.platform})`)
  const r = await run(dockerArgv(engine, 'pull', '--platform', d.platform, d.image), { timeoutMs: 600_000 })
  if (r.exitCode !== 0) {
    log.fail(`pull ${d.image}`, performance.now() - t0, `exit ${r.exitCode}`)
    const why = (r.stderr.trim().split('\n').pop() ?? '').slice(0, 300)
    throw new BuildError(`cannot pull ${d.image}: ${why}`, 'Offline? Make the local Debian build image (sudo scripts/docker-base-image.sh) and pass --build-image debian, or build with --executor host.')
  }
  log.done(`pull ${d.image}`, performance.now() - t0)
}

interface ToolchainCache {
  imageId: string
  toolchain: Record<string, string>
}

/**
 * What the compile ran with, from the image's content only: the base reference as pinned, the compiler, the C
 * library and a hash of every installed package with its version. Cached per image id.
 */
async function identify(run: Runner, engine: Engine, tag: string, d: DockerPlan, cacheDir: string, log: CompileContext['log']): Promise<Record<string, string>> {
  const id = await imageId(run, engine, tag)
  const file = join(cacheDir, 'docker', 'toolchains', `${id.replace(/^sha256:/, '')}.json`)
  if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as ToolchainCache).toolchain
  const t0 = performance.now()
  // The minimal AL2023 image may lack the rpm CLI; its dnf (microdnf) lists installed packages too.
  const list = d.packageManager === 'dnf'
    ? "{ rpm -qa --qf '%{NAME}=%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\\n' 2>/dev/null || dnf repoquery --installed 2>/dev/null || dnf list --installed; }"
    : "dpkg-query -W -f '${Package}=${Version}\\n'"
  const script = `set -e; gcc -dumpfullversion; getconf GNU_LIBC_VERSION; sed -n 's/^PRETTY_NAME="\\{0,1\\}\\([^"]*\\)"\\{0,1\\}$/\\1/p' /etc/os-release; echo ---; ${list} | LC_ALL=C sort`
  const r = await run(dockerArgv(engine, 'run', '--rm', '--platform', d.platform, '--network', 'none', '--entrypoint', 'sh', tag, '-c', script), { timeoutMs: 600_000 })
  if (r.exitCode !== 0) throw new BuildError(`cannot identify the toolchain in ${tag}: ${r.stderr.trim().split('\n').pop()}`)
  const [head = '', packages = ''] = r.stdout.split('---\n')
  const [gcc = '', glibc = '', os = ''] = head.trim().split('\n')
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(d.image)?.[1]
  const toolchain: Record<string, string> = {
    executor: 'docker',
    buildImage: d.buildImage,
    image: d.image,
    // A local image has no registry digest; its identity is its package list below.
    digest: digest ?? `none (local image made by ${d.make ?? 'a script'})`,
    platform: d.platform,
    os: os.trim(),
    gcc: gcc.trim(),
    glibc: glibc.trim().replace(/^glibc /, ''),
    packages: createHash('sha256').update(packages).digest('hex').slice(0, 16),
  }
  if (d.releasever) toolchain.releasever = d.releasever
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(`${file}.tmp`, JSON.stringify({ imageId: id, toolchain } satisfies ToolchainCache, null, 2) + '\n')
  renameSync(`${file}.tmp`, file)
  log.command(`toolchain identified in ${seconds(performance.now() - t0)}`)
  return toolchain
}

/**
 * Copies the shared libraries the image's loader knows (ldconfig's cache) into a host directory, once per image,
 * so assembly bundles the image's own copies. Only regular .so files: static archives stay behind.
 */
async function exportLibraries(run: Runner, engine: Engine, tag: string, d: DockerPlan, toolchain: Record<string, string>, cacheDir: string, log: CompileContext['log']): Promise<string> {
  const id = (await imageId(run, engine, tag)).replace(/^sha256:/, '').slice(0, 32)
  const dir = join(cacheDir, 'docker', 'libs', id)
  if (existsSync(join(dir, '.complete'))) return dir
  const t0 = performance.now()
  const tmp = `${dir}.tmp-${process.pid}`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { recursive: true })
  const script = 'set -e; ldconfig -p | sed -n "s/.* => //p" | sort -u | while read -r f; do [ -e "$f" ] && cp -L "$f" /out/; done; true'
  const r = await run(dockerArgv(engine, 'run', '--rm', '--platform', d.platform, '--network', 'none', '--user', userSpec(), '-v', `${tmp}:/out`, '--entrypoint', 'sh', tag, '-c', script), { timeoutMs: 600_000 })
  if (r.exitCode !== 0) {
    rmSync(tmp, { recursive: true, force: true })
    throw new BuildError(`cannot export the libraries of ${tag}: ${r.stderr.trim().split('\n').pop()}`)
  }
  writeFileSync(join(tmp, '.complete'), `${toolchain.image}\n${readdirSync(tmp).length} libraries\n`)
  rmSync(dir, { recursive: true, force: true })
  renameSync(tmp, dir)
  log.done(`export ${readdirSync(dir).length - 1} shared libraries from the toolchain image`, performance.now() - t0)
  return dir
}

async function copyOut(run: Runner, engine: Engine, tag: string, out: string, logFile: string) {
  const name = `php-layer-out-${process.pid}-${Date.now()}`
  const c = await run(dockerArgv(engine, 'create', '--name', name, tag, 'true'), { logFile })
  if (c.exitCode !== 0) return c
  try {
    mkdirSync(out, { recursive: true })
    for (const dir of ['stage', 'logs']) {
      const cp = await run(dockerArgv(engine, 'cp', `${name}:/${dir}`, join(out, dir)), { logFile })
      if (cp.exitCode !== 0) return cp
    }
    return c
  } finally {
    await run(dockerArgv(engine, 'rm', '-f', name))
  }
}

async function imageId(run: Runner, engine: Engine, tag: string): Promise<string> {
  const r = await run(dockerArgv(engine, 'image', 'inspect', '--format', '{{.Id}}', tag))
  if (r.exitCode !== 0) throw new BuildError(`image ${tag} vanished from the engine: ${r.stderr.trim()}`, 'Run the build again.')
  return r.stdout.trim()
}

function userSpec(): string {
  return `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`
}

function lastLines(file: string, n: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-n).join(' | ')
  } catch {
    return '(no log)'
  }
}

/** Docker's name for the machine's own architecture. */
export function hostDockerArch(): string {
  return NODE_TO_DOCKER[nodeArch()] ?? nodeArch()
}
