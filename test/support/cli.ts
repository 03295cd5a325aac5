// Runs the project's own npm scripts as a user would.
import { spawn, spawnSync } from 'node:child_process'
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

/** As npmRun, without blocking this process (for tests that serve the command from in-process fakes). */
export function npmRunAsync(script: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const t0 = performance.now()
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '-s', script, '--', ...args], { cwd: projectRoot, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('close', (code) => {
      resolve({ code: code ?? 128, stdout, stderr: stderr.split('\n').filter((l) => !l.startsWith('npm warn')).join('\n'), ms: performance.now() - t0 })
    })
  })
}
