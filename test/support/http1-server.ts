/**
 * The server side of HTTP/1.1 as far as the Runtime API emulator needs it: one request at a time
 * per connection (pipelined requests wait their turn), Content-Length and chunked bodies,
 * `Expect: 100-continue`, keep-alive by default and `Connection: close` when asked.
 *
 * Why not node:http? The emulator sits inside the runtime benchmark's measured window, and
 * node:http's stream machinery (IncomingMessage, ServerResponse, corking until the next tick)
 * cost about as much per exchange as a whole hello-world request in php-cgi. The real Runtime
 * API is a small, fast local server; the emulator should be one too. The protocol subset here is
 * the one the Runtime API speaks, and it is tested on its own in test/runtime/emulator.test.ts.
 */
import { createServer, type Server, type Socket } from 'node:net'

/** Longest request head (request line and headers) accepted; longer ones get 431. */
export const MAX_HEAD_BYTES = 64 * 1024

export interface Http1Request {
  method: string
  /** the request target as sent, e.g. /2018-06-01/runtime/invocation/next */
  url: string
  /** header names in lower case; repeated headers joined with ", " */
  headers: Record<string, string>
  /** the body, cut at the server's body limit */
  body: Buffer
  /** the body's full size, even when more than the limit was sent */
  size: number
  /** trailer fields of a chunked body, names in lower case */
  trailers: Record<string, string>
  /** when body bytes arrived (performance.now()) and the body's size up to then: when a streamed body's parts came */
  arrivals: Array<{ at: number; size: number }>
}

export interface Http1Reply {
  /** Answers the request; the connection then serves the next one (or closes, if asked to). */
  send(status: number, headers: Record<string, string | number>, body?: Buffer | string): void
  /** Closes the connection without an answer. */
  destroy(): void
  /** True once answered, destroyed, or the client went away. */
  readonly done: boolean
  /** Called once if the client closes the connection before the answer. */
  onClose(listener: () => void): void
}

export type Http1Handler = (request: Http1Request, reply: Http1Reply) => void

export interface Http1ServerOptions {
  /** Bodies are kept up to this many bytes; the rest is counted but dropped. */
  maxBodyBytes: number
}

const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 202: 'Accepted', 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  501: 'Not Implemented',
}

/** A server that hands each complete request to `handler`; call listen() on the result. */
export function createHttp1Server(options: Http1ServerOptions, handler: Http1Handler): Server & { closeAllConnections(): void } {
  const sockets = new Set<Socket>()
  const server = createServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    new Connection(socket, options, handler)
  }) as Server & { closeAllConnections(): void }
  server.closeAllConnections = () => {
    for (const socket of sockets) socket.destroy()
  }
  return server
}

/** The answer to one request (a class rather than closures: one is made per request). */
class Reply implements Http1Reply {
  private answered = false

  constructor(
    private readonly connection: Connection,
    private readonly keepAlive: boolean,
  ) {}

  get done(): boolean {
    return this.answered || this.connection.isClosed
  }

  send(status: number, headers: Record<string, string | number>, body?: Buffer | string): void {
    if (this.done) return
    this.answered = true
    this.connection.answer(status, headers, body, this.keepAlive)
  }

  destroy(): void {
    this.answered = true
    this.connection.destroy()
  }

  onClose(listener: () => void): void {
    this.connection.addCloseListener(listener)
  }
}

type State =
  | { kind: 'head' }
  | { kind: 'length'; left: number }
  | { kind: 'chunk-size' }
  | { kind: 'chunk-data'; left: number }
  | { kind: 'chunk-end' }
  | { kind: 'trailers' }

interface Parsed {
  method: string
  url: string
  headers: Record<string, string>
  keepAlive: boolean
}

