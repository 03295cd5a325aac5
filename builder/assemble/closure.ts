// Which shared libraries a layer must bundle: walk DT_NEEDED from the layer's own ELF files, skip what the base
// image provides, and resolve the rest in the build's library directories. Anything unresolvable fails the build
// here rather than as "cannot open shared object file" on Lambda.
import { readFileSync, realpathSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { AssembleError } from '../errors.ts'
import { readElf, type ElfInfo } from '../artifact/elf.ts'

export interface ClosureInput {
  /** ELF files already in the layer: path → parsed info. */
  roots: Map<string, ElfInfo>
  /** Directories searched, in order, for libraries the base lacks (the build environment's lib dirs). */
  searchDirs: string[]
  /** File names the base image has in its library path. */
  baseLibraries: string[]
  /** In the base image list but absent on the real Lambda host: bundle anyway. */
  notOnLambdaHost: string[]
  /** e_machine every library must have. */
  machine: number
  /** Libraries another layer under this one already ships in /opt/lib (an add-on's base layer): never bundled again. */
  providedByLayers?: string[]
}

export interface BundledLibrary {
  /** Name in /opt/lib: the DT_NEEDED name (= SONAME). */
  name: string
  /** Real file it was resolved to. */
  source: string
  info: ElfInfo
  /** Who needed it first (for the manifest and error messages). */
  neededBy: string
}

export interface Closure {
  bundle: BundledLibrary[]
  /** NEEDED names satisfied by the base image. */
  fromBase: string[]
}

export function resolveClosure(input: ClosureInput): Closure {
  // The program interpreter (PT_INTERP) is on every system that can run the binaries at all; on aarch64 the stack
  // protector's guard lives in it, so binaries name it in DT_NEEDED too (ld-linux-aarch64.so.1).
  // Shared objects have no PT_INTERP, so an add-on (extensions and libraries only) is known by name: glibc's loaders
  // are ld-linux*.so.N (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1) or ld64.so.N.
  const interpreters = [...input.roots.values()].map((i) => i.interpreter?.split('/').pop()).filter((n): n is string => !!n)
  const isLoader = (name: string) => interpreters.includes(name) || /^ld-linux[\w-]*\.so\.\d+$|^ld64\.so\.\d+$/.test(name)
  const base = new Set([...input.baseLibraries.filter((n) => !input.notOnLambdaHost.includes(n)), ...(input.providedByLayers ?? []), ...interpreters])
  const bundle = new Map<string, BundledLibrary>()
  const fromBase = new Set<string>()
  const queue: Array<{ name: string; by: string }> = []
  for (const [path, info] of input.roots) for (const name of info.needed) queue.push({ name, by: path })
  // Libraries shipped in the layer itself (by SONAME) satisfy each other.
  const inLayer = new Set([...input.roots.values()].map((i) => i.soname).filter((s): s is string => !!s))

  while (queue.length) {
    const { name, by } = queue.shift()!
    if (base.has(name) || isLoader(name)) {
      fromBase.add(name)
      continue
    }
    if (inLayer.has(name) || bundle.has(name)) continue
    const found = input.searchDirs.map((d) => join(d, name)).find((p) => existsSync(p))
    if (!found) {
      throw new AssembleError(
        `${by} needs ${name}, which the base image lacks and no library directory provides (searched ${input.searchDirs.join(', ')})`,
        'Install the package that provides it in the build environment (add it to the extension\'s packages in recipes/php.yaml).',
      )
    }
    const source = realpathSync(found)
    const info = readElf(readFileSync(source))
    if (info.machine !== input.machine) {
      throw new AssembleError(`${source} (needed by ${by}) is for ELF machine ${info.machine}, not ${input.machine}`, 'Point the library search at the target architecture\'s directories.')
    }
    bundle.set(name, { name, source, info, neededBy: by })
    for (const dep of info.needed) queue.push({ name: dep, by: name })
  }
  return {
    bundle: [...bundle.values()].sort((a, b) => a.name.localeCompare(b.name)),
    fromBase: [...fromBase].sort(),
  }
}
