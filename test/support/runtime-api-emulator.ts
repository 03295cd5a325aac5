/**
 * An in-process emulator of the AWS Lambda Runtime API (version 2018-06-01), for testing a
 * custom runtime (a `bootstrap`) without AWS.
 *
 * It follows the documented contract:
 * - `GET  /2018-06-01/runtime/invocation/next` blocks until an event is queued, then answers 200
 *   with the payload and the headers Lambda-Runtime-Aws-Request-Id, -Deadline-Ms (epoch ms),
 *   -Invoked-Function-Arn, -Trace-Id, and -Client-Context / -Cognito-Identity when given.
 * - `POST /2018-06-01/runtime/invocation/{id}/response` → 202 `{"status":"OK"}`; a payload over
 *   6 MB (6291556 bytes) → 413 `{"errorMessage":"Exceeded maximum allowed payload size (6291556
 *   bytes).","errorType":"RequestEntityTooLarge"}` and the invocation fails with
 *   Function.ResponseSizeTooLarge, as the caller of a real function would see.
 * - Streamed responses: the same POST with `Lambda-Runtime-Function-Response-Mode: streaming` and a
 *   chunked body → 202 once the body ends. For `application/vnd.awslambda.http-integration-response`
 *   the body is a JSON prelude (statusCode, headers, cookies), eight NUL bytes, then the response
 *   body. Error trailers (Lambda-Runtime-Function-Error-Type, and -Error-Body as base64 JSON) make
 *   the invocation fail with that error, keeping what was streamed. Streams over 200 MiB fail with
 *   Function.ResponseSizeTooLarge. The result records when each part of the body arrived.
 * - `POST /2018-06-01/runtime/invocation/{id}/error` (Lambda-Runtime-Function-Error-Type header,
 *   JSON body `{errorMessage, errorType, stackTrace}`) → 202.
 * - `POST /2018-06-01/runtime/init/error` → 202; queued invocations fail with that error.
 * - Unknown request id → 400 InvalidRequestID; answering twice, or calling /next while an
 *   invocation is unanswered → 403 InvalidStateTransition (also recorded in `violations`).
 * - Deadlines: each invocation's deadline is delivery time + `timeoutMs`. If it passes without an
 *   answer the invocation ends as `timeout` ("Task timed out after N seconds") and the attached
 *   sandbox is killed, as Lambda resets the execution environment.
 *
 * It listens on 127.0.0.1 on an ephemeral port; `address` is the value for AWS_LAMBDA_RUNTIME_API.
 *
 * @example
 *   const api = await RuntimeApiEmulator.start()
 *   const sandbox = api.spawnSandbox({ command: '/opt/bootstrap', env: { _HANDLER: 'index.php' } })
 *   const result = await api.invoke({ version: '2.0', ... }, { timeoutMs: 3000 })
 *   if (result.kind === 'response') console.log(result.json)
 *   await api.close()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomFillSync, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { createHttp1Server, type Http1Reply, type Http1Request } from './http1-server.ts'

/** Largest synchronous response the Runtime API accepts (6 MB plus 100 bytes, as Lambda counts). */
export const MAX_RESPONSE_BYTES = 6_291_556

const PREFIX = '/2018-06-01/runtime'
/** How many answered request ids are remembered, to tell "answered twice" (403) from "unknown" (400). */
const FINISHED_IDS_KEPT = 10_000

export interface InvokeOptions {
  /** Function timeout in ms; the deadline is delivery time + this. Default 30 000. */
  timeoutMs?: number
  requestId?: string
  functionArn?: string
  /** X-Ray header; a fresh `Root=…;Parent=…;Sampled=0` is made up when omitted. */
  traceId?: string
  clientContext?: unknown
  cognitoIdentity?: unknown
}

/** The standard Lambda error document. */
export interface LambdaErrorBody {
  errorMessage?: string
  errorType?: string
  stackTrace?: unknown
}

interface ResultBase {
  requestId: string
  /** performance.now() when the runtime received the event (undefined if it never did) */
  deliveredAt: number | undefined
  /** performance.now() when the invocation ended */
  completedAt: number
  /** Lambda-Runtime-Deadline-Ms sent with the event (0 if never delivered) */
  deadlineMs: number
}

/** Largest streamed response (200 MiB). */
export const MAX_STREAMED_RESPONSE_BYTES = 200 * 1024 * 1024