class Connection {
  /** bytes received and not yet parsed */
  private pending: Buffer = Buffer.alloc(0)
  private state: State = { kind: 'head' }
  private request: Parsed | undefined
  private chunks: Buffer[] = []
  private trailers: Record<string, string> = {}
  private arrivals: Array<{ at: number; size: number }> = []
  private kept = 0
  private size = 0
  /** a request has been handed out and not answered yet: parse nothing more until it is */
  private busy = false
  private closed = false
  /** parse() is running (an answer given during dispatch must not start a nested one) */
  private parsing = false
  private closeListeners: Array<() => void> = []

  constructor(
    private readonly socket: Socket,
    private readonly options: Http1ServerOptions,
    private readonly handler: Http1Handler,
  ) {
    socket.on('data', (data: Buffer) => {
      this.pending = this.pending.length ? Buffer.concat([this.pending, data]) : data
      this.parse()
    })
    socket.on('close', () => {
      this.closed = true
      for (const listener of this.closeListeners.splice(0)) listener()
    })
    socket.on('error', () => socket.destroy())
  }

  private parse(): void {
    if (this.parsing) return
    this.parsing = true
    try {
      this.parseRequests()
    } finally {
      this.parsing = false
    }
  }

  private parseRequests(): void {
    while (!this.busy && !this.closed) {
      const state = this.state
      if (state.kind === 'head') {
        const end = this.pending.indexOf('\r\n\r\n')
        if (end < 0) {
          if (this.pending.length > MAX_HEAD_BYTES) this.fail(431, 'request head too large')
          return
        }
        if (end > MAX_HEAD_BYTES) return this.fail(431, 'request head too large')
        const head = this.pending.toString('latin1', 0, end)
        this.pending = this.pending.subarray(end + 4)
        if (!this.startRequest(head)) return
      } else if (state.kind === 'length') {
        const take = Math.min(state.left, this.pending.length)
        if (take === 0 && state.left > 0) return
        this.keep(this.pending.subarray(0, take))
        this.pending = this.pending.subarray(take)
        state.left -= take
        if (state.left === 0) this.dispatch()
      } else if (state.kind === 'chunk-size' || state.kind === 'chunk-end' || state.kind === 'trailers') {
        const eol = this.pending.indexOf('\r\n')
        if (eol < 0) {
          if (this.pending.length > MAX_HEAD_BYTES) this.fail(400, 'chunked body line too long')
          return
        }
        const line = this.pending.toString('latin1', 0, eol)
        this.pending = this.pending.subarray(eol + 2)
        if (state.kind === 'chunk-end') {
          if (line !== '') return this.fail(400, 'chunk not followed by CRLF')
          this.state = { kind: 'chunk-size' }
        } else if (state.kind === 'trailers') {
          if (line === '') this.dispatch()
          else {
            const colon = line.indexOf(':')
            if (colon <= 0) return this.fail(400, `bad trailer line ${JSON.stringify(line.slice(0, 80))}`)
            this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
          }
        } else {
          const size = /^([0-9a-fA-F]{1,8})(?:;.*)?$/.exec(line)
          if (!size) return this.fail(400, `bad chunk size line ${JSON.stringify(line.slice(0, 40))}`)
          const left = Number.parseInt(size[1] ?? '', 16)
          this.state = left === 0 ? { kind: 'trailers' } : { kind: 'chunk-data', left }
        }
      } else {
        const take = Math.min(state.left, this.pending.length)
        if (take === 0) return
        this.keep(this.pending.subarray(0, take))
        this.pending = this.pending.subarray(take)
        state.left -= take
        if (state.left === 0) this.state = { kind: 'chunk-end' }
      }
    }
  }

  /** Parses a request head; false if the connection was failed. */
  private startRequest(head: string): boolean {
    const lines = head.split('\r\n')
    const requestLine = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(lines[0] ?? '')
    if (!requestLine) {
      this.fail(400, `bad request line ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`)
      return false
    }
    const headers: Record<string, string> = {}
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] ?? ''
      const colon = line.indexOf(':')
      if (colon <= 0) {
        this.fail(400, `bad header line ${JSON.stringify(line.slice(0, 80))}`)
        return false
      }
      const name = line.slice(0, colon).toLowerCase()
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    const connection = (headers.connection ?? '').toLowerCase()
    const keepAlive = requestLine[3] === '1' ? !connection.includes('close') : connection.includes('keep-alive')
    this.request = { method: requestLine[1] ?? '', url: requestLine[2] ?? '', headers, keepAlive }
    this.chunks = []
    this.kept = 0
    this.size = 0
    this.trailers = {}
    this.arrivals = []

