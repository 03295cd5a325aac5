// What the smoke test checks a zip against, from the zip alone: the build's sidecar when it describes these exact
// bytes (and only then is the result recorded), else the layer's own php/manifest.json, else — for a layer this
// factory did not build — what can be inferred (architecture from the ELF header of bin/php; PHP version and
// modules are read from the running binary). Never the recipes or versions.yaml as they are now.
import { basename } from 'node:path'
import { isElf, readElf } from '../artifact/elf.ts'
import { LAYER_MANIFEST_PATH, parseLayerManifest, readSidecar, type LayerManifest, type ManifestExtension, type ZipManifest } from '../artifact/manifest.ts'
import type { ZipFileEntry } from '../artifact/zip-read.ts'
import { SmokeError } from '../errors.ts'
import type { Arch } from '../schema/common.ts'

/** Facts about the base image a layer is checked against when its manifest does not carry them. */
export interface AssumedBase {
  name: string
  glibc: string
  libraries: string[]
  gconvModules: string[]
  gnuTriplet: string
}

export interface Expectations {
  /** Where the expectations came from, for the report. */
  source: 'sidecar' | 'layer manifest' | 'inferred'
  /** Set only when the sidecar describes exactly these bytes: the result is recorded there. */
  sidecar?: ZipManifest
  arch: Arch
  /** Exact PHP version `php -v` must report; undefined: whatever it reports. */
  php?: string
  base: { glibc: string; libraries: string[]; gconvModules: string[] }
  gnuTriplet: string
  /** ELF e_machine of the layer's binaries. */
  elfMachine: number
  /** What `php -m` must print exactly; undefined: only that it starts cleanly. */
  modules?: string[]
  extensions: ManifestExtension[]
  /** Why some checks could not apply (foreign layers), for the report. */
  notes: string[]
  /** Set for an add-on layer: checked only stacked on its base layer. */
  addon?: NonNullable<LayerManifest['addon']>
}

const ELF_MACHINES: Record<number, Arch> = { 62: 'x86_64', 183: 'arm64' }

export function expectationsFor(
  zipPath: string,
  sha256: string,
  entries: ZipFileEntry[],
  assumedBase: (arch: Arch) => AssumedBase,
  warn: (line: string) => void,
  /** The merged /opt when the zip is checked stacked on other layers (its own manifest still decides). */
  stacked?: ZipFileEntry[],
): Expectations {
  const name = basename(zipPath)
  const addonManifest = entries.find((e) => /^php\/addons\/[^/]+\.json$/.test(e.path))
  const side = readSidecar(zipPath)
  if (addonManifest && !stacked) {
    // An add-on alone: the caller says what it needs rather than "not a PHP layer".
    const current = side.state === 'ok' && side.manifest.zip.sha256 === sha256
    const m = current ? side.manifest : parseLayerManifest(addonManifest.data.toString('utf8'), `${name}:${addonManifest.path}`, (msg) => new SmokeError(msg))
    if (m.addon) return fromManifest(m, current ? 'sidecar' : 'layer manifest')
  }
  const all = stacked ?? entries
  const phpBin = all.find((e) => e.path === 'bin/php')
  if (!phpBin || !all.some((e) => e.path === 'bootstrap')) {
    throw new SmokeError(
      `${name} is not a PHP layer for Lambda's provided runtimes: it has no ${phpBin ? 'bootstrap' : 'bin/php'} at its root (${entries.length} entries)`,
      'Give a layer zip: bootstrap and bin/php at the root, as /opt sees them.',
    )
  }
  if (side.state === 'ok' && side.manifest.zip.sha256 === sha256) {
    const m = side.manifest
    return { ...fromManifest(m, 'sidecar'), sidecar: m }
  }
  if (side.state === 'ok') warn(`! ${basename(zipPath.replace(/\.zip$/i, ''))}.manifest.json describes other bytes (sha256 ${side.manifest.zip.sha256.slice(0, 12)}…, this zip ${sha256.slice(0, 12)}…): checking against the layer's own manifest; nothing will be recorded`)
  else if (side.state === 'invalid') warn(`! ignoring the sidecar: ${side.reason}`)

  const inner = addonManifest ?? entries.find((e) => e.path === LAYER_MANIFEST_PATH)
  if (inner) {
    try {
      const m = parseLayerManifest(inner.data.toString('utf8'), `${name}:${inner.path}`, (msg) => new Error(msg))
      return fromManifest(m, 'layer manifest')
    } catch (e) {
      warn(`! ${(e as Error).message}: inferring what the layer holds instead`)
    }
  }
  if (!isElf(phpBin.data)) throw new SmokeError(`${name}: bin/php is not an ELF executable`, 'Give a layer built for Lambda (Linux ELF binaries).')
  const machine = readElf(phpBin.data).machine
  const arch = ELF_MACHINES[machine]
  if (!arch) throw new SmokeError(`${name}: bin/php is for ELF machine ${machine}; accepted: x86-64 (62) or AArch64 (183)`)
  const base = assumedBase(arch)
  return {
    source: 'inferred',
    arch,
    base: { glibc: base.glibc, libraries: base.libraries, gconvModules: base.gconvModules },
    gnuTriplet: base.gnuTriplet,
    elfMachine: machine,
    extensions: [],
    notes: [`no manifest: checked against ${base.name} (${arch}, glibc ${base.glibc}); module list and probes not known`],
  }
}

function fromManifest(m: LayerManifest, source: Expectations['source']): Expectations {
  return {
    source,
    arch: m.arch,
    php: m.php.version,
    base: m.base,
    gnuTriplet: m.target.gnuTriplet,
    elfMachine: m.target.elfMachine,
    modules: m.modules,
    extensions: m.extensions,
    notes: [],
    ...(m.addon ? { addon: m.addon } : {}),
  }
}
