// Concurrent invocations in one sandbox (AWS_LAMBDA_MAX_CONCURRENCY > 1, as on Lambda Managed Instances): the
// bootstrap runs one worker process and php-cgi per slot, the emulator hands out that many invocations at once.
import t, { type Test } from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RuntimeApiEmulator, makeTraceId, type InvocationResult, type Sandbox } from '../support/runtime-api-emulator.ts'
import { toEvent } from '../support/parity.ts'
import { findPhpBinaries, runtimeBootstrap, runtimeEnv } from '../support/php.ts'

const php = findPhpBinaries()
type Json = Record<string, unknown>

async function start(t: Test, concurrency: number, extra: NodeJS.ProcessEnv = {}): Promise<{ api: RuntimeApiEmulator; sandbox: Sandbox }> {
  const api = await RuntimeApiEmulator.start({ concurrency })
  const sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php, { extra: { AWS_LAMBDA_MAX_CONCURRENCY: String(concurrency), ...extra } }) })
  t.teardown(async () => {
    await sandbox.stop()
    await api.close()
  })
  return { api, sandbox }
}

function body(t: Test, result: InvocationResult): Json {
  if (result.kind !== 'response') {
    t.fail(`expected a response, got ${JSON.stringify(result).slice(0, 500)}`)
    return {}
  }
  return JSON.parse(String((result.json as Json).body)) as Json
}

t.test('concurrent invocations are answered each with its own request: no cross-talk', async (t) => {
  const { api } = await start(t, 4)
  await api.ready()
  const n = 16
  const traces = Array.from({ length: n }, () => makeTraceId())
  const results = await Promise.all(Array.from({ length: n }, (_, i) => api.invoke(
    toEvent(i % 2 ? 'apigateway-http-v2' : 'alb-multi-value', { name: `r${i}`, method: 'GET', path: `/item/${i}`, query: `i=${i}`, headers: { 'x-custom': `header-${i}`, cookie: `who=${i}` } }),
    { timeoutMs: 20_000, traceId: traces[i] },
  )))
  const pids = new Set<unknown>()
  results.forEach((result, i) => {
    const report = body(t, result) as { server: Json; get: Json; cookie: Json; getenv: Json; pid: unknown }
    t.match(report, { server: { REQUEST_URI: `/item/${i}?i=${i}`, HTTP_X_CUSTOM: `header-${i}`, _X_AMZN_TRACE_ID: traces[i] }, get: { i: String(i) }, cookie: { who: String(i) }, getenv: { _X_AMZN_TRACE_ID: traces[i] } }, `invocation ${i} saw only its own request`)
    const headers = ((result.kind === 'response' ? result.json : {}) as Json)
    t.match(JSON.stringify(headers), /first=1/, `invocation ${i} got its cookies`)
    pids.add(report.pid)
  })
  t.ok(pids.size > 1, `served by ${pids.size} php-cgi processes`)
  t.same(api.violations, [])
})

t.test('invocations run at the same time', async (t) => {
  const { api } = await start(t, 4)
  await api.ready()
  const results = await Promise.all(Array.from({ length: 4 }, () => api.invoke(toEvent('function-url', { name: 'sleep', method: 'GET', path: '/sleep.php', query: 'seconds=1' }), { timeoutMs: 20_000 })))
  const firstEnd = Math.min(...results.map((r) => r.completedAt))
  const lastStart = Math.max(...results.map((r) => r.deliveredAt ?? Infinity))
  t.ok(lastStart < firstEnd, 'all four were delivered before the first one finished')
  for (const r of results) t.match(r, { kind: 'response', json: { statusCode: 200, body: 'woke up' } })
})

t.test('a php-cgi killed mid-request fails only its own invocation; its worker carries on', async (t) => {
  const { api, sandbox } = await start(t, 3)
  await api.ready()
  const dir = mkdtempSync(join(tmpdir(), 'concurrency-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const pidfile = join(dir, 'pid')
  const victim = api.invoke(toEvent('function-url', { name: 'victim', method: 'GET', path: '/sleep.php', query: `seconds=30&pidfile=${encodeURIComponent(pidfile)}` }), { timeoutMs: 20_000 })
  const others = Array.from({ length: 2 }, () => api.invoke(toEvent('function-url', { name: 'other', method: 'GET', path: '/sleep.php', query: 'seconds=1' }), { timeoutMs: 20_000 }))
  for (let i = 0; i < 200 && !existsSync(pidfile); i++) await new Promise((r) => setTimeout(r, 25))
  process.kill(Number(readFileSync(pidfile, 'utf8')), 'SIGKILL')
  t.match(await victim, { kind: 'error', errorType: 'Runtime.PhpCgiCrashed' })
  for (const r of await Promise.all(others)) t.match(r, { kind: 'response', json: { statusCode: 200, body: 'woke up' } }, 'the others are answered')
  const again = await Promise.all(Array.from({ length: 3 }, () => api.invoke(toEvent('function-url', { name: 'hello', method: 'GET', path: '/hello.php' }), { timeoutMs: 20_000 })))
  for (const r of again) t.match(r, { kind: 'response', json: { statusCode: 200, body: 'Hello world' } }, 'and every worker serves again')
  t.ok(sandbox.running, 'the sandbox lives on')
})

t.test('a bad setting is one init error, however many workers', async (t) => {
  const { api, sandbox } = await start(t, 3, { PHP_LAYER_STATIC_FILES: 'maybe' })
  const result = await api.invoke(toEvent('function-url', { name: 'x', method: 'GET', path: '/' }))
  t.match(result, { kind: 'error', phase: 'init', errorType: 'Runtime.InvalidConfiguration' })
  t.match(await sandbox.exited, { code: 1 })
  t.same(api.violations, [])
})
