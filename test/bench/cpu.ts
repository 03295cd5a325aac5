// `npm run bench -- cpu [--runs 7] [layer.zip …]`: how fast the layer's PHP runs CPU-bound code: recursion, float
// loops, hashing and sorting, string building, regular expressions (the script below), timed inside PHP (hrtime,
// startup excluded) by /opt/bin/php in the smoke sandbox. Layers given are run alternately within each round, and
// each one's median is reported with its ratio to the first: the median of the per-round ratios, since a layer and
// the first ran moments apart in each round, which holds up when the machine's speed drifts during the run. The
// script's output must be the same on every layer.
// Without zips: the default test layer. For comparing builds of one PHP version (compiler flags, a shared core).
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { sandboxArgv } from '../../builder/smoke/sandbox.ts'
import { BenchFailed, benchArgs } from './args.ts'
import { benchLayers } from '../support/bench-layers.ts'

const root = join(import.meta.dirname, '..', '..')

const SCRIPT = `<?php
function fib(int $n): int { return $n < 2 ? $n : fib($n - 1) + fib($n - 2); }
function mandelbrot(): int {
    $sum = 0;
    for ($y = -39; $y < 39; $y++) {
        for ($x = -39; $x < 39; $x++) {
            $cr = $y / 40 - 0.5; $ci = $x / 40; $zr = 0.0; $zi = 0.0; $i = 0;
            while ($i < 400 && $zr * $zr + $zi * $zi < 4) { $t = $zr * $zr - $zi * $zi + $cr; $zi = 2 * $zr * $zi + $ci; $zr = $t; $i++; }
            $sum += $i;
        }
    }
    return $sum;
}
$t0 = hrtime(true);
$out = [fib(25), mandelbrot()];
$a = [];
for ($i = 0; $i < 100000; $i++) { $a[] = md5((string) $i); }
sort($a);
$out[] = $a[500];
$s = '';
for ($i = 0; $i < 100000; $i++) { $s .= str_pad(dechex($i * 7), 6, '0', STR_PAD_LEFT); }
$out[] = count(array_unique(str_split($s, 3)));
$out[] = preg_match_all('/[a-f]{2}[0-9]/', $s);
$objects = [];
for ($i = 0; $i < 100000; $i++) { $objects[] = new ArrayObject(['k' => $i]); }
$out[] = array_sum(array_map(fn ($o) => $o['k'] % 7, $objects));
echo json_encode($out), ' ', intdiv(hrtime(true) - $t0, 1000), "\\n";
`


const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export default async function bench(args: string[]): Promise<void> {
  const { values, positionals } = benchArgs('cpu', args, { runs: { default: 7, integer: true } }, { max: 8, usage: '[layer.zip …]' })
  const config = loadConfig({ root })
  const work = mkdtempSync(join(tmpdir(), 'bench-cpu-'))
  try {
    writeFileSync(join(work, 'cpu.php'), SCRIPT)
    const layers = (await benchLayers('cpu', positionals, work, config)).map((l) => ({ ...l, label: `${l.manifest.layerName} ${l.manifest.php.version} (build ${l.manifest.buildId.slice(0, 12)})` }))
    const runOnce = (l: (typeof layers)[number]): { out: string; us: number } => {
      const argv = sandboxArgv({ layerDir: l.layerDir, taskDir: work, baseLibDir: l.baseLibDir, gnuTriplet: l.gnuTriplet }, ['/opt/bin/php', '/var/task/cpu.php'])
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 300_000 })
      const m = /^(.*) (\d+)\n$/.exec(r.stdout)
      if (r.status !== 0 || !m) throw new BenchFailed(`${l.zip}: php exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`)
      return { out: m[1]!, us: Number(m[2]) }
    }
    // One unmeasured run per layer: the page cache then holds every layer equally, and the outputs must agree.
    const outputs = layers.map(runOnce).map((r) => r.out)
    if (new Set(outputs).size !== 1) throw new BenchFailed(`the layers compute different results: ${outputs.join(' vs ')}`)
    const times = layers.map(() => [] as number[])
    for (let run = 0; run < values.runs; run++) for (const [i, l] of layers.entries()) times[i]!.push(runOnce(l).us / 1000)
    console.log(`CPU-bound PHP script (recursion, float loops, md5 + sort, strings, regex, objects), /opt/bin/php, median of ${values.runs}`)
    for (const [i, l] of layers.entries()) {
      const m = median(times[i]!)
      const ratio = median(times[i]!.map((ms, run) => ms / times[0]![run]!))
      console.log(`  ${m.toFixed(1).padStart(8)} ms  ${ratio.toFixed(3)}×  ${l.label}  ${l.zip}`)
    }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}
