// The bootstrap's life cycle: start-up checks reported as init errors, the layer's file layout,
// one warm php-cgi across invocations, request limits, and a clean stop.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RuntimeApiEmulator, type InvocationResult, type Sandbox, type SandboxOptions } from '../support/runtime-api-emulator.ts'
import { stageRuntime } from '../../builder/assemble/runtime-files.ts'
import { findPhpBinaries, fixtureApp, fixtureEvents, repoRoot, runtimeBootstrap, runtimeEnv, type RuntimeEnvOptions } from '../support/php.ts'

const php = findPhpBinaries()
type Json = Record<string, unknown>

async function start(t: Test, options: RuntimeEnvOptions = {}, sandboxOptions: Partial<SandboxOptions> = {}): Promise<{ api: RuntimeApiEmulator; sandbox: Sandbox }> {
  const api = await RuntimeApiEmulator.start()
  const sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php, options), ...sandboxOptions })
  t.teardown(async () => {
    await sandbox.stop()
    await api.close()
  })
  return { api, sandbox }
}

function event(path = '/'): Json {
  const e = JSON.parse(readFileSync(join(fixtureEvents, 'httpapi-v2-cookies.json'), 'utf8')) as Json
  e.rawPath = path
  e.rawQueryString = ''
  return e
}

interface Report {
  pid: number
  opcache: { enabled: boolean; hits: number } | null
  server: Record<string, string>
}

function report(t: Test, result: InvocationResult): Report {
  if (result.kind !== 'response') {
    t.fail(`expected a response, got ${JSON.stringify(result)}`)
    throw new Error('no response')
  }
  return JSON.parse((result.json as Json).body as string) as Report
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

t.test('a missing handler is an init error, and the bootstrap exits', async (t) => {
  const { api, sandbox } = await start(t, { handler: 'public/missing.php' })
  const queued = api.invoke(event())
  const report = await api.waitForInitError()
  t.equal(report.errorType, 'Runtime.HandlerNotFound')
  t.match(report.error?.errorMessage, `The handler "public/missing.php" does not exist: there is no file ${join(fixtureApp, 'public/missing.php')}`)
  t.match(await queued, { kind: 'error', phase: 'init', errorType: 'Runtime.HandlerNotFound' })
  t.match(await sandbox.exited, { code: 1 })
  t.equal(api.nextCalls, 0, 'never asked for work')
})

t.test('other start-up problems are init errors too', async (t) => {
  const cases: Array<[string, RuntimeEnvOptions, string, RegExp]> = [
    ['no handler', { handler: '' }, 'Runtime.HandlerNotFound', /No handler is configured/],
    ['not a .php handler', { handler: 'public/notes.txt' }, 'Runtime.InvalidHandler', /is not a \.php file/],
    ['php-cgi missing', { extra: { PHP_LAYER_CGI: '/nonexistent/php-cgi' } }, 'Runtime.PhpCgiStartFailed', /php-cgi not found at \/nonexistent\/php-cgi/],
    ['php-cgi failing at start', { extra: { PHP_LAYER_CGI: '/bin/false' } }, 'Runtime.PhpCgiStartFailed', /\/bin\/false\) stopped during start-up \(it exited with code 1\)/],
    ['bad setting', { extra: { PHP_FCGI_MAX_REQUESTS: 'lots' } }, 'Runtime.InvalidConfiguration', /PHP_FCGI_MAX_REQUESTS must be a non-negative whole number/],
  ]
  for (const [name, options, type, message] of cases) {
    const { api, sandbox } = await start(t, options)
    const report = await api.waitForInitError()
    t.equal(report.errorType, type, name)
    t.match(report.error?.errorMessage, message, name)
    t.match(await sandbox.exited, { code: 1 }, `${name}: exits`)
  }
})

/** /opt as the layer unpacks it: bootstrap, php/runtime/*.php, bin/php, bin/php-cgi (no path overrides). */
function layerLayout(t: Test): string {
  const opt = mkdtempSync(join(tmpdir(), 'layer-'))
  t.teardown(() => rmSync(opt, { recursive: true, force: true }))
  stageRuntime(join(repoRoot, 'runtime'), join(opt, 'bootstrap'), join(opt, 'php/runtime'))
  mkdirSync(join(opt, 'bin'))
  symlinkSync(php.php, join(opt, 'bin/php'))
  symlinkSync(php.phpCgi, join(opt, 'bin/php-cgi'))
  return opt
}

/** Starts that layout's bootstrap against a fresh Runtime API emulator, both stopped at the test's end. */
async function startLayer(t: Test, opt: string): Promise<{ api: RuntimeApiEmulator; sandbox: Sandbox }> {
  const api = await RuntimeApiEmulator.start()
  const env = runtimeEnv(php)
  delete env.PHP_LAYER_PHP
  delete env.PHP_LAYER_CGI
  delete env.PHP_LAYER_RUNTIME_DIR
  const sandbox = api.spawnSandbox({ command: join(opt, 'bootstrap'), env })
  t.teardown(async () => {
    await sandbox.stop()
    await api.close()
  })
  return { api, sandbox }
}

t.test('runs from the layer layout with no overrides', async (t) => {
  const { api } = await startLayer(t, layerLayout(t))
  const result = await api.invoke(event('/hello.php'))
  t.match(result, { kind: 'response', json: { statusCode: 200, body: 'Hello world' } })
})

