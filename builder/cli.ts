#!/usr/bin/env node
// Thin command-line front: parses flags, calls one module per command, maps typed errors to exit codes.
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, CommanderError, Option } from 'commander'
import { FactoryError, UsageError } from './errors.ts'
import { createLogger } from './log.ts'
import { EXECUTOR_NAMES } from './executors/index.ts'
import { registerPublishCommands } from './publish/command.ts'
import { registerReleasesCommand } from './releases/command.ts'
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
  .requiredOption('--php <version>', 'PHP minor (8.2: newest listed patch) or exact release (8.2.32)')
  .addOption(new Option('--arch <arch>', 'target architecture').choices(['x86_64', 'arm64']).default('x86_64'))
  .option('--ext <list>', 'comma-separated extensions instead of the default set (versions.yaml)', list)
  .addOption(new Option('--executor <name>', 'where to compile').choices(EXECUTOR_NAMES).default('host'))
  .option('--out <dir>', 'output directory', 'dist')
  .option('--json', 'print one JSON object (the plan with --dry-run, else the result) on stdout')
  .option('--dry-run', 'print the plan; touch neither disk nor network')
  .option('--verbose', 'log every external command')
  .option('--no-smoke', 'do not run the smoke test after assembling (publish refuses such a zip)')
  .option('--versions <file>', 'use another versions.yaml (e.g. to try a change)')
  .option('--recipes <dir>', 'use another recipes directory')
  .action(async (o: { php: string; arch: string; ext?: string[]; executor: string; out: string; json?: boolean; dryRun?: boolean; verbose?: boolean; versions?: string; recipes?: string; smoke: boolean }) => {
    const request = { php: o.php, arch: o.arch, executor: o.executor, ...(o.ext ? { extensions: o.ext } : {}) }
    const config = { ...(o.versions ? { versionsFile: resolve(o.versions) } : {}), ...(o.recipes ? { recipesDir: resolve(o.recipes) } : {}) }
    if (o.dryRun) {
      // Only the config loader and the pure planner: no zx, no zip writer, nothing that touches disk or network.
      const [{ loadConfig }, { plan }, { EXECUTOR_CAPABILITIES }, { nativeArch }, { refusal }] = await Promise.all([
        import('./config/load.ts'), import('./plan/plan.ts'), import('./executors/index.ts'), import('./host-libs.ts'), import('./plan/capabilities.ts'),
      ])
      const p = plan(loadConfig({ root, ...config }), request, { executors: EXECUTOR_CAPABILITIES, hostArch: nativeArch() })
      if (o.json) process.stdout.write(JSON.stringify(p, null, 2) + '\n')
      else {
        process.stdout.write(`${p.layerName}: PHP ${p.php.version} ${p.arch} (${p.base.name}) via ${p.executor}\n`)
        process.stdout.write(`extensions: ${p.extensions.map((e) => e.name + (e.shared ? (e.enabled ? '(shared)' : '(shared, off)') : '')).join(' ')}\n`)
        process.stdout.write(`sources: ${p.sources.map((s) => `${s.file} sha256:${s.sha256}`).join(' ')}\n`)
        process.stdout.write(`compile key: ${p.compileKey}\n`)
        process.stdout.write(p.buildable.ok ? `builds here: ${p.buildable.mode} (${p.executor})\n` : `not buildable here: ${refusal(p.buildable, p.arch)}\n`)
      }
      return
    }
    const { build } = await import('./build.ts')
    const log = createLogger({ verbose: !!o.verbose })
    const out = await build({ root, request, config, outDir: resolve(o.out), log, smoke: o.smoke })
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
  .description('run a layer zip in a Lambda-like sandbox; records the result in its .manifest.json')
  .argument('<zip>', 'a zip written by npm run build (its .manifest.json beside it)')
  .option('--verbose', 'log every external command')
  .action(async (zip: string, o: { verbose?: boolean }) => {
    const [{ smoke }, { defaultCacheDir }] = await Promise.all([import('./smoke/smoke.ts'), import('./build.ts')])
    await smoke({ zipPath: resolve(zip), root, cacheDir: defaultCacheDir(root), log: createLogger({ verbose: !!o.verbose }) })
  })

program
  .command('packages')
  .description('list the build packages the recipes need (used by scripts/setup-host.sh)')
  .addOption(new Option('--manager <name>', 'package manager').choices(['apt', 'dnf']).default('apt'))
  .option('--php <version>', 'PHP version to plan for (default: newest listed)')
  .option('--ext <list>', 'extensions (default: versions.yaml default set)', list)
  .option('--all', 'every extension in the recipes')
  .action(async (o: { manager: 'apt' | 'dnf'; php?: string; ext?: string[]; all?: boolean }) => {
    const { loadConfig } = await import('./config/load.ts')
    const { plan } = await import('./plan/plan.ts')
    const config = loadConfig({ root })
    const newest = Object.keys(config.versions.php).sort().pop()!
    const extensions = o.all ? Object.keys(config.php.extensions) : o.ext
    const p = plan(config, { php: o.php ?? newest, arch: 'x86_64', executor: 'host', ...(extensions ? { extensions } : {}) }, { executors: [], hostArch: undefined })
    process.stdout.write(p.packages[o.manager].join('\n') + '\n')
  })

registerPublishCommands(program)
registerReleasesCommand(program, root)
registerSnippetsCommand(program)

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
