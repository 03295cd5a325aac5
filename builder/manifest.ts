// The layer manifest: one JSON document describing exactly what a zip holds and how it was made.
// Two copies exist: /opt/php/manifest.json inside the layer (everything known before zipping) and a sidecar
// `<zip minus .zip>.manifest.json` beside the zip, which adds the zip's own digests and sizes and, after
// `npm run smoke`, the smoke record. Publishing trusts only the sidecar whose `zip.sha256` matches the file.

export type Arch = 'x86_64' | 'arm64'

export interface ManifestSource {
  name: string
  version: string
  sha256: string
  /**
   * Where the bytes came from in this build (upstream URL, debian:<pkg>=<ver>, or a local path). Only in the
   * sidecar: the same verified bytes from another mirror must give the same layer.
   */
  origin?: string
  /** Signature check performed, e.g. `gpg:E60913E4DF209907D8E30D96659A97C9CF2A795A`. */
  verified: string[]
}

export interface ManifestExtension {
  /** Recipe name, e.g. `pdo_sqlite`. */
  name: string
  /** Name as `php -m` prints it, e.g. `PDO`, `Zend OPcache`. */
  module: string
  /** Built as a loadable .so (rather than compiled into the binaries). */
  shared: boolean
  /** Loaded by the layer's own ini; false for shared extensions users turn on in /var/task/php/conf.d. */
  enabled: boolean
  zend: boolean
}

export interface SmokeCheck {
  name: string
  passed: boolean
  ms: number
  detail?: string
}

export interface SmokeRecord {
  /** sha256 (hex) of the zip the checks ran against; publish refuses the zip if this differs. */
  zipSha256: string
  passed: boolean
  at: string
  /** Identity of the smoke suite that ran (its code, fixtures and probes); a changed suite re-runs. */
  suite?: string
  toolchain: Record<string, string>
  checks: SmokeCheck[]
}

/** Everything known before the zip exists; this is what /opt/php/manifest.json holds. */
export interface LayerManifest {
  schema: 1
  /** Layer name from the naming function, e.g. `php-82` or `arm-php-82`. */
  layerName: string
  php: { version: string; minor: string }
  arch: Arch
  base: { name: string; image: string; glibc: string; runtime: string }
  executor: string
  /** Content hash of every input of the build; equal ids mean byte-identical zips. */
  buildId: string
  /** Modules `php -m` prints with the layer's default ini (sorted, case as PHP prints them). */
  modules: string[]
  extensions: ManifestExtension[]
  /** Shared libraries bundled under /opt/lib (file names), i.e. those the base image lacks. */
  libraries: string[]
  sources: ManifestSource[]
  configureFlags: string[]
  /** Highest GLIBC symbol version any ELF file in the layer needs. */
  maxGlibc: string
  unzippedBytes: number
  toolchain: Record<string, string>
}

/** The sidecar beside the zip. */
export interface ZipManifest extends LayerManifest {
  /** Hash of every input of assembly (compiled tree, toolchain, plan, runtime, assembler code): equal → same zip. */
  assemblyKey?: string
  zip: {
    file: string
    bytes: number
    /** hex sha256 of the zip file */
    sha256: string
    /** base64 of the raw sha256, as Lambda reports Content.CodeSha256 */
    codeSha256: string
  }
  smoke?: SmokeRecord
}

export const LAYER_MANIFEST_PATH = 'php/manifest.json'

export function sidecarPath(zipPath: string): string {
  return zipPath.replace(/\.zip$/i, '') + '.manifest.json'
}
