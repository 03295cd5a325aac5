// The one way the pipeline writes a file others read (zips, manifests, layers.json, README tables): a temp file in
// the same directory, fsynced, then renamed over the target. A reader (or a run killed mid-write) sees the old file
// or the new one, never half of either, and a crash after the rename cannot leave an empty file behind.
import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

export async function writeFileAtomic(path: string, data: string | Buffer | AsyncIterable<unknown>, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const fh = await open(tmp, 'w', mode)
  try {
    if (typeof data === 'string' || Buffer.isBuffer(data)) await fh.writeFile(data)
    else for await (const chunk of data) await fh.write(chunk as Buffer)
    await fh.sync()
    await fh.close()
    await rename(tmp, path)
  } catch (e) {
    await fh.close().catch(() => undefined)
    await unlink(tmp).catch(() => undefined)
    throw e
  }
}

/** JSON with two-space indentation and a final newline, written atomically. */
export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n')
}