/** What arrived of a streamed response. */
export interface StreamedResponse {
  contentType: string
  /** the http-integration-response prelude (statusCode, headers, cookies), if the stream had one */
  prelude: Record<string, unknown> | undefined
  /** the response body: after the prelude and its eight NUL bytes, or the whole stream */
  body: Buffer
  /** performance.now() when the first byte of the body (after the prelude) arrived, if any did */
  firstBodyByteAt: number | undefined
  /** performance.now() when the stream ended */
  endedAt: number
  trailers: Record<string, string>
}

export interface ResponseResult extends ResultBase {
  kind: 'response'
  payload: Buffer
  text: string
  /** the payload parsed as JSON, or undefined if it is not JSON */
  json: unknown
  /** set for a streamed response */
  stream?: StreamedResponse
}

export interface ErrorResult extends ResultBase {
  kind: 'error'
  /** 'init' when the runtime failed to start and this invocation was answered with that */
  phase: 'invoke' | 'init'
  /** the Lambda-Runtime-Function-Error-Type header, else errorType from the body */
  errorType: string | undefined
  error: LambdaErrorBody | undefined
  payload: Buffer
  /** for an error reported in the trailers of a streamed response: what had been streamed */
  stream?: StreamedResponse
}

export interface TimeoutResult extends ResultBase {
  kind: 'timeout'
  message: string
}

export interface SandboxExitedResult extends ResultBase {
  kind: 'sandbox-exited'
  code: number | null
  signal: NodeJS.Signals | null
}

export type InvocationResult = ResponseResult | ErrorResult | TimeoutResult | SandboxExitedResult

export interface InitErrorReport {
  errorType: string | undefined
  error: LambdaErrorBody | undefined
  at: number
}

export interface SandboxOptions {
  command: string
  args?: string[]
  /** Added to a minimal Lambda-like environment (PATH, LANG, AWS_LAMBDA_RUNTIME_API, TZ…). */
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** Copy the sandbox's stderr/stdout to this process's stderr (default: only if DEBUG_SANDBOX=1). */
  echo?: boolean
}

/** A runtime process started like Lambda starts `bootstrap`, in its own process group. */
export class Sandbox {
  readonly process: ChildProcess
  /** performance.now() at spawn */
  readonly startedAt: number
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Set when the emulator killed it because an invocation ran past its deadline. */
  killedForTimeout = false
  private output = ''
  private waiters: Array<{ test: (s: string) => boolean; resolve: () => void }> = []
  private hasExited = false

