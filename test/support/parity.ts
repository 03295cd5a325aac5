/**
 * The parity suite's parts: the requests a browser would send to the parity app (test/fixtures/parity-app), each
 * turned into an event of every HTTP source and into a real HTTP request to nginx + PHP-FPM from Debian's packages,
 * and the comparison of the two answers on what a client sees (status, the headers that matter, body bytes).
 * Differences that are deliberate are listed in KNOWN_DIFFERENCES with their reason, and the README repeats them.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { loadConfig } from '../../builder/config/load.ts'
import type { InvocationResult } from './runtime-api-emulator.ts'
import { repoRoot } from './php.ts'

export const parityApp = join(repoRoot, 'test/fixtures/parity-app')

export type Source = 'apigateway-rest' | 'apigateway-http-v2' | 'alb' | 'alb-multi-value' | 'function-url'
export const SOURCES: Source[] = ['apigateway-rest', 'apigateway-http-v2', 'alb', 'alb-multi-value', 'function-url']

export interface ParityRequest {
  name: string
  method: string
  /** path as sent on the wire (percent-encoded) */
  path: string
  /** query string as sent on the wire, without "?" */
  query?: string
  headers?: Record<string, string>
  body?: Buffer
  /**
   * What both sides must answer, not only alike: behaviour that depends on the php.ini both share (a fatal error's
   * status, what $_REQUEST holds) would otherwise pass when both are wrong. Headers by name, lower case; json is
   * matched against the parsed body.
   */
  expect?: { status?: number; headers?: Record<string, string>; body?: string; json?: Record<string, unknown> }
}

/** What a client sees of an answer. Header names lower-case, every value kept. */
export interface Answer {
  status: number
  headers: Record<string, string[]>
  body: Buffer
}

/** Headers a client or cache acts on; the rest (Date, Server, Content-Length, Connection…) belong to the front end. */
export const COMPARED_HEADERS = ['content-type', 'location', 'set-cookie', 'etag', 'last-modified', 'cache-control', 'x-route']

// ----- the app, laid out for both sides -----

export interface PreparedApp {
  /** the task root: php/conf.d and public/ */
  dir: string
  /** size of the generated file over Lambda's response limit */
  bigBytes: number
  remove(): void
}

/**
 * Copies the parity app to a temporary directory and adds what a repository should not hold: a file over Lambda's
 * 6 MB response limit and a symlink pointing out of the document root.
 */
