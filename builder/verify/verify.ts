// `npm run verify -- <zip | LayerVersionArn>`: rebuilds a layer from the inputs its own manifest records (PHP
// release, arch, extensions, executor and build image) with a fresh compile, and compares bytes. Anyone can check
// that a published layer came from this repository's sources; a difference names the first file that differs.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { LambdaClient, GetLayerVersionByArnCommand } from '@aws-sdk/client-lambda'
import { UsageError, VerifyError } from '../errors.ts'
import type { Logger } from '../log.ts'
import { LAYER_MANIFEST_PATH, type LayerManifest } from '../artifact/manifest.ts'
import type { BuildRequest } from '../plan/plan.ts'
import { sha256File } from '../sources/digest.ts'
import { readZip, type ZipFileEntry } from '../artifact/zip-read.ts'

const ARN = /^arn:aws[a-z-]*:lambda:([a-z0-9-]+):\d{12}:layer:[A-Za-z0-9_-]+:\d+$/

export interface VerifyOptions {
  target: string
  root: string
  cacheDir: string
  log: Logger
  /** Reuse cached compiles (checks assembly only; seconds instead of a full compile). */
  cached?: boolean
}

export interface Difference {
  path: string
  why: string
}

export interface VerifyResult {
  equal: boolean
  original: { sha256: string; file: string }
  rebuilt: { sha256: string; file: string }
  firstDifference?: Difference
}

export async function verifyLayer(opts: VerifyOptions): Promise<VerifyResult> {
  mkdirSync(opts.cacheDir, { recursive: true })
  const work = mkdtempSync(join(opts.cacheDir, 'verify-'))
  try {
    const zipPath = ARN.test(opts.target) ? await download(opts.target, work, opts.log) : opts.target
    const original = await readZip(zipPath).catch((e: Error) => {
      throw new UsageError(`cannot read ${zipPath} as a zip (${e.message})`, 'Give a layer zip or a LayerVersionArn.')
    })
    const manifestEntry = original.find((e) => e.path === LAYER_MANIFEST_PATH)
    if (!manifestEntry && original.some((e) => /^php\/addons\/[^/]+\.json$/.test(e.path))) {
      throw new VerifyError(`${zipPath} is an add-on layer: verify rebuilds base layers only so far`, 'Verify the base layer it names (php/addons/<name>.json addon.base), and rebuild the add-on with npm run build -- --addon <name> to compare.')
    }
    if (!manifestEntry) throw new VerifyError(`${zipPath} has no ${LAYER_MANIFEST_PATH}: not a layer this factory built, so there are no recorded inputs to rebuild from`)
    const m = JSON.parse(manifestEntry.data.toString('utf8')) as LayerManifest
    const request: BuildRequest = {
      php: m.php.version,
      arch: m.arch,
      extensions: m.extensions.map((e) => e.name),
      executor: m.executor,
      ...(m.toolchain.buildImage ? { buildImage: m.toolchain.buildImage } : {}),
    }
    opts.log.info(`» verify ${zipPath}: rebuilding PHP ${m.php.version} ${m.arch} (${m.extensions.length} extensions) with executor ${m.executor}${m.toolchain.buildImage ? ` in ${m.toolchain.buildImage}` : ''}${opts.cached ? ', reusing cached compiles' : ', compiling from scratch'}`)
    if (m.executor === 'host') opts.log.info('  note: a host build matches only on a machine with the same -dev package versions; docker builds match anywhere')
    const { build, planOnly } = await import('../build.ts')
    const planned = planOnly(opts.root, request)
    const flagDiff = firstListDifference(m.configureFlags, planned.configureFlags)
    if (flagDiff) {
      throw new VerifyError(`this checkout plans other configure flags than the layer recorded (${flagDiff})`, 'Check out the commit that built the layer, then verify again.')
    }
    const out = await build({ root: opts.root, request, outDir: join(work, 'rebuilt'), cacheDir: opts.cacheDir, log: opts.log, smoke: false, fresh: !opts.cached && m.executor === 'docker' })
    const [a, b] = [await sha256File(zipPath), await sha256File(out.zipPath)]
    const result: VerifyResult = { equal: a === b, original: { sha256: a, file: zipPath }, rebuilt: { sha256: b, file: out.zipPath } }
    if (!result.equal) {
      const diff = firstDifference(original, await readZip(out.zipPath))
      if (diff) result.firstDifference = diff
    }
    // Keep the rebuilt zip only when it differs, for inspection.
    if (!result.equal) {
      const keep = join(opts.cacheDir, 'verify-last.zip')
      copyFileSync(out.zipPath, keep)
      result.rebuilt.file = keep
    }
    return result
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** The first entry (in path order) that is missing from one side or differs in mode or bytes. */
export function firstDifference(a: ZipFileEntry[], b: ZipFileEntry[]): Difference | undefined {
  const left = new Map(a.map((e) => [e.path, e]))
  const right = new Map(b.map((e) => [e.path, e]))
  for (const path of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const x = left.get(path)
    const y = right.get(path)
    if (!x) return { path, why: 'only in the rebuilt layer' }
    if (!y) return { path, why: 'only in the given layer' }
    if (x.mode !== y.mode) return { path, why: `mode ${x.mode.toString(8)} here, ${y.mode.toString(8)} rebuilt` }
    if (!x.data.equals(y.data)) {
      const at = x.data.findIndex((v, i) => v !== y.data[i])
      return { path, why: `content differs (${x.data.length} vs ${y.data.length} bytes; first differing byte at offset ${at === -1 ? Math.min(x.data.length, y.data.length) : at})` }
    }
  }
  return undefined
}

function firstListDifference(a: string[], b: string[]): string | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `recorded ${a[i] ?? '(nothing)'}, planned ${b[i] ?? '(nothing)'}`
  }
  return undefined
}

/** Fetches a published layer version's zip (GetLayerVersionByArn → Content.Location) and checks its CodeSha256. */
async function download(arn: string, dir: string, log: Logger): Promise<string> {
  const region = ARN.exec(arn)![1]!
  const lambda = new LambdaClient({ region })
  const t0 = performance.now()
  let out
  try {
    out = await lambda.send(new GetLayerVersionByArnCommand({ Arn: arn }))
  } catch (e) {
    throw new VerifyError(`GetLayerVersionByArn ${arn} failed: ${(e as Error).message}`, 'Check the ARN and that the layer version is public (or your credentials can read it).')
  } finally {
    lambda.destroy()
  }
  const location = out.Content?.Location
  if (!location) throw new VerifyError(`GetLayerVersionByArn ${arn} returned no Content.Location`)
  const res = await fetch(location)
  if (!res.ok) throw new VerifyError(`downloading ${arn}'s zip failed: HTTP ${res.status}`)
  const bytes = Buffer.from(await res.arrayBuffer())
  const codeSha256 = createHash('sha256').update(bytes).digest('base64')
  if (out.Content?.CodeSha256 && out.Content.CodeSha256 !== codeSha256) {
    throw new VerifyError(`the downloaded zip's CodeSha256 ${codeSha256} differs from the one Lambda reports (${out.Content.CodeSha256})`, 'Download again; the transfer was corrupted.')
  }
  const file = join(dir, 'published.zip')
  writeFileSync(file, bytes)
  log.done(`download ${arn} (${bytes.length} bytes, CodeSha256 ${codeSha256})`, performance.now() - t0)
  return file
}
