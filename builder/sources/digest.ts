// sha256 of files, streamed (PHP tarballs are ~12 MB; zips up to 50 MB).
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** Lambda reports CodeSha256 as the base64 of the raw digest. */
export function codeSha256(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64')
}
