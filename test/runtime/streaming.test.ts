// Response streaming (PHP_LAYER_RESPONSE_STREAMING=on) through the bootstrap, with the Runtime API emulator taking
// the stream as Lambda documents it: the http-integration-response prelude, the body as it is flushed, error
// trailers for a failure after the first byte, and responses larger than the 6 MB buffered limit.
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RuntimeApiEmulator, type InvocationResult, type Sandbox } from '../support/runtime-api-emulator.ts'
import { prepareApp, toEvent } from '../support/parity.ts'
import { findPhpBinaries, fixtureApp, runtimeBootstrap, runtimeEnv } from '../support/php.ts'

const php = findPhpBinaries()
type Json = Record<string, unknown>

async function start(t: Test, taskRoot = fixtureApp): Promise<{ api: RuntimeApiEmulator; sandbox: Sandbox }> {
  const api = await RuntimeApiEmulator.start()
  const sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php, { taskRoot, extra: { PHP_LAYER_RESPONSE_STREAMING: 'on' } }) })
  t.teardown(async () => {
    await sandbox.stop()
    await api.close()
  })
  return { api, sandbox }
}

const event = (path: string, query = ''): Json => toEvent('function-url', { name: path, method: 'GET', path, query })

function streamed(t: Test, result: InvocationResult) {
  if (result.kind !== 'response' || !result.stream) {
    t.fail(`expected a streamed response, got ${JSON.stringify(result).slice(0, 500)}`)
    throw new Error('not streamed')
  }
  return { result, stream: result.stream }
}

t.test('the prelude carries status, headers and cookies; the body follows as flushed', async (t) => {
  const { api } = await start(t)
  const { stream } = streamed(t, await api.invoke(event('/stream.php', 'parts=3&kb=2'), { timeoutMs: 10_000 }))
  t.equal(stream.contentType, 'application/vnd.awslambda.http-integration-response')
  t.match(stream.prelude, { statusCode: 200, headers: { 'content-type': 'text/plain', 'x-stream': 'yes' }, cookies: ['streamed=1'] })
  t.notOk('set-cookie' in ((stream.prelude?.headers ?? {}) as Json), 'cookies travel in cookies[], not headers')
  t.equal(stream.body.toString(), 'a'.repeat(2048) + 'b'.repeat(2048) + 'c'.repeat(2048))
  t.same(stream.trailers, {}, 'no error trailers')
})

t.test('the first byte arrives before the script ends', async (t) => {
  const { api } = await start(t)
  // Four parts 300 ms apart: the script runs for at least 900 ms after its first flush.
  const { result, stream } = streamed(t, await api.invoke(event('/stream.php', 'parts=4&kb=1&pause=300'), { timeoutMs: 10_000 }))
  t.ok(stream.firstBodyByteAt !== undefined, 'body bytes arrived')
  const beforeEnd = stream.endedAt - (stream.firstBodyByteAt ?? stream.endedAt)
  t.ok(beforeEnd >= 800, `the first body byte came ${beforeEnd.toFixed(0)} ms before the stream ended (the script paused 900 ms after it)`)
  t.ok((stream.firstBodyByteAt ?? 0) >= (result.deliveredAt ?? 0), 'and after the event was delivered')
})

t.test('a 20 MB response streams intact, past the 6 MB buffered limit', async (t) => {
  const { api } = await start(t)
  const { stream } = streamed(t, await api.invoke(event('/stream.php', 'parts=20&kb=1024'), { timeoutMs: 60_000 }))
  const expected = createHash('sha256')
  for (let i = 0; i < 20; i++) expected.update(Buffer.alloc(1024 * 1024, 97 + i))
  t.equal(stream.body.length, 20 * 1024 * 1024)
  t.equal(createHash('sha256').update(stream.body).digest('hex'), expected.digest('hex'), 'byte for byte')
})

t.test('a fatal error after the first byte ends the stream with error trailers, and the next invocation is served', async (t) => {
  const { api, sandbox } = await start(t)
  const result = await api.invoke(event('/stream.php', 'parts=3&kb=1&fatal=1'), { timeoutMs: 10_000 })
  t.match(result, { kind: 'error', errorType: 'Runtime.PhpFatalError', error: { errorType: 'Runtime.PhpFatalError', errorMessage: /PHP fatal error after the response had started streaming/ } })
  t.equal(result.kind === 'error' ? result.stream?.body.toString() : undefined, 'a'.repeat(1024), 'what was streamed before the error is kept')
  t.match(result.kind === 'error' ? result.stream?.prelude : undefined, { statusCode: 200 })
  await sandbox.waitForLog(/PHP Fatal error/)
  const next = streamed(t, await api.invoke(event('/stream.php', 'parts=1&kb=1'), { timeoutMs: 10_000 }))
  t.equal(next.stream.body.toString(), 'a'.repeat(1024))
  t.same(api.violations, [])
})

t.test('a fatal error before any output streams the 500 answer normally', async (t) => {
  const { api } = await start(t)
  const { stream } = streamed(t, await api.invoke(event('/fatal.php'), { timeoutMs: 10_000 }))
  // fixtures/app/public/fatal.php prints before failing, but Debian's php.ini buffers 4 KB: the status is still 500.
  t.match(stream.prelude, { statusCode: 500 })
  t.same(stream.trailers, {})
})

t.test('static files, binary and raw, and directory redirects stream too', async (t) => {
  const app = prepareApp()
  t.teardown(() => app.remove())
  const { api } = await start(t, app.dir)
  const png = streamed(t, await api.invoke(event('/assets/logo.png')))
  t.match(png.stream.prelude, { statusCode: 200, headers: { 'content-type': 'image/png' } })
  t.ok(png.stream.body.equals(readFileSync(join(app.dir, 'public/assets/logo.png'))), 'binary bodies go raw, not base64')
  const big = streamed(t, await api.invoke(event('/assets/video.bin'), { timeoutMs: 30_000 }))
  t.match(big.stream.prelude, { statusCode: 413 }, 'the static size check still applies')
  const redirect = streamed(t, await api.invoke(event('/admin')))
  t.match(redirect.stream.prelude, { statusCode: 301, headers: { location: '/admin/' } })
  t.match(await api.invoke({ warmer: true }), { kind: 'response', json: { warm: true } }, 'warm-up pings stay plain')
})
