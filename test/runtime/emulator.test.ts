// The Runtime API emulator against the documented contract, driven by a hand-written client,
// so that runtime tests built on it test the runtime and not the emulator.
import t, { type Test } from 'tap'
import { connect } from 'node:net'
import { MAX_RESPONSE_BYTES, RuntimeApiEmulator, makeTraceId } from '../support/runtime-api-emulator.ts'

const PREFIX = '/2018-06-01/runtime'

async function start(t: Test): Promise<RuntimeApiEmulator> {
  const api = await RuntimeApiEmulator.start()
  t.teardown(() => api.close())
  return api
}

function url(api: RuntimeApiEmulator, path: string): string {
  return `http://${api.address}${PREFIX}${path}`
}

async function next(api: RuntimeApiEmulator): Promise<{ id: string; headers: Headers; body: string }> {
  const res = await fetch(url(api, '/invocation/next'))
  if (res.status !== 200) throw new Error(`/next answered ${res.status}`)
  return { id: res.headers.get('lambda-runtime-aws-request-id') ?? '', headers: res.headers, body: await res.text() }
}

async function post(api: RuntimeApiEmulator, path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url(api, path), { method: 'POST', body, headers })
  return { status: res.status, json: await res.json() }
}

t.test('delivers an event with the documented headers and takes a response', async (t) => {
  const api = await start(t)
  t.match(api.address, /^127\.0\.0\.1:\d+$/)
  const before = Date.now()
  const result = api.invoke({ hello: 'world' }, { timeoutMs: 5000, functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:f', clientContext: { a: 1 } })
  const event = await next(api)
  t.same(JSON.parse(event.body), { hello: 'world' })
  t.match(event.id, /^[0-9a-f-]{36}$/)
  const deadline = Number(event.headers.get('lambda-runtime-deadline-ms'))
  t.ok(deadline >= before + 5000 && deadline <= Date.now() + 5000, 'deadline is delivery time + timeout, in epoch ms')
  t.equal(event.headers.get('lambda-runtime-invoked-function-arn'), 'arn:aws:lambda:eu-west-1:123456789012:function:f')
  t.match(event.headers.get('lambda-runtime-trace-id'), /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/)
  t.equal(event.headers.get('lambda-runtime-client-context'), '{"a":1}')
  t.equal(event.headers.get('lambda-runtime-cognito-identity'), null)

  const answer = await post(api, `/invocation/${event.id}/response`, '{"statusCode":200}')
  t.same(answer, { status: 202, json: { status: 'OK' } })
  const outcome = await result
  t.equal(outcome.kind, 'response')
  if (outcome.kind === 'response') t.same(outcome.json, { statusCode: 200 })
  t.equal(outcome.requestId, event.id)
  t.same(api.violations, [])
})

t.test('trace ids stay well-formed and distinct across batches of random bytes', async (t) => {
  // More ids than one batch of entropy holds, so the refill is exercised too.
  const ids = Array.from({ length: 1000 }, () => makeTraceId())
  for (const id of ids) {
    if (!/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/.test(id)) t.fail(`malformed trace id ${id}`)
  }
  t.equal(new Set(ids.map((id) => id.slice('Root=1-xxxxxxxx-'.length))).size, ids.length)
})

t.test('takes an error with its type header and body', async (t) => {
  const api = await start(t)
  const result = api.invoke({})
  const { id } = await next(api)
  const body = JSON.stringify({ errorMessage: 'boom', errorType: 'Body.Type', stackTrace: [] })
  const answer = await post(api, `/invocation/${id}/error`, body, { 'Lambda-Runtime-Function-Error-Type': 'Header.Type', 'Content-Type': 'application/vnd.aws.lambda.error+json' })
  t.equal(answer.status, 202)
  const outcome = await result
  t.equal(outcome.kind, 'error')
  if (outcome.kind === 'error') {
    t.equal(outcome.errorType, 'Header.Type', 'the header wins, as in Lambda')
    t.equal(outcome.error?.errorMessage, 'boom')
    t.equal(outcome.phase, 'invoke')
  }
})

t.test('refuses responses over 6 MB with 413 and the documented body', async (t) => {
  const api = await start(t)
  const atLimit = api.invoke({})
  const first = await next(api)
  t.equal((await post(api, `/invocation/${first.id}/response`, Buffer.alloc(MAX_RESPONSE_BYTES, 0x61))).status, 202, 'exactly at the limit is accepted')
  t.equal((await atLimit).kind, 'response')

  const over = api.invoke({})
  const second = await next(api)
  const answer = await post(api, `/invocation/${second.id}/response`, Buffer.alloc(MAX_RESPONSE_BYTES + 1, 0x61))
  t.same(answer, { status: 413, json: { errorMessage: 'Exceeded maximum allowed payload size (6291556 bytes).', errorType: 'RequestEntityTooLarge' } })
  const outcome = await over
  t.equal(outcome.kind, 'error')
  if (outcome.kind === 'error') {
    t.equal(outcome.errorType, 'Function.ResponseSizeTooLarge')
    t.equal(outcome.error?.errorMessage, 'Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes).')
  }
})

t.test('rejects answers for unknown or finished invocations', async (t) => {
  const api = await start(t)
  t.same(await post(api, '/invocation/nope/response', '{}'), { status: 400, json: { errorMessage: 'Invalid request ID: nope', errorType: 'InvalidRequestID' } })
  const result = api.invoke({})
  const { id } = await next(api)
  t.equal((await post(api, `/invocation/${id}/response`, '{}')).status, 202)
  await result
  const again = await post(api, `/invocation/${id}/error`, '{}')
  t.equal(again.status, 403)
  t.match(again.json, { errorType: 'InvalidStateTransition' })
  t.equal(api.violations.length, 2)
})

t.test('refuses /next while an invocation is unanswered', async (t) => {
  const api = await start(t)
  const result = api.invoke({})
  const { id } = await next(api)
  const res = await fetch(url(api, '/invocation/next'))
  t.equal(res.status, 403)
  t.match(await res.json(), { errorType: 'InvalidStateTransition' })
  await post(api, `/invocation/${id}/response`, '{}')
  await result
})

t.test('queues invocations and hands them out one at a time, in order', async (t) => {
  const api = await start(t)
  const results = [api.invoke({ n: 1 }), api.invoke({ n: 2 }), api.invoke('raw, not JSON')]
  const seen: string[] = []
  for (let i = 0; i < 3; i++) {
    const event = await next(api)
    seen.push(event.body)
    await post(api, `/invocation/${event.id}/response`, JSON.stringify({ echo: event.body }))
  }
  t.same(seen, ['{"n":1}', '{"n":2}', 'raw, not JSON'], 'strings are sent as they are')
  const outcomes = await Promise.all(results)
  t.same(outcomes.map((o) => (o.kind === 'response' ? o.json : o.kind)), [{ echo: '{"n":1}' }, { echo: '{"n":2}' }, { echo: 'raw, not JSON' }])
  t.equal(api.nextCalls, 3)
})

t.test('an init error answers queued invocations and is kept', async (t) => {
  const api = await start(t)
  const result = api.invoke({})
  const answer = await post(api, '/init/error', JSON.stringify({ errorMessage: 'no handler', errorType: 'Runtime.HandlerNotFound' }), { 'Lambda-Runtime-Function-Error-Type': 'Runtime.HandlerNotFound' })
  t.same(answer, { status: 202, json: { status: 'OK' } })
  const report = await api.waitForInitError()
  t.equal(report.errorType, 'Runtime.HandlerNotFound')
  const outcome = await result
  t.match(outcome, { kind: 'error', phase: 'init', errorType: 'Runtime.HandlerNotFound', error: { errorMessage: 'no handler' } })
})

// A runtime that takes one event and then hangs (or exits), to see what Lambda would do.
const takeOneEvent = (after: string): string => `
  const http = require('node:http')
  http.get('http://' + process.env.AWS_LAMBDA_RUNTIME_API + '/2018-06-01/runtime/invocation/next', (res) => {
    res.resume()
    res.on('end', () => { ${after} })
  })
  setInterval(() => {}, 1000)
`

t.test('past the deadline the invocation times out and the sandbox is killed', async (t) => {
  const api = await start(t)
  const sandbox = api.spawnSandbox({ command: process.execPath, args: ['-e', takeOneEvent('/* never answers */')] })
  t.teardown(() => sandbox.stop())
  const started = performance.now()
  const outcome = await api.invoke({}, { timeoutMs: 400 })
  t.match(outcome, { kind: 'timeout', message: 'Task timed out after 0.40 seconds' })
  t.ok(performance.now() - started >= 400)
  const exit = await sandbox.exited
  t.equal(exit.signal, 'SIGKILL')
  t.ok(sandbox.killedForTimeout)
})

t.test('a sandbox that exits mid-invocation ends it', async (t) => {
  const api = await start(t)
  const sandbox = api.spawnSandbox({ command: process.execPath, args: ['-e', takeOneEvent('process.exit(7)')] })
  const outcome = await api.invoke({}, { timeoutMs: 10_000 })
  t.match(outcome, { kind: 'sandbox-exited', code: 7 })
  t.notOk(sandbox.killedForTimeout)
})

t.test('reports when the runtime first asks for work', async (t) => {
  const api = await start(t)
  const waiting = api.waitForNext()
  const sandbox = api.spawnSandbox({ command: process.execPath, args: ['-e', takeOneEvent('')] })
  t.teardown(() => sandbox.stop())
  const at = await waiting
  t.equal(api.firstNextAt, at)
  t.ok(at > sandbox.startedAt)
})

// The emulator's HTTP/1.1 layer (builder/smoke/http1-server.ts), byte by byte over a raw socket.
function rawExchange(api: RuntimeApiEmulator, chunks: Array<string | Buffer>, done: (received: string) => boolean): Promise<string> {
  const [host, port] = api.address.split(':')
  return new Promise((resolve, reject) => {
    let received = ''
    const socket = connect(Number(port), host ?? '127.0.0.1', async () => {
      for (const chunk of chunks) {
        socket.write(chunk)
        await new Promise((r) => setTimeout(r, 2))
      }
    })
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no complete answer; got ${JSON.stringify(received)}`)) }, 5000)
    socket.on('data', (data) => {
      received += data.toString('latin1')
      if (done(received)) { clearTimeout(timer); socket.destroy(); resolve(received) }
    })
    socket.on('end', () => { clearTimeout(timer); resolve(received) })
    socket.on('error', reject)
  })
}

const count = (text: string, part: string): number => text.split(part).length - 1

t.test('HTTP: pipelined requests are answered in order, one each', async (t) => {
  const api = await start(t)
  const one = `POST ${PREFIX}/invocation/a/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`
  const two = `POST ${PREFIX}/invocation/b/error HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`
  const answer = await rawExchange(api, [one + two], (r) => count(r, 'InvalidRequestID') === 2)
  t.equal(count(answer, 'HTTP/1.1 400 Bad Request'), 2)
  t.ok(answer.indexOf('Invalid request ID: a') < answer.indexOf('Invalid request ID: b'), 'in the order sent')
})

t.test('HTTP: chunked bodies, bodies split across segments, and Expect: 100-continue', async (t) => {
  const api = await start(t)
  const result = api.invoke({})
  const { id } = await next(api)
  const path = `${PREFIX}/invocation/${id}/response`
  const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n`
  // Chunks with an extension and a trailer, and the request cut at awkward places.
  const body = '5;ext=1\r\n{"sta\r\n9\r\ntusCode":\r\n4\r\n201}\r\n0\r\nX-Trailer: 1\r\n\r\n'
  const answer = await rawExchange(api, [head.slice(0, 7), head.slice(7), ...body.match(/.{1,3}/gs) ?? []], (r) => r.includes('{"status":"OK"}'))
  t.match(answer, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 202 Accepted\r\n/)
  const outcome = await result
  t.equal(outcome.kind, 'response')
  if (outcome.kind === 'response') t.same(outcome.json, { statusCode: 201 })
})

t.test('HTTP: unparseable requests get a 4xx and the connection is closed', async (t) => {
  const api = await start(t)
  const badLine = await rawExchange(api, ['NOT HTTP AT ALL\r\n\r\n'], () => false)
  t.match(badLine, /^HTTP\/1\.1 400 Bad Request\r\n[^]*Connection: close\r\n[^]*bad request line/)
  const badLength = await rawExchange(api, [`POST ${PREFIX}/init/error HTTP/1.1\r\nContent-Length: -1\r\n\r\n`], () => false)
  t.match(badLength, /^HTTP\/1\.1 400 [^]*bad Content-Length/)
  const huge = await rawExchange(api, [`GET ${PREFIX}/invocation/next HTTP/1.1\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`], () => false)
  t.match(huge, /^HTTP\/1\.1 431 /)
  t.equal(api.initError, undefined, 'nothing reached the Runtime API routes')
})

t.test('HTTP: Connection: close is honoured after the answer', async (t) => {
  const api = await start(t)
  const answer = await rawExchange(api, [`GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n`], () => false)
  t.match(answer, /^HTTP\/1\.1 404 Not Found\r\n[^]*Connection: close\r\n/)
  t.match(answer, /no such Runtime API route: GET \/nope/)
})

t.test('ready() resolves once the runtime waits in /next with nothing in flight', async (t) => {
  const api = await start(t)
  let ready = false
  const becameReady = api.ready().then(() => { ready = true })
  await new Promise((r) => setTimeout(r, 20))
  t.notOk(ready, 'not before any /next')
  const result = api.invoke({ n: 1 })
  const { id } = await next(api)
  t.notOk(ready, 'not while an invocation is in flight')
  await post(api, `/invocation/${id}/response`, '{}')
  await result
  t.notOk(ready, 'not after the answer, before the next /next')
  const waiting = fetch(url(api, '/invocation/next')).catch(() => undefined)
  await becameReady
  t.ok(ready, 'once the next /next is waiting')
  await api.ready()
  t.pass('and at once while it still waits')
  void waiting
})

// Streamed responses, as the Runtime API documents them for HTTP integrations.
function streamedRequest(id: string, parts: Array<string | Buffer>, trailers = ''): Array<string | Buffer> {
  const head = `POST ${PREFIX}/invocation/${id}/response HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n`
    + 'Transfer-Encoding: chunked\r\nContent-Type: application/vnd.awslambda.http-integration-response\r\n'
    + 'Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n'
  const chunks = parts.map((p) => Buffer.concat([Buffer.from(`${Buffer.byteLength(p).toString(16)}\r\n`), Buffer.from(p), Buffer.from('\r\n')]))
  return [head, ...chunks, `0\r\n${trailers}\r\n`]
}

t.test('streamed responses: prelude, body as it arrived, and when', async (t) => {
  const api = await start(t)
  const result = api.invoke({})
  const { id } = await next(api)
  const prelude = JSON.stringify({ statusCode: 201, headers: { 'content-type': 'text/plain' }, cookies: ['a=1'] })
  const binary = Buffer.from([0, 1, 2, 255, 0, 0, 0, 0, 0, 0, 0, 0])
  const answer = await rawExchange(api, streamedRequest(id, [prelude + '\0'.repeat(8), 'first ', binary, ' last']), (r) => r.includes('{"status":"OK"}'))
  t.match(answer, /^HTTP\/1\.1 202 Accepted\r\n/)
  const outcome = await result
  t.equal(outcome.kind, 'response')
  if (outcome.kind !== 'response' || !outcome.stream) return
  t.match(outcome.stream, { contentType: 'application/vnd.awslambda.http-integration-response', prelude: { statusCode: 201, headers: { 'content-type': 'text/plain' }, cookies: ['a=1'] }, trailers: {} })
  t.ok(outcome.stream.body.equals(Buffer.concat([Buffer.from('first '), binary, Buffer.from(' last')])), 'the body after the prelude, NUL bytes inside it kept')
  t.ok(outcome.stream.firstBodyByteAt !== undefined && outcome.stream.firstBodyByteAt < outcome.stream.endedAt, 'the first body byte came before the end (the parts were sent 2 ms apart)')
  t.same(api.violations, [])
})

t.test('streamed responses: error trailers fail the invocation and keep what was streamed', async (t) => {
  const api = await start(t)
  const result = api.invoke({})
  const { id } = await next(api)
  const error = Buffer.from(JSON.stringify({ errorMessage: 'died', errorType: 'Runtime.PhpFatalError', stackTrace: [] })).toString('base64')
  await rawExchange(api, streamedRequest(id, ['{"statusCode":200}' + '\0'.repeat(8), 'partial'], `Lambda-Runtime-Function-Error-Type: Runtime.PhpFatalError\r\nLambda-Runtime-Function-Error-Body: ${error}\r\n`), (r) => r.includes('{"status":"OK"}'))
  const outcome = await result
  t.match(outcome, { kind: 'error', phase: 'invoke', errorType: 'Runtime.PhpFatalError', error: { errorMessage: 'died' } })
  if (outcome.kind === 'error') t.equal(outcome.stream?.body.toString(), 'partial')
})

t.test('streamed responses: a prelude without its NUL separator is a violation', async (t) => {
  const api = await start(t)
  const result = api.invoke({})
  const { id } = await next(api)
  await rawExchange(api, streamedRequest(id, ['{"statusCode":200}', 'body']), (r) => r.includes('{"status":"OK"}'))
  await result
  t.match(api.violations, [/without the eight NUL bytes/])
})

t.test('concurrency: up to N invocations at once, each to its own /next; one more /next is refused', async (t) => {
  const api = await RuntimeApiEmulator.start({ concurrency: 2 })
  t.teardown(() => api.close())
  const first = api.invoke({ n: 1 })
  const second = api.invoke({ n: 2 })
  const [a, b] = await Promise.all([next(api), next(api)])
  t.not(a.id, b.id, 'two invocations in flight')
  t.same([a.body, b.body].sort(), ['{"n":1}', '{"n":2}'])
  const refused = await fetch(url(api, '/invocation/next'))
  t.equal(refused.status, 403, 'a third /next while two are in flight')
  t.match(api.violations, [/more than 2 \/next calls and invocations at once/])
  t.equal((await post(api, `/invocation/${b.id}/response`, '{"b":1}')).status, 202)
  t.equal((await post(api, `/invocation/${a.id}/response`, '{"a":1}')).status, 202, 'answered in any order')
  t.match(await first, { kind: 'response' })
  t.match(await second, { kind: 'response' })
})
