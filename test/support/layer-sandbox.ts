/**
 * A built layer's own /opt/bootstrap running in the smoke test's Lambda-like sandbox (bubblewrap: the layer read-only
 * at /opt, the function read-only at /var/task, only the base image's libraries), attached to a Runtime API emulator.
 * For end-to-end tests that drive the real layer with events.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { debianLibDirs } from '../../builder/host-libs.ts'
import type { Arch } from '../../builder/schema/common.ts'
import { RuntimeApiEmulator, type InvocationResult, type Sandbox } from './runtime-api-emulator.ts'
import { prepareBaseLibs, sandboxArgv } from '../../builder/smoke/sandbox.ts'
import { unpackZip } from '../../builder/smoke/unpack.ts'
import { projectRoot } from './cli.ts'
import { testCacheDir } from './layer.ts'

export interface LayerSandbox {
  api: RuntimeApiEmulator
  sandbox: Sandbox
  invoke(event: unknown, timeoutMs?: number): Promise<InvocationResult>
  stop(): Promise<void>
}

/** Unpacks `zip` once into a temporary /opt; stop() removes it. */
export async function startLayerSandbox(zip: string, arch: Arch, taskDir: string, env: Record<string, string> = {}): Promise<LayerSandbox> {
  const config = loadConfig({ root: projectRoot })
  const work = mkdtempSync(join(tmpdir(), 'layer-sandbox-'))
  const layerDir = join(work, 'opt')
  await unpackZip(zip, layerDir)
  const archInfo = config.versions.archs[arch]
  const baseLibDir = prepareBaseLibs(testCacheDir(), arch, config.baseLibraries[arch], debianLibDirs(archInfo.gnuTriplet), config.versions.base.gconvModules)
  const api = await RuntimeApiEmulator.start()
  const argv = sandboxArgv({ layerDir, taskDir, baseLibDir, gnuTriplet: archInfo.gnuTriplet, env: { _HANDLER: 'public/index.php', ...env, AWS_LAMBDA_RUNTIME_API: api.address } }, ['/opt/bootstrap'])
  const sandbox = api.spawnSandbox({ command: argv[0]!, args: argv.slice(1) })
  return {
    api,
    sandbox,
    async invoke(event, timeoutMs = 10_000) {
      const died = sandbox.exited.then(({ code, signal }): InvocationResult => {
        throw new Error(`the sandboxed bootstrap exited (${signal ?? `code ${code}`}): ${sandbox.logs.trim().split('\n').slice(-5).join(' | ')}`)
      })
      return Promise.race([api.invoke(event, { timeoutMs }), died])
    },
    async stop() {
      await sandbox.stop()
      await api.close()
      rmSync(work, { recursive: true, force: true })
    },
  }
}
