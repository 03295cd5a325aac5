// A minimal ELF64 little-endian reader: what the closure and the ABI gate need (machine, DT_NEEDED, DT_SONAME,
// RUNPATH and versioned symbol references), read from the file itself so it works for any architecture (ldd
// would run the binary's own loader, which cannot work across architectures).

const SHT_DYNSYM = 11
const SHT_DYNAMIC = 6
const SHT_GNU_VERNEED = 0x6ffffffe
const SHT_GNU_VERSYM = 0x6fffffff
const PT_INTERP = 3
const DT_NEEDED = 1
const DT_SONAME = 14
const DT_RPATH = 15
const DT_RUNPATH = 29

export interface VersionNeed {
  /** Library the version is required from, e.g. libc.so.6 */
  file: string
  /** e.g. GLIBC_2.34 */
  version: string
  /** Undefined symbols bound to this version (for error messages). */
  symbols: string[]
}

export interface ElfInfo {
  machine: number
  /** ET_EXEC = 2, ET_DYN = 3, ET_REL = 1 */
  type: number
  soname?: string
  needed: string[]
  runpath?: string
  /** PT_INTERP: the program loader an executable names, e.g. /lib/ld-linux-aarch64.so.1. */
  interpreter?: string
  versionNeeds: VersionNeed[]
  /** True when a .symtab (full symbol table) is present, i.e. the file is not stripped. */
  hasSymtab: boolean
  hasDebugInfo: boolean
}

interface Section {
  name: string
  type: number
  offset: number
  size: number
  link: number
  entsize: number
}

export function isElf(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32BE(0) === 0x7f454c46
}

function cstr(buf: Buffer, off: number): string {
  const end = buf.indexOf(0, off)
  return buf.toString('latin1', off, end < 0 ? buf.length : end)
}

/** Parses an ELF file; throws on ELF files this reader does not support (32-bit, big-endian). */
export function readElf(buf: Buffer): ElfInfo {
  if (!isElf(buf)) throw new Error('not an ELF file')
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('only 64-bit little-endian ELF is supported')
  const type = buf.readUInt16LE(16)
  const machine = buf.readUInt16LE(18)
  const shoff = Number(buf.readBigUInt64LE(40))
  const shentsize = buf.readUInt16LE(58)
  const shnum = buf.readUInt16LE(60)
  const shstrndx = buf.readUInt16LE(62)

  const raw: Array<Omit<Section, 'name'> & { nameOff: number }> = []
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize
    raw.push({
      nameOff: buf.readUInt32LE(o),
      type: buf.readUInt32LE(o + 4),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      entsize: Number(buf.readBigUInt64LE(o + 56)),
    })
  }
  const shstr = raw[shstrndx]
  const sections: Section[] = raw.map((s) => ({ ...s, name: shstr ? cstr(buf, shstr.offset + s.nameOff) : '' }))

  const info: ElfInfo = {
    machine,
    type,
    needed: [],
    versionNeeds: [],
    hasSymtab: sections.some((s) => s.name === '.symtab'),
    hasDebugInfo: sections.some((s) => s.name.startsWith('.debug_')),
  }

  const phoff = Number(buf.readBigUInt64LE(32))
  const phentsize = buf.readUInt16LE(54)
  for (let i = 0; i < buf.readUInt16LE(56); i++) {
    const o = phoff + i * phentsize
    if (buf.readUInt32LE(o) !== PT_INTERP) continue
    const off = Number(buf.readBigUInt64LE(o + 8))
    info.interpreter = cstr(buf, off)
  }

  const dynamic = sections.find((s) => s.type === SHT_DYNAMIC)
  if (dynamic) {
    const strtab = sections[dynamic.link]!
    for (let o = dynamic.offset; o + 16 <= dynamic.offset + dynamic.size; o += 16) {
      const tag = Number(buf.readBigInt64LE(o))
      if (tag === 0) break
      const val = Number(buf.readBigUInt64LE(o + 8))
      if (tag === DT_NEEDED) info.needed.push(cstr(buf, strtab.offset + val))
      else if (tag === DT_SONAME) info.soname = cstr(buf, strtab.offset + val)
      else if (tag === DT_RUNPATH || tag === DT_RPATH) info.runpath = cstr(buf, strtab.offset + val)
    }
  }

  // Version requirements: .gnu.version_r lists (file, version, index); .gnu.version maps each .dynsym entry to an
  // index, which tells which undefined symbol needs which version.
  const verneed = sections.find((s) => s.type === SHT_GNU_VERNEED)
  if (verneed) {
    const strtab = sections[verneed.link]!
    const byIndex = new Map<number, VersionNeed>()
    let o = verneed.offset
    for (;;) {
      const cnt = buf.readUInt16LE(o + 2)
      const file = cstr(buf, strtab.offset + buf.readUInt32LE(o + 4))
      const aux = buf.readUInt32LE(o + 8)
      const next = buf.readUInt32LE(o + 12)
      let a = o + aux
      for (let i = 0; i < cnt; i++) {
        const other = buf.readUInt16LE(a + 6)
        const version = cstr(buf, strtab.offset + buf.readUInt32LE(a + 8))
        const need: VersionNeed = { file, version, symbols: [] }
        byIndex.set(other, need)
        info.versionNeeds.push(need)
        const anext = buf.readUInt32LE(a + 12)
        if (anext === 0) break
        a += anext
      }
      if (next === 0) break
      o += next
    }
    const versym = sections.find((s) => s.type === SHT_GNU_VERSYM)
    const dynsym = sections.find((s) => s.type === SHT_DYNSYM)
    if (versym && dynsym) {
      const symstr = sections[dynsym.link]!
      const count = Math.floor(dynsym.size / (dynsym.entsize || 24))
      for (let i = 1; i < count; i++) {
        const so = dynsym.offset + i * 24
        const shndx = buf.readUInt16LE(so + 6)
        if (shndx !== 0) continue // defined here, not a reference
        const idx = buf.readUInt16LE(versym.offset + i * 2) & 0x7fff
        const need = byIndex.get(idx)
        if (need) need.symbols.push(cstr(buf, symstr.offset + buf.readUInt32LE(so)))
      }
    }
  }
  return info
}

