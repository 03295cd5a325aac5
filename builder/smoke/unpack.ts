// Unpacks a layer zip the way Lambda does: regular files with their mode bits, symlinks as symlinks.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { readZip, type ZipFileEntry } from '../artifact/zip-read.ts'

export type { ZipFileEntry }

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
