// Unpacks a layer zip the way Lambda does: regular files with their mode bits, symlinks as symlinks.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import yauzl from 'yauzl'

export interface UnpackedEntry {
  path: string
  mode: number
  size: number
}

function readAll(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err)
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => resolve(Buffer.concat(chunks)))
      stream.on('error', reject)
    })
  })
}

export type ZipFileEntry = UnpackedEntry & { data: Buffer }

/** Reads every entry of a zip: path, unix mode, bytes. */
export function readZip(path: string): Promise<ZipFileEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, strictFileNames: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error(`cannot open ${path}`))
      const out: ZipFileEntry[] = []
      zip.on('entry', (entry: yauzl.Entry) => {
        const mode = (entry.externalFileAttributes >>> 16) & 0xffff
        if (entry.fileName.endsWith('/')) return zip.readEntry()
        readAll(zip, entry).then((data) => {
          out.push({ path: entry.fileName, mode, size: entry.uncompressedSize, data })
          zip.readEntry()
        }, reject)
      })
      zip.on('end', () => resolve(out))
      zip.on('error', reject)
      zip.readEntry()
    })
  })
}

/** Writes entries read by readZip below `dest`, keeping modes and symlinks. */
export function writeEntries(entries: ZipFileEntry[], dest: string): void {
  for (const e of entries) {
    const rel = normalize(e.path)
    if (rel.startsWith('..') || rel.startsWith('/')) throw new Error(`zip entry escapes the layer: ${e.path}`)
    const target = join(dest, rel)
    mkdirSync(dirname(target), { recursive: true })
    if ((e.mode & 0o170000) === 0o120000) symlinkSync(e.data.toString(), target)
    else {
      writeFileSync(target, e.data)
      chmodSync(target, e.mode & 0o7777 || 0o644)
    }
  }
}

/** Reads the zip once, writes it below `dest`, and returns its entries (bytes included) for further checks. */
export async function unpackZip(zipPath: string, dest: string): Promise<ZipFileEntry[]> {
  const entries = await readZip(zipPath)
  writeEntries(entries, dest)
  return entries
}
