// A real interruption: the publisher runs as a child process and is SIGKILLed mid-run. The rerun must finish the
// missing regions without a duplicate version anywhere, and layers.json must parse at every moment in between.
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseLayersFile } from '../../builder/publish/layers-file.ts'
import { isPublicPolicy } from '../../builder/publish/policy.ts'
import { LambdaEmulator } from '../support/lambda-emulator.ts'
import { FAKE_CREDENTIALS, makeLayerZip, repoConfig, repoRoot, tempDir } from '../support/publish-fixtures.ts'

const regions = repoConfig().versions.regions.slice(0, 12).map((r) => r.name)

t.test('SIGKILL mid-run, rerun completes with no duplicates; layers.json always valid', async (t) => {
  // Latency and a low cap stretch the run out so the kill lands in the middle of it.
  const emu = await LambdaEmulator.start({ latencyMs: 100 })
  const dir = await tempDir()
  t.teardown(async () => {
    await emu.close()
    await rm(dir, { recursive: true, force: true })
  })
  const z = await makeLayerZip({ dir })
  const layersFile = join(dir, 'layers.json')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ENDPOINT_URL_LAMBDA: emu.endpoint,
    AWS_ACCESS_KEY_ID: FAKE_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: FAKE_CREDENTIALS.secretAccessKey,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  }
  delete env.AWS_PROFILE
  const start = () =>
    spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'test/support/publisher-child.ts'), 'publish', z.zipPath, '--regions', regions.join(','), '--concurrency', '2', '--layers-file', layersFile], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  const exited = (child: ReturnType<typeof start>) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) => {
      let out = ''
      child.stdout?.on('data', (d: Buffer) => (out += d))
      child.stderr?.on('data', (d: Buffer) => (out += d))
      child.on('exit', (code, signal) => resolve({ code, signal, out }))
    })

  // Read layers.json continuously from the first run's start to the end of the rerun.
  const reads = { ok: 0, absent: 0, bad: [] as string[] }
  let watching = true
  const watcher = (async () => {
    while (watching) {
      try {
        parseLayersFile(await readFile(layersFile, 'utf8'), 'layers.json')
        reads.ok++
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') reads.absent++
        else reads.bad.push((e as Error).message)
      }
      await sleep(1)
    }
  })()

  const first = start()
  const firstExit = exited(first)
  const deadline = Date.now() + 60_000
  while (emu.stats.versionsCreated < 4 && Date.now() < deadline) await sleep(5)
  first.kill('SIGKILL')
  const killed = await firstExit
  t.equal(killed.signal, 'SIGKILL', 'the publisher was killed, not finished')
  const createdBeforeRerun = emu.stats.versionsCreated
  t.ok(createdBeforeRerun >= 4 && createdBeforeRerun < regions.length, `${createdBeforeRerun} of ${regions.length} regions had a version at the kill`)
  const partial = parseLayersFile(await readFile(layersFile, 'utf8'), 'layers.json')
  const recorded = Object.keys(partial.layers['php-83']?.regions ?? {}).length
  t.ok(recorded < regions.length, `layers.json recorded ${recorded} regions before the kill`)

  const second = await exited(start())
  watching = false
  await watcher
  t.equal(second.code, 0, second.out)
  t.same(reads.bad, [], 'every read of layers.json parsed and validated')
  t.ok(reads.ok > 10, `${reads.ok} successful reads while publishing`)

  for (const region of regions) {
    const versions = emu.layerVersions(region, 'php-83')
    t.equal(versions.length, 1, `${region}: exactly one version`)
    t.ok(isPublicPolicy(JSON.stringify({ Statement: versions[0]?.statements ?? [] })), `${region}: public`)
  }
  t.equal(emu.stats.versionsCreated, regions.length, 'the rerun created only the missing versions')
  const final = parseLayersFile(await readFile(layersFile, 'utf8'), 'layers.json')
  t.same(Object.keys(final.layers['php-83']!.regions).sort(), [...regions].sort())
  for (const e of Object.values(final.layers['php-83']!.regions)) t.equal(e.version, 1)
  t.match(second.out, /reused/, 'regions finished before the kill were reused')
  t.match(second.out, /published/, 'the rest were published')
})
