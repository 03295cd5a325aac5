// What `npm run serve` does once commander has parsed it: check the flags, start the server, stop on Ctrl-C.
import { defaultCacheDir } from '../build.ts'
import { UsageError } from '../errors.ts'
import type { ServeCommandOptions } from './command.ts'
import { serve } from './serve.ts'

function intFlag(value: string, flag: string, min: number, max: number): number {
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new UsageError(`${flag} is "${value}"; accepted: a whole number from ${min} to ${max}`)
  return n
}

export function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const pair of pairs) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(pair)
    if (!m) throw new UsageError(`--env "${pair}"; accepted: KEY=VALUE with KEY made of letters, digits and _`)
    env[m[1]!] = m[2]!
  }
  return env
}

export async function serveAction(appDir: string, opts: ServeCommandOptions, root: string): Promise<void> {
  const running = await serve({
    root,
    cacheDir: defaultCacheDir(root),
    appDir,
    handler: opts.handler,
    source: opts.source,
    port: intFlag(opts.port, '--port', 0, 65535),
    ...(opts.layer !== undefined ? { layer: opts.layer } : {}),
    // Lambda's own limits: 1 s to 15 min.
    timeoutSeconds: intFlag(opts.timeout, '--timeout', 1, 900),
    env: parseEnv(opts.env),
    out: (line) => void process.stderr.write(line + '\n'),
  })
  process.stderr.write('Ctrl-C stops it.\n')
  await new Promise<void>((done) => {
    const stop = () => {
      process.stderr.write('stopping\n')
      void running.close().then(done)
    }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
}
