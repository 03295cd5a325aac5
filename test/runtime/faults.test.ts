// Faults: each must be answered correctly (a well-formed response or a typed error), and the
// invocation after it must be served normally.
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { RuntimeApiEmulator, type InvocationResult, type Sandbox } from '../support/runtime-api-emulator.ts'
import { findPhpBinaries, fixtureEvents, runtimeBootstrap, runtimeEnv } from '../support/php.ts'

const php = findPhpBinaries()
type Json = Record<string, unknown>

let api: RuntimeApiEmulator
let sandbox: Sandbox
const scratch = mkdtempSync(join(tmpdir(), 'runtime-faults-'))
t.before(async () => {
  api = await RuntimeApiEmulator.start()
  sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php) })
})
t.teardown(async () => {
  await sandbox.stop()
  await api.close()
  rmSync(scratch, { recursive: true, force: true })
})
t.afterEach(() => {
  t.same(api.violations, [], 'the runtime followed the Runtime API contract')
  t.ok(sandbox.running, 'the sandbox is still alive (never killed for a timeout)')
})

function fixture(name: string): Json {
  return JSON.parse(readFileSync(join(fixtureEvents, `${name}.json`), 'utf8')) as Json
}

function get(path: string, query = ''): Json {
  const event = fixture('httpapi-v2-cookies')
  event.rawPath = path
  event.rawQueryString = query
  return event
}

function json(result: InvocationResult): Json {
  return (result.kind === 'response' ? result.json : {}) as Json
}

/** The next invocation is served, and by which php-cgi process. */
async function nextIsServed(t: Test): Promise<number> {
  const result = await api.invoke(get('/'), { timeoutMs: 10_000 })
  t.equal(result.kind, 'response', 'the next invocation is served')
  const response = json(result)
  t.equal(response.statusCode, 200)
  return (JSON.parse(response.body as string) as { pid: number }).pid
}

/** Running, as opposed to gone or a zombie waiting for the bootstrap to reap it. */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^\d+ \(.*\) [ZX] /.test(stat)
  } catch {
    return false
  }
}

t.test('a PHP fatal error still gives a well-formed 500, and the error is logged with the request id', async (t) => {
  const result = await api.invoke(get('/fatal.php'))
  t.equal(result.kind, 'response')
  t.same(json(result), { statusCode: 500, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: 'before the error', isBase64Encoded: false })
  await sandbox.waitForLog(`${result.requestId}\tPHP Fatal error:  Uncaught Error: Call to undefined function undefined_function_for_the_fatal_error_test()`)
  await nextIsServed(t)
})

t.test('exit() ends the request with what was printed', async (t) => {
  const result = await api.invoke(get('/exit.php'))
  t.same(json(result), { statusCode: 200, headers: { 'x-before-exit': 'yes', 'content-type': 'text/html; charset=UTF-8' }, body: 'partial output', isBase64Encoded: false })
  await nextIsServed(t)
})

t.test('a request running into the deadline is aborted in time, reported, and php-cgi replaced', async (t) => {
  const before = await nextIsServed(t)
  const timeoutMs = 1500
  const result = await api.invoke(get('/sleep.php', 'seconds=20'), { timeoutMs })
  t.equal(result.kind, 'error', 'reported as an error, not left to Lambda to kill')
  if (result.kind === 'error') {
    t.equal(result.errorType, 'Runtime.DeadlineExceeded')
    t.match(result.error?.errorMessage, /GET \/sleep\.php was still running 250 ms before the invocation deadline/)
  }
  const elapsed = result.completedAt - (result.deliveredAt ?? 0)
  t.ok(elapsed < timeoutMs, `answered before the deadline (${elapsed.toFixed(0)} ms of ${timeoutMs})`)
  t.ok(elapsed >= timeoutMs - 400, `but not much earlier than the margin (${elapsed.toFixed(0)} ms)`)
  t.notOk(sandbox.killedForTimeout)
  t.notOk(pidAlive(before), 'the stuck php-cgi is gone')
  const after = await nextIsServed(t)
  t.not(after, before, 'a new php-cgi serves the next invocation')
})

