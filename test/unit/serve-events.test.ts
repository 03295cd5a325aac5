// npm run serve's translation between HTTP and each source's event and response formats (pure).
import t from 'tap'
import { ALB_MAX_BODY_BYTES, eventBodyLimit, fromResponse, MAX_EVENT_BYTES, toEvent, type IncomingHttp } from '../../builder/serve/events.ts'
import { parseEnv } from '../../builder/serve/action.ts'

const form = (body: string): IncomingHttp => ({
  method: 'post',
  target: '/a%20b/c?x=1&x=2&y=%C3%A9+z&flag',
  rawHeaders: ['Host', '127.0.0.1:8080', 'Content-Type', 'application/x-www-form-urlencoded', 'Cookie', 'a=1; b=2', 'X-Forwarded-For', '6.6.6.6', 'Accept', 'text/html', 'Accept', 'application/json'],
  body: Buffer.from(body),
  remoteAddress: '127.0.0.1',
  port: 8080,
})

t.test('ALB with multi-value headers', async (t) => {
  const e = toEvent('alb', form('name=x')) as any
  t.ok(e.requestContext.elb.targetGroupArn)
  t.equal(e.httpMethod, 'POST')
  t.equal(e.path, '/a%20b/c')
  t.same(e.multiValueQueryStringParameters, { x: ['1', '2'], y: ['%C3%A9+z'], flag: [''] }, 'passed on as the client encoded them')
  t.same(e.multiValueHeaders.accept, ['text/html', 'application/json'])
  t.same(e.multiValueHeaders['x-forwarded-for'], ['127.0.0.1'], 'a client cannot forge the forwarding headers')
  t.same(e.multiValueHeaders['x-forwarded-proto'], ['http'])
  t.same(e.multiValueHeaders['x-forwarded-port'], ['8080'])
  t.same(e.multiValueHeaders.cookie, ['a=1; b=2'])
  t.match(e, { body: 'name=x', isBase64Encoded: false })
})

t.test('API Gateway REST', async (t) => {
  const e = toEvent('rest', form('name=x')) as any
  t.equal(e.requestContext.stage, '$default')
  t.same(e.multiValueQueryStringParameters, { x: ['1', '2'], y: ['é z'], flag: [''] }, 'decoded')
  t.same(e.queryStringParameters, { x: '2', y: 'é z', flag: '' })
  t.same(e.multiValueHeaders.Accept, ['text/html', 'application/json'], 'names as sent')
  t.equal(e.headers.Accept, 'application/json')
  t.same(e.pathParameters, { proxy: 'a%20b/c' })
  const get = toEvent('rest', { ...form(''), method: 'GET', target: '/' }) as any
  t.equal(get.body, null)
  t.equal(get.queryStringParameters, null)
})

t.test('HTTP API and function URL (payload 2.0)', async (t) => {
  for (const source of ['http', 'url'] as const) {
    const e = toEvent(source, form('name=x')) as any
    t.equal(e.version, '2.0')
    t.equal(e.rawPath, '/a%20b/c')
    t.equal(e.rawQueryString, 'x=1&x=2&y=%C3%A9+z&flag')
    t.same(e.cookies, ['a=1', 'b=2'])
    t.notOk('cookie' in e.headers, 'cookies travel in cookies[]')
    t.equal(e.headers.accept, 'text/html,application/json')
    t.equal(e.queryStringParameters.x, '1,2')
    t.equal(e.requestContext.http.method, 'POST')
    t.equal(e.requestContext.http.sourceIp, '127.0.0.1')
    t.equal(/\.lambda-url\./.test(e.requestContext.domainName), source === 'url', 'the runtime tells the two apart by the domain')
  }
})

t.test('binary bodies travel as base64', async (t) => {
  const bytes = Buffer.from([0, 255, 1, 2, 0x80])
  const upload = { ...form(''), rawHeaders: ['Content-Type', 'multipart/form-data; boundary=x'], body: bytes }
  for (const source of ['alb', 'rest', 'http', 'url'] as const) {
    const e = toEvent(source, upload) as any
    t.equal(e.isBase64Encoded, true, source)
    t.same(Buffer.from(e.body, 'base64'), bytes)
  }
  const badUtf8 = toEvent('http', { ...form(''), rawHeaders: ['Content-Type', 'text/plain'], body: Buffer.from([0xc3]) }) as any
  t.equal(badUtf8.isBase64Encoded, true, 'text that is not UTF-8 is not mangled')
  t.equal(eventBodyLimit('alb'), ALB_MAX_BODY_BYTES)
  t.equal(eventBodyLimit('url'), MAX_EVENT_BYTES)
})

t.test('responses back to HTTP', async (t) => {
  const alb = fromResponse('alb', {
    statusCode: 302,
    statusDescription: '302 Found',
    multiValueHeaders: { Location: ['/admin/'], 'Set-Cookie': ['a=1', 'b=2'], 'Content-Length': ['0'] },
    body: '',
    isBase64Encoded: false,
  }, '')
  t.same(alb, { status: 302, headers: [['Location', '/admin/'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']], body: Buffer.alloc(0) })
  const v2 = fromResponse('url', { statusCode: 200, headers: { 'content-type': 'image/png' }, cookies: ['s=1; HttpOnly'], body: Buffer.from([137, 80]).toString('base64'), isBase64Encoded: true }, '')
  t.same(v2?.headers, [['content-type', 'image/png'], ['set-cookie', 's=1; HttpOnly']])
  t.same(v2?.body, Buffer.from([137, 80]))
  t.same(fromResponse('http', { ok: true }, '{"ok":true}'), { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from('{"ok":true}') }, 'payload 2.0 infers a JSON body')
  t.equal(fromResponse('alb', { ok: true }, '{"ok":true}'), undefined, 'an ALB needs statusCode')
  const rest = fromResponse('rest', { statusCode: 200, headers: { 'X-A': 'single', 'X-B': 'b' }, multiValueHeaders: { 'X-A': ['m1', 'm2'] }, body: 'hi' }, '')
  t.same(rest?.headers, [['X-A', 'm1'], ['X-A', 'm2'], ['X-B', 'b']], 'multiValueHeaders win over headers for the same name')
})

t.test('--env', async (t) => {
  t.same(parseEnv(['APP_ENV=dev', 'DSN=mysql:host=db;x=1', 'EMPTY=']), { APP_ENV: 'dev', DSN: 'mysql:host=db;x=1', EMPTY: '' })
  t.throws(() => parseEnv(['1BAD=x']), { message: '--env "1BAD=x"; accepted: KEY=VALUE with KEY made of letters, digits and _' })
})
