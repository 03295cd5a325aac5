// A content-addressed source cache: `<cache>/sources/<sha256>/<file>`. Every hit is re-verified; a file that fails
// its sha256 or signature is deleted and the build stops (fail closed).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs'
import { join } from 'node:path'
import { SourceError } from '../errors.ts'
import type { ManifestSource } from '../artifact/manifest.ts'
import type { SourceSpec } from '../plan/plan.ts'
import type { Runner } from '../run.ts'
import { sha256File } from './digest.ts'
import { verifySignature } from './gpg.ts'
import type { Mirror } from './mirrors.ts'

export interface FetchContext {
  cacheDir: string
  keysDir: string
  mirrors: Mirror[]
  run: Runner
}

export interface FetchedSource {
  spec: SourceSpec
  path: string
  manifest: ManifestSource
}

interface CacheMeta {
  origin: string
  hasSignature: boolean
  hasKeys: boolean
}

export async function fetchSource(spec: SourceSpec, ctx: FetchContext): Promise<FetchedSource> {
  const dir = join(ctx.cacheDir, 'sources', spec.sha256)
  const path = join(dir, spec.file)
  const metaPath = join(dir, 'meta.json')
  if (existsSync(path) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as CacheMeta
    const verified = await verify(spec, path, meta.hasSignature ? path + '.asc' : undefined, meta.hasKeys ? [path + '.keys.asc'] : [], ctx, () => rmSync(dir, { recursive: true, force: true }), 'cached ')
    return { spec, path, manifest: { name: spec.name, version: spec.version, sha256: spec.sha256, origin: meta.origin, verified } }
  }

  const tried: Array<{ mirror: string; message: string }> = []
  mkdirSync(join(ctx.cacheDir, 'tmp'), { recursive: true })
  for (const mirror of ctx.mirrors) {
    const scratch = mkdtempSync(join(ctx.cacheDir, 'tmp', `${spec.name}-`))
    try {
      const got = await mirror.fetch(spec, scratch)
      const verified = await verify(spec, got.file, got.signature, got.keyFiles ?? [], ctx, () => undefined, `${mirror.name} `)
      // Publish into the cache atomically: build the entry beside it, then rename.
      const staged = join(scratch, 'entry')
      mkdirSync(staged)
      renameSync(got.file, join(staged, spec.file))
      if (got.signature) renameSync(got.signature, join(staged, spec.file + '.asc'))
      if (got.keyFiles?.length) {
        writeFileSync(join(staged, spec.file + '.keys.asc'), got.keyFiles.map((k) => readFileSync(k, 'utf8')).join('\n'))
      }
      const meta: CacheMeta = { origin: got.origin, hasSignature: !!got.signature, hasKeys: !!got.keyFiles?.length }
      writeFileSync(join(staged, 'meta.json'), JSON.stringify(meta, null, 2) + '\n')
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(join(ctx.cacheDir, 'sources'), { recursive: true })
      renameSync(staged, dir)
      return { spec, path, manifest: { name: spec.name, version: spec.version, sha256: spec.sha256, origin: got.origin, verified } }
    } catch (e) {
      tried.push({ mirror: mirror.name, message: (e as Error).message })
    } finally {
      rmSync(scratch, { recursive: true, force: true })
    }
  }
  throw new UnobtainableError(spec, tried)
}

/** No mirror could supply a verified copy; `tried` says why, per mirror. */
export class UnobtainableError extends SourceError {
  constructor(
    readonly spec: SourceSpec,
    readonly tried: Array<{ mirror: string; message: string }>,
  ) {
    super(
      `could not obtain ${spec.file} (sha256 ${spec.sha256}); tried ${tried.map((t) => `${t.mirror}: ${t.message}`).join(' | ')}`,
      'Check network access, run scripts/setup-host.sh to enable Debian source packages, or put the file in a directory named by PHP_LAYER_SOURCES.',
    )
  }
}

async function verify(
  spec: SourceSpec,
  file: string,
  signature: string | undefined,
  keyFiles: string[],
  ctx: FetchContext,
  onFail: () => void,
  label: string,
): Promise<string[]> {
  const actual = await sha256File(file)
  if (actual !== spec.sha256) {
    rmSync(file, { force: true })
    onFail()
    throw new SourceError(`${label}${spec.file}: sha256 ${actual} does not match the pinned ${spec.sha256}; the file was deleted`, 'Rerun to fetch it again; if it persists, the mirror serves a different file.')
  }
  const verified = ['sha256']
  if (spec.signature) {
    if (!signature) {
      onFail()
      throw new SourceError(`${label}${spec.file}: no signature available to verify`, 'PHP tarballs must be GPG-verified; provide the .asc beside the file.')
    }
    try {
      const fpr = await verifySignature(ctx.run, { file, signature, signers: spec.signature.signers, keysDir: ctx.keysDir, extraKeyFiles: keyFiles })
      verified.push(`gpg:${fpr}`)
    } catch (e) {
      onFail()
      throw e
    }
  }
  return verified
}

/** Copies a verified cached file somewhere else (e.g. into a Docker build context). */
export function copyVerified(src: FetchedSource, dest: string): void {
  copyFileSync(src.path, dest)
}