t.test('php-cgi killed with SIGKILL mid-request is reported and restarted', async (t) => {
  const pidFile = join(scratch, 'sleeping.pid')
  const invocation = api.invoke(get('/sleep.php', `seconds=20&pidfile=${encodeURIComponent(pidFile)}`), { timeoutMs: 20_000 })
  for (let i = 0; i < 500 && !existsSync(pidFile); i++) await sleep(10)
  const pid = Number(readFileSync(pidFile, 'utf8'))
  t.ok(pid > 0 && pidAlive(pid), 'the request is running in php-cgi')
  process.kill(pid, 'SIGKILL')
  const result = await invocation
  t.equal(result.kind, 'error')
  if (result.kind === 'error') {
    t.equal(result.errorType, 'Runtime.PhpCgiCrashed')
    t.match(result.error?.errorMessage, /php-cgi died while handling GET \/sleep\.php/)
  }
  await sandbox.waitForLog(`${result.requestId}\t[runtime] starting a new php-cgi; the previous one was killed by signal 9`)
  const after = await nextIsServed(t)
  t.not(after, pid)
})

t.test('php-cgi dying between invocations is noticed before the next one', async (t) => {
  const pid = await nextIsServed(t)
  process.kill(pid, 'SIGKILL')
  while (pidAlive(pid)) await sleep(5)
  const after = await nextIsServed(t)
  t.not(after, pid)
})

t.test('a 7 MB response is a clear error, not a hang', async (t) => {
  const result = await api.invoke(get('/big.php'), { timeoutMs: 10_000 })
  t.equal(result.kind, 'error')
  if (result.kind === 'error') {
    t.equal(result.errorType, 'Runtime.ResponseTooLarge')
    t.match(result.error?.errorMessage, /7340\d{3} bytes, over the 6291556-byte \(6 MB\) limit/)
  }
  await nextIsServed(t)
})

t.test('a body under 6 MB that base64 pushes over the limit is caught too', async (t) => {
  const result = await api.invoke(get('/big.php', 'mb=5&binary=1'), { timeoutMs: 10_000 })
  t.equal(result.kind, 'error')
  if (result.kind === 'error') {
    t.equal(result.errorType, 'Runtime.ResponseTooLarge')
    t.match(result.error?.errorMessage, /body of 5242880 bytes, encoded for apigateway-http-v2\) is \d+ bytes/)
  }
  const ok = await api.invoke(get('/big.php', 'mb=4'), { timeoutMs: 10_000 })
  t.equal(ok.kind, 'response', '4 MB of text fits')
  t.equal((json(ok).body as string).length, 4 * 1024 * 1024)
})

t.test('a malformed event gets Runtime.MalformedEvent', async (t) => {
  const shaped = await api.invoke(fixture('malformed'))
  t.match(shaped, { kind: 'error', errorType: 'Runtime.MalformedEvent', error: { errorMessage: 'Malformed HTTP event: "requestContext.http.method" must be a string.' } })
  const notJson = await api.invoke('{"version": "2.0", truncated')
  t.match(notJson, { kind: 'error', errorType: 'Runtime.MalformedEvent', error: { errorMessage: /^The event is not valid JSON/ } })
  const badBase64 = get('/')
  badBase64.body = '***'
  badBase64.isBase64Encoded = true
  t.match(await api.invoke(badBase64), { kind: 'error', errorType: 'Runtime.MalformedEvent', error: { errorMessage: /not valid base64/ } })
  await nextIsServed(t)
})

t.test('an SQS event gets the documented Runtime.UnsupportedEvent error', async (t) => {
  const result = await api.invoke(fixture('sqs'))
  t.match(result, {
    kind: 'error',
    errorType: 'Runtime.UnsupportedEvent',
    error: { errorMessage: /only accepts HTTP events \(API Gateway REST or HTTP API, Application Load Balancer, Lambda function URL\), but it received an aws:sqs event/ },
  })
  for (const [event, what] of [[{ source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} }, 'an EventBridge event from aws.events'], [[1, 2], 'a JSON array'], [{}, 'an empty event'], [{ foo: 1, bar: 2 }, 'an event with fields foo, bar']] as const) {
    const other = await api.invoke(event)
    t.match(other, { kind: 'error', errorType: 'Runtime.UnsupportedEvent', error: { errorMessage: new RegExp(`received ${what}`) } })
  }
  await nextIsServed(t)
})

t.test('PHP logs and php-cgi stderr reach stderr with the request id', async (t) => {
  const result = await api.invoke(get('/log.php', 'tag=tagged-line'))
  t.equal(json(result).body, 'logged')
  const id = result.requestId
  await sandbox.waitForLog(`${id}\ttagged-line via error_log`)
  await sandbox.waitForLog(`${id}\ttagged-line via php://stderr`)
  await sandbox.waitForLog(`${id}\tPHP Warning:  tagged-line via a warning`)
})
