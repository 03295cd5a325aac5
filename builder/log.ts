// Progress output and the command log. Progress goes to stderr so `--json` keeps stdout to one JSON document.

export interface Logger {
  /** A step is starting (long steps only; prints "… name"). */
  start(step: string): void
  /** A step finished: "✓ name (1.2s)". */
  done(step: string, ms: number, extra?: string): void
  fail(step: string, ms: number, why: string): void
  info(message: string): void
  /** Recorded only when verbose: argv, cwd, exit code, duration of every external command. */
  command(line: string): void
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`
}

export function createLogger(opts: { verbose?: boolean; quiet?: boolean; stream?: NodeJS.WritableStream } = {}): Logger {
  const out = opts.stream ?? process.stderr
  const write = (s: string) => {
    if (!opts.quiet) out.write(s + '\n')
  }
  return {
    start: (step) => write(`… ${step}`),
    done: (step, ms, extra) => write(`✓ ${step} (${seconds(ms)})${extra ? ` ${extra}` : ''}`),
    fail: (step, ms, why) => write(`✗ ${step} (${seconds(ms)}): ${why}`),
    info: (m) => write(m),
    command: (line) => {
      if (opts.verbose) write(`  $ ${line}`)
    },
  }
}

/** Runs `fn` as a named step with start/done/fail lines. */
export async function step<T>(log: Logger, name: string, fn: () => Promise<T>, opts: { announce?: boolean } = {}): Promise<T> {
  const t0 = performance.now()
  if (opts.announce) log.start(name)
  try {
    const result = await fn()
    log.done(name, performance.now() - t0)
    return result
  } catch (e) {
    log.fail(name, performance.now() - t0, (e as Error).message.split('\n')[0] ?? String(e))
    throw e
  }
}
