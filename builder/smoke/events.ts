// Smoke checks through the Runtime API: the layer's own /opt/bootstrap, inside the sandbox, answers one fixture
// event per HTTP source in the response shape that source expects, and refuses a non-HTTP event cleanly.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Runner } from '../run.ts'
import { RuntimeApi, spawnRuntime, type RuntimeProcess, type RuntimeResult } from './runtime-api.ts'
import { sandboxArgv, type SandboxSpec } from './sandbox.ts'

export const EVENTS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'events')

type Shape = 'rest' | 'http' | 'alb' | 'alb-multi'

/** Fixture file → the response shape its source expects. */
export const EVENT_FIXTURES: Record<string, Shape> = {
  'apigw-rest-get-multivalue': 'rest',
  'apigw-rest-post-base64': 'rest',
  'httpapi-v2-cookies': 'http',
  'httpapi-v2-binary-post': 'http',
  'function-url': 'http',
  'alb-single-value': 'alb',
  'alb-multi-value': 'alb-multi',
}

const APP = `<?php
header('Content-Type: application/json');
header('X-Smoke: a');
header('X-Smoke: b', false);
setcookie('smoke', '1');
echo json_encode(['method' => $_SERVER['REQUEST_METHOD'], 'uri' => $_SERVER['REQUEST_URI'], 'length' => strlen(file_get_contents('php://input'))]);
`

type Json = Record<string, unknown>

/** Throws with a reason when the response does not have the shape its source expects. */
export function checkShape(shape: Shape, event: Json, response: Json): void {
  const fail = (why: string) => {
    throw new Error(`${why}; got ${JSON.stringify(response).slice(0, 300)}`)
  }
  if (response.statusCode !== 200) fail('statusCode is not 200')
  const raw = String(response.body ?? '')
  const body = JSON.parse(response.isBase64Encoded ? Buffer.from(raw, 'base64').toString() : raw) as Json
  const method = (event.httpMethod ?? (event.requestContext as { http?: { method?: string } } | undefined)?.http?.method) as string
  if (body.method !== method) fail(`PHP saw method ${String(body.method)}, the event says ${method}`)
  const mv = response.multiValueHeaders as Record<string, string[]> | undefined
  const hv = response.headers as Record<string, string> | undefined
  switch (shape) {
    case 'rest':
      if ('statusDescription' in response) fail('REST responses must not carry statusDescription')
      if (!mv?.['X-Smoke'] && !mv?.['x-smoke']) fail('repeated header missing from multiValueHeaders')
      break
    case 'http': {
      const cookies = response.cookies as string[] | undefined
      if (!Array.isArray(cookies) || !cookies.some((c) => c.startsWith('smoke=1'))) fail('cookie not in cookies[]')
      if ('multiValueHeaders' in response) fail('payload 2.0 responses have no multiValueHeaders')
      break
    }
    case 'alb':
      if (response.statusDescription !== '200 OK') fail('ALB needs statusDescription "200 OK"')
      if ('multiValueHeaders' in response) fail('single-value ALB request answered with multiValueHeaders')
      if (typeof hv?.['content-type'] !== 'string' && typeof hv?.['Content-Type'] !== 'string') fail('headers missing')
      break
    case 'alb-multi':
      if (response.statusDescription !== '200 OK') fail('ALB needs statusDescription "200 OK"')
      if (!mv) fail('multi-value ALB request answered without multiValueHeaders')
      break
  }
}

export interface EventChecks {
  checks: Array<{ name: string; fn: () => Promise<string | void> }>
  /** Stops the sandboxed bootstrap and the emulator, whatever state the checks left them in. */
  close(): Promise<void>
}

export function eventChecks(ctx: { run: Runner; sandbox: SandboxSpec; work: string }): EventChecks {
  let api: RuntimeApi | undefined
  let box: RuntimeProcess | undefined
  const task = join(ctx.work, 'task-events')
  const start = async () => {
    if (api) return api
    mkdirSync(join(task, 'public'), { recursive: true })
    writeFileSync(join(task, 'public', 'index.php'), APP)
    api = await RuntimeApi.start()
    const argv = sandboxArgv({ ...ctx.sandbox, taskDir: task, env: { _HANDLER: 'public/index.php', AWS_LAMBDA_RUNTIME_API: api.address } }, ['/opt/bootstrap'])
    box = spawnRuntime(argv)
    return api
  }
  // A bootstrap that dies before taking the event (say, php cannot load a library) must fail the check, not hang it.
  const invoke = async (emu: RuntimeApi, event: Json): Promise<RuntimeResult> => {
    const died = box!.exited.then(({ code, signal }) => {
      throw new Error(`the bootstrap exited (${signal ?? `code ${code}`}) before answering: ${box!.logs.trim().split('\n').slice(-2).join(' | ')}`)
    })
    return Promise.race([emu.invoke(event, { timeoutMs: 10_000 }), died])
  }
  const load = (name: string) => JSON.parse(readFileSync(join(EVENTS_DIR, `${name}.json`), 'utf8')) as Json
  const checks = Object.entries(EVENT_FIXTURES).map(([name, shape]) => ({
    name: `runtime answers ${name} as ${shape === 'alb-multi' ? 'ALB (multi-value)' : shape === 'rest' ? 'API Gateway REST' : shape === 'http' ? 'HTTP API / Function URL' : 'ALB'}`,
    fn: async () => {
      const emu = await start()
      const event = load(name)
      const r = await invoke(emu, event)
      if (r.kind !== 'response') throw new Error(`expected a response, got ${r.kind}: ${JSON.stringify(r).slice(0, 300)}`)
      checkShape(shape, event, r.json as Json)
    },
  }))
  checks.push({
    name: 'runtime reports a non-HTTP event (SQS) as an error and keeps serving',
    fn: async () => {
      const emu = await start()
      const r = await invoke(emu, load('sqs'))
      if (r.kind !== 'error') throw new Error(`expected an error result, got ${r.kind}`)
      const next = await invoke(emu, load('function-url'))
      if (next.kind !== 'response') throw new Error(`next invocation not served: ${next.kind}`)
    },
  })
  return {
    checks,
    async close() {
      await box?.stop()
      await api?.close()
    },
  }
}