  constructor(options: SandboxOptions, runtimeApi: string) {
    const echo = options.echo ?? process.env.DEBUG_SANDBOX === '1'
    this.startedAt = performance.now()
    this.process = spawn(options.command, options.args ?? [], {
      cwd: options.cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_NAME: 'emulated-function',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        ...options.env,
        AWS_LAMBDA_RUNTIME_API: runtimeApi,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so kill() reaches php-cgi and any other child too
    })
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString('utf8')
      this.output += text
      if (echo) process.stderr.write(text)
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(this.output)) return true
        w.resolve()
        return false
      })
    }
    this.process.stdout?.on('data', collect)
    this.process.stderr?.on('data', collect)
    this.exited = new Promise((resolve) => {
      this.process.on('exit', (code, signal) => {
        this.hasExited = true
        resolve({ code, signal })
      })
      this.process.on('error', (error) => {
        this.hasExited = true
        this.output += `\n[sandbox] could not start ${options.command}: ${error.message}\n`
        resolve({ code: null, signal: null })
      })
    })
  }

  get pid(): number | undefined {
    return this.process.pid
  }

  get running(): boolean {
    return !this.hasExited
  }

  /** Everything the sandbox printed so far (stdout and stderr interleaved, as CloudWatch would get it). */
  get logs(): string {
    return this.output
  }

  /** Resolves once the logs match (or contain) `pattern`; rejects after `timeoutMs`. */
  waitForLog(pattern: RegExp | string, timeoutMs = 5000): Promise<void> {
    const test = (s: string): boolean => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s))
    if (test(this.output)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sandbox log never matched ${String(pattern)}; log so far:\n${this.output}`)), timeoutMs)
      this.waiters.push({ test, resolve: () => { clearTimeout(timer); resolve() } })
    })
  }

  /**
   * Signals the whole process group (default SIGKILL, as Lambda does when it resets an
   * environment). Also after the bootstrap itself has exited: its children may not have.
   */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.process.pid === undefined) return
    try {
      process.kill(-this.process.pid, signal)
    } catch {
      // already gone
    }
  }

  /** Kills the process group and waits for the bootstrap to exit. */
  async stop(): Promise<void> {
    this.kill('SIGKILL')
    await this.exited
  }
}

interface Pending {
  requestId: string
  payload: Buffer
  options: InvokeOptions
  resolve: (result: InvocationResult) => void
  reject: (error: Error) => void
}

interface Active extends Pending {
  deliveredAt: number
  deadlineMs: number
  timer: NodeJS.Timeout
}

export class RuntimeApiEmulator {
  /** Protocol misuse seen from the runtime (each also answered with a 4xx). */
  readonly violations: string[] = []
  /** How many times the runtime called /next. */
  nextCalls = 0
  /** performance.now() of the first /next call. */
  firstNextAt: number | undefined
  initError: InitErrorReport | undefined

  private readonly queue: Pending[] = []
  private readonly active = new Map<string, Active>()
  private readonly finished = new Set<string>()
  /** /next calls waiting for an event (at most one, unless `concurrency` > 1) */
  private waitingNext: Http1Reply[] = []
  private nextWaiters: Array<(at: number) => void> = []
  private readyWaiters: Array<() => void> = []
  private initErrorWaiters: Array<(report: InitErrorReport) => void> = []
  private sandbox: Sandbox | undefined
  private closed = false

  private constructor(
    private readonly server: ReturnType<typeof createHttp1Server>,
    /** invocations in flight at once (AWS_LAMBDA_MAX_CONCURRENCY, as on Lambda Managed Instances) */
    readonly concurrency: number,
  ) {}

  /**
   * Starts an emulator on 127.0.0.1 with an ephemeral port. With `concurrency` > 1 it hands out up to that many
   * invocations at once, each to its own waiting /next call, as Lambda Managed Instances do.
   */
  static async start(options: { concurrency?: number } = {}): Promise<RuntimeApiEmulator> {
    const concurrency = options.concurrency ?? 1
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`concurrency must be a positive whole number, not ${concurrency}`)
    let emulator: RuntimeApiEmulator | undefined
    // Connections are kept for the life of the sandbox, as the real Runtime API keeps them.
    // Streamed responses may be large; buffered ones are held to MAX_RESPONSE_BYTES by their size.
    const server = createHttp1Server({ maxBodyBytes: MAX_STREAMED_RESPONSE_BYTES }, (req, res) => {
      try {
        emulator?.route(req, res)
      } catch (error) {
        send(res, 500, { errorMessage: String(error), errorType: 'InternalServerError' })
      }
    })
    emulator = new RuntimeApiEmulator(server, concurrency)
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    return emulator
  }

  /** host:port, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    const { address, port } = this.server.address() as AddressInfo
    return `${address}:${port}`
  }

  /**
   * Queues an invocation and resolves when it ends (response, error, timeout or sandbox exit).
   * Objects are sent as JSON; a string or Buffer is sent as is (to test malformed payloads).
   */
  invoke(event: unknown, options: InvokeOptions = {}): Promise<InvocationResult> {
    if (this.closed) return Promise.reject(new Error('the Runtime API emulator is closed'))
    const payload = Buffer.isBuffer(event) ? event : Buffer.from(typeof event === 'string' ? event : JSON.stringify(event))
    return new Promise((resolve, reject) => {
      this.queue.push({ requestId: options.requestId ?? randomUUID(), payload, options, resolve, reject })
      this.deliver()
    })
  }

  /**
   * Starts a runtime process with AWS_LAMBDA_RUNTIME_API pointing here and attaches it: it is
   * killed when an invocation passes its deadline, and its exit ends the invocation in flight.
   */
  spawnSandbox(options: SandboxOptions): Sandbox {
    const sandbox = new Sandbox(options, this.address)
    this.attach(sandbox)
    return sandbox
  }

  /** Attaches a sandbox started elsewhere (see spawnSandbox). */
  attach(sandbox: Sandbox): void {
    this.sandbox = sandbox
    void sandbox.exited.then(({ code, signal }) => {
      if (this.sandbox !== sandbox) return
      for (const invocation of [...this.active.values()]) {
        this.finish(invocation, { kind: 'sandbox-exited', code, signal })
      }
      this.dropWaitingNext()
    })
  }

  /** Resolves with performance.now() at the next /next call (or the current one, if a call is waiting). */
  waitForNext(): Promise<number> {
    return new Promise((resolve) => this.nextWaiters.push(resolve))
  }

  /**
   * Resolves once the runtime is waiting in /next with nothing in flight: the state of a warm
   * function between requests. Benchmarks await it before starting a clock.
   */
  ready(): Promise<void> {
    if (this.isReady()) return Promise.resolve()
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  /** Resolves when the runtime reports an init error. */
  waitForInitError(): Promise<InitErrorReport> {
    if (this.initError) return Promise.resolve(this.initError)
    return new Promise((resolve) => this.initErrorWaiters.push(resolve))
  }

  /** Stops listening; queued and running invocations are rejected. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    const error = new Error('the Runtime API emulator was closed')
    for (const pending of this.queue.splice(0)) pending.reject(error)
    for (const invocation of this.active.values()) {
      clearTimeout(invocation.timer)
      invocation.reject(error)
    }
    this.active.clear()
    this.dropWaitingNext()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private route(req: Http1Request, res: Http1Reply): void {
    const url = req.url
    if (url === `${PREFIX}/invocation/next`) {
      if (req.method !== 'GET') return send(res, 405, { errorMessage: 'use GET', errorType: 'MethodNotAllowed' })
      return this.onNext(res)
    }
    if (url === `${PREFIX}/init/error` && req.method === 'POST') {
      return this.onInitError(req, res)
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url)
    if (match && req.method === 'POST') {
      const requestId = decodeURIComponent(match[1] ?? '')
      return match[2] === 'response' ? this.onResponse(requestId, req, res) : this.onError(requestId, req, res)
    }
    send(res, 404, { errorMessage: `no such Runtime API route: ${req.method} ${url}`, errorType: 'NotFound' })
  }

  private onNext(res: Http1Reply): void {
    this.nextCalls++
    const now = performance.now()
    this.firstNextAt ??= now
    for (const waiter of this.nextWaiters.splice(0)) waiter(now)
    if (this.concurrency === 1 && this.active.size > 0) {
      const ids = [...this.active.keys()].join(', ')
      this.violation(`/next called while invocation ${ids} was unanswered`)
      return send(res, 403, { errorMessage: `State transition from Invoking to Ready failed: invocation ${ids} has no response or error yet`, errorType: 'InvalidStateTransition' })
    }
    this.waitingNext = this.waitingNext.filter((w) => !w.done)
    if (this.active.size + this.waitingNext.length >= this.concurrency) {
      const what = this.concurrency === 1 ? 'a second /next call while one was already waiting' : `more than ${this.concurrency} /next calls and invocations at once`
      this.violation(what)
      return send(res, 403, { errorMessage: this.concurrency === 1 ? 'another /next call is already waiting' : `at most ${this.concurrency} concurrent invocations`, errorType: 'InvalidStateTransition' })
    }
    if (this.initError) {
      this.violation('/next called after /init/error')
      return send(res, 403, { errorMessage: 'the runtime reported an init error and should exit', errorType: 'InvalidStateTransition' })
    }
    this.waitingNext.push(res)
    res.onClose(() => {
      this.waitingNext = this.waitingNext.filter((w) => w !== res)
    })
    this.deliver()
    if (this.readyWaiters.length > 0 && this.isReady()) {
      for (const waiter of this.readyWaiters.splice(0)) waiter()
    }
  }

  /** Every worker waits in /next and nothing is in flight. */
  private isReady(): boolean {
    return this.waitingNext.filter((w) => !w.done).length === this.concurrency && this.active.size === 0 && this.queue.length === 0
  }

  private deliver(): void {
    while (this.queue.length > 0 && this.active.size < this.concurrency) {
      const res = this.waitingNext.shift()
      if (!res) return
      if (res.done) continue
      this.deliverTo(res, this.queue.shift()!)
    }
  }

  private deliverTo(res: Http1Reply, pending: Pending): void {
    const timeoutMs = pending.options.timeoutMs ?? 30_000
    const deliveredAt = performance.now()
    const deadlineMs = Date.now() + timeoutMs
    const timer = setTimeout(() => this.onDeadline(pending.requestId), timeoutMs)
    const invocation = pending as Active
    invocation.deliveredAt = deliveredAt
    invocation.deadlineMs = deadlineMs
    invocation.timer = timer
    this.active.set(pending.requestId, invocation)
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': pending.payload.length,
      'Lambda-Runtime-Aws-Request-Id': pending.requestId,
      'Lambda-Runtime-Deadline-Ms': deadlineMs,
      'Lambda-Runtime-Invoked-Function-Arn': pending.options.functionArn ?? 'arn:aws:lambda:us-east-1:123456789012:function:emulated-function',
      'Lambda-Runtime-Trace-Id': pending.options.traceId ?? makeTraceId(),
    }
    if (pending.options.clientContext !== undefined) headers['Lambda-Runtime-Client-Context'] = JSON.stringify(pending.options.clientContext)
    if (pending.options.cognitoIdentity !== undefined) headers['Lambda-Runtime-Cognito-Identity'] = JSON.stringify(pending.options.cognitoIdentity)
    res.send(200, headers, pending.payload)
  }

  private onDeadline(requestId: string): void {
    const invocation = this.active.get(requestId)
    if (!invocation) return
    const seconds = ((invocation.options.timeoutMs ?? 30_000) / 1000).toFixed(2)
    this.finish(invocation, { kind: 'timeout', message: `Task timed out after ${seconds} seconds` })
    // Lambda does not reuse an environment whose invocation timed out.
    if (this.sandbox?.running) {
      this.sandbox.killedForTimeout = true
      this.sandbox.kill('SIGKILL')
    }
  }

  private onResponse(requestId: string, req: Http1Request, res: Http1Reply): void {
    const { body, size } = req
    const invocation = this.checkState(requestId, res)
    if (!invocation) return
    if ((header(req, 'lambda-runtime-function-response-mode') ?? '').toLowerCase() === 'streaming') {
      this.onStreamedResponse(invocation, req, res)
      return
    }
    if (size > MAX_RESPONSE_BYTES) {
      const error = { errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`, errorType: 'Function.ResponseSizeTooLarge' }
      send(res, 413, { errorMessage: `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`, errorType: 'RequestEntityTooLarge' })
      this.finish(invocation, { kind: 'error', phase: 'invoke', errorType: error.errorType, error, payload: Buffer.from(JSON.stringify(error)) })
      return
    }
    send(res, 202, { status: 'OK' })
    const text = body.toString('utf8')
    this.finish(invocation, { kind: 'response', payload: body, text, json: parseJson(text) })
  }

  private onStreamedResponse(invocation: Active, req: Http1Request, res: Http1Reply): void {
    const endedAt = performance.now()
    const contentType = header(req, 'content-type') ?? ''
    if ((header(req, 'transfer-encoding') ?? '').toLowerCase() !== 'chunked') this.violation('a streamed response must be sent with Transfer-Encoding: chunked')
    let prelude: Record<string, unknown> | undefined
    let bodyStart = 0
    if (contentType === 'application/vnd.awslambda.http-integration-response') {
      const nul = req.body.indexOf(Buffer.alloc(8))
      if (nul < 0) {
        this.violation('an http-integration-response stream without the eight NUL bytes after its prelude')
      } else {
        prelude = parseJson(req.body.toString('utf8', 0, nul)) as Record<string, unknown> | undefined
        if (!prelude || typeof prelude !== 'object') this.violation('the http-integration-response prelude is not a JSON object')
        bodyStart = nul + 8
      }
    }
    const stream: StreamedResponse = {
      contentType,
      prelude,
      body: req.body.subarray(bodyStart),
      firstBodyByteAt: req.arrivals.find((a) => a.size > bodyStart)?.at,
      endedAt,
      trailers: req.trailers,
    }
    if (req.size > MAX_STREAMED_RESPONSE_BYTES) {
      send(res, 413, { errorMessage: `Exceeded maximum allowed payload size (${MAX_STREAMED_RESPONSE_BYTES} bytes).`, errorType: 'RequestEntityTooLarge' })
      const error = { errorMessage: `Response payload size (${req.size} bytes) exceeded maximum allowed streamed payload size (${MAX_STREAMED_RESPONSE_BYTES} bytes).`, errorType: 'Function.ResponseSizeTooLarge' }
      this.finish(invocation, { kind: 'error', phase: 'invoke', errorType: error.errorType, error, payload: Buffer.from(JSON.stringify(error)), stream })
      return
    }
    send(res, 202, { status: 'OK' })
    const errorType = req.trailers['lambda-runtime-function-error-type']
    if (errorType !== undefined) {
      const encoded = req.trailers['lambda-runtime-function-error-body'] ?? ''
      const payload = Buffer.from(encoded, 'base64')
      this.finish(invocation, { kind: 'error', phase: 'invoke', errorType, error: parseJson(payload.toString('utf8')) as LambdaErrorBody | undefined, payload, stream })
      return
    }
    const text = req.body.toString('utf8')
    this.finish(invocation, { kind: 'response', payload: req.body, text, json: undefined, stream })
  }

  private onError(requestId: string, req: Http1Request, res: Http1Reply): void {
    const { body } = req
    const invocation = this.checkState(requestId, res)
    if (!invocation) return
    send(res, 202, { status: 'OK' })
    const error = parseJson(body.toString('utf8')) as LambdaErrorBody | undefined
    const errorType = header(req, 'lambda-runtime-function-error-type') ?? error?.errorType
    this.finish(invocation, { kind: 'error', phase: 'invoke', errorType, error, payload: body })
  }

  private onInitError(req: Http1Request, res: Http1Reply): void {
    const { body } = req
    if (this.initError) {
      this.violation('/init/error reported twice')
      return send(res, 403, { errorMessage: 'init error already reported', errorType: 'InvalidStateTransition' })
    }
    send(res, 202, { status: 'OK' })
    const error = parseJson(body.toString('utf8')) as LambdaErrorBody | undefined
    const report: InitErrorReport = { errorType: header(req, 'lambda-runtime-function-error-type') ?? error?.errorType, error, at: performance.now() }
    this.initError = report
    for (const waiter of this.initErrorWaiters.splice(0)) waiter(report)
    // Lambda answers the invocation that triggered the init with the init error.
    for (const pending of this.queue.splice(0)) {
      pending.resolve({
        kind: 'error', phase: 'init', requestId: pending.requestId, deliveredAt: undefined, completedAt: performance.now(),
        deadlineMs: 0, errorType: report.errorType, error, payload: body,
      })
    }
  }

  private checkState(requestId: string, res: Http1Reply): Active | undefined {
    const invocation = this.active.get(requestId)
    if (invocation) return invocation
    if (this.finished.has(requestId)) {
      this.violation(`second answer for invocation ${requestId}`)
      send(res, 403, { errorMessage: `Invalid state transition: invocation ${requestId} was already answered (or timed out)`, errorType: 'InvalidStateTransition' })
    } else {
      this.violation(`answer for unknown invocation ${requestId}`)
      send(res, 400, { errorMessage: `Invalid request ID: ${requestId}`, errorType: 'InvalidRequestID' })
    }
    return undefined
  }

  private finish(invocation: Active, outcome: DistributiveOmit<InvocationResult, keyof ResultBase>): void {
    clearTimeout(invocation.timer)
    this.active.delete(invocation.requestId)
    this.finished.add(invocation.requestId)
    if (this.finished.size > FINISHED_IDS_KEPT) {
      for (const oldest of this.finished) {
        this.finished.delete(oldest)
        break
      }
    }
    // The outcome object becomes the result (no copy: this runs once per invocation).
    const result = outcome as InvocationResult
    result.requestId = invocation.requestId
    result.deliveredAt = invocation.deliveredAt
    result.completedAt = performance.now()
    result.deadlineMs = invocation.deadlineMs
    invocation.resolve(result)
    this.deliver()
  }

  private dropWaitingNext(): void {
    for (const res of this.waitingNext.splice(0)) if (!res.done) res.destroy()
  }

  private violation(message: string): void {
    this.violations.push(message)
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

function send(res: Http1Reply, status: number, body: unknown): void {
  res.send(status, { 'Content-Type': 'application/json' }, JSON.stringify(body))
}

function header(req: Http1Request, name: string): string | undefined {
  return req.headers[name]
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

// Random bytes for trace ids, drawn from the system in batches: one randomBytes() call per id
// cost more than the rest of an invocation's bookkeeping (the same trick randomUUID() uses).
const TRACE_ID_BYTES = 20
const traceEntropy = Buffer.alloc(TRACE_ID_BYTES * 256)
let traceEntropyOffset = traceEntropy.length

/** An X-Ray trace header in Lambda's format: Root=1-<8 hex epoch s>-<24 hex>;Parent=<16 hex>;Sampled=0. */
export function makeTraceId(): string {
  if (traceEntropyOffset === traceEntropy.length) {
    randomFillSync(traceEntropy)
    traceEntropyOffset = 0
  }
  const start = traceEntropyOffset
  traceEntropyOffset += TRACE_ID_BYTES
  const epoch = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0')
  return `Root=1-${epoch}-${traceEntropy.toString('hex', start, start + 12)};Parent=${traceEntropy.toString('hex', start + 12, start + TRACE_ID_BYTES)};Sampled=0`
}
