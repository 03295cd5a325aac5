// Runs the project's own npm scripts as a user would.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

export const projectRoot = join(import.meta.dirname, '..', '..')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  ms: number
}

export function npmRun(script: string, args: string[], env: Record<string, string> = {}): CliResult {
  const t0 = performance.now()
  const r = spawnSync('npm', ['run', '-s', script, '--', ...args], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  // npm prints its own config warnings on stderr; they are not ours.
  const stderr = r.stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n')
  return { code: r.status ?? 128, stdout: r.stdout, stderr, ms: performance.now() - t0 }
}
