/**
 * `npm run bench -- runtime [--n=300] [--spawn-n=40] [--starts=7] [--handler=public/hello.php]`
 *
 * The same script (by default the hello world in test/fixtures/app/public/hello.php), invoked
 * sequentially:
 *  (a) through the Runtime API emulator with this runtime (persistent php-cgi over FastCGI);
 *  (b) through the emulator with a new php-cgi process per request (the starting approach,
 *      test/support/spawn-per-request-runtime.php);
 *  (c) as a bare FastCGI round-trip to php-cgi from here, with no Lambda in between (the limit),
 *      sending the same CGI params the runtime sends.
 * (a) and (c) alternate invocation by invocation, so a busy machine slows both alike; (b) runs
 * after them. Also measured, to show what the Lambda side costs on its own: the emulator with a
 * PHP loop that answers from the Runtime API client without running any PHP script ("floor"),
 * and (a) once more behind a minimal fixed-bytes Runtime API, alternating with its own (c) run.
 * Per-invocation time is from queuing the invocation (or sending the FastCGI request) to having
 * the answer. Each clock starts with the runtime waiting in /next and nothing in flight (as for
 * a warm function that gets a request), so every window holds its own invocation's work only.
 * Init time is bootstrap spawn → its first GET /next, over several cold starts.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { randomBytes, randomUUID } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { benchArgs } from './args.ts'
import { RuntimeApiEmulator, makeTraceId, type Sandbox } from '../support/runtime-api-emulator.ts'
import { findPhpBinaries, fixtureApp, fixtureEvents, repoRoot, runtimeBootstrap, runtimeEnv } from '../support/php.ts'


/** A valid PNG of about `bytes` bytes: random RGB pixels, which deflate cannot shrink. */
function makePng(bytes: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    return c >>> 0
  })
  const crc32 = (data: Buffer): number => {
    let c = 0xffffffff
    for (const byte of data) c = crcTable[(c ^ byte) & 0xff]! ^ (c >>> 8)
    return (c ^ 0xffffffff) >>> 0
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8)
    head.writeUInt32BE(data.length)
    head.write(type, 4, 'latin1')
    const tail = Buffer.alloc(4)
    tail.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])))
    return Buffer.concat([head, data, tail])
  }
  const width = 200
  const height = Math.ceil(bytes / (width * 3 + 1))
  const raw = randomBytes(height * (width * 3 + 1))
  for (let y = 0; y < height; y++) raw[y * (width * 3 + 1)] = 0
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 1 })), chunk('IEND', Buffer.alloc(0))])
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

/** A FastCGI responder client over one kept-alive connection: the bare round-trip of (c). */
class BareFastCgi {
  private buffer: Buffer = Buffer.alloc(0)
  private waiting: ((stdout: Buffer) => void) | undefined
  private stdout: Buffer[] = []

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
  }

  static async open(path: string): Promise<BareFastCgi> {
    for (let attempt = 0; ; attempt++) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path, () => resolve(s))
          s.once('error', reject)
        })
        return new BareFastCgi(socket)
      } catch (error) {
        if (attempt > 500) throw error
        await sleep(10)
      }
    }
  }

  request(params: Record<string, string>): Promise<Buffer> {
    const pairs = Buffer.concat(Object.entries(params).map(([name, value]) => {
      const n = Buffer.from(name)
      const v = Buffer.from(value)
      return Buffer.concat([length(n.length), length(v.length), n, v])
    }))
    const message = Buffer.concat([
      record(1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])), // BEGIN_REQUEST: responder, keep connection
      record(4, pairs), record(4, Buffer.alloc(0)), // PARAMS (small enough for one record)
      record(5, Buffer.alloc(0)), // empty STDIN
    ])
    return new Promise((resolve) => {
      this.waiting = resolve
      this.socket.write(message)
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk
    while (this.buffer.length >= 8) {
      const type = this.buffer[1] ?? 0
      const size = 8 + this.buffer.readUInt16BE(4) + (this.buffer[6] ?? 0)
      if (this.buffer.length < size) return
      const content = this.buffer.subarray(8, 8 + this.buffer.readUInt16BE(4))
      this.buffer = this.buffer.subarray(size)
      if (type === 6) this.stdout.push(content)
      if (type === 3) {
        const done = this.waiting
        this.waiting = undefined
        const out = Buffer.concat(this.stdout)
        this.stdout = []
        done?.(out)
      }
    }
  }
}

