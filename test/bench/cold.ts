// `npm run bench -- cold [--runs 10] [--from-disk] [layer.zip …]`: cold start as a user feels it, bootstrap start → first
// response, in the smoke test's sandbox (bubblewrap: the layer read-only at /opt, only the base image's libraries),
// for a hello-world function and for a 2,000-file app whose front controller loads every file (opcache on, as the
// layer ships it). Each run is a new sandbox and a new Runtime API; the layers given are measured side by side,
// alternating within each round, and the median of each is reported. Without zips: the default test layer.
// --from-disk (root only) empties the page cache before every start, so each one reads the layer's files from disk as
// a new Lambda execution environment does; without it, every start after the first finds them in memory.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { RuntimeApi, spawnRuntime } from '../../builder/smoke/runtime-api.ts'
import { sandboxArgv } from '../../builder/smoke/sandbox.ts'
import { BenchFailed, BenchUsageError, benchArgs } from './args.ts'
import { benchLayers } from '../support/bench-layers.ts'

const root = join(import.meta.dirname, '..', '..')

const EVENT = {
  version: '2.0', routeKey: '$default', rawPath: '/', rawQueryString: '', headers: { host: 'bench.lambda-url.us-east-1.on.aws' },
  requestContext: { http: { method: 'GET', path: '/', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' }, domainName: 'bench.lambda-url.us-east-1.on.aws', requestId: 'bench', routeKey: '$default', stage: '$default', time: '01/Jan/2026:00:00:00 +0000', timeEpoch: 1767225600000 },
  isBase64Encoded: false,
}

/** hello: one echo. app: 2,000 class files, each loaded by the front controller, as a framework's autoloader would. */
function makeApps(dir: string): Record<'hello' | 'app', string> {
  const hello = join(dir, 'hello')
  mkdirSync(join(hello, 'public'), { recursive: true })
  writeFileSync(join(hello, 'public', 'index.php'), '<?php echo "hello";\n')
  const app = join(dir, 'app')
  mkdirSync(join(app, 'public'), { recursive: true })
  for (let d = 0; d < 20; d++) {
    mkdirSync(join(app, 'src', `M${d}`), { recursive: true })
    for (let f = 0; f < 100; f++) {
      const methods = Array.from({ length: 8 }, (_, m) => `    public function m${m}(array $a): array { $o = []; foreach ($a as $k => $v) { $o[$k . '${m}'] = is_int($v) ? $v * ${m + 1} : strtoupper((string) $v); } return $o; }`).join('\n')
      writeFileSync(join(app, 'src', `M${d}`, `C${f}.php`), `<?php\nnamespace App\\M${d};\n\nfinal class C${f}\n{\n${methods}\n}\n`)
    }
  }
  writeFileSync(join(app, 'public', 'index.php'), `<?php
spl_autoload_register(function (string $class): void {
    require __DIR__ . '/../src/' . str_replace(['App\\\\', '\\\\'], ['', '/'], $class) . '.php';
});
$n = 0;
for ($d = 0; $d < 20; $d++) {
    for ($f = 0; $f < 100; $f++) {
        $class = "App\\\\M$d\\\\C$f";
        $n += count((new $class())->m0([1, 'a']));
    }
}
echo "loaded $n";
`)
  return { hello, app }
}


async function coldStart(layerDir: string, taskDir: string, baseLibDir: string, gnuTriplet: string): Promise<{ ms: number; body: string }> {
  const api = await RuntimeApi.start()
  const argv = sandboxArgv({ layerDir, taskDir, baseLibDir, gnuTriplet, env: { _HANDLER: 'public/index.php', AWS_LAMBDA_RUNTIME_API: api.address, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1024' } }, ['/opt/bootstrap'])
  const t0 = performance.now()
  const proc = spawnRuntime(argv)
  try {
    const r = await api.invoke(EVENT, { timeoutMs: 30_000 })
    const ms = performance.now() - t0
    if (r.kind !== 'response') throw new BenchFailed(`no response (${r.kind}): ${proc.logs.trim().split('\n').slice(-3).join(' | ')}`)
    return { ms, body: String((r.json as { body?: string }).body ?? '') }
  } finally {
    await proc.stop()
    await api.close()
  }
}

/** Writes dirty pages out, then drops clean ones: the next start reads its files from disk. */
function dropPageCache(): void {
  execFileSync('sync')
  writeFileSync('/proc/sys/vm/drop_caches', '3\n')
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export default async function bench(args: string[]): Promise<void> {
  const fromDisk = args.includes('--from-disk')
  const { values, positionals } = benchArgs('cold', args.filter((a) => a !== '--from-disk'), { runs: { default: 10, integer: true } }, { max: 8, usage: '[--from-disk] [layer.zip …]' })
  if (fromDisk && process.getuid?.() !== 0) throw new BenchUsageError('--from-disk empties the page cache (/proc/sys/vm/drop_caches), which needs root; accepted: run it as root, or leave --from-disk out')
  const config = loadConfig({ root })
  const work = mkdtempSync(join(tmpdir(), 'bench-cold-'))
  try {
    const apps = makeApps(work)
    const layers = (await benchLayers('cold', positionals, work, config)).map((l) => ({ ...l, label: `${l.manifest.layerName} ${l.manifest.php.version} (${(l.manifest.unzippedBytes / 1e6).toFixed(1)} MB, build ${l.manifest.buildId.slice(0, 12)})` }))
    for (const app of ['hello', 'app'] as const) {
      const times = layers.map(() => [] as number[])
      // One unmeasured start per layer first: the page cache then holds every layer equally.
      for (const l of layers) await coldStart(l.layerDir, apps[app], l.baseLibDir, l.gnuTriplet)
      for (let run = 0; run < values.runs; run++) {
        for (const [i, l] of layers.entries()) {
          if (fromDisk) dropPageCache()
          const r = await coldStart(l.layerDir, apps[app], l.baseLibDir, l.gnuTriplet)
          const expected = app === 'hello' ? 'hello' : 'loaded 4000'
          if (r.body !== expected) throw new BenchFailed(`${l.zip}: ${app} answered ${JSON.stringify(r.body.slice(0, 80))}, expected ${expected}`)
          times[i]!.push(r.ms)
        }
      }
      console.log(`${app === 'hello' ? 'hello world' : '2,000-file app'}: bootstrap start → first response, median of ${values.runs}${fromDisk ? ', files read from disk (page cache emptied before each start)' : ''}`)
      for (const [i, l] of layers.entries()) {
        // Against the first layer: the median of the per-round ratios (the machine's speed drifts between rounds).
        const ratio = i === 0 ? '' : `  ${median(times[i]!.map((ms, r) => ms / times[0]![r]!)).toFixed(3)}× the first`
        console.log(`  ${median(times[i]!).toFixed(1).padStart(7)} ms  ${l.label}${ratio}`)
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
