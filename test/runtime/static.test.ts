// Static files, routing settings and warm-up pings through the bootstrap (runtime from this repository, Debian's
// php-cgi): validators and 304s, the 6 MB limit, Cache-Control, PHP_LAYER_STATIC_FILES=off, PHP_LAYER_DOCUMENT_ROOT,
// configuration errors, and pings answered without PHP.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RuntimeApiEmulator, type InvocationResult, type Sandbox } from '../support/runtime-api-emulator.ts'
import { prepareApp, toEvent, validators, type ParityRequest } from '../support/parity.ts'
import { findPhpBinaries, runtimeBootstrap, runtimeEnv } from '../support/php.ts'

const php = findPhpBinaries()
const app = prepareApp()
t.teardown(() => app.remove())
type Json = Record<string, unknown>

async function start(t: Test, extra: NodeJS.ProcessEnv = {}, handler = 'public/index.php'): Promise<{ api: RuntimeApiEmulator; sandbox: Sandbox }> {
  const api = await RuntimeApiEmulator.start()
  const sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php, { taskRoot: app.dir, handler, extra }) })
  t.teardown(async () => {
    await sandbox.stop()
    await api.close()
  })
  return { api, sandbox }
}

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Json {
  const req: ParityRequest = { name: path, method, path, headers }
  return toEvent('apigateway-http-v2', req)
}

function response(t: Test, result: InvocationResult): Json {
  if (result.kind !== 'response') {
    t.fail(`expected a response, got ${JSON.stringify(result).slice(0, 500)}`)
    throw new Error('no response')
  }
  return result.json as Json
}