export function prepareApp(): PreparedApp {
  const dir = mkdtempSync(join(tmpdir(), 'parity-app-'))
  cpSync(parityApp, dir, { recursive: true })
  const bigBytes = 7 * 1024 * 1024
  const big = Buffer.alloc(bigBytes)
  for (let i = 0; i < bigBytes; i += 4096) big.writeUInt32BE((i * 2654435761) >>> 0, i)
  writeFileSync(join(dir, 'public/assets/video.bin'), big)
  writeFileSync(join(dir, 'outside.txt'), 'outside the document root\n')
  symlinkSync(join(dir, 'outside.txt'), join(dir, 'public/assets/escape.txt'))
  return { dir, bigBytes, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** nginx's ETag and Last-Modified for a file (mtime and size in hex; HTTP date), which the runtime also uses. */
export function validators(file: string): { etag: string; lastModified: string } {
  const s = statSync(file)
  const mtime = Math.floor(s.mtimeMs / 1000)
  return { etag: `"${mtime.toString(16)}-${s.size.toString(16)}"`, lastModified: new Date(mtime * 1000).toUTCString() }
}

// ----- the requests -----

function multipart(boundary: string, parts: Array<{ name: string; filename?: string; type?: string; data: Buffer | string }>): Buffer {
  const chunks: Buffer[] = []
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`))
    chunks.push(Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(chunks)
}

export function parityRequests(appDir: string): ParityRequest[] {
  const png = validators(join(appDir, 'public/assets/logo.png'))
  const css = validators(join(appDir, 'public/assets/style.css'))
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  const boundary = 'parity-boundary-7MA4YWxkTrZu0gW'
  return [
    { name: 'front controller at /', method: 'GET', path: '/' },
    { name: 'front controller for a route', method: 'GET', path: '/blog/2024/hello-world', query: 'page=2&tag=php' },
    { name: "the app's own 404", method: 'GET', path: '/missing' },
    { name: 'directory index runs admin/index.php', method: 'GET', path: '/admin/', expect: { status: 200, headers: { 'x-route': 'admin-index' }, json: { server: { SCRIPT_NAME: '/admin/index.php', REQUEST_URI: '/admin/' } } } },
    { name: 'directory without slash redirects', method: 'GET', path: '/admin', query: 'tab=users', expect: { status: 301, headers: { location: '/admin/?tab=users' } } },
    { name: 'existing script with PATH_INFO', method: 'GET', path: '/tool.php/users/7', query: 'q=1', expect: { json: { route: 'tool', server: { SCRIPT_NAME: '/tool.php', PATH_INFO: '/users/7', PHP_SELF: '/tool.php/users/7' } } } },
    { name: 'existing script', method: 'GET', path: '/tool.php' },
    { name: 'front controller with PATH_INFO', method: 'GET', path: '/index.php/extra/path' },
    { name: 'missing .php goes to the front controller', method: 'GET', path: '/nothere.php' },
    { name: 'static PNG', method: 'GET', path: '/assets/logo.png', expect: { status: 200, headers: { 'content-type': 'image/png', etag: png.etag, 'last-modified': png.lastModified } } },
    { name: 'static CSS', method: 'GET', path: '/assets/style.css', expect: { status: 200, headers: { 'content-type': 'text/css' } } },
    { name: 'static JavaScript', method: 'GET', path: '/assets/app.js' },
    { name: 'static JSON', method: 'GET', path: '/assets/data.json' },
    { name: 'static SVG', method: 'GET', path: '/assets/icon.svg' },
    { name: 'static text', method: 'GET', path: '/assets/notes.txt' },
    { name: 'static font', method: 'GET', path: '/assets/font.woff2' },
    { name: 'static file, If-None-Match', method: 'GET', path: '/assets/logo.png', headers: { 'if-none-match': png.etag }, expect: { status: 304 } },
    { name: 'static file, If-Modified-Since', method: 'GET', path: '/assets/style.css', headers: { 'if-modified-since': css.lastModified }, expect: { status: 304 } },
    { name: 'static file, stale If-None-Match', method: 'GET', path: '/assets/logo.png', headers: { 'if-none-match': '"0-0"' } },
    { name: 'static file, HEAD', method: 'HEAD', path: '/assets/logo.png' },
    { name: 'static file, POST', method: 'POST', path: '/assets/logo.png', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: Buffer.from('a=1') },
    { name: 'directory with index.html', method: 'GET', path: '/docs/' },
    { name: '.well-known file', method: 'GET', path: '/.well-known/security.txt' },
    { name: 'fatal error after output', method: 'GET', path: '/fatal.php', expect: { status: 500 } },
    {
      name: 'multipart upload',
      method: 'POST',
      path: '/upload.php',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: multipart(boundary, [
        { name: 'title', data: 'Holiday' },
        { name: 'photo', filename: 'bytes.bin', type: 'application/octet-stream', data: binary },
        { name: 'notes', filename: 'notes.txt', type: 'text/plain', data: 'line one\nline two\n' },
      ]),
    },
    { name: 'cookies in and out, $_REQUEST without cookies', method: 'GET', path: '/cookies.php', query: 'q=1', headers: { cookie: 'a=1; c=3; q=from-cookie' }, expect: { json: { cookie: { a: '1', c: '3', q: 'from-cookie' }, request: { q: '1' } } } },
    { name: 'login sets two cookies and redirects', method: 'GET', path: '/login' },
    { name: 'form POST: $_POST and $_REQUEST', method: 'POST', path: '/', query: 'from=get', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'from=cookie' }, body: Buffer.from('from=post&x=1'), expect: { json: { post: { from: 'post', x: '1' }, request: { from: 'post', x: '1' }, cookie: { from: 'cookie' } } } },
    { name: 'all-digit header name, custom header', method: 'GET', path: '/', headers: { '12345': 'digits', 'x-custom': 'yes' }, expect: { status: 200, json: { server: { HTTP_12345: 'digits', HTTP_X_CUSTOM: 'yes' } } } },
    { name: 'Content-Length: 0 on a GET', method: 'GET', path: '/', headers: { 'content-length': '0' }, expect: { json: { server: { CONTENT_LENGTH: '0' } } } },
    { name: 'empty CGI header block, body that looks like headers', method: 'GET', path: '/no-headers.php', expect: { status: 200, body: 'Name: value\n\nnot a header\n' } },
    { name: 'extensions real applications need', method: 'GET', path: '/extensions.php' },
    { name: 'dotfile', method: 'GET', path: '/.env' },
    { name: 'directory without an index', method: 'GET', path: '/assets/' },
    { name: 'file over the 6 MB response limit', method: 'GET', path: '/assets/video.bin' },
    { name: 'symlink out of the document root', method: 'GET', path: '/assets/escape.txt' },
  ]
}

// ----- events for each source, and their answers -----

function queryPairs(query: string): Array<[string, string]> {
  if (!query) return []
  return query.split('&').map((pair) => {
    const i = pair.indexOf('=')
    return i < 0 ? [pair, ''] : [pair.slice(0, i), pair.slice(i + 1)]
  })
}
const decode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))

const HOST = 'parity.example.com'

/** The event `source` would deliver for `req`, with the fields that source really sends. */
export function toEvent(source: Source, req: ParityRequest): Record<string, unknown> {
  const headers: Record<string, string> = { host: HOST, 'user-agent': 'parity-test', ...(req.headers ?? {}) }
  const body = req.body && req.body.length ? req.body : undefined
  const textual = body !== undefined && /^(application\/x-www-form-urlencoded|text\/)/.test(headers['content-type'] ?? '')
  const bodyFields = body === undefined ? { body: null, isBase64Encoded: false } : textual ? { body: body.toString('utf8'), isBase64Encoded: false } : { body: body.toString('base64'), isBase64Encoded: true }
  if (body !== undefined && !('content-length' in headers)) headers['content-length'] = String(body.length)
  const pairs = queryPairs(req.query ?? '')
  switch (source) {
    case 'apigateway-rest': {
      const mvq: Record<string, string[]> = {}
      for (const [k, v] of pairs) (mvq[decode(k)] ??= []).push(decode(v))
      const mvh: Record<string, string[]> = {}
      for (const [k, v] of Object.entries(headers)) mvh[k] = [v]
      return {
        resource: '/{proxy+}',
        path: req.path,
        httpMethod: req.method,
        headers,
        multiValueHeaders: mvh,
        queryStringParameters: pairs.length ? Object.fromEntries(Object.entries(mvq).map(([k, v]) => [k, v[v.length - 1]])) : null,
        multiValueQueryStringParameters: pairs.length ? mvq : null,
        pathParameters: { proxy: req.path.slice(1) },
        stageVariables: null,
        requestContext: { stage: 'prod', path: `/prod${req.path}`, httpMethod: req.method, protocol: 'HTTP/1.1', domainName: HOST, identity: { sourceIp: '198.51.100.7' }, requestId: 'parity' },
        ...bodyFields,
      }
    }
    case 'apigateway-http-v2':
    case 'function-url': {
      const cookies = headers.cookie ? headers.cookie.split(/;\s*/) : undefined
      const h = { ...headers }
      delete h.cookie
      const domain = source === 'function-url' ? 'abcdefghijklmnop.lambda-url.us-east-1.on.aws' : HOST
      h.host = domain
      return {
        version: '2.0',
        routeKey: source === 'function-url' ? '$default' : '$default',
        rawPath: req.path,
        rawQueryString: req.query ?? '',
        ...(cookies ? { cookies } : {}),
        headers: h,
        requestContext: { domainName: domain, http: { method: req.method, path: req.path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'parity-test' }, requestId: 'parity', stage: '$default' },
        ...bodyFields,
      }
    }
    case 'alb':
    case 'alb-multi-value': {
      const base = { requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/parity/0123456789abcdef' } }, httpMethod: req.method, path: req.path, ...bodyFields }
      const h = { ...headers, 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-port': '443' }
      if (source === 'alb') {
        const q: Record<string, string> = {}
        for (const [k, v] of pairs) q[k] = v
        return { ...base, queryStringParameters: q, headers: h }
      }
      const mq: Record<string, string[]> = {}
      for (const [k, v] of pairs) (mq[k] ??= []).push(v)
      const mh: Record<string, string[]> = {}
      for (const [k, v] of Object.entries(h)) mh[k] = [v]
      return { ...base, multiValueQueryStringParameters: mq, multiValueHeaders: mh }
    }
  }
}

/** The answer a client of `source` gets from the invocation response. */
export function fromLambda(source: Source, response: Record<string, unknown>): Answer {
  const headers: Record<string, string[]> = {}
  const mv = response.multiValueHeaders as Record<string, string[]> | undefined
  const sv = response.headers as Record<string, string> | undefined
  for (const [k, v] of Object.entries(mv ?? {})) headers[k.toLowerCase()] = [...v]
  for (const [k, v] of Object.entries(sv ?? {})) (headers[k.toLowerCase()] ??= []).push(v)
  if (source === 'apigateway-http-v2' || source === 'function-url') {
    const cookies = response.cookies as string[] | undefined
    if (cookies?.length) headers['set-cookie'] = [...cookies]
  }
  const raw = String(response.body ?? '')
  return { status: response.statusCode as number, headers, body: response.isBase64Encoded === true ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8') }
}

// ----- nginx + PHP-FPM -----

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

function locateBinary(candidates: string[], pkg: string): string {
  const found = candidates.find((c) => existsSync(c))
  if (!found) throw new Error(`${candidates.join(' or ')} not found: run scripts/setup-host.sh, which installs Debian's ${pkg}`)
  return found
}

/** The layer's php.ini as the recipe defines it, minus the line that points at the layer's own extension directory. */
export function layerIniLines(): string[] {
  return loadConfig({ root: repoRoot }).php.ini.filter((l) => !/^\s*extension_dir\s*=/.test(l))
}

export interface Reference {
  port: number
  logs(): string
  stop(): Promise<void>
}

/**
 * Starts Debian's php-fpm (one worker, as one Lambda sandbox serves one request at a time) with the layer's php.ini
 * and the app's php/conf.d, and Debian's nginx in front of it on a free loopback port, configured as the usual
 * front-controller site: `try_files $uri $uri/ /index.php`, `index index.php index.html`, PHP files split into
 * SCRIPT_NAME and PATH_INFO, a missing script falling back to the front controller.
 */
export async function startReference(appDir: string): Promise<Reference> {
  const nginx = locateBinary(['/usr/sbin/nginx'], 'nginx-light')
  const fpm = locateBinary(['/usr/sbin/php-fpm8.2'], 'php-fpm (php8.2-fpm)')
  const dir = mkdtempSync(join(tmpdir(), 'parity-ref-'))
  for (const d of ['etc', 'body', 'fastcgi', 'proxy', 'uwsgi', 'scgi', 'logs']) mkdirSync(join(dir, d))
  writeFileSync(join(dir, 'etc/php.ini'), layerIniLines().join('\n') + '\n')
  const socket = join(dir, 'php-fpm.sock')
  writeFileSync(join(dir, 'etc/php-fpm.conf'), [
    '[global]',
    `pid = ${join(dir, 'php-fpm.pid')}`,
    `error_log = ${join(dir, 'logs/php-fpm.log')}`,
    'daemonize = no',
    '[www]',
    `listen = ${socket}`,
    'pm = static',
    'pm.max_children = 1',
    'catch_workers_output = yes',
    'decorate_workers_output = no',
    'clear_env = yes',
    '',
  ].join('\n'))
  const port = await freePort()
  const root = join(appDir, 'public')
  writeFileSync(join(dir, 'etc/nginx.conf'), `
worker_processes 1;
user root;
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 64; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  server_tokens off;
  absolute_redirect off;
  client_max_body_size 6m;
  client_body_temp_path ${join(dir, 'body')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  proxy_temp_path ${join(dir, 'proxy')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  server {
    listen 127.0.0.1:${port};
    server_name ${HOST};
    root ${root};
    index index.php index.html;
    location / {
      try_files $uri $uri/ /index.php$is_args$args;
    }
    location ~ [^/]\\.php(/|$) {
      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;
      # try_files resets $fastcgi_path_info, so keep it first.
      set $path_info $fastcgi_path_info;
      try_files $fastcgi_script_name /index.php$is_args$args;
      include /etc/nginx/fastcgi.conf;
      fastcgi_param PATH_INFO $path_info;
      fastcgi_pass unix:${socket};
    }
  }
}
`)
  let output = ''
  const logs = () => {
    const fpmLog = join(dir, 'logs/php-fpm.log')
    return output + (existsSync(fpmLog) ? readFileSync(fpmLog, 'utf8') : '')
  }
  const collect = (p: ChildProcess) => {
    p.stdout?.on('data', (d: Buffer) => (output += d.toString()))
    p.stderr?.on('data', (d: Buffer) => (output += d.toString()))
  }
  const iniScan = `/etc/php/8.2/fpm/conf.d:${join(appDir, 'php/conf.d')}`
  const fpmProc = spawn(fpm, ['-F', '-R', '-y', join(dir, 'etc/php-fpm.conf'), '-c', join(dir, 'etc/php.ini')], { env: { PATH: process.env.PATH, PHP_INI_SCAN_DIR: iniScan }, stdio: ['ignore', 'pipe', 'pipe'] })
  collect(fpmProc)
  const nginxProc = spawn(nginx, ['-c', join(dir, 'etc/nginx.conf'), '-p', dir, '-e', 'stderr'], { stdio: ['ignore', 'pipe', 'pipe'] })
  collect(nginxProc)
  const stop = async () => {
    for (const p of [nginxProc, fpmProc]) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGQUIT')
        await Promise.race([new Promise((r) => p.once('exit', r)), new Promise((r) => setTimeout(r, 3000))])
        if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
  // Ready when nginx answers and php-fpm's socket exists.
  const until = Date.now() + 15_000
  for (;;) {
    if (fpmProc.exitCode !== null || nginxProc.exitCode !== null) {
      const text = logs()
      await stop()
      throw new Error(`nginx or php-fpm exited at start-up:\n${text}`)
    }
    if (existsSync(socket)) {
      try {
        await fetchReference(port, { name: 'ready', method: 'GET', path: '/assets/notes.txt' })
        break
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > until) {
      const text = logs()
      await stop()
      throw new Error(`nginx + php-fpm did not answer within 15 s:\n${text}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return { port, logs, stop }
}

/** Sends `req` to the reference server and collects the answer. */
export function fetchReference(port: number, req: ParityRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: HOST, 'user-agent': 'parity-test', ...(req.headers ?? {}) }
    if (req.body && !('content-length' in headers)) headers['content-length'] = String(req.body.length)
    const r = httpRequest({ host: '127.0.0.1', port, method: req.method, path: req.path + (req.query ? `?${req.query}` : ''), headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const out: Record<string, string[]> = {}
        for (let i = 0; i < res.rawHeaders.length; i += 2) (out[res.rawHeaders[i]!.toLowerCase()] ??= []).push(res.rawHeaders[i + 1]!)
        resolve({ status: res.statusCode!, headers: out, body: Buffer.concat(chunks) })
      })
    })
    r.on('error', reject)
    r.setTimeout(10_000, () => r.destroy(new Error('no answer from nginx within 10 s')))
    r.end(req.body)
  })
}

// ----- comparison -----

export interface Difference {
  /** which part differs: status, a header name, or body */
  part: string
  reference: unknown
  layer: unknown
}

export function compare(reference: Answer, layer: Answer): Difference[] {
  const out: Difference[] = []
  if (reference.status !== layer.status) out.push({ part: 'status', reference: reference.status, layer: layer.status })
  for (const name of COMPARED_HEADERS) {
    const a = reference.headers[name] ?? []
    const b = layer.headers[name] ?? []
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ part: name, reference: a, layer: b })
  }
  if (!reference.body.equals(layer.body)) {
    const show = (b: Buffer) => (b.length > 2000 ? `${b.length} bytes, sha256 ${createHash('sha256').update(b).digest('hex').slice(0, 16)}, starting ${JSON.stringify(b.subarray(0, 100).toString('latin1'))}` : b.toString('latin1'))
    out.push({ part: 'body', reference: show(reference.body), layer: show(layer.body) })
  }
  return out
}

export interface KnownDifference {
  /** the request it concerns (its name in parityRequests) */
  request: string
  /** only for these sources (all when absent) */
  sources?: Source[]
  /** the parts that may differ */
  parts: string[]
  why: string
  /** a difference of the built layer's PHP (its extensions), absent when the runtime runs on Debian's php-cgi */
  builtLayerOnly?: boolean
}

/** Every accepted difference between the layer and nginx + PHP-FPM; runtime/README.md lists the same. */
export const KNOWN_DIFFERENCES: KnownDifference[] = [
  { request: 'directory without slash redirects', parts: ['body'], why: "the 301 page is the server's own; nginx names itself in it" },
  { request: 'static file, POST', parts: ['body', 'content-type'], why: "the 405 page is the server's own" },
  { request: 'static JavaScript', parts: ['content-type'], why: 'the media type comes from mime-db (text/javascript, RFC 9239); Debian\'s nginx still says application/javascript' },
  { request: 'dotfile', parts: ['status', 'content-type', 'etag', 'last-modified', 'x-route', 'body'], why: 'nginx serves dotfiles such as .env unless a site denies them; the runtime never does (the front controller answers)' },
  { request: 'directory without an index', parts: ['status', 'content-type', 'x-route', 'body'], why: 'nginx answers 403; the runtime lets the front controller answer' },
  { request: 'file over the 6 MB response limit', parts: ['status', 'content-type', 'etag', 'last-modified', 'body'], why: 'a Lambda response cannot hold it: the runtime answers 413 with a clear message instead of failing the invocation' },
  { request: 'symlink out of the document root', parts: ['status', 'content-type', 'etag', 'last-modified', 'x-route', 'body'], why: 'nginx follows symlinks anywhere; the runtime serves nothing whose real path is outside the document root' },
  { request: 'login sets two cookies and redirects', sources: ['alb'], parts: ['set-cookie'], why: 'an ALB target group without multi-value headers takes one value per header: only the last Set-Cookie survives (enable multi-value headers)' },
  { request: 'cookies in and out, $_REQUEST without cookies', sources: ['alb'], parts: ['set-cookie'], why: 'as above: single-value ALB keeps the last Set-Cookie only' },
  { request: 'extensions real applications need', parts: ['body'], why: 'the base layer has neither gd nor intl (both are add-on layers), Debian\'s PHP has both; this line shows the gap', builtLayerOnly: true },
]

/** The parts of an answer an expectation names, in its shape. */
function view(a: Answer, expect: NonNullable<ParityRequest['expect']>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (expect.status !== undefined) out.status = a.status
  if (expect.headers) out.headers = Object.fromEntries(Object.keys(expect.headers).map((k) => [k, a.headers[k]?.join(', ')]))
  if (expect.body !== undefined) out.body = a.body.toString('utf8')
  if (expect.json) {
    try {
      out.json = JSON.parse(a.body.toString('utf8')) as unknown
    } catch {
      out.json = `not JSON: ${a.body.toString('utf8').slice(0, 200)}`
    }
  }
  return out
}

/** The differences not covered by KNOWN_DIFFERENCES. */
export function unexplained(request: string, source: Source, diffs: Difference[], builtLayer: boolean): Difference[] {
  const known = KNOWN_DIFFERENCES.filter((k) => k.request === request && (!k.sources || k.sources.includes(source)) && (builtLayer || !k.builtLayerOnly))
  return diffs.filter((d) => !known.some((k) => k.parts.includes(d.part)))
}

// ----- the suite, for any way of running the layer -----

/** A running layer: invoke() sends one event through the Runtime API and returns the invocation's result. */
export interface LayerUnderTest {
  invoke(event: Record<string, unknown>): Promise<InvocationResult>
  stop(): Promise<void>
}

/**
 * Drives every parity request through `layer` with every source and through nginx + PHP-FPM, and fails on any
 * difference that is not in KNOWN_DIFFERENCES. Also fails when a known difference no longer occurs for any source,
 * so the list stays true.
 */
export async function runParitySuite(t: Test, builtLayer: boolean, startLayer: (appDir: string) => Promise<LayerUnderTest>): Promise<void> {
  const app = prepareApp()
  t.teardown(() => app.remove())
  const reference = await startReference(app.dir)
  t.teardown(() => reference.stop())
  const layer = await startLayer(app.dir)
  t.teardown(() => layer.stop())
  const seen = new Set<string>()
  for (const req of parityRequests(app.dir)) {
    const expected = await fetchReference(reference.port, req)
    await t.test(`${req.method} ${req.path}${req.query ? `?${req.query}` : ''}: ${req.name}`, async (t) => {
      if (req.expect) t.match(view(expected, req.expect), req.expect, 'nginx + PHP-FPM answer as expected')
      for (const source of SOURCES) {
        const result = await layer.invoke(toEvent(source, req))
        if (result.kind !== 'response') {
          t.fail(`${source}: expected a response, got ${JSON.stringify(result).slice(0, 600)}`)
          continue
        }
        const got = fromLambda(source, result.json as Record<string, unknown>)
        if (req.expect) t.match(view(got, req.expect), req.expect, `${source}: answers as expected`)
        const diffs = compare(expected, got)
        for (const d of diffs) seen.add(`${req.name}\0${d.part}`)
        t.same(unexplained(req.name, source, diffs, builtLayer), [], `${source}: status ${got.status}, same as nginx + PHP-FPM (${expected.status}) or a documented difference`)
      }
    })
  }
  t.test('every documented difference still occurs', async (t) => {
    for (const k of KNOWN_DIFFERENCES.filter((k) => builtLayer || !k.builtLayerOnly)) {
      t.ok(k.parts.some((p) => seen.has(`${k.request}\0${p}`)), `${k.request}: ${k.why}`)
    }
  })
}
