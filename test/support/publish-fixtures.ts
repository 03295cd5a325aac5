// Small real layer zips for publish tests: php/manifest.json inside, the sidecar manifest beside, and a smoke record
// that passes for the zip's sha256 — everything publishing checks, without a PHP build.
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import yazl from 'yazl'
import { loadConfig } from '../../builder/config/load.ts'
import type { Config } from '../../builder/config/types.ts'
import { LAYER_MANIFEST_PATH, sidecarPath, type LayerManifest, type ZipManifest } from '../../builder/artifact/manifest.ts'
import type { Arch } from '../../builder/schema/common.ts'
import { addonLayerName, layerName } from '../../builder/plan/naming.ts'
import { LambdaEmulator, type EmulatorOptions } from './lambda-emulator.ts'

// The SDK warns once per process that Node 20 support ends in 2027; that is the project's engine decision, not news
// for every test file.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

let config: Config | undefined
export function repoConfig(): Config {
  config ??= loadConfig({ root: repoRoot })
  return config
}

export const FAKE_CREDENTIALS = { accessKeyId: 'AKIDLOCALEMULATOR01', secretAccessKey: 'local-emulator-secret' }

export async function tempDir(prefix = 'publish-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

/** A Lambda emulator and a temp directory for one test, both gone at its end. */
export async function emulatorAndDir(t: Test, opts: EmulatorOptions = {}): Promise<{ emu: LambdaEmulator; dir: string }> {
  const emu = await LambdaEmulator.start(opts)
  const dir = await tempDir()
  t.teardown(async () => {
    await emu.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { emu, dir }
}

export interface LayerZipOptions {
  dir: string
  php?: string
  arch?: Arch
  buildId?: string
  /** Bytes of incompressible payload (stored, not deflated) so the zip is about this big. */
  payloadBytes?: number
  /** Makes otherwise identical zips differ. */
  variant?: string
  smoke?: 'passed' | 'failed' | 'missing' | 'other-zip'
  baseName?: string
  /** false: leave php/manifest.json out of the zip. */
  innerManifest?: boolean
  fileName?: string
  /** An add-on layer for this recipes/ext extension (php-83-redis) instead of a base layer. */
  addon?: string
}

export interface LayerZip {
  zipPath: string
  sidecar: string
  manifest: ZipManifest
}

export async function makeLayerZip(opts: LayerZipOptions): Promise<LayerZip> {
  const php = opts.php ?? '8.3.14'
  const minor = php.split('.').slice(0, 2).join('.')
  const arch = opts.arch ?? 'x86_64'
  const baseLayer = layerName(repoConfig().versions.layer, minor, arch, php)
  const name = opts.addon ? addonLayerName(repoConfig().versions.layer, minor, arch, php, opts.addon) : baseLayer
  const baseName = opts.baseName ?? 'provided.al2023'
  const layer: LayerManifest = {
    schema: 2,
    layerName: name,
    php: { version: php, minor },
    arch,
    base: { name: baseName, image: `public.ecr.aws/lambda/provided:${baseName.split('.')[1] ?? 'al2023'}`, glibc: '2.34', runtime: baseName, libraries: ['libc.so.6'], notOnLambdaHost: [], gconvModules: [] },
    target: { gnuTriplet: arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu', elfMachine: arch === 'arm64' ? 183 : 62 },
    executor: 'test',
    buildId: opts.buildId ?? createHash('sha256').update(`${php}/${arch}/${opts.variant ?? ''}`).digest('hex'),
    modules: ['Core', 'date', 'json'],
    extensions: [],
    libraries: [],
    sources: [],
    configureFlags: [],
    maxGlibc: '2.34',
    unzippedBytes: 0,
    license: 'MIT',
    toolchain: { node: process.version },
    ...(opts.addon
      ? { addon: { name: opts.addon, description: `${opts.addon} test add-on`, extensions: [{ name: opts.addon, version: '1.0.0' }], devOnly: false, base: { layerName: baseLayer, artifact: `${baseLayer}-${php}-${arch}`, buildId: 'a'.repeat(32), phpApi: '20230831' } } }
      : {}),
  }
  const payload = opts.payloadBytes ? randomBytes(opts.payloadBytes) : Buffer.from(`#!/bin/sh\necho php ${php} ${opts.variant ?? ''}\n`)
  layer.unzippedBytes = payload.length
  const zip = new yazl.ZipFile()
  const mtime = new Date('2024-01-01T00:00:00Z')
  if (opts.innerManifest !== false) zip.addBuffer(Buffer.from(JSON.stringify(layer, null, 2)), opts.addon ? `php/addons/${opts.addon}.json` : LAYER_MANIFEST_PATH, { mtime })
  zip.addBuffer(payload, 'php/bin/php', { mtime, compress: false, mode: 0o100755 })
  zip.end()
  const zipPath = join(opts.dir, opts.fileName ?? `${name}${opts.variant ? `-${opts.variant}` : ''}.zip`)
  await pipeline(zip.outputStream, createWriteStream(zipPath))

  const { readFile } = await import('node:fs/promises')
  const bytes = await readFile(zipPath)
  const digest = createHash('sha256').update(bytes).digest()
  const sha256 = digest.toString('hex')
  const manifest: ZipManifest = {
    ...layer,
    zip: { file: zipPath.split('/').pop()!, bytes: bytes.length, sha256, codeSha256: digest.toString('base64') },
  }
  const smoke = opts.smoke ?? 'passed'
  if (smoke !== 'missing') {
    manifest.smoke = {
      zipSha256: smoke === 'other-zip' ? '0'.repeat(64) : sha256,
      passed: smoke !== 'failed',
      at: '2024-01-01T00:00:00Z',
      toolchain: {},
      checks: [{ name: 'php -v', passed: smoke !== 'failed', ms: 1 }],
    }
  }
  const sidecar = sidecarPath(zipPath)
  await writeFile(sidecar, JSON.stringify(manifest, null, 2) + '\n')
  return { zipPath, sidecar, manifest }
}

/** Client settings that point the real SDK at the emulator with static fake credentials. */
export function emulatorClients(endpoint: string) {
  return {
    lambda: { endpoint, credentials: FAKE_CREDENTIALS },
    s3: { endpoint, credentials: FAKE_CREDENTIALS, forcePathStyle: true },
  }
}

/** Retry timings scaled down for tests (same policy shape as production; see builder/publish/retry.ts). */
export const FAST_RETRY = { regionMinDelayMs: 20, regionMaxDelayMs: 200 }
