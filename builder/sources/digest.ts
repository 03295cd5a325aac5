// sha256 of files, streamed (PHP tarballs are ~12 MB; zips up to 50 MB).
import { createHash } from 'node:crypto'
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** Lambda reports CodeSha256 as the base64 of the raw digest. */
export function codeSha256(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64')
}

/** sha256 over every file below the given roots (relative paths and contents, in sorted order). */
export function hashFiles(base: string, roots: string[]): string {
  const h = createHash('sha256')
  const walk = (p: string): string[] =>
    statSync(p).isDirectory() ? readdirSync(p).sort().flatMap((n) => walk(join(p, n))) : [p]
  for (const f of roots.flatMap((r) => walk(join(base, r))).sort()) h.update(relative(base, f)).update('\0').update(readFileSync(f))
  return h.digest('hex')
}
