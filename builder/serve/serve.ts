// `npm run serve`: a local HTTP server that runs every browser request through a built layer exactly as Lambda would:
// the request becomes the chosen source's event, the layer's own /opt/bootstrap takes it from a Runtime API inside
// the smoke sandbox (layer read-only at /opt, the app read-only at /var/task, Lambda's environment), and the
// function's answer goes back to the browser as that source's front end would send it.
//
// One sandbox serves one request at a time, as one Lambda execution environment does; concurrent browser requests
// wait in the Runtime API's queue. An environment whose bootstrap exited (a crash, an init error) or ran past its
// timeout is discarded, as Lambda does, and the next request starts a fresh one (a cold start).
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { SmokeError, UsageError } from '../errors.ts'
import { debianLibDirs } from '../host-libs.ts'
import { seconds } from '../log.ts'
import { RuntimeApi, spawnRuntime, type RuntimeProcess, type RuntimeResult } from '../smoke/runtime-api.ts'
import { prepareBaseLibs, sandboxArgv } from '../smoke/sandbox.ts'
import { unpackZip } from '../smoke/unpack.ts'
import { eventBodyLimit, fromResponse, SOURCE_LABELS, toEvent, type OutgoingHttp, type Source } from './events.ts'
import { describeLayer, findLayer } from './layer.ts'

export interface ServeOptions {
  root: string
  cacheDir: string
  appDir: string
  handler: string
  source: Source
  /** 0 picks a free port */
  port: number
  layer?: string
  /** the function's timeout, as configured on Lambda */
  timeoutSeconds: number
  /** extra environment for the function (KEY=VALUE from --env) */
  env: Record<string, string>
  /** where request lines and PHP's output go */
  out: (line: string) => void
}

export interface RunningServer {
  url: string
  /** the startup lines, as printed */
  banner: string[]
  close(): Promise<void>
}

/** Where the extra ini directory appears inside the sandbox, and what it holds. */
const SERVE_INI_DIR = '/var/runtime/php-serve.d'
// Lambda's layer ini turns opcache's timestamp checks off (code never changes in a running function). Locally the
// code does change, so serve checks every include's mtime on every request: an edit shows on the next request.
const SERVE_INI = 'opcache.validate_timestamps = 1\nopcache.revalidate_freq = 0\n'