/**
 * The least a Runtime API can do: fixed response bytes, a request parser that only looks for the
 * end of the head and Content-Length, no state checks, no deadlines. Not an emulator — it exists
 * to show how much of (a) is the Lambda side's two HTTP messages and one extra process hop,
 * which no runtime can avoid: "(a) minimal" is this runtime with the Lambda side made as cheap as
 * it can be made.
 */
class MinimalRuntimeApi {
  private waiting: Socket | undefined
  private onNext: (() => void) | undefined
  private onAnswer: ((body: Buffer) => void) | undefined
  private readonly server = createServer({ noDelay: true }, (socket) => {
    let buffer: Buffer = Buffer.alloc(0)
    socket.on('data', (data: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, data]) : data
      for (;;) {
        const end = buffer.indexOf('\r\n\r\n')
        if (end < 0) return
        const head = buffer.toString('latin1', 0, end)
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0)
        if (buffer.length < end + 4 + length) return
        const body = buffer.subarray(end + 4, end + 4 + length)
        buffer = buffer.subarray(end + 4 + length)
        if (head.startsWith('GET ')) {
          this.waiting = socket
          const resolve = this.onNext
          this.onNext = undefined
          resolve?.()
        } else {
          socket.write('HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"OK"}')
          const resolve = this.onAnswer
          this.onAnswer = undefined
          resolve?.(body)
        }
      }
    })
  })

  static async start(): Promise<MinimalRuntimeApi> {
    const api = new MinimalRuntimeApi()
    await new Promise<void>((resolve) => api.server.listen(0, "127.0.0.1", () => resolve()))
    return api
  }

  get address(): string {
    const { port } = this.server.address() as AddressInfo
    return `127.0.0.1:${port}`
  }

  /** Resolves once the runtime waits in /next. */
  ready(): Promise<void> {
    return this.waiting ? Promise.resolve() : new Promise((resolve) => { this.onNext = resolve })
  }

  /** Hands `payload` to the waiting runtime and resolves with its answer. */
  invoke(payload: Buffer): Promise<Buffer> {
    const socket = this.waiting
    if (!socket) throw new Error('the runtime is not waiting in /next')
    this.waiting = undefined
    const answered = new Promise<Buffer>((resolve) => { this.onAnswer = resolve })
    socket.write(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
      + `Content-Length: ${payload.length}\r\nLambda-Runtime-Aws-Request-Id: ${randomUUID()}\r\n`
      + `Lambda-Runtime-Deadline-Ms: ${Date.now() + 30_000}\r\n`
      + 'Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:emulated-function\r\n'
      + `Lambda-Runtime-Trace-Id: ${makeTraceId()}\r\n\r\n`), payload]))
    return answered
  }

  close(): void {
    this.server.close()
  }
}

function record(type: number, content: Buffer): Buffer {
  const header = Buffer.from([1, type, 0, 1, 0, 0, 0, 0])
  header.writeUInt16BE(content.length, 4)
  return Buffer.concat([header, content])
}

function length(n: number): Buffer {
  if (n < 128) return Buffer.from([n])
  const b = Buffer.alloc(4)
  b.writeUInt32BE((n | 0x80000000) >>> 0)
  return b
}