t.test('an add-on layer built for another PHP minor stops the start with one message naming the layer to attach', async (t) => {
  const opt = layerLayout(t)
  const running = execFileSync(php.php, ['-n', '-r', 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION, " ", php_uname("m");'], { encoding: 'utf8' }).split(' ')
  const [minor, machine] = [running[0]!, running[1]!]
  const arch = machine === 'aarch64' ? 'arm64' : machine
  const baseName = `php-${minor.replace('.', '')}`
  writeFileSync(join(opt, 'php/manifest.json'), JSON.stringify({ layerName: baseName, php: { version: `${minor}.0`, minor }, arch }))
  mkdirSync(join(opt, 'php/addons'))
  // Built for 7.4: whatever PHP runs these tests, it is not that one.
  writeFileSync(join(opt, 'php/addons/redis.json'), JSON.stringify({ layerName: 'php-74-redis', php: { version: '7.4.33', minor: '7.4' }, arch, addon: { name: 'redis', base: { layerName: 'php-74' } } }))
  const { api, sandbox } = await startLayer(t, opt)
  const report = await api.waitForInitError()
  t.equal(report.errorType, 'Runtime.AddonMismatch')
  t.match(report.error?.errorMessage, new RegExp(`^The add-on layer php-74-redis was built for PHP 7\\.4 on ${arch}, but this function runs PHP ${minor.replace('.', '\\.')}\\.\\d+\\S* on ${arch}; attach ${baseName}-redis instead\\.$`))
  t.match(await sandbox.exited, { code: 1 })

  // The matching add-on starts normally.
  writeFileSync(join(opt, 'php/addons/redis.json'), JSON.stringify({ layerName: `${baseName}-redis`, php: { version: `${minor}.0`, minor }, arch, addon: { name: 'redis', base: { layerName: baseName } } }))
  const second = await startLayer(t, opt)
  t.match(await second.api.invoke(event('/hello.php')), { kind: 'response', json: { statusCode: 200, body: 'Hello world' } })
})

t.test('one php-cgi serves every invocation, with opcache warm', async (t) => {
  const { api } = await start(t)
  const first = report(t, await api.invoke(event()))
  let last = first
  for (let i = 0; i < 3; i++) last = report(t, await api.invoke(event()))
  t.equal(last.pid, first.pid, 'same php-cgi process')
  if (first.opcache?.enabled) {
    t.ok((last.opcache?.hits ?? 0) >= (first.opcache.hits ?? 0) + 3, `opcache hits grow (${first.opcache.hits} → ${last.opcache?.hits})`)
  } else {
    t.fail(`opcache is not enabled in php-cgi (${php.phpCgi}): it must load and enable it, or invocations run cold; a layer's php-cgi reads its conf.d only when unpacked at /opt`)
  }
})

t.test("php-cgi's default limit of 500 requests does not apply", async (t) => {
  const { api, sandbox } = await start(t)
  const first = report(t, await api.invoke(event()))
  for (let i = 0; i < 505; i++) {
    const result = await api.invoke(event('/hello.php'))
    if (result.kind !== 'response') {
      t.fail(`invocation ${i + 2} was not served: ${JSON.stringify(result)}`)
      return
    }
  }
  const last = report(t, await api.invoke(event()))
  t.equal(last.pid, first.pid, 'still the first php-cgi after 507 requests')
  t.notMatch(sandbox.logs, /starting a new php-cgi|had stopped/)
})

t.test('PHP_FCGI_MAX_REQUESTS set by the function recycles php-cgi between invocations', async (t) => {
  const { api } = await start(t, { extra: { PHP_FCGI_MAX_REQUESTS: '3' } })
  const pids: number[] = []
  for (let i = 0; i < 7; i++) pids.push(report(t, await api.invoke(event())).pid)
  t.equal(new Set(pids.slice(0, 3)).size, 1)
  t.equal(new Set(pids.slice(3, 6)).size, 1)
  t.not(pids[3], pids[0])
  t.not(pids[6], pids[3])
  t.notOk(alive(pids[0] ?? 0), 'the recycled php-cgi is gone')
})

t.test('each invocation gets its own trace id and request id', async (t) => {
  const { api } = await start(t)
  const traceA = 'Root=1-65f0b2c4-aaaaaaaaaaaaaaaaaaaaaaaa;Parent=1111111111111111;Sampled=1'
  const traceB = 'Root=1-65f0b2c5-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=2222222222222222;Sampled=0'
  const a = await api.invoke(event(), { traceId: traceA, requestId: 'request-a' })
  const b = await api.invoke(event(), { traceId: traceB, requestId: 'request-b' })
  t.match(report(t, a).server, { _X_AMZN_TRACE_ID: traceA, LAMBDA_REQUEST_ID: 'request-a' })
  t.match(report(t, b).server, { _X_AMZN_TRACE_ID: traceB, LAMBDA_REQUEST_ID: 'request-b' })
})

t.test('SIGTERM stops the bootstrap and its php-cgi', async (t) => {
  const { api, sandbox } = await start(t)
  const { pid } = report(t, await api.invoke(event()))
  t.ok(alive(pid))
  // Signal it while it waits in /next, as Lambda does at shutdown.
  while (api.nextCalls < 2) await new Promise((resolve) => setTimeout(resolve, 5))
  await new Promise((resolve) => setTimeout(resolve, 50))
  process.kill(sandbox.pid ?? 0, 'SIGTERM')
  t.match(await sandbox.exited, { code: 0 })
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.notOk(alive(pid), 'php-cgi is gone too')
})

t.test('start-up is measured from spawn to the first /next', async (t) => {
  const api = await RuntimeApiEmulator.start()
  const waiting = api.waitForNext()
  const sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php) })
  t.teardown(async () => {
    await sandbox.stop()
    await api.close()
  })
  const at = await waiting
  t.ok(at > sandbox.startedAt, `first /next ${(at - sandbox.startedAt).toFixed(1)} ms after spawn (timing is reported by the benchmark, not asserted here)`)
})
