#!/usr/bin/env node
// Thin command-line front: parses flags, calls one module per command, maps typed errors to exit codes.
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError, Option } from 'commander'
import { BuildError, FactoryError, UsageError, VerifyError } from './errors.ts'
import { createLogger } from './log.ts'
import { EXECUTOR_NAMES } from './executors/index.ts'
import { DEFAULT_BUILD_IMAGE } from './plan/plan.ts'
import { registerPublishCommands } from './publish/command.ts'
import { registerReleasesCommand } from './releases/command.ts'
import { registerServeCommand } from './serve/command.ts'
import { registerSnippetsCommand } from './snippets/command.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const program = new Command()
program
  .name('npm run')
  .description('PHP layer factory for AWS Lambda (provided.al2023)')
  .showHelpAfterError(false)
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s.split('\n')[0] + '\n') })

const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean)

program
  .command('build')
  .description('compile PHP and assemble a layer zip (dist/<layer>-<version>-<arch>.zip + .manifest.json)')
  .requiredOption('--php <version>', 'PHP minor (8.2: newest listed patch), exact release (8.2.32, 8.6.0RC3) or semver range')
  .option('--obtainable', 'build the newest matching release a mirror here can supply (e.g. offline) instead of failing')
  .option('--pre', 'let a minor or range pick pre-releases (8.6 → 8.6.0RC3); an exact pre-release needs no flag')
  .addOption(new Option('--arch <arch>', 'target architecture').choices(['x86_64', 'arm64']).default('x86_64'))
  .option('--ext <list>', 'comma-separated extensions instead of the default set (versions.yaml); "default" stands for that set, and recipes/ext names (redis, apcu) are built into the layer', list)
  .option('--addon <name>', 'build the add-on layer for one recipes/ext extension (e.g. apcu, gd) against the base layer, which is built first')
  .addOption(new Option('--executor <name>', 'where to compile (default: docker when an engine answers and its build image is available, else host)').choices(EXECUTOR_NAMES))
  .option('--build-image <key>', `docker executor: build image from versions.yaml buildImages (al2023: the real base; debian: offline) [default: $PHP_LAYER_BUILD_IMAGE or ${DEFAULT_BUILD_IMAGE}]`)
  .option('--no-cache', 'docker executor: recompile from scratch (no compile cache, no Docker cache of the compile)')
  .option('--out <dir>', 'output directory', 'dist')
  .option('--json', 'print one JSON object (the plan with --dry-run, else the result) on stdout')
  .option('--dry-run', 'print the plan; touch neither disk nor network')
  .option('--verbose', 'log every external command')
  .option('--no-smoke', 'do not run the smoke test after assembling (publish refuses such a zip)')
  .option('--versions <file>', 'use another versions.yaml (e.g. to try a change)')
  .option('--recipes <dir>', 'use another recipes directory')
  .action(async (o: { php: string; arch: string; ext?: string[]; addon?: string; executor?: string; buildImage?: string; cache: boolean; out: string; json?: boolean; dryRun?: boolean; verbose?: boolean; versions?: string; recipes?: string; smoke: boolean; obtainable?: boolean; pre?: boolean }) => {
    const buildImage = o.buildImage ?? process.env.PHP_LAYER_BUILD_IMAGE
    const today = new Date().toISOString().slice(0, 10)
    const partial = { php: o.php, arch: o.arch, pre: o.pre === true, today, ...(o.ext ? { extensions: o.ext } : {}), ...(buildImage ? { buildImage } : {}) }
    const config = { ...(o.versions ? { versionsFile: resolve(o.versions) } : {}), ...(o.recipes ? { recipesDir: resolve(o.recipes) } : {}) }
    if (o.buildImage && o.executor === 'host') throw new UsageError('--build-image applies to --executor docker only; accepted: --executor docker --build-image <key>')
    if (o.dryRun) {
      // A dry run touches nothing, so it does not probe for an engine: without --executor it plans for host.
      const request = { ...partial, executor: o.executor ?? 'host' }
      // Only the config loader and the pure planner: no zx, no zip writer, nothing that touches disk or network.
      const [{ loadConfig }, { plan }, { EXECUTOR_CAPABILITIES }, { nativeArch, crossSysroots }, { refusal }] = await Promise.all([
        import('./config/load.ts'), import('./plan/plan.ts'), import('./executors/index.ts'), import('./host-libs.ts'), import('./plan/capabilities.ts'),
      ])
      const planEnv = { executors: EXECUTOR_CAPABILITIES, hostArch: nativeArch(), sysroots: crossSysroots() }
      if (o.addon) {
        const { planAddon } = await import('./plan/addon.ts')
        const a = planAddon(loadConfig({ root, ...config }), { ...request, addon: o.addon }, planEnv)
        if (o.json) process.stdout.write(JSON.stringify(a, null, 2) + '\n')
        else {
          process.stdout.write(`${a.layerName}: ${a.description}; on ${a.base.layerName} (PHP ${a.base.php.version} ${a.base.arch}) via ${a.base.executor}\n`)
          process.stdout.write(`extensions (load order): ${a.extensions.map((e) => `${e.name} ${e.version}`).join(', ')}\n`)
          process.stdout.write(`sources: ${[...a.sources.map((s) => `${s.file} sha256:${s.sha256}`), ...(a.extensions.some((e) => 'bundled' in e.source) ? [`${a.base.sources[0]!.file} (the base's)`] : [])].join(' ')}\n`)
          process.stdout.write(`packages: ${a.packages.apt.join(' ')}${a.sysroot ? `; ${a.base.arch} sysroot: ${a.sysroot.packages.join(' ')}` : ''}\n`)
          process.stdout.write(`add-on key: ${a.addonKey}\n`)
        }
        return
      }
      const p = plan(loadConfig({ root, ...config }), request, planEnv)
      if (o.json) process.stdout.write(JSON.stringify(p, null, 2) + '\n')
      else {
        process.stdout.write(`${p.layerName}: PHP ${p.php.version} ${p.arch} (${p.base.name}) via ${p.executor}\n`)
        if (p.php.preRelease) process.stdout.write(`pre-release: layer ${p.layerName}, never published by the scheduled workflow (publish needs --pre)\n`)
        if (p.php.pastEndOfLife) process.stdout.write(`END OF LIFE: PHP ${p.php.minor} lost security support after ${p.php.endOfLife}; it still builds, but plan an upgrade\n`)
        else if (p.php.endOfLife) process.stdout.write(`support: PHP ${p.php.minor} gets security fixes until ${p.php.endOfLife}\n`)
        process.stdout.write(`extensions: ${p.extensions.map((e) => e.name + (e.shared ? (e.enabled ? '(shared)' : '(shared, off)') : '')).join(' ')}\n`)
        const folded = (await import('./plan/addon.ts')).planFolded(loadConfig({ root, ...config }), p)
        if (folded) process.stdout.write(`built in from recipes/ext, after the core (load order): ${folded.extensions.map((e) => `${e.name} ${e.version}`).join(', ')}\n`)
        process.stdout.write(`sources: ${[...p.sources, ...(folded?.sources ?? [])].map((s) => `${s.file} sha256:${s.sha256}`).join(' ')}\n`)
        process.stdout.write(`compile key: ${p.compileKey}${folded ? ` (recipes/ext extensions: ${folded.addonKey})` : ''}\n`)
        // Planning asks no mirror: what --obtainable would fall back to is known only when the build fetches.
        if (o.obtainable) process.stdout.write(`--obtainable: the build takes PHP ${p.php.version} if a mirror here has it, else the newest older listed patch one has (a dry run asks none)\n`)
        process.stdout.write(p.buildable.ok ? `builds here: ${p.buildable.mode} (${p.executor})\n` : `not buildable here: ${refusal(p.buildable, p.arch)}\n`)
      }
      return
    }
    const { build, buildAddon, defaultExecutor } = await import('./build.ts')
    const log = createLogger({ verbose: !!o.verbose })
    // Add-on layers build with the executors that declare them (host, for now): no engine probe.
    const request = { ...partial, executor: o.executor ?? (o.addon ? 'host' : await defaultExecutor(root, partial, config, log)) }
    if (o.addon) {
      const a = await buildAddon({ root, request, config, outDir: resolve(o.out), log, smoke: o.smoke, obtainable: o.obtainable === true, addon: o.addon })
      const m = a.manifest
      if (o.json) {
        process.stdout.write(JSON.stringify({
          zip: a.zipPath, manifest: a.manifestPath, sha256: m.zip.sha256, codeSha256: m.zip.codeSha256, php: m.php.version, arch: m.arch, layerName: m.layerName,
          addon: m.addon, libraries: m.libraries, zippedBytes: m.zip.bytes, unzippedBytes: m.unzippedBytes, maxGlibc: m.maxGlibc, buildId: m.buildId,
          base: { zip: a.base.zipPath, layerName: a.base.manifest.layerName, buildId: a.base.manifest.buildId },
          smoke: m.smoke ? { passed: m.smoke.passed, checks: m.smoke.checks.length } : null,
        }, null, 2) + '\n')
      }
      return
    }
    const out = await build({ root, request, config, outDir: resolve(o.out), log, smoke: o.smoke, fresh: !o.cache, obtainable: o.obtainable === true })
    if (o.json) {
      const m = out.manifest
      process.stdout.write(
        JSON.stringify({
          zip: out.zipPath,
          manifest: out.manifestPath,
          sha256: m.zip.sha256,
          codeSha256: m.zip.codeSha256,
          php: m.php.version,
          arch: m.arch,
          layerName: m.layerName,
          extensions: m.extensions.map((e) => e.name),
          libraries: m.libraries,
          zippedBytes: m.zip.bytes,
          unzippedBytes: m.unzippedBytes,
          maxGlibc: m.maxGlibc,
          buildId: m.buildId,
          smoke: m.smoke ? { passed: m.smoke.passed, checks: m.smoke.checks.length } : null,
        }, null, 2) + '\n',
      )
    }
  })

program
  .command('smoke')
  .description('run a layer zip in a Lambda-like sandbox; records the result in its .manifest.json when that describes the zip')
  .argument('[zip]', 'a layer zip: one from npm run build (checked against its manifest), or any other PHP layer')
  .option('--arn <LayerVersionArn>', 'download a published layer version (GetLayerVersion) and check it')
  .option('--base <zip>', 'for an add-on layer: the base layer zip it stacks on (both are unpacked into one /opt)')
  .option('--verbose', 'log every external command')
  .addHelpText('after', `
What a zip is checked against, first match wins: the build's .manifest.json beside it when it describes these exact
bytes (the result is recorded there; publishing requires it); else the layer's own php/manifest.json; else, for a
layer this factory did not build, what it holds (architecture from bin/php, PHP version and modules as php reports
them) on versions.yaml's base. Only the first records a result.

Examples:
  npm run smoke -- dist/php-82-8.2.32-x86_64.zip
  npm run smoke -- --arn arn:aws:lambda:eu-west-1:123456789012:layer:php-82:3
  npm run smoke -- dist/php-82-apcu-8.2.32-x86_64.zip --base dist/php-82-8.2.32-x86_64.zip`)
  .action(async (zip: string | undefined, o: { arn?: string; base?: string; verbose?: boolean }) => {
    if ((zip === undefined) === (o.arn === undefined)) throw new UsageError('smoke needs a zip path or --arn <LayerVersionArn> (one of them)', 'Example: npm run smoke -- dist/php-82-8.2.32-x86_64.zip')
    const [{ smoke }, { defaultCacheDir }, { loadConfig }] = await Promise.all([import('./smoke/smoke.ts'), import('./build.ts'), import('./config/load.ts')])
    // Only for a layer without a manifest: the base it is meant to run on, from versions.yaml.
    const assumedBase = (arch: 'x86_64' | 'arm64') => {
      const c = loadConfig({ root })
      const b = c.versions.base
      return { name: b.name, glibc: b.glibc, libraries: c.baseLibraries[arch], gconvModules: b.gconvModules, gnuTriplet: c.versions.archs[arch].gnuTriplet }
    }
    const log = createLogger({ verbose: !!o.verbose })
    const opts = { root, cacheDir: defaultCacheDir(root), log, assumedBase, ...(o.base ? { stack: [resolve(o.base)] } : {}) }
    if (zip !== undefined) {
      await smoke({ ...opts, zipPath: resolve(zip) })
      return
    }
    const [{ mkdtempSync, rmSync }, { tmpdir }, { join }, { downloadLayerVersion, parseLayerVersionArn }] = await Promise.all([import('node:fs'), import('node:os'), import('node:path'), import('./smoke/download.ts')])
    parseLayerVersionArn(o.arn!)
    const dir = mkdtempSync(join(tmpdir(), 'smoke-arn-'))
    try {
      log.info(`» downloading ${o.arn}`)
      const path = await downloadLayerVersion(o.arn!, dir)
      await smoke({ ...opts, zipPath: path })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

program
  .command('packages')
  .description('list the build packages the recipes need (used by scripts/setup-host.sh)')
  .addOption(new Option('--manager <name>', 'package manager').choices(['apt', 'dnf']).default('apt'))
  .option('--php <version>', 'PHP version to plan for (default: newest listed)')
  .option('--ext <list>', 'extensions (default: versions.yaml default set)', list)
  .option('--all', 'every extension in the recipes')
  .addOption(new Option('--arch <arch>', 'target architecture (another than this machine\'s: the cross toolchain)').choices(['x86_64', 'arm64']))
  .option('--sysroot', 'instead: a cross build\'s sysroot directory, then the target packages to unpack there')
  .action(async (o: { manager: 'apt' | 'dnf'; php?: string; ext?: string[]; all?: boolean; arch?: string; sysroot?: boolean }) => {
    const { loadConfig } = await import('./config/load.ts')
    const { plan } = await import('./plan/plan.ts')
    const config = loadConfig({ root })
    const { newestMinor } = await import('./plan/resolve.ts')
    const newest = newestMinor(config.versions)
    const extensions = o.all ? Object.keys(config.php.extensions) : o.ext
    // pre: the newest minor may have only a release candidate so far; its packages are what a build would need.
    // As the host executor would build it on this machine: natively, or cross for another --arch.
    const [{ EXECUTOR_CAPABILITIES }, { nativeArch, crossSysroots }] = await Promise.all([import('./executors/index.ts'), import('./host-libs.ts')])
    const hostArch = nativeArch()
    const p = plan(config, { php: o.php ?? newest, arch: o.arch ?? hostArch ?? 'x86_64', executor: 'host', pre: true, ...(extensions ? { extensions } : {}) }, { executors: EXECUTOR_CAPABILITIES, hostArch, sysroots: crossSysroots() })
    // --all: what recipes/ext needs too, so any --addon builds.
    const addons = o.all ? (await import('./plan/addon.ts')).allAddonPackages(config, o.manager) : { tools: [], target: [] }
    const uniq = (xs: string[]) => [...new Set(xs)].sort()
    if (o.sysroot) {
      if (p.sysroot) process.stdout.write([p.sysroot.dir, ...uniq([...p.sysroot.packages, ...addons.target.map((n) => `${n}:${p.archInfo.debianArch}`)])].join('\n') + '\n')
      return
    }
    const machine = p.cross ? addons.tools : [...addons.tools, ...addons.target]
    process.stdout.write(uniq([...p.packages[o.manager], ...machine]).join('\n') + '\n')
  })

program
  .command('verify')
  .description('rebuild a layer from the inputs its manifest records (fresh compile) and compare bytes; names the first differing file')
  .argument('<zip-or-arn>', 'a layer zip, or a LayerVersionArn (downloaded with GetLayerVersionByArn)')
  .option('--cached', 'reuse cached compiles: checks assembly only, in seconds')
  .option('--json', 'print one JSON object with both sha256 and the first difference')
  .option('--verbose', 'log every external command')
  .action(async (target: string, o: { cached?: boolean; json?: boolean; verbose?: boolean }) => {
    const [{ verifyLayer }, { defaultCacheDir }] = await Promise.all([import('./verify/verify.ts'), import('./build.ts')])
    const isArn = target.startsWith('arn:')
    const r = await verifyLayer({ target: isArn ? target : resolve(target), root, cacheDir: defaultCacheDir(root), log: createLogger({ verbose: !!o.verbose }), ...(o.cached ? { cached: true } : {}) })
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n')
    if (r.equal) {
      process.stderr.write(`✓ identical: the rebuilt layer has the same sha256 ${r.original.sha256}\n`)
      return
    }
    const d = r.firstDifference
    throw new VerifyError(`the rebuilt layer differs: sha256 ${r.original.sha256} given, ${r.rebuilt.sha256} rebuilt; first differing file: ${d ? `${d.path} (${d.why})` : '(none: same files, different zip bytes)'}`, `The rebuilt zip is kept at ${r.rebuilt.file} for comparison.`)
  })

program
  .command('rie')
  .description('run a layer once inside the real provided.al2023 image through its Runtime Interface Emulator (needs a registry)')
  .argument('<zip>', 'a layer zip')
  .option('--image <ref>', 'image to run in (default: versions.yaml buildImages.al2023 for the zip\'s arch)')
  .option('--verbose', 'log every external command')
  .action(async (zip: string, o: { image?: string; verbose?: boolean }) => {
    const [{ runInRie }, { defaultCacheDir }, { loadConfig }, { createRunner }] = await Promise.all([
      import('./smoke/rie.ts'), import('./build.ts'), import('./config/load.ts'), import('./run.ts'),
    ])
    const { versions } = loadConfig({ root })
    const imageFor = (arch: 'x86_64' | 'arm64') => {
      const image = o.image ?? versions.buildImages?.al2023?.images[arch]
      if (!image) throw new UsageError(`no ${arch} provided.al2023 image in versions.yaml buildImages.al2023; pass --image`)
      return { image, platform: versions.archs[arch].dockerPlatform }
    }
    const log = createLogger({ verbose: !!o.verbose })
    const cacheDir = defaultCacheDir(root)
    await runInRie({ zipPath: resolve(zip), imageFor, workDir: join(cacheDir, 'tmp'), run: createRunner(log, join(cacheDir, 'logs', 'commands.log')), log })
  })

program
  .command('matrix')
  .description('the CI build matrix from versions.yaml: newest release of each PHP minor × arch, with its runner')
  .option('--php <list>', 'only these minors (comma-separated)', list)
  .addOption(new Option('--arch <list>', 'only these archs (comma-separated)').argParser(list))
  .option('--json', 'one line of JSON ({"include": [...]}, for a GitHub Actions matrix)')
  .action(async (o: { php?: string[]; arch?: string[]; json?: boolean }) => {
    const [{ loadConfig }, { buildMatrix }] = await Promise.all([import('./config/load.ts'), import('./plan/matrix.ts')])
    const m = buildMatrix(loadConfig({ root }), { ...(o.php ? { minors: o.php } : {}), ...(o.arch ? { archs: o.arch } : {}) })
    if (o.json) process.stdout.write(JSON.stringify(m) + '\n')
    else for (const e of m.include) process.stdout.write(`${e.php} ${e.arch} on ${e.runner} → ${e.artifact}.zip\n`)
  })

program
  .command('engine')
  .description('the Docker engine the docker executor would use (exit 1 if none answers); helper for scripts/')
  .option('--host', 'print only its DOCKER_HOST value')
  .option('--image <key>', 'print the image reference of versions.yaml buildImages.<key> for this machine\'s arch')
  .action(async (o: { host?: boolean; image?: string }) => {
    if (o.image) {
      const [{ loadConfig }, { hostDockerArch }] = await Promise.all([import('./config/load.ts'), import('./executors/docker.ts')])
      const b = loadConfig({ root }).versions.buildImages?.[o.image]
      const arch = hostDockerArch() === 'arm64' ? 'arm64' : 'x86_64'
      const image = b?.images[arch]
      if (!image) throw new UsageError(`--image ${o.image}: no ${arch} image in versions.yaml buildImages; accepted: ${Object.keys(loadConfig({ root }).versions.buildImages ?? {}).join(', ')}`)
      process.stdout.write(image + '\n')
      return
    }
    const [{ findEngine, START_ENGINE_HINT }, { createRunner }] = await Promise.all([import('./executors/engine.ts'), import('./run.ts')])
    const engine = await findEngine(createRunner(createLogger({ quiet: true })))
    if (!engine) throw new BuildError('no Docker engine answers (tried DOCKER_HOST, /var/run/docker.sock and the project engine socket)', START_ENGINE_HINT)
    process.stdout.write(o.host ? `${engine.host}\n` : `engine ${engine.serverVersion} (${engine.serverArch}) at ${engine.host}; client ${engine.client}; builder ${engine.builder}\n`)
  })

program
  .command('debian-suites')
  .description('list the Debian suites newer than this host\'s that carry the given minors (used by scripts/setup-host.sh --php)')
  .requiredOption('--php <list>', 'comma-separated PHP minors or versions, e.g. 8.4,8.6.0RC3', list)
  .action(async (o: { php: string[] }) => {
    const { loadConfig } = await import('./config/load.ts')
    const { versions } = loadConfig({ root })
    const suites = new Set<string>()
    for (const spec of o.php) {
      const minor = /^(\d+\.\d+)/.exec(spec)?.[1]
      const info = minor ? versions.php[minor] : undefined
      if (!info) throw new UsageError(`--php ${spec}: no such PHP minor in versions.yaml; accepted: ${Object.keys(versions.php).join(', ')}`)
      for (const s of info.debianSuites ?? []) suites.add(s)
    }
    if (suites.size) process.stdout.write([...suites].join('\n') + '\n')
  })

registerPublishCommands(program)
registerReleasesCommand(program, root)
registerSnippetsCommand(program)
registerServeCommand(program, root)

async function main(): Promise<number> {
  try {
    await program.parseAsync(process.argv)
    return 0
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return e.exitCode === 0 ? 0 : new UsageError(e.message).exitCode
    }
    if (e instanceof FactoryError) {
      process.stderr.write(`error: ${e.message}${e.hint ? ` → ${e.hint}` : ''}\n`)
      return e.exitCode
    }
    process.stderr.write(`internal error: ${(e as Error).stack ?? e}\n`)
    return 1
  }
}

process.exitCode = await main()
