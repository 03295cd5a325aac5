// `npm run rie -- <zip>`: runs a layer once inside the real provided.al2023 image through the Runtime Interface
// Emulator that image ships (/usr/local/bin/aws-lambda-rie), the closest thing to Lambda outside AWS: the image's
// own loader, libc, CA bundle and openssl config. The build workflow runs it for every layer; it needs a Docker
// engine that can pull the image and publish a port (GitHub's runners can; an offline machine cannot).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SmokeError, UsageError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { LAYER_MANIFEST_PATH, type LayerManifest } from '../artifact/manifest.ts'
import type { Runner } from '../run.ts'
import { dockerArgv, findEngine, START_ENGINE_HINT } from '../executors/engine.ts'
import { readZip } from '../artifact/zip-read.ts'
import { writeEntries } from './unpack.ts'

export interface RieOptions {
  zipPath: string
  /** The provided.al2023 image reference (pinned by digest) and Docker platform for the layer's arch. */
  imageFor: (arch: LayerManifest['arch']) => { image: string; platform: string }
  workDir: string
  run: Runner
  log: Logger
  port?: number
}

const INVOKE_PATH = '/2015-03-31/functions/function/invocations'

export async function runInRie(opts: RieOptions): Promise<void> {
  const { run, log } = opts
  const engine = await findEngine(run)
  if (!engine) throw new SmokeError('no Docker engine answers, so the layer cannot run in the real image', START_ENGINE_HINT)
  mkdirSync(opts.workDir, { recursive: true })
  const dir = mkdtempSync(join(opts.workDir, 'rie-'))
  const name = `php-layer-rie-${process.pid}`
  const port = opts.port ?? 9000 + (process.pid % 500)
  try {
    const entries = await readZip(opts.zipPath).catch((e: Error) => {
      throw new UsageError(`cannot read ${opts.zipPath} as a zip (${e.message})`)
    })
    const manifestEntry = entries.find((e) => e.path === LAYER_MANIFEST_PATH)
    if (!manifestEntry) throw new SmokeError(`${opts.zipPath} has no ${LAYER_MANIFEST_PATH}`)
    const m = JSON.parse(manifestEntry.data.toString('utf8')) as LayerManifest
    const { image, platform } = opts.imageFor(m.arch)
    writeEntries(entries, join(dir, 'opt'))
    // A minimal front controller: proves php-cgi starts in the real image and answers through the bootstrap.
    mkdirSync(join(dir, 'task', 'public'), { recursive: true })
    writeFileSync(join(dir, 'task', 'public', 'index.php'), '<?php header("Content-Type: application/json"); echo json_encode(["php" => PHP_VERSION, "modules" => count(get_loaded_extensions())]);\n')

    const t0 = performance.now()
    const started = await run(dockerArgv(engine, 'run', '-d', '--name', name, '--platform', platform, '-p', `127.0.0.1:${port}:8080`,
      '-v', `${join(dir, 'opt')}:/opt:ro`, '-v', `${join(dir, 'task')}:/var/task:ro`, '-e', '_HANDLER=public/index.php',
      '--entrypoint', '/usr/local/bin/aws-lambda-rie', image, '/opt/bootstrap'), { timeoutMs: 600_000 })
    if (started.exitCode !== 0) throw new SmokeError(`cannot start ${image} with the runtime interface emulator: ${started.stderr.trim().split('\n').pop()}`)
    const event = {
      version: '2.0', routeKey: '$default', rawPath: '/', rawQueryString: '', headers: { host: 'rie.local', 'user-agent': 'php-layer-rie' },
      requestContext: { http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'php-layer-rie' }, requestId: 'rie-1', stage: '$default', timeEpoch: 0 },
      isBase64Encoded: false,
    }
    let answer: { statusCode?: number; body?: string } | undefined
    let lastError = ''
    for (let i = 0; i < 60 && !answer; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}${INVOKE_PATH}`, { method: 'POST', body: JSON.stringify(event) })
        answer = (await res.json()) as { statusCode?: number; body?: string }
      } catch (e) {
        lastError = (e as Error).message
        await new Promise((r) => setTimeout(r, 1000))
      }
    }
    const logs = await run(dockerArgv(engine, 'logs', name))
    if (!answer) throw new SmokeError(`the emulator never answered (${lastError}); container log: ${tail(logs.stdout + logs.stderr)}`)
    const body = JSON.parse(answer.body ?? '{}') as { php?: string }
    if (answer.statusCode !== 200 || body.php !== m.php.version) {
      throw new SmokeError(`the layer answered ${answer.statusCode} ${JSON.stringify(answer.body)} in ${image}, expected 200 with PHP ${m.php.version}; container log: ${tail(logs.stdout + logs.stderr)}`)
    }
    log.done(`run in ${image} through aws-lambda-rie: 200, PHP ${body.php}`, performance.now() - t0)
  } finally {
    await run(dockerArgv(engine, 'rm', '-f', name))
    rmSync(dir, { recursive: true, force: true })
  }
}

function tail(s: string): string {
  return s.trim().split('\n').slice(-5).join(' | ')
}