t.test('static files: type, validators, 304, binary as base64, HEAD, POST', async (t) => {
  const { api } = await start(t)
  const png = readFileSync(join(app.dir, 'public/assets/logo.png'))
  const { etag, lastModified } = validators(join(app.dir, 'public/assets/logo.png'))
  const full = response(t, await api.invoke(get('/assets/logo.png')))
  t.match(full, { statusCode: 200, isBase64Encoded: true, headers: { 'content-type': 'image/png', etag, 'last-modified': lastModified } })
  t.notOk('cache-control' in (full.headers as Json), 'no Cache-Control unless configured')
  t.ok(Buffer.from(full.body as string, 'base64').equals(png), 'the file, byte for byte')

  t.match(response(t, await api.invoke(get('/assets/logo.png', { 'if-none-match': etag }))), { statusCode: 304, body: '', headers: { etag } })
  t.match(response(t, await api.invoke(get('/assets/logo.png', { 'if-none-match': `"x", W/${etag}` }))), { statusCode: 304 }, 'weak and listed tags match')
  t.match(response(t, await api.invoke(get('/assets/logo.png', { 'if-modified-since': lastModified }))), { statusCode: 304 })
  t.match(response(t, await api.invoke(get('/assets/logo.png', { 'if-modified-since': 'Thu, 01 Jan 1970 00:00:00 GMT' }))), { statusCode: 200 })
  t.match(response(t, await api.invoke(get('/assets/logo.png', { 'if-none-match': '"other"', 'if-modified-since': lastModified }))), { statusCode: 200 }, 'If-None-Match wins over If-Modified-Since')
  t.match(response(t, await api.invoke(get('/assets/logo.png', {}, 'HEAD'))), { statusCode: 200, body: '', headers: { 'content-type': 'image/png', etag } })
  t.match(response(t, await api.invoke(get('/assets/logo.png', {}, 'DELETE'))), { statusCode: 405, headers: { allow: 'GET, HEAD' } })
  t.match(response(t, await api.invoke(get('/assets/style.css'))), { statusCode: 200, isBase64Encoded: false, headers: { 'content-type': 'text/css' }, body: /^body \{/ })
})

t.test('a file over the 6 MB response limit gets a clear 413, and the runtime goes on', async (t) => {
  const { api, sandbox } = await start(t)
  const r = response(t, await api.invoke(get('/assets/video.bin')))
  t.match(r, { statusCode: 413, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: new RegExp(`video\\.bin is ${app.bigBytes} bytes, more than a Lambda function can return`) })
  await t.resolves(sandbox.waitForLog(/video\.bin is \d+ bytes, too large for a Lambda response/), 'and says so in the log')
  t.match(response(t, await api.invoke(get('/assets/notes.txt'))), { statusCode: 200, body: 'plain text, UTF-8: Zoë\n' })
})

t.test('PHP_LAYER_STATIC_CACHE_CONTROL adds Cache-Control to static files only', async (t) => {
  const { api } = await start(t, { PHP_LAYER_STATIC_CACHE_CONTROL: 'public, max-age=3600' })
  t.match(response(t, await api.invoke(get('/assets/app.js'))), { statusCode: 200, headers: { 'cache-control': 'public, max-age=3600', 'content-type': 'text/javascript' } })
  const page = response(t, await api.invoke(get('/')))
  t.notOk('cache-control' in (page.headers as Json), 'PHP answers keep their own headers')
})

t.test('PHP_LAYER_STATIC_FILES=off: every file request reaches the front controller; directory indexes still run', async (t) => {
  const { api } = await start(t, { PHP_LAYER_STATIC_FILES: 'off' })
  t.match(response(t, await api.invoke(get('/assets/logo.png'))), { statusCode: 200, headers: { 'x-route': 'front', 'content-type': 'application/json' } })
  t.match(response(t, await api.invoke(get('/admin/'))), { statusCode: 200, headers: { 'x-route': 'admin-index' } })
  t.match(response(t, await api.invoke(get('/admin'))), { statusCode: 301, headers: { location: '/admin/' } })
})

t.test('PHP_LAYER_DOCUMENT_ROOT: a web root other than the handler\'s directory', async (t) => {
  // The handler is public/admin/index.php, the root public/: /assets/… is still found, / runs the handler.
  const { api } = await start(t, { PHP_LAYER_DOCUMENT_ROOT: 'public' }, 'public/admin/index.php')
  t.match(response(t, await api.invoke(get('/assets/notes.txt'))), { statusCode: 200, body: 'plain text, UTF-8: Zoë\n' })
  const front = response(t, await api.invoke(get('/some/route')))
  t.match(front, { statusCode: 200, headers: { 'x-route': 'admin-index' } })
  t.match(JSON.parse(front.body as string), { server: { SCRIPT_NAME: '/admin/index.php', SCRIPT_FILENAME: '<root>/admin/index.php' } })
})

t.test('bad routing settings are init errors naming the value', async (t) => {
  const cases: Array<[string, NodeJS.ProcessEnv, string, RegExp]> = [
    ['static switch', { PHP_LAYER_STATIC_FILES: 'maybe' }, 'public/index.php', /PHP_LAYER_STATIC_FILES must be on or off, not "maybe"/],
    ['missing root', { PHP_LAYER_DOCUMENT_ROOT: 'web' }, 'public/index.php', /PHP_LAYER_DOCUMENT_ROOT="web" is not a directory/],
    ['handler outside the root', { PHP_LAYER_DOCUMENT_ROOT: 'public/admin' }, 'public/index.php', /is outside PHP_LAYER_DOCUMENT_ROOT/],
    ['header injection', { PHP_LAYER_STATIC_CACHE_CONTROL: 'max-age=1\r\nX-Evil: 1' }, 'public/index.php', /PHP_LAYER_STATIC_CACHE_CONTROL must be a Cache-Control header value/],
  ]
  for (const [name, extra, handler, message] of cases) {
    const { api, sandbox } = await start(t, extra, handler)
    const result = await api.invoke(get('/'))
    t.match(result, { kind: 'error', phase: 'init', errorType: 'Runtime.InvalidConfiguration' }, name)
    t.match(result.kind === 'error' ? result.error?.errorMessage : '', message, name)
    t.match(await sandbox.exited, { code: 1 }, `${name}: exits`)
  }
})

t.test('warm-up pings are answered without PHP and logged once', async (t) => {
  const { api, sandbox } = await start(t)
  for (const ping of [{ warmer: true }, { warmer: true, concurrency: 2 }, { source: 'serverless-plugin-warmup' }]) {
    t.match(await api.invoke(ping), { kind: 'response', json: { warm: true } }, JSON.stringify(ping))
  }
  t.match(response(t, await api.invoke(get('/'))), { statusCode: 200, headers: { 'x-route': 'front' } }, 'HTTP events still run PHP')
  await sandbox.waitForLog(/warm-up ping answered without running PHP/)
  t.equal(sandbox.logs.match(/warm-up ping answered without running PHP/g)?.length, 1, 'one log line for all pings')
  t.match(await api.invoke({ warmer: 'no' }), { kind: 'error', errorType: 'Runtime.UnsupportedEvent' }, 'anything else is still not an HTTP event')
})
