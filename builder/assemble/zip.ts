// Deterministic zips: entries sorted by path, one fixed timestamp, modes (exec bits, symlinks) kept in the external
// attributes, no extra timestamp fields. The same tree always gives the same bytes, so CodeSha256 only changes
// when content does.
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import yazl from 'yazl'
import { writeFileAtomic } from '../artifact/atomic.ts'

export interface ZipEntry {
  /** Path inside the zip, '/'-separated, no leading slash. */
  path: string
  mode: number
  /** File content, or the link target for symlinks. */
  data: Buffer
}

// DOS timestamps are local-time fields; building the Date from local components (at write time, in the zone
// then in force) makes them the same in every time zone.
const fixedTime = () => new Date(2000, 0, 1, 0, 0, 0)
const S_IFMT = 0o170000
const S_IFLNK = 0o120000
const S_IFREG = 0o100000

/**
 * Reads a directory tree into zip entries (regular files and symlinks; directories are implied). Modes are
 * normalised to 0755/0644 so the build host's umask cannot change the zip.
 */
export function collectTree(root: string): ZipEntry[] {
  const out: ZipEntry[] = []
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name
      const abs = join(root, r)
      const st = lstatSync(abs)
      if (st.isDirectory()) walk(r)
      else if (st.isSymbolicLink()) out.push({ path: r, mode: S_IFLNK | 0o777, data: Buffer.from(readlinkSync(abs)) })
      else if (st.isFile()) out.push({ path: r, mode: S_IFREG | (st.mode & 0o111 ? 0o755 : 0o644), data: readFileSync(abs) })
    }
  }
  walk('')
  return out
}

/** Writes the zip to `dest` through the atomic writer, so a reader never sees half a zip. */
export async function writeZip(entries: ZipEntry[], dest: string, level = 9): Promise<void> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  const zip = new yazl.ZipFile()
  const mtime = fixedTime()
  for (const e of sorted) {
    const isLink = (e.mode & S_IFMT) === S_IFLNK
    zip.addBuffer(e.data, e.path, {
      mtime,
      mode: e.mode,
      compressionLevel: isLink ? 0 : level,
      forceDosTimestamp: true,
    })
  }
  zip.end()
  await writeFileAtomic(dest, zip.outputStream)
}
