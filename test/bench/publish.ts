// `npm run bench -- publish [--regions 30] [--latency-ms 100] [--size-mib 1] [--runs 3] [--sweep]`
// Publishes one zip to 1 region and to N regions against the local Lambda emulator (in its own process, so the
// "cloud's" CPU is not the publisher's) with latency added to every API call, and compares wall times (goal: N
// regions in at most 2× the time of one). Then reruns the N-region publish unchanged and reports what it uploaded
// and created (goal: 0 bytes, 0 versions). `--sweep` repeats the comparison for several zip sizes: past a few MiB the
// run is bound by moving N copies of the zip through loopback on this machine's cores rather than by latency, as a
// real publish is bound by upload bandwidth (N × zip size must be sent whatever the concurrency).
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { publish } from '../../builder/publish/publisher.ts'
import { BenchUsageError, benchArgs } from './args.ts'
import { formatBytes } from '../../builder/publish/report.ts'
import { spawnEmulator, type RemoteEmulator } from '../support/lambda-emulator.ts'
import { emulatorClients, makeLayerZip, repoConfig, tempDir } from '../support/publish-fixtures.ts'


function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

export default async function bench(args: string[]): Promise<void> {
  const { values } = benchArgs('publish', args, {
    regions: { default: 30, integer: true },
    'latency-ms': { default: 100 },
    'size-mib': { default: 1 },
    runs: { default: 3, integer: true },
  })
  const { regions: regionCount, 'latency-ms': latencyMs, 'size-mib': sizeMiB, runs } = values
  const versions = repoConfig().versions
  const all = versions.regions.map((r) => r.name)
  if (regionCount > all.length) throw new BenchUsageError(`--regions ${regionCount}: versions.yaml lists ${all.length}`)
  const regions = all.slice(0, regionCount)
  const dir = await tempDir('publish-bench-')
  try {
    const zip = await makeLayerZip({ dir, payloadBytes: Math.round(sizeMiB * 1024 * 1024) })

    // Each timed run starts from an empty emulator, so every region really publishes.
    const timed = async (names: string[]) => {
      const emu = await spawnEmulator({ latencyMs })
      try {
        const t0 = performance.now()
        const report = await publish({ zipPath: zip.zipPath, regions: names.join(','), versions, layersFile: join(dir, `layers-${names.length}.json`), clients: emulatorClients(emu.endpoint) })
        const ms = performance.now() - t0
        if (report.failed > 0) throw new Error(`${report.failed} regions failed`)
        return { ms }
      } finally {
        await emu.close()
      }
    }
    const one: number[] = []
    const many: number[] = []
    for (let i = 0; i < runs; i++) {
      one.push((await timed(regions.slice(0, 1))).ms)
      many.push((await timed(regions)).ms)
    }
    const sweep: string[] = []
    if (args.includes('--sweep')) {
      for (const mib of [0.05, 1, 4, 8, 20]) {
        const z = await makeLayerZip({ dir, payloadBytes: Math.round(mib * 1024 * 1024), variant: `sweep-${mib}` })
        const time = async (names: string[]) => {
          const emu = await spawnEmulator({ latencyMs })
          try {
            const t0 = performance.now()
            await publish({ zipPath: z.zipPath, regions: names.join(','), versions, layersFile: join(dir, `sweep-${mib}-${names.length}.json`), clients: emulatorClients(emu.endpoint) })
            return performance.now() - t0
          } finally {
            await emu.close()
          }
        }
        const a = median([await time(regions.slice(0, 1)), await time(regions.slice(0, 1)), await time(regions.slice(0, 1))])
        const b = median([await time(regions), await time(regions), await time(regions)])
        sweep.push(`    ${formatBytes(z.manifest.zip.bytes).padStart(10)}: 1 region ${(a / 1000).toFixed(2)} s, ${regionCount} regions ${(b / 1000).toFixed(2)} s, ${(b / a).toFixed(2)}×`)
      }
    }

    // The unchanged rerun: same emulator, same layers.json, counters reset in between.
    const emu: RemoteEmulator = await spawnEmulator({ latencyMs })
    let rerun: { ms: number; uploaded: number; received: number; created: number; reported: number }
    try {
      const layersFile = join(dir, 'layers-rerun.json')
      const input = { zipPath: zip.zipPath, regions: regions.join(','), versions, layersFile, clients: emulatorClients(emu.endpoint) }
      await publish(input)
      await emu.resetStats()
      const t0 = performance.now()
      const report = await publish(input)
      const ms = performance.now() - t0
      const stats = await emu.stats()
      rerun = { ms, uploaded: stats.uploadedZipBytes, received: stats.bytesReceived, created: stats.versionsCreated, reported: report.uploadedBytes }
    } finally {
      await emu.close()
    }

    const t1 = median(one)
    const tn = median(many)
    const ratio = tn / t1
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    console.log(`publish benchmark: ${formatBytes(zip.manifest.zip.bytes)} zip, ${latencyMs} ms added to every API call, median of ${runs}`)
    console.log(`  1 region:        ${s(t1)}   (runs: ${one.map(s).join(', ')})`)
    console.log(`  ${regionCount} regions:      ${s(tn)}   (runs: ${many.map(s).join(', ')})`)
    console.log(`  ratio:           ${ratio.toFixed(2)}× one region — goal ≤ 2×: ${ratio <= 2 ? 'met' : 'NOT met'}`)
    console.log(
      `  unchanged rerun: ${s(rerun.ms)}, uploaded ${formatBytes(rerun.uploaded)} (request bodies ${formatBytes(rerun.received)}), ${rerun.created} versions created — goal 0 B / 0: ${rerun.uploaded === 0 && rerun.created === 0 ? 'met' : 'NOT met'}`,
    )
    if (sweep.length > 0) console.log(`  by zip size (${latencyMs} ms per call, median of 3):\n${sweep.join('\n')}`)
    if (ratio > 2 || rerun.uploaded !== 0 || rerun.created !== 0) process.exitCode = 1
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
