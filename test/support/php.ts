/**
 * Locating the PHP binaries the runtime tests run against, and the environment that runs the
 * runtime from this repository as if it were the layer.
 *
 * PHP_CGI_BIN / PHP_BIN win (the end-to-end suite points them at a freshly built layer's
 * bin/php-cgi and bin/php); otherwise `php-cgi` / `php` are taken from PATH (Debian's
 * php8.2-cgi and php8.2-cli packages, installed by the host set-up script, for fast runs).
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stageRuntime } from '../../builder/assemble/runtime-files.ts'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The runtime's entry script, as shipped as /opt/bootstrap. */
export const runtimeBootstrap = join(repoRoot, 'runtime/bootstrap')
/** A small PHP application used as LAMBDA_TASK_ROOT by the tests. */
export const fixtureApp = join(repoRoot, 'test/fixtures/app')
export const fixtureEvents = join(repoRoot, 'builder/smoke/events')

export interface PhpBinaries {
  php: string
  phpCgi: string
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name)
  }
  return undefined
}

function locate(variable: string, name: string, apt: string): string {
  const fromEnv = process.env[variable]
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`${variable}=${fromEnv} is not an executable file; point it at a ${name} binary (e.g. a built layer's bin/${name}) or unset it to use ${name} from PATH`)
    return fromEnv
  }
  const found = onPath(name)
  if (!found) {
    throw new Error(`${name} not found: set ${variable}, or run the host set-up script (scripts/) so that it installs the Debian package ${apt} and ${name} is on PATH`)
  }
  return found
}

/** Finds php and php-cgi, or throws an error that says how to get them. Never skips. */
export function findPhpBinaries(): PhpBinaries {
  return {
    php: locate('PHP_BIN', 'php', 'php8.2-cli'),
    phpCgi: locate('PHP_CGI_BIN', 'php-cgi', 'php8.2-cgi'),
  }
}

let staged: string | undefined
/**
 * runtime/src plus what assembly generates (the MIME table), staged once per test process as the layer's
 * /opt/php/runtime would hold it, and removed when the process exits.
 */
export function stagedRuntimeDir(): string {
  if (staged) return staged
  const dir = mkdtempSync(join(tmpdir(), 'runtime-staged-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  stageRuntime(join(repoRoot, 'runtime'), join(dir, 'bootstrap'), join(dir, 'runtime'))
  staged = join(dir, 'runtime')
  return staged
}

export interface RuntimeEnvOptions {
  /** _HANDLER, relative to the task root (default public/index.php) */
  handler?: string
  /** LAMBDA_TASK_ROOT (default the fixture app) */
  taskRoot?: string
  extra?: NodeJS.ProcessEnv
}

/**
 * Environment for running runtime/bootstrap from the repository: the binaries found above, the
 * fixture app as the task, and — standing in for the layer's /var/task/php/conf.d scan dir —
 * the app's php/conf.d appended to php-cgi's ini scan path.
 */
export function runtimeEnv(binaries: PhpBinaries, options: RuntimeEnvOptions = {}): NodeJS.ProcessEnv {
  const taskRoot = options.taskRoot ?? fixtureApp
  return {
    PHP_LAYER_PHP: binaries.php,
    PHP_LAYER_CGI: binaries.phpCgi,
    PHP_LAYER_RUNTIME_DIR: stagedRuntimeDir(),
    LAMBDA_TASK_ROOT: taskRoot,
    _HANDLER: options.handler ?? 'public/index.php',
    PHP_INI_SCAN_DIR: `:${join(taskRoot, 'php/conf.d')}`,
    ...options.extra,
  }
}
