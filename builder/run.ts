// The one runner for external commands. Every call is recorded (argv, cwd, exit code, duration) in the command
// log and, with --verbose, on stderr. Arguments are passed as an array, each quoted on its own by zx, so no
// value is ever re-split by a shell.
import { appendFileSync, createWriteStream, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { $, type ProcessOutput } from 'zx'
import { seconds, type Logger } from './log.ts'

export interface RunOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** Append stdout+stderr here (long steps such as make); the path appears in failure messages. */
  logFile?: string
  input?: string | Buffer
  /** Kill the command after this many ms. */
  timeoutMs?: number
  /** Called with each complete line of stdout and stderr as it arrives (progress from long builds). */
  onLine?: (line: string) => void
}

export interface RunResult {
  exitCode: number
  stdout: string
  stderr: string
  ms: number
}

export interface Runner {
  (argv: string[], opts?: RunOptions): Promise<RunResult>
  /** Path of the command log, if any. */
  readonly commandLog: string | undefined
}

export function createRunner(log: Logger, commandLog?: string): Runner {
  if (commandLog) mkdirSync(dirname(commandLog), { recursive: true })
  const fn = async (argv: string[], opts: RunOptions = {}): Promise<RunResult> => {
    const t0 = performance.now()
    const p = $({
      cwd: opts.cwd ?? process.cwd(),
      env: { ...process.env, ...opts.env },
      nothrow: true,
      quiet: true,
      verbose: false,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      ...(opts.timeoutMs ? { timeout: opts.timeoutMs } : {}),
    })`${argv}`
    // The log is complete on disk before the result is returned: callers quote its last line in their errors.
    let logWritten: Promise<void> = Promise.resolve()
    if (opts.logFile) {
      mkdirSync(dirname(opts.logFile), { recursive: true })
      const ws = createWriteStream(opts.logFile, { flags: 'a' })
      p.stdout.pipe(ws, { end: false })
      p.stderr.pipe(ws, { end: false })
      logWritten = new Promise<void>((resolve) => {
        void p.finally(() => ws.end(resolve))
      })
    }
    if (opts.onLine) {
      const onLine = opts.onLine
      for (const stream of [p.stdout, p.stderr]) {
        let pending = ''
        stream.on('data', (chunk: Buffer) => {
          const lines = (pending + chunk.toString('utf8')).split('\n')
          pending = lines.pop() ?? ''
          for (const l of lines) onLine(l)
        })
        stream.on('end', () => {
          if (pending) onLine(pending)
        })
      }
    }
    const out: ProcessOutput = await p
    await logWritten
    const ms = performance.now() - t0
    const exitCode = out.exitCode ?? 128
    const line = `${argv.map((a) => (/[\s'"$]/.test(a) ? JSON.stringify(a) : a)).join(' ')}  [cwd ${opts.cwd ?? '.'}] → exit ${exitCode} in ${seconds(ms)}`
    log.command(line)
    if (commandLog) appendFileSync(commandLog, `${new Date().toISOString()} ${line}\n`)
    return { exitCode, stdout: out.stdout, stderr: out.stderr, ms }
  }
  return Object.assign(fn, { commandLog }) as Runner
}
