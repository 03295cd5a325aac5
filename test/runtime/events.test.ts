// Every HTTP event source, end to end: fixture event → bootstrap → php-cgi → response in the
// shape that source expects, with the CGI variables PHP saw (reported by the fixture app).
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import { RuntimeApiEmulator, makeTraceId, type InvocationResult, type Sandbox } from '../support/runtime-api-emulator.ts'
import { findPhpBinaries, fixtureApp, fixtureEvents, runtimeBootstrap, runtimeEnv } from '../support/php.ts'

const php = findPhpBinaries()
const documentRoot = realpathSync(join(fixtureApp, 'public'))

type Json = Record<string, unknown>
interface AppReport {
  server: Record<string, string>
  get: Json
  post: Json
  cookie: Json
  body: { length: number; sha256: string; text: string | null }
  getenv: Record<string, string | false>
}

function fixture(name: string): Json {
  return JSON.parse(readFileSync(join(fixtureEvents, `${name}.json`), 'utf8')) as Json
}

let api: RuntimeApiEmulator
let sandbox: Sandbox
t.before(async () => {
  api = await RuntimeApiEmulator.start()
  sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php) })
})
t.teardown(async () => {
  await sandbox.stop()
  await api.close()
})
t.afterEach(() => {
  t.same(api.violations, [], 'the runtime followed the Runtime API contract')
})

interface Served {
  response: Json
  report: AppReport
  result: InvocationResult
  traceId: string
}