    const transferEncoding = (headers['transfer-encoding'] ?? '').toLowerCase()
    if (transferEncoding !== '') {
      if (transferEncoding !== 'chunked') {
        this.fail(501, `unsupported Transfer-Encoding ${transferEncoding}`)
        return false
      }
      this.state = { kind: 'chunk-size' }
    } else {
      const declared = headers['content-length']
      if (declared !== undefined && !/^\d{1,15}$/.test(declared)) {
        this.fail(400, `bad Content-Length ${JSON.stringify(declared)}`)
        return false
      }
      this.state = { kind: 'length', left: declared === undefined ? 0 : Number(declared) }
    }
    if ((headers.expect ?? '').toLowerCase() === '100-continue') this.socket.write('HTTP/1.1 100 Continue\r\n\r\n')
    return true
  }

  private keep(data: Buffer): void {
    this.size += data.length
    if (data.length) this.arrivals.push({ at: performance.now(), size: this.size })
    const room = this.options.maxBodyBytes - this.kept
    if (room <= 0 || data.length === 0) return
    const part = data.length <= room ? data : data.subarray(0, room)
    // Copy: `data` may be a view of a buffer that later reads would otherwise keep alive.
    this.chunks.push(Buffer.from(part))
    this.kept += part.length
  }

  private dispatch(): void {
    const parsed = this.request
    if (!parsed) return
    this.request = undefined
    this.state = { kind: 'head' }
    this.busy = true
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.kept)
    this.chunks = []
    const reply = new Reply(this, parsed.keepAlive)
    this.handler({ method: parsed.method, url: parsed.url, headers: parsed.headers, body, size: this.size, trailers: this.trailers, arrivals: this.arrivals }, reply)
  }

  /** Called by Reply when the handler answers. */
  answer(status: number, headers: Record<string, string | number>, content: Buffer | string | undefined, keepAlive: boolean): void {
    this.closeListeners = []
    this.write(status, headers, content, keepAlive)
    this.busy = false
    if (keepAlive) this.parse()
  }

  get isClosed(): boolean {
    return this.closed
  }

  addCloseListener(listener: () => void): void {
    if (this.closed) listener()
    else this.closeListeners.push(listener)
  }

  destroy(): void {
    this.socket.destroy()
  }

  private write(status: number, headers: Record<string, string | number>, content: Buffer | string | undefined, keepAlive: boolean): void {
    const body = content === undefined ? Buffer.alloc(0) : typeof content === 'string' ? Buffer.from(content) : content
    let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\n`
    for (const name in headers) {
      if (name === 'Content-Length' || name.toLowerCase() === 'content-length') continue
      const value = String(headers[name])
      head += `${name}: ${value.includes('\n') || value.includes('\r') ? value.replace(/[\r\n]+/g, ' ') : value}\r\n`
    }
    head += `Content-Length: ${body.length}\r\n`
    if (!keepAlive) head += 'Connection: close\r\n'
    head += '\r\n'
    // One write, so the client gets the answer in one segment.
    const message = body.length < 16_384 ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : undefined
    if (message) this.socket.write(message)
    else {
      this.socket.cork()
      this.socket.write(head, 'latin1')
      this.socket.write(body)
      this.socket.uncork()
    }
    if (!keepAlive) this.socket.end()
  }

  /** Answers a request that cannot be parsed and closes: the stream is out of sync. */
  private fail(status: number, message: string): void {
    this.busy = true
    this.pending = Buffer.alloc(0)
    this.write(status, { 'Content-Type': 'application/json' }, JSON.stringify({ errorMessage: message, errorType: 'BadRequest' }), false)
  }
}
