// Where a layer's bytes go: the largest files, and what each shared extension costs (its .so plus the bundled
// libraries only it needs). Pure: it takes the layer's files with their ELF dependencies; `npm run bench -- size`
// reads them from zips.

export interface SizedFile {
  /** Path in the layer, e.g. lib/libonig.so.5 or php/extensions/opcache.so */
  path: string
  bytes: number
  /** DT_NEEDED of an ELF file (library file names), empty otherwise. */
  needed: string[]
}

export interface ExtensionCost {
  extension: string
  /** the extension's own .so */
  ownBytes: number
  /** bundled libraries nothing else in the layer needs (directly or through other libraries) */
  onlyItsLibraries: string[]
  totalBytes: number
}

export interface SizeReport {
  unzippedBytes: number
  largest: Array<{ path: string; bytes: number }>
  /** shared extensions, most expensive first */
  extensions: ExtensionCost[]
  /** lib/ files reached from the executables (bin/): libphp.so (the core and static extensions) and what it links */
  coreLibraryBytes: number
}

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1)

/** Bundled libraries (lib/*) reachable from `roots` through DT_NEEDED. */
function reachable(roots: SizedFile[], libs: Map<string, SizedFile>): Set<string> {
  const seen = new Set<string>()
  const queue = roots.flatMap((r) => r.needed)
  while (queue.length) {
    const name = queue.pop()!
    const lib = libs.get(name)
    if (!lib || seen.has(name)) continue
    seen.add(name)
    queue.push(...lib.needed)
  }
  return seen
}

export function sizeReport(files: SizedFile[], top = 10): SizeReport {
  const libs = new Map(files.filter((f) => f.path.startsWith('lib/')).map((f) => [base(f.path), f]))
  const extensions = files.filter((f) => /^php\/extensions\/[^/]+\.so$/.test(f.path))
  const executables = files.filter((f) => f.path.startsWith('bin/'))
  const fromCore = reachable(executables, libs)
  const costs = extensions.map((ext) => {
    const others = reachable([...executables, ...extensions.filter((e) => e !== ext)], libs)
    const only = [...reachable([ext], libs)].filter((l) => !others.has(l)).sort()
    return {
      extension: base(ext.path).replace(/\.so$/, ''),
      ownBytes: ext.bytes,
      onlyItsLibraries: only,
      totalBytes: ext.bytes + only.reduce((n, l) => n + libs.get(l)!.bytes, 0),
    }
  })
  return {
    unzippedBytes: files.reduce((n, f) => n + f.bytes, 0),
    largest: [...files].sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1)).slice(0, top).map(({ path, bytes }) => ({ path, bytes })),
    extensions: costs.sort((a, b) => b.totalBytes - a.totalBytes || (a.extension < b.extension ? -1 : 1)),
    coreLibraryBytes: [...fromCore].reduce((n, l) => n + libs.get(l)!.bytes, 0),
  }
}