/** Invokes, checks it was answered with a response, and unpacks the app's report from the body. */
async function serve(t: Test, event: Json): Promise<Served> {
  const traceId = makeTraceId()
  const result = await api.invoke(event, { timeoutMs: 10_000, traceId })
  if (result.kind !== 'response') {
    t.fail(`expected a response, got ${JSON.stringify(result)}`)
    throw new Error('no response')
  }
  const response = result.json as Json
  const body = response.body as string
  const text = response.isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body
  return { response, report: JSON.parse(text) as AppReport, result, traceId }
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

/** CGI variables every request gets, whatever the source. */
function checkCommon(t: Test, served: Served): void {
  const { server, getenv } = served.report
  t.equal(server.GATEWAY_INTERFACE, 'CGI/1.1')
  t.equal(server.SERVER_PROTOCOL, 'HTTP/1.1')
  t.equal(server.DOCUMENT_ROOT, documentRoot)
  t.equal(server.LAMBDA_REQUEST_ID, served.result.requestId, 'request id available to PHP')
  t.equal(server._X_AMZN_TRACE_ID, served.traceId, 'trace id set per invocation')
  t.equal(getenv._X_AMZN_TRACE_ID, served.traceId, 'getenv() sees the trace id too')
  const context = JSON.parse(server.LAMBDA_INVOCATION_CONTEXT ?? '{}') as Json
  t.match(context, { awsRequestId: served.result.requestId, traceId: served.traceId, deadlineMs: served.result.deadlineMs, invokedFunctionArn: /^arn:aws:lambda:/ })
}

function keys(response: Json): string[] {
  return Object.keys(response).sort()
}

t.test('API Gateway REST (1.0): GET with multi-value query and headers', async (t) => {
  const served = await serve(t, fixture('apigw-rest-get-multivalue'))
  const { response, report } = served
  t.same(keys(response), ['body', 'isBase64Encoded', 'multiValueHeaders', 'statusCode'], 'REST shape: multi-value headers, no statusDescription')
  t.equal(response.statusCode, 200)
  t.equal(response.isBase64Encoded, false)
  t.match(response.multiValueHeaders, {
    'content-type': ['application/json'],
    'x-repeated': ['one', 'two'],
    'set-cookie': ['first=1', /^second=2; expires=.*; path=\/; HttpOnly$/],
  })
  checkCommon(t, served)
  const query = 'name=Zo%C3%AB%20%26%20co&tag=a&tag=b&filter.date=2024-01-31&list%5B%5D=x&list%5B%5D=y'
  t.match(report.server, {
    LAMBDA_EVENT_SOURCE: 'apigateway-rest',
    REQUEST_METHOD: 'GET',
    REQUEST_URI: `/hello/world?${query}`,
    QUERY_STRING: query,
    SCRIPT_NAME: '/index.php',
    SCRIPT_FILENAME: join(documentRoot, 'index.php'),
    PATH_INFO: '',
    PHP_SELF: '/index.php',
    REMOTE_ADDR: '198.51.100.7',
    SERVER_NAME: 'r3pmxmplak.execute-api.us-east-2.amazonaws.com',
    SERVER_PORT: '443',
    HTTPS: 'on',
    REQUEST_SCHEME: 'https',
    HTTP_HOST: 'r3pmxmplak.execute-api.us-east-2.amazonaws.com',
    HTTP_ACCEPT_LANGUAGE: 'en-US, fr',
    HTTP_COOKIE: 'session=abc123; theme=dark',
  })
  t.notOk(report.server.REQUEST_URI?.includes('/prod/'), 'the stage is not part of the path')
  t.notOk('HTTP_X_SMUGGLED' in report.server, 'headers with underscores are dropped')
  t.equal(report.server.CONTENT_LENGTH, '', 'no body, CONTENT_LENGTH empty (as nginx passes it)')
  t.same(report.get, { name: 'Zoë & co', tag: 'b', filter_date: '2024-01-31', list: ['x', 'y'] })
  t.same(report.cookie, { session: 'abc123', theme: 'dark' })
})

t.test('API Gateway REST (1.0): POST with a base64 form body', async (t) => {
  const event = fixture('apigw-rest-post-base64')
  const served = await serve(t, event)
  const { response, report } = served
  t.same(keys(response), ['body', 'isBase64Encoded', 'multiValueHeaders', 'statusCode'])
  checkCommon(t, served)
  const body = Buffer.from(event.body as string, 'base64')
  t.match(report.server, {
    REQUEST_METHOD: 'POST',
    REQUEST_URI: '/forms/submit',
    QUERY_STRING: '',
    CONTENT_TYPE: 'application/x-www-form-urlencoded',
    CONTENT_LENGTH: String(body.length),
    REMOTE_ADDR: '203.0.113.20',
  })
  t.same(report.body, { length: body.length, sha256: sha256(body), text: body.toString('utf8') }, 'body decoded from base64')
  t.same(report.post, { name: 'José', city: 'São Paulo', tags: ['a', 'b'] })
})

t.test('HTTP API (2.0): cookies in, cookies out', async (t) => {
  const served = await serve(t, fixture('httpapi-v2-cookies'))
  const { response, report } = served
  t.same(keys(response), ['body', 'cookies', 'headers', 'isBase64Encoded', 'statusCode'], 'v2 shape')
  t.match(response.cookies, ['first=1', /^second=2; expires=/])
  t.same(response.headers, { 'content-type': 'application/json', 'x-repeated': 'one, two' }, 'repeated headers joined, Set-Cookie only in cookies[]')
  checkCommon(t, served)
  t.match(report.server, {
    LAMBDA_EVENT_SOURCE: 'apigateway-http-v2',
    REQUEST_URI: '/profile/settings?lang=en&x=1&x=2&a.b=c&q=caf%C3%A9+au+lait',
    QUERY_STRING: 'lang=en&x=1&x=2&a.b=c&q=caf%C3%A9+au+lait',
    HTTP_COOKIE: 'session=xyz789; theme=light',
    REMOTE_ADDR: '192.0.2.44',
    SERVER_NAME: 'api.example.com',
    SERVER_PORT: '443',
    HTTPS: 'on',
  })
  t.same(report.cookie, { session: 'xyz789', theme: 'light' })
  t.same(report.get, { lang: 'en', x: '2', a_b: 'c', q: 'café au lait' })
})

t.test('HTTP API (2.0): binary POST body', async (t) => {
  const event = fixture('httpapi-v2-binary-post')
  const served = await serve(t, event)
  const body = Buffer.from(event.body as string, 'base64')
  checkCommon(t, served)
  t.match(served.report.server, { REQUEST_METHOD: 'POST', CONTENT_TYPE: 'application/octet-stream', CONTENT_LENGTH: String(body.length) })
  t.same(served.report.body, { length: body.length, sha256: sha256(body), text: null }, 'every byte arrived')
})

t.test('ALB without multi-value headers', async (t) => {
  const served = await serve(t, fixture('alb-single-value'))
  const { response, report } = served
  t.same(keys(response), ['body', 'headers', 'isBase64Encoded', 'statusCode', 'statusDescription'], 'ALB shape with single-value headers')
  t.equal(response.statusDescription, '200 OK')
  t.match(response.headers, { 'content-type': 'application/json', 'x-repeated': 'one, two', 'set-cookie': /^second=2/ })
  checkCommon(t, served)
  t.match(report.server, {
    LAMBDA_EVENT_SOURCE: 'alb',
    REQUEST_URI: '/lambda/items?query=1234ABCD&greeting=hello%20world',
    QUERY_STRING: 'query=1234ABCD&greeting=hello%20world',
    REMOTE_ADDR: '72.12.164.125',
    SERVER_NAME: 'lambda-alb-123578498.us-east-2.elb.amazonaws.com',
    SERVER_PORT: '80',
    REQUEST_SCHEME: 'http',
    HTTP_COOKIE: 'cookie-name=cookie-value',
  })
  t.notOk('HTTPS' in report.server, 'plain http')
  t.same(report.get, { query: '1234ABCD', greeting: 'hello world' }, 'ALB passes encoded values; PHP decodes them once')
})

t.test('ALB with multi-value headers', async (t) => {
  const served = await serve(t, fixture('alb-multi-value'))
  const { response, report } = served
  t.same(keys(response), ['body', 'isBase64Encoded', 'multiValueHeaders', 'statusCode', 'statusDescription'], 'ALB shape with multi-value headers')
  t.match(response.multiValueHeaders, { 'x-repeated': ['one', 'two'], 'set-cookie': ['first=1', /^second=2/] })
  checkCommon(t, served)
  t.match(report.server, {
    LAMBDA_EVENT_SOURCE: 'alb-multi-value',
    QUERY_STRING: 'myKey=val1&myKey=val2&a.b=1&empty=',
    HTTP_COOKIE: 'name1=value1; name2=value2',
    HTTP_X_CUSTOM: 'first, second',
    SERVER_NAME: 'lambda-846800462-us-east-2.elb.amazonaws.com',
    SERVER_PORT: '8443',
    HTTPS: 'on',
    REMOTE_ADDR: '72.21.198.66',
  })
  t.same(report.cookie, { name1: 'value1', name2: 'value2' })
  t.same(report.get, { myKey: 'val2', a_b: '1', empty: '' })
})

t.test('Lambda function URL', async (t) => {
  const served = await serve(t, fixture('function-url'))
  const { response, report } = served
  t.same(keys(response), ['body', 'cookies', 'headers', 'isBase64Encoded', 'statusCode'])
  checkCommon(t, served)
  t.match(report.server, {
    LAMBDA_EVENT_SOURCE: 'function-url',
    REQUEST_METHOD: 'POST',
    REQUEST_URI: '/my/path?parameter1=value1&parameter1=value2&parameter2=value',
    CONTENT_TYPE: 'text/plain; charset=utf-8',
    CONTENT_LENGTH: '18',
    HTTP_COOKIE: 'cookie1=one; cookie2=two',
    HTTP_HEADER2: 'value1,value2',
    SERVER_NAME: 'a1b2c3d4e5f6g7h8.lambda-url.us-west-2.on.aws',
    REMOTE_ADDR: '123.123.123.123',
  })
  t.equal(report.body.text, 'Hello from client!')
  t.match(JSON.parse(report.server.LAMBDA_REQUEST_CONTEXT ?? '{}'), { authorizer: { iam: { userArn: 'arn:aws:iam::111122223333:user/example-user' } } }, 'requestContext reaches PHP')
})

t.test('status codes: REST has no statusDescription, ALB has one', async (t) => {
  const rest = fixture('apigw-rest-get-multivalue')
  rest.multiValueQueryStringParameters = { status: ['404'] }
  const restServed = await serve(t, rest)
  t.equal(restServed.response.statusCode, 404)
  t.notOk('statusDescription' in restServed.response)

  const alb = fixture('alb-single-value')
  alb.queryStringParameters = { status: '418' }
  const albServed = await serve(t, alb)
  t.equal(albServed.response.statusCode, 418)
  t.equal(albServed.response.statusDescription, "418 I'm a teapot")
})

/** A v2 event for a path, to reach the other fixture scripts. */
function v2(path: string, query = ''): Json {
  const event = fixture('httpapi-v2-cookies')
  event.rawPath = path
  event.rawQueryString = query
  delete event.cookies
  return event
}

t.test('binary responses are base64-encoded in every shape', async (t) => {
  const expected = Buffer.concat([
    Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64'),
    Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  ])
  const rest = fixture('apigw-rest-get-multivalue')
  rest.path = '/binary.php'
  const alb = fixture('alb-multi-value')
  alb.path = '/binary.php'
  for (const event of [v2('/binary.php'), rest, alb]) {
    const result = await api.invoke(event)
    t.equal(result.kind, 'response')
    const response = (result.kind === 'response' ? result.json : {}) as Json
    t.equal(response.isBase64Encoded, true)
    t.same(Buffer.from(response.body as string, 'base64'), expected, 'bytes intact')
  }
})

t.test('scripts by path, PATH_INFO, and the front controller for everything else', async (t) => {
  const tool = await api.invoke(v2('/admin/tool.php/extra/info', 'a=1'))
  t.equal(tool.kind, 'response')
  const report = JSON.parse(((tool.kind === 'response' ? tool.json : {}) as Json).body as string) as Json
  t.same(report, {
    script: 'admin/tool.php',
    SCRIPT_NAME: '/admin/tool.php',
    SCRIPT_FILENAME: join(documentRoot, 'admin/tool.php'),
    PATH_INFO: '/extra/info',
    PATH_TRANSLATED: join(documentRoot, 'extra/info'),
    PHP_SELF: '/admin/tool.php/extra/info',
    REQUEST_URI: '/admin/tool.php/extra/info?a=1',
  })

  const pretty = await serve(t, v2('/some/route with space'))
  t.match(pretty.report.server, { SCRIPT_NAME: '/index.php', PATH_INFO: '', REQUEST_URI: '/some/route%20with%20space' })

  // A .txt file is sent as it is (a static file), never run as PHP.
  const notes = await api.invoke(v2('/notes.txt'))
  t.match(notes, { kind: 'response', json: { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: /^<\?php/ } }, '/notes.txt is served as text')
  // Tricks around it are never run either: they reach the front controller.
  for (const path of ['/notes.txt/x.php', '/../public/notes.txt', '/nothere.php', '/admin/../../app/public/index.php']) {
    const result = await api.invoke(v2(path))
    t.equal(result.kind, 'response', path)
    const body = ((result.kind === 'response' ? result.json : {}) as Json).body as string
    t.notMatch(body, /EXECUTED/, `${path} did not execute notes.txt`)
    t.match(JSON.parse(body), { server: { SCRIPT_NAME: '/index.php' } }, `${path} went to the front controller`)
  }
})

t.test('nothing of one request leaks into the next', async (t) => {
  const first = await serve(t, fixture('alb-multi-value'))
  t.equal(first.report.server.HTTP_X_CUSTOM, 'first, second')
  const second = await serve(t, fixture('httpapi-v2-binary-post'))
  t.notOk('HTTP_X_CUSTOM' in second.report.server)
  t.notOk('HTTP_COOKIE' in second.report.server)
  t.not(second.report.server._X_AMZN_TRACE_ID, first.report.server._X_AMZN_TRACE_ID)
})

t.test('large request bodies stream to php-cgi, even past a script that never reads them', async (t) => {
  const body = Buffer.alloc(4 * 1024 * 1024)
  for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i)
  const upload = (path: string, query = ''): Json => ({
    ...fixture('httpapi-v2-binary-post'), rawPath: path, rawQueryString: query, body: body.toString('base64'), isBase64Encoded: true,
  })
  const read = await serve(t, upload('/upload'))
  t.same(read.report.body, { length: body.length, sha256: sha256(body), text: null }, 'all 4 MB arrived')
  // big.php ignores its input and writes 5 MB: both directions must flow at once, or both sides block.
  const ignored = await api.invoke(upload('/big.php', 'mb=5'), { timeoutMs: 10_000 })
  t.equal(ignored.kind, 'response')
  t.equal(((ignored.kind === 'response' ? ignored.json : {}) as Json & { body: string }).body.length, 5 * 1024 * 1024)
  const after = await serve(t, upload('/upload'))
  t.equal(after.report.body.sha256, sha256(body), 'the unread input did not spill into the next request')
})
