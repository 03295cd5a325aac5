// A small Lambda Runtime API (2018-06-01) for driving a layer's /opt/bootstrap outside Lambda: the smoke test's
// event checks use it, and so can anything that needs to hand a running bootstrap one event at a time. It does what
// a runtime needs to run (next → response | error, init/error, deadlines); the full emulator with the contract's
// corner cases (403/413 answers, streaming, violations, concurrency) lives in test/support/runtime-api-emulator.ts.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

const PREFIX = '/2018-06-01/runtime'

export type RuntimeResult =
  | { kind: 'response'; requestId: string; payload: Buffer; json: unknown }
  | { kind: 'error'; requestId: string; phase: 'invoke' | 'init'; errorType: string | undefined; payload: Buffer }
  | { kind: 'timeout'; requestId: string; message: string }

interface Pending {
  id: string
  body: Buffer
  timeoutMs: number
  resolve: (r: RuntimeResult) => void
  timer?: NodeJS.Timeout
}

export class RuntimeApi {
  /** host:port, the value for AWS_LAMBDA_RUNTIME_API. */
  readonly address: string
  private readonly queue: Pending[] = []
  private readonly inFlight = new Map<string, Pending>()
  private readonly waiting: ServerResponse[] = []
  private initError: { errorType: string | undefined; payload: Buffer } | undefined

  private constructor(private readonly server: Server) {
    const { port } = server.address() as AddressInfo
    this.address = `127.0.0.1:${port}`
  }

  static async start(): Promise<RuntimeApi> {
    let api: RuntimeApi | undefined
    const server = createServer((req, res) => void api!.handle(req, res))
    // The runtime keeps one connection open for /next for as long as it lives.
    server.keepAliveTimeout = 0
    server.requestTimeout = 0
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    api = new RuntimeApi(server)
    return api
  }

  /** Queues one event; resolves with the runtime's answer, or a timeout `timeoutMs` after delivery. */
  invoke(event: unknown, opts: { timeoutMs?: number } = {}): Promise<RuntimeResult> {
    return new Promise((resolve) => {
      const p: Pending = { id: randomUUID(), body: Buffer.from(JSON.stringify(event)), timeoutMs: opts.timeoutMs ?? 30_000, resolve }
      if (this.initError) return resolve({ kind: 'error', requestId: p.id, phase: 'init', ...this.initError })
      this.queue.push(p)
      this.deliver()
    })
  }

  async close(): Promise<void> {
    for (const res of this.waiting.splice(0)) res.destroy()
    for (const p of [...this.queue.splice(0), ...this.inFlight.values()]) {
      clearTimeout(p.timer)
      p.resolve({ kind: 'timeout', requestId: p.id, message: 'the Runtime API was closed' })
    }
    this.inFlight.clear()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private deliver(): void {
    while (this.queue.length && this.waiting.length) {
      const p = this.queue.shift()!
      const res = this.waiting.shift()!
      if (res.destroyed) {
        this.queue.unshift(p)
        continue
      }
      const deadline = Date.now() + p.timeoutMs
      this.inFlight.set(p.id, p)
      p.timer = setTimeout(() => this.finish(p.id, { kind: 'timeout', requestId: p.id, message: `Task timed out after ${(p.timeoutMs / 1000).toFixed(2)} seconds` }), p.timeoutMs)
      res.writeHead(200, {
        'content-type': 'application/json',
        // As Lambda's Runtime API does: a length, not a chunked body.
        'content-length': String(p.body.length),
        'lambda-runtime-aws-request-id': p.id,
        'lambda-runtime-deadline-ms': String(deadline),
        'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:123456789012:function:smoke',
        'lambda-runtime-trace-id': `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomUUID().replaceAll('-', '').slice(0, 24)};Parent=${randomUUID().replaceAll('-', '').slice(0, 16)};Sampled=0`,
      })
      res.end(p.body)
    }
  }

  private finish(id: string, result: RuntimeResult): boolean {
    const p = this.inFlight.get(id)
    if (!p) return false
    clearTimeout(p.timer)
    this.inFlight.delete(id)
    p.resolve(result)
    return true
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const body = Buffer.concat(chunks)
    const url = req.url ?? ''
    const answer = (status: number, doc: object) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(doc))
    }
    if (req.method === 'GET' && url === `${PREFIX}/invocation/next`) {
      this.waiting.push(res)
      this.deliver()
      return
    }
    const m = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url)
    if (req.method === 'POST' && m) {
      const id = decodeURIComponent(m[1]!)
      const errorType = req.headers['lambda-runtime-function-error-type'] as string | undefined
      const result: RuntimeResult = m[2] === 'response'
        ? { kind: 'response', requestId: id, payload: body, json: parseJson(body) }
        : { kind: 'error', requestId: id, phase: 'invoke', errorType: errorType ?? (parseJson(body) as { errorType?: string } | undefined)?.errorType, payload: body }
      if (!this.finish(id, result)) return answer(400, { errorMessage: `unknown or finished request id ${id}`, errorType: 'InvalidRequestID' })
      return answer(202, { status: 'OK' })
    }
    if (req.method === 'POST' && url === `${PREFIX}/init/error`) {
      const errorType = req.headers['lambda-runtime-function-error-type'] as string | undefined
      this.initError = { errorType, payload: body }
      for (const p of this.queue.splice(0)) p.resolve({ kind: 'error', requestId: p.id, phase: 'init', ...this.initError })
      return answer(202, { status: 'OK' })
    }
    answer(404, { errorMessage: `no such Runtime API route: ${req.method} ${url}`, errorType: 'NotFound' })
  }
}

function parseJson(b: Buffer): unknown {
  try {
    return JSON.parse(b.toString('utf8'))
  } catch {
    return undefined
  }
}

export interface RuntimeProcess {
  /** Resolves when the process exits (or could not start). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** stdout and stderr so far, interleaved as CloudWatch would get them. */
  readonly logs: string
  /** Kills the whole process group (the bootstrap and its php-cgi) and waits for the exit. */
  stop(): Promise<void>
}

/**
 * Starts argv in its own process group, as Lambda starts a bootstrap, collecting its output; `onOutput` also gets
 * each chunk as it arrives (npm run serve shows PHP's output live).
 */
export function spawnRuntime(argv: string[], env: NodeJS.ProcessEnv = {}, onOutput?: (text: string) => void): RuntimeProcess {
  const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let logs = ''
  const collect = (c: Buffer) => {
    const text = c.toString('utf8')
    logs += text
    onOutput?.(text)
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }))
    child.on('error', (e) => {
      logs += `\ncould not start ${argv[0]}: ${e.message}\n`
      resolve({ code: null, signal: null })
    })
  })
  return {
    exited,
    get logs() {
      return logs
    },
    async stop() {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
      await exited
    },
  }
}