/** Compares dotted versions numerically: "2.34" < "2.35", "2.2.5" < "2.17". */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number)
  const y = b.split('.').map(Number)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

/** The highest GLIBC_x.y version an ELF file requires, with the symbols that require it. */
export function maxGlibc(info: ElfInfo): { version: string; symbols: string[] } | undefined {
  let best: { version: string; symbols: string[] } | undefined
  for (const n of info.versionNeeds) {
    const m = /^GLIBC_(\d+(?:\.\d+)+)$/.exec(n.version)
    if (!m) continue
    const v = m[1]!
    if (!best || compareVersions(v, best.version) > 0) best = { version: v, symbols: [...n.symbols] }
    else if (compareVersions(v, best.version) === 0) best.symbols.push(...n.symbols)
  }
  return best
}

export interface GlibcReport {
  /** Highest GLIBC version any file needs ('0' when none does). */
  maxGlibc: string
  /** Per file that needs GLIBC at all, sorted by path. */
  files: Array<{ path: string; glibc: string; symbols: string[] }>
}

/**
 * The highest GLIBC symbol version each ELF file needs, and over all of them: what the ABI gate in assembly and the
 * smoke test's ABI check both compare with the base's glibc. Non-ELF entries are skipped.
 */
export function glibcReport(files: Iterable<[string, ElfInfo | Buffer]>): GlibcReport {
  const report: GlibcReport = { maxGlibc: '0', files: [] }
  for (const [path, f] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (Buffer.isBuffer(f) && !isElf(f)) continue
    const m = maxGlibc(Buffer.isBuffer(f) ? readElf(f) : f)
    if (!m) continue
    report.files.push({ path, glibc: m.version, symbols: [...new Set(m.symbols)] })
    if (compareVersions(m.version, report.maxGlibc) > 0) report.maxGlibc = m.version
  }
  return report
}

/** Files of the report needing a GLIBC newer than `ceiling`, as "path needs GLIBC_x (sym, …)". */
export function glibcOffenders(report: GlibcReport, ceiling: string): string[] {
  return report.files
    .filter((f) => compareVersions(f.glibc, ceiling) > 0)
    .map((f) => `${f.path} needs GLIBC_${f.glibc} (${f.symbols.slice(0, 5).join(', ') || 'version reference'})`)
}
