// The one zip reader (yauzl): every entry with its unix mode and bytes, or a single entry. Errors are plain
// Errors whose message says what is wrong with the file; callers wrap them in their stage's error class.
import yauzl from 'yauzl'

export interface ZipFileEntry {
  /** Path inside the zip, '/'-separated. */
  path: string
  /** Unix mode from the external attributes (0 when the zip was written without them). */
  mode: number
  size: number
  data: Buffer
}

async function open(source: string | Buffer): Promise<yauzl.ZipFile> {
  const opts = { lazyEntries: true, strictFileNames: true }
  try {
    return typeof source === 'string' ? await yauzl.openPromise(source, opts) : await yauzl.fromBufferPromise(source, opts)
  } catch (e) {
    throw new Error(`not a readable zip (${(e as Error).message})`)
  }
}

async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry)
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Every file entry (directories are implied by paths and skipped). */
export async function readZip(source: string | Buffer): Promise<ZipFileEntry[]> {
  const zip = await open(source)
  const out: ZipFileEntry[] = []
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue
      const data = await readEntry(zip, entry)
      out.push({ path: entry.fileName, mode: (entry.externalFileAttributes >>> 16) & 0xffff, size: entry.uncompressedSize, data })
    }
  } catch (e) {
    throw new Error(`not a readable zip (${(e as Error).message})`)
  } finally {
    zip.close()
  }
  return out
}

/** One small entry; undefined when absent. */
export async function readZipEntry(source: string | Buffer, name: string, maxBytes = 4 * 1024 * 1024): Promise<Buffer | undefined> {
  const zip = await open(source)
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName !== name) continue
      if (entry.uncompressedSize > maxBytes) throw new Error(`${name} is ${entry.uncompressedSize} bytes, over ${maxBytes}`)
      return await readEntry(zip, entry)
    }
    return undefined
  } finally {
    zip.close()
  }
}