export default async function runtimeBench(args: string[]): Promise<void> {
  const handlerArg = args.find((a) => a.startsWith('--handler='))
  const handler = handlerArg?.slice('--handler='.length) ?? 'public/hello.php'
  const { values } = benchArgs('runtime', args.filter((a) => a !== handlerArg), {
    n: { default: 300, integer: true },
    'spawn-n': { default: 40, integer: true },
    starts: { default: 7, integer: true },
  })
  const { n, 'spawn-n': spawnN, starts } = values
  const php = findPhpBinaries()
  const env = runtimeEnv(php, { handler })
  const event = JSON.parse(readFileSync(join(fixtureEvents, 'httpapi-v2-cookies.json'), 'utf8')) as Record<string, unknown>
  event.rawPath = '/'
  event.rawQueryString = ''
  delete event.cookies
  // Serialised once: JSON.stringify in this process is not the runtime's cost.
  const payload = Buffer.from(JSON.stringify(event))

  const cleanups: Array<() => Promise<void> | void> = []
  try {
    // (a) this runtime
    const apiA = await RuntimeApiEmulator.start()
    const sandboxA = apiA.spawnSandbox({ command: runtimeBootstrap, env })
    cleanups.push(() => sandboxA.stop(), () => apiA.close())
    // (b) one php-cgi per request
    const apiB = await RuntimeApiEmulator.start()
    const sandboxB = apiB.spawnSandbox({ command: php.php, args: ['-n', join(repoRoot, 'test/support/spawn-per-request-runtime.php')], env })
    cleanups.push(() => sandboxB.stop(), () => apiB.close())
    // (c) a bare php-cgi FastCGI server, configured like the runtime's
    const dir = mkdtempSync(join(tmpdir(), 'bench-fcgi-'))
    const socketPath = join(dir, 'php-cgi.sock')
    const bare: ChildProcess = spawn(php.phpCgi, ['-b', socketPath], {
      env: { ...process.env, ...env, PHP_FCGI_CHILDREN: '0', PHP_FCGI_MAX_REQUESTS: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    cleanups.push(() => { bare.kill('SIGKILL') }, () => rmSync(dir, { recursive: true, force: true }))
    const client = await BareFastCgi.open(socketPath)
    cleanups.push(() => client.close())
    const documentRoot = realpathSync(join(fixtureApp, handler, '..'))
    const script = `/${handler.split('/').pop() ?? ''}`
    // What the runtime sends for this event (see runtime/src/CgiParams.php), minus the per-invocation ids.
    const params: Record<string, string> = {
      GATEWAY_INTERFACE: 'CGI/1.1', SERVER_SOFTWARE: 'php-lambda-runtime', SERVER_PROTOCOL: 'HTTP/1.1', SERVER_NAME: 'api.example.com',
      SERVER_PORT: '443', REQUEST_SCHEME: 'https', REMOTE_ADDR: '192.0.2.44', REQUEST_METHOD: 'GET', REQUEST_URI: '/',
      QUERY_STRING: '', DOCUMENT_ROOT: documentRoot, DOCUMENT_URI: script, SCRIPT_NAME: script, SCRIPT_FILENAME: documentRoot + script,
      PATH_INFO: '', REDIRECT_STATUS: '200', HTTPS: 'on',
      ...Object.fromEntries(Object.entries(event.headers as Record<string, string>)
        .filter(([name]) => name !== 'content-length')
        .map(([name, value]) => [`HTTP_${name.toUpperCase().replaceAll('-', '_')}`, value])),
      LAMBDA_EVENT_SOURCE: 'apigateway-http-v2',
      LAMBDA_REQUEST_ID: '8476a536-e9f4-11e8-9739-2dfe598c3fcd',
      LAMBDA_INVOCATION_CONTEXT: JSON.stringify({ awsRequestId: '8476a536-e9f4-11e8-9739-2dfe598c3fcd', invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:emulated-function', deadlineMs: Date.now(), traceId: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0' }),
      LAMBDA_REQUEST_CONTEXT: JSON.stringify(event.requestContext),
      _X_AMZN_TRACE_ID: 'Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=0',
    }
    // (a) again, behind the minimal Runtime API: a process group of its own, like a sandbox.
    const apiM = await MinimalRuntimeApi.start()
    const sandboxM = spawn(runtimeBootstrap, [], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'en_US.UTF-8', TZ: ':UTC', ...env, AWS_LAMBDA_RUNTIME_API: apiM.address },
      stdio: ['ignore', 'ignore', 'inherit'], detached: true,
    })
    cleanups.push(() => { if (sandboxM.pid) process.kill(-sandboxM.pid, 'SIGKILL') }, () => apiM.close())
    // Routing: the same runtime on an app with a 100 KB PNG (served without PHP) and a directory index, next to
    // its own front controller, so the three lines compare like with like.
    const routed = mkdtempSync(join(tmpdir(), 'bench-routing-'))
    cleanups.push(() => rmSync(routed, { recursive: true, force: true }))
    mkdirSync(join(routed, 'public/assets'), { recursive: true })
    mkdirSync(join(routed, 'public/dir'))
    const hello = readFileSync(join(fixtureApp, 'public/hello.php'))
    writeFileSync(join(routed, 'public/index.php'), hello)
    writeFileSync(join(routed, 'public/dir/index.php'), hello)
    const png = makePng(100 * 1024)
    writeFileSync(join(routed, 'public/assets/image.png'), png)
    // Older than opcache's file_update_protection window (2 s), so the scripts are cached from the start.
    const past = new Date(Date.now() - 3600_000)
    for (const f of ['public/index.php', 'public/dir/index.php', 'public/assets/image.png']) utimesSync(join(routed, f), past, past)
    const apiR = await RuntimeApiEmulator.start()
    const sandboxR = apiR.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php, { taskRoot: routed, handler: 'public/index.php' }) })
    cleanups.push(() => sandboxR.stop(), () => apiR.close())
    const routedPayload = (path: string) => Buffer.from(JSON.stringify({ ...event, rawPath: path, requestContext: { ...(event.requestContext as object), http: { ...((event.requestContext as { http: object }).http), path } } }))
    const routedRequests = { png: routedPayload('/assets/image.png'), dir: routedPayload('/dir/'), front: routedPayload('/some/route') }
    const routedOnce = async (kind: keyof typeof routedRequests): Promise<number> => {
      await apiR.ready()
      const started = performance.now()
      const result = await apiR.invoke(routedRequests[kind], { timeoutMs: 30_000 })
      const elapsed = performance.now() - started
      if (result.kind !== 'response') throw new Error(`routing ${kind}: ${JSON.stringify(result).slice(0, 300)}`)
      const answer = result.json as { statusCode?: number; body?: string; isBase64Encoded?: boolean }
      const ok = kind === 'png' ? answer.isBase64Encoded === true && Buffer.from(answer.body ?? '', 'base64').equals(png) : answer.body === 'Hello world'
      if (answer.statusCode !== 200 || !ok) throw new Error(`routing ${kind}: unexpected answer ${JSON.stringify(answer).slice(0, 300)}`)
      await apiR.ready()
      return elapsed
    }
    // Streaming: a script that flushes 10 x 100 KB with 20 ms pauses, streamed and buffered.
    const flushing = Buffer.from(JSON.stringify({ ...event, rawPath: '/stream.php', rawQueryString: 'parts=10&kb=100&pause=20' }))
    const apiS = await RuntimeApiEmulator.start()
    const sandboxS = apiS.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php, { handler, extra: { PHP_LAYER_RESPONSE_STREAMING: 'on' } }) })
    cleanups.push(() => sandboxS.stop(), () => apiS.close())
    const flushOnce = async (api: RuntimeApiEmulator, streamed: boolean): Promise<{ first: number; last: number }> => {
      await api.ready()
      const started = performance.now()
      const result = await api.invoke(flushing, { timeoutMs: 30_000 })
      if (result.kind !== 'response') throw new Error(`flushing script: ${JSON.stringify(result).slice(0, 300)}`)
      const bytes = streamed ? result.stream?.body.length : Buffer.from(String((result.json as { body?: string }).body ?? ''), 'utf8').length
      if (bytes !== 10 * 100 * 1024) throw new Error(`flushing script answered ${bytes} bytes`)
      const first = streamed ? (result.stream?.firstBodyByteAt ?? result.completedAt) : result.completedAt
      await api.ready()
      return { first: first - started, last: result.completedAt - started }
    }
    // The floor: Runtime API round trips alone, answered by a PHP loop using the runtime's client.
    const apiF = await RuntimeApiEmulator.start()
    const floorLoop = `namespace PhpLambda\\Runtime; require ${JSON.stringify(join(repoRoot, 'runtime/src/load.php'))};
      $api = new RuntimeApiClient(getenv('AWS_LAMBDA_RUNTIME_API'));
      while (true) { $i = $api->next(); $api->respond($i->requestId, '{"statusCode":200,"body":"Hello world"}'); }`
    const sandboxF = apiF.spawnSandbox({ command: php.php, args: ['-n', '-r', floorLoop], env })
    cleanups.push(() => sandboxF.stop(), () => apiF.close())

    const expectOutput = (label: string, body: unknown): void => {
      if (handler.endsWith('hello.php') && !String(body).includes('Hello world')) throw new Error(`${label} did not answer "Hello world": ${String(body).slice(0, 300)}`)
    }
    const invokeOnce = async (api: RuntimeApiEmulator, label: string): Promise<number> => {
      // The clock starts with the runtime waiting in /next, as a warm function does between
      // requests: its previous answer's 202 and its next /next call are not charged to anyone.
      await api.ready()
      const started = performance.now()
      const result = await api.invoke(payload, { timeoutMs: 30_000 })
      const elapsed = performance.now() - started
      if (result.kind !== 'response') throw new Error(`${label}: ${JSON.stringify(result)}`)
      expectOutput(label, (result.json as { body?: unknown }).body)
      await api.ready()
      return elapsed
    }
    const minimalOnce = async (): Promise<number> => {
      await apiM.ready()
      const started = performance.now()
      const answer = await apiM.invoke(payload)
      const elapsed = performance.now() - started
      expectOutput('runtime behind the minimal Runtime API', (JSON.parse(answer.toString()) as { body?: unknown }).body)
      await apiM.ready()
      return elapsed
    }
    const bareOnce = async (): Promise<number> => {
      const started = performance.now()
      const stdout = await client.request(params)
      const elapsed = performance.now() - started
      expectOutput('bare FastCGI', stdout.toString())
      return elapsed
    }

    // Warm everything up (opcache, connections, this process's JIT) before measuring.
    for (let i = 0; i < 50; i++) {
      await invokeOnce(apiA, 'runtime')
      await bareOnce()
      await minimalOnce()
      await invokeOnce(apiF, 'floor')
    }
    for (let i = 0; i < 3; i++) await invokeOnce(apiB, 'spawn per request')
    for (let i = 0; i < 50; i++) for (const kind of ['png', 'dir', 'front'] as const) await routedOnce(kind)
    for (let i = 0; i < 2; i++) await flushOnce(apiS, true), await flushOnce(apiA, false)

    const a: number[] = []
    const c: number[] = []
    const floor: number[] = []
    for (let i = 0; i < n; i++) {
      a.push(await invokeOnce(apiA, 'runtime'))
      c.push(await bareOnce())
    }
    // Each pair alternates with its own (c) run, so each ratio compares like with like.
    const m: number[] = []
    const cm: number[] = []
    for (let i = 0; i < n; i++) {
      m.push(await minimalOnce())
      cm.push(await bareOnce())
    }
    for (let i = 0; i < n; i++) floor.push(await invokeOnce(apiF, 'floor'))
    const routedTimes = { png: [] as number[], dir: [] as number[], front: [] as number[] }
    // Each kind in a run of its own, as a warm function serving a stream of such requests.
    for (const kind of ['png', 'dir', 'front'] as const) for (let i = 0; i < n; i++) routedTimes[kind].push(await routedOnce(kind))
    const b: number[] = []
    for (let i = 0; i < spawnN; i++) b.push(await invokeOnce(apiB, 'spawn per request'))
    const flushes = { streamed: [] as Array<{ first: number; last: number }>, buffered: [] as Array<{ first: number; last: number }> }
    for (let i = 0; i < 10; i++) {
      flushes.streamed.push(await flushOnce(apiS, true))
      flushes.buffered.push(await flushOnce(apiA, false))
    }

    // Concurrency: throughput of a CPU-bound and of a sleep-bound script with 1, 2 and 4 workers, all invocations
    // queued at once, as on a Lambda Managed Instance under load.
    const throughput: Array<{ kind: string; concurrency: number; perSecond: number }> = []
    for (const [kind, query, count] of [['CPU-bound (40 ms of CPU)', 'cpu_ms=40', 24], ['sleep-bound (100 ms wait)', 'sleep_ms=100', 24]] as const) {
      for (const concurrency of [1, 2, 4]) {
        const api = await RuntimeApiEmulator.start({ concurrency })
        const sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: { ...env, AWS_LAMBDA_MAX_CONCURRENCY: String(concurrency) } })
        try {
          const work = Buffer.from(JSON.stringify({ ...event, rawPath: '/work.php', rawQueryString: query }))
          await api.ready()
          for (const r of await Promise.all(Array.from({ length: concurrency }, () => api.invoke(work, { timeoutMs: 60_000 })))) if (r.kind !== 'response') throw new Error(`${kind}: ${JSON.stringify(r).slice(0, 300)}`)
          await api.ready()
          const started = performance.now()
          const results = await Promise.all(Array.from({ length: count }, () => api.invoke(work, { timeoutMs: 60_000 })))
          const elapsed = performance.now() - started
          for (const r of results) if (r.kind !== 'response') throw new Error(`${kind}: ${JSON.stringify(r).slice(0, 300)}`)
          throughput.push({ kind, concurrency, perSecond: (count * 1000) / elapsed })
        } finally {
          await sandbox.stop()
          await api.close()
        }
      }
    }

    // Init: cold starts of the bootstrap, spawn → first /next.
    const inits: number[] = []
    for (let i = 0; i < starts; i++) {
      const api = await RuntimeApiEmulator.start()
      const firstNext = api.waitForNext()
      const sandbox: Sandbox = api.spawnSandbox({ command: runtimeBootstrap, env })
      const at = await Promise.race([firstNext, sandbox.exited.then(() => { throw new Error(`bootstrap exited during start-up:\n${sandbox.logs}`) })])
      inits.push(at - sandbox.startedAt)
      await sandbox.stop()
      await api.close()
    }

    const ma = median(a)
    const mb = median(b)
    const mc = median(c)
    const mf = median(floor)
    const mi = median(inits)
    const line = (label: string, values: number[]): string =>
      `${label.padEnd(52)} median ${median(values).toFixed(3).padStart(8)} ms   p90 ${percentile(values, 90).toFixed(3).padStart(8)} ms   n=${values.length}`
    console.log(`runtime benchmark: ${handler}, php-cgi ${php.phpCgi}, php ${php.php}`)
    console.log(line('(a) this runtime, through the emulator', a))
    console.log(line('(b) new php-cgi per request, through the emulator', b))
    console.log(line('(c) bare FastCGI round-trip to php-cgi', c))
    console.log(line('    floor: emulator + Runtime API client, no PHP run', floor))
    console.log(line('(a) behind a minimal Runtime API (fixed bytes)', m))
    console.log(line('(c) again, alternating with the line above', cm))
    console.log(line(`(a) static ${Math.round(png.length / 1024)} KB PNG, served by the runtime (base64)`, routedTimes.png))
    console.log(line('(a) directory index: /dir/ runs dir/index.php', routedTimes.dir))
    console.log(line('(a) front controller of the same app: /some/route', routedTimes.front))
    for (const mode of ['streamed', 'buffered'] as const) {
      console.log(line(`flushing 10 x 100 KB, 20 ms apart, ${mode}: first byte`, flushes[mode].map((f) => f.first)))
      console.log(line(`flushing 10 x 100 KB, 20 ms apart, ${mode}: last byte`, flushes[mode].map((f) => f.last)))
    }
    for (const kind of new Set(throughput.map((x) => x.kind))) {
      const rows = throughput.filter((x) => x.kind === kind)
      const one = rows.find((x) => x.concurrency === 1)?.perSecond ?? 1
      console.log(`${kind}: ${rows.map((x) => `concurrency ${x.concurrency} ${x.perSecond.toFixed(1)}/s (${(x.perSecond / one).toFixed(2)}x)`).join(', ')}`)
    }
    console.log('   (goals: sleep-bound at 4 >= 3.5x at 1; CPU-bound at 2 >= 1.7x at 1, on this 2-core machine)')
    const ttfb = median(flushes.streamed.map((f) => f.first)) / median(flushes.buffered.map((f) => f.first))
    console.log(`streamed/buffered time to first byte = ${ttfb.toFixed(3)}   (goal: <= 0.1)`)
    console.log(`b/a = ${(mb / ma).toFixed(1)}x   (goal: >= 20x)`)
    console.log(`a/c = ${(ma / mc).toFixed(2)}x   (goal: <= 1.5x; the emulator floor alone is ${(mf / mc).toFixed(2)}x c, and a - floor = ${(ma - mf).toFixed(3)} ms)`)
    console.log(`minimal Runtime API: a/c = ${(median(m) / median(cm)).toFixed(2)}x   (the Lambda side made as cheap as it can be: what is left is the runtime and the extra process hop)`)
    console.log(`init (bootstrap spawn -> first /next): median ${mi.toFixed(1)} ms, min ${Math.min(...inits).toFixed(1)} ms, max ${Math.max(...inits).toFixed(1)} ms over ${starts} starts   (goal: <= 50 ms)`)
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup()
  }
}