export async function serve(opts: ServeOptions): Promise<RunningServer> {
  const appDir = resolve(opts.appDir)
  if (!statSync(appDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`${opts.appDir}: not a directory`, 'Pass the app\'s root (the directory that holds public/, composer.json, php/conf.d/).')
  }
  if (!statSync(join(appDir, opts.handler), { throwIfNoEntry: false })?.isFile()) {
    throw new UsageError(`--handler ${opts.handler}: no such file in ${opts.appDir}`, 'Name the front controller relative to the app root, e.g. public/index.php.')
  }
  const layer = await findLayer(opts.root, opts.layer)
  const m = layer.manifest
  const work = mkdtempSync(join(tmpdir(), 'php-layer-serve-'))
  /** One execution environment: a Runtime API and the sandboxed bootstrap polling it. */
  interface Environment {
    api: RuntimeApi
    proc: RuntimeProcess
    alive: boolean
  }
  let env: Environment | undefined
  let server: Server | undefined
  const discard = async (e: Environment | undefined): Promise<void> => {
    if (!e) return
    e.alive = false
    await e.proc.stop()
    await e.api.close()
  }
  const cleanup = async (): Promise<void> => {
    await new Promise<void>((done) => (server ? server.close(() => done()) : done()))
    server?.closeAllConnections()
    await discard(env)
    rmSync(work, { recursive: true, force: true })
  }
  try {
    const layerDir = join(work, 'opt')
    await unpackZip(layer.zipPath, layerDir)
    const iniDir = join(work, 'ini')
    mkdirSync(iniDir)
    writeFileSync(join(iniDir, '99-serve.ini'), SERVE_INI)
    // Everything about the target comes from the zip's manifest, as for the smoke test.
    const baseLibDir = prepareBaseLibs(opts.cacheDir, m.arch, m.base.libraries, debianLibDirs(m.target.gnuTriplet), m.base.gconvModules)
    const argvFor = (runtimeApi: string): string[] => {
      const argv = sandboxArgv(
        {
          layerDir,
          taskDir: appDir,
          baseLibDir,
          gnuTriplet: m.target.gnuTriplet,
          env: {
            AWS_LAMBDA_FUNCTION_NAME: 'serve',
            AWS_LAMBDA_FUNCTION_TIMEOUT: String(opts.timeoutSeconds),
            ...opts.env,
            _HANDLER: opts.handler,
            AWS_LAMBDA_RUNTIME_API: runtimeApi,
            // A leading ":" keeps the compiled-in scan directories (the layer's, then the app's php/conf.d) first.
            PHP_INI_SCAN_DIR: `:${SERVE_INI_DIR}`,
          },
        },
        ['/opt/bootstrap'],
      )
      // The ini directory is serve's own addition to the smoke sandbox: bound read-only before the environment.
      argv.splice(argv.indexOf('--clearenv'), 0, '--ro-bind', iniDir, SERVE_INI_DIR)
      return argv
    }
    let pending = ''
    const showOutput = (text: string): void => {
      pending += text
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) if (line.trim()) opts.out(`  │ ${line}`)
    }
    const startEnvironment = async (): Promise<Environment> => {
      const api = await RuntimeApi.start()
      const proc = spawnRuntime(argvFor(api.address), {}, showOutput)
      const started: Environment = { api, proc, alive: true }
      void proc.exited.then(({ code, signal }) => {
        if (!started.alive) return
        started.alive = false
        opts.out(`the bootstrap exited (${signal ?? `code ${code}`}); the next request starts a fresh sandbox`)
      })
      return started
    }
    env = await startEnvironment()
    let starting: Promise<Environment> | undefined

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const t0 = performance.now()
      const limit = eventBodyLimit(opts.source)
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length
        if (size <= limit) chunks.push(chunk)
      }
      const log = (status: number, note = '') => opts.out(`${req.method} ${req.url} → ${status} (${seconds(performance.now() - t0)})${note ? ` ${note}` : ''}`)
      if (size > limit) {
        send(res, { status: 413, headers: [['content-type', 'text/plain']], body: Buffer.from(`413 Request Entity Too Large: ${opts.source} passes at most ${limit} bytes to a function\n`) })
        return log(413, `body of ${size} bytes over the ${opts.source} limit`)
      }
      const address = server!.address() as AddressInfo
      const event = toEvent(opts.source, {
        method: req.method ?? 'GET',
        target: req.url ?? '/',
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        remoteAddress: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        port: address.port,
      })
      if (!env?.alive) {
        starting ??= (async () => {
          await discard(env)
          return startEnvironment()
        })().finally(() => (starting = undefined))
        env = await starting
      }
      const current = env
      // A bootstrap that dies mid-request never answers: end the request when it exits.
      const result: RuntimeResult | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null } = await Promise.race([
        current.api.invoke(event, { timeoutMs: opts.timeoutSeconds * 1000 }),
        current.proc.exited.then(({ code, signal }) => ({ kind: 'exited' as const, code, signal })),
      ])
      if (result.kind === 'timeout' || (result.kind === 'error' && result.phase === 'init')) {
        // Lambda does not reuse an environment that timed out or failed to initialise.
        void discard(current)
      }
      const answer = result.kind === 'response' ? fromResponse(opts.source, result.json, result.payload.toString('utf8')) : undefined
      if (answer) {
        send(res, answer)
        return log(answer.status)
      }
      const detail = (payload: Buffer) => {
        const doc = (() => { try { return JSON.parse(payload.toString('utf8')) as { errorMessage?: string } } catch { return undefined } })()
        return doc?.errorMessage ?? payload.toString('utf8').slice(0, 200)
      }
      const why = result.kind === 'response' ? `not a valid ${opts.source} response: ${result.payload.toString('utf8').slice(0, 200)}`
        : result.kind === 'error' ? `${result.phase === 'init' ? 'init error' : 'function error'} ${result.errorType ?? ''}: ${detail(result.payload)}`
        : result.kind === 'timeout' ? result.message
        : `the bootstrap exited (${result.signal ?? `code ${result.code}`}) during the request`
      const status = result.kind === 'timeout' && opts.source !== 'alb' ? 504 : 502
      send(res, failure(opts.source, status))
      log(status, `— ${why}`)
    }

    server = createServer((req, res) => {
      handle(req, res).catch((e: unknown) => {
        opts.out(`${req.method} ${req.url} → 500: serve itself failed: ${(e as Error).message}`)
        if (!res.headersSent) send(res, { status: 500, headers: [['content-type', 'text/plain']], body: Buffer.from('serve failed; see its output\n') })
        else res.destroy()
      })
    })
    await new Promise<void>((done, fail) => {
      server!.once('error', (e: NodeJS.ErrnoException) =>
        fail(e.code === 'EADDRINUSE' ? new UsageError(`port ${opts.port} on 127.0.0.1 is in use`, 'Pick another with --port, or --port 0 for any free one.') : e),
      )
      server!.listen(opts.port, '127.0.0.1', () => done())
    })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    const banner = [
      `serving ${appDir} at ${url}`,
      `  layer:   ${describeLayer(layer, opts.root)}`,
      `  events:  ${SOURCE_LABELS[opts.source]}; handler ${opts.handler}; timeout ${opts.timeoutSeconds}s`,
      `  opcache: timestamps revalidated on every request, so edits show on the next one (on Lambda they are not)`,
    ]
    for (const line of banner) opts.out(line)
    return { url, banner, close: cleanup }
  } catch (e) {
    await cleanup()
    throw e
  }
}

function send(res: ServerResponse, answer: OutgoingHttp): void {
  res.writeHead(answer.status, answer.headers.flat())
  res.end(answer.body)
}

/** What each front end answers when the function failed, timed out or returned something unusable. */
function failure(source: Source, status: number): OutgoingHttp {
  if (source === 'rest' || source === 'http') {
    const message = status === 504 ? 'Endpoint request timed out' : 'Internal Server Error'
    return { status, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify({ message })) }
  }
  const text = status === 504 ? '504 Gateway Time-out' : '502 Bad Gateway'
  return { status, headers: [['content-type', 'text/html']], body: Buffer.from(`<html><body><h1>${text}</h1></body></html>\n`) }
}
