// Typed shapes of versions.yaml and recipes/*.yaml after validation. The JSON Schemas in schema.ts are the
// source of truth for what is accepted; these interfaces mirror them for the compiler.
import type { Arch } from '../manifest.ts'

export type { Arch }
export const ARCHS: readonly Arch[] = ['x86_64', 'arm64']

export interface PhpRelease {
  version: string
  sha256: string
  url: string
  signature: string
}

export interface PhpMinor {
  /** GPG fingerprints (40 hex) of the release managers allowed to sign this minor's tarballs. */
  signers: string[]
  /** Debian source package carrying this minor's upstream tarball, e.g. php8.2. */
  debianSource?: string
  /** Newest first. */
  releases: PhpRelease[]
}

export interface ArchInfo {
  gnuTriplet: string
  debianArch: string
  dockerPlatform: string
  elfMachine: number
  glibcBaseline: string
}

export interface Region {
  name: string
  optIn?: boolean
}

export interface VersionsFile {
  schema: 1
  base: {
    name: string
    image: string
    runtime: string
    glibc: string
    libraries: Record<Arch, string>
    gconvModules: string[]
    notOnLambdaHost: string[]
  }
  archs: Record<Arch, ArchInfo>
  layer: { name: string; prefix: Record<Arch, string>; license: string }
  extensions: { default: string[] }
  regions: Region[]
  php: Record<string, PhpMinor>
}

/** A condition on the build target; every given key must match. */
export interface When {
  /** semver range over the PHP version, e.g. ">=8.5" */
  php?: string
  arch?: Arch
  executor?: string
}

export interface PackageSet {
  apt?: string[]
  dnf?: string[]
}

export interface Probe {
  /** PHP code run with `php -r`; its output must equal `expect`. */
  code: string
  expect: string
}

export interface ExtensionFields {
  /** Name as `php -m` prints it; defaults to the recipe name. */
  module?: string
  /** configure flags that enable it (for shared builds, use the =shared form). */
  flags?: string[]
  /** Built as a loadable .so. */
  shared?: boolean
  /** Loaded by the layer's ini (only meaningful for shared extensions). */
  enabled?: boolean
  /** A zend_extension (opcache). */
  zend?: boolean
  /** Other extensions this one needs built too. */
  requires?: string[]
  packages?: PackageSet
  /** ini lines written to conf.d when the extension is enabled. */
  ini?: string[]
  probe?: Probe
}

export interface ExtensionRecipe extends ExtensionFields {
  /** Keyed differences: the first matching override's fields replace the base fields. */
  overrides?: Array<{ when: When; set: ExtensionFields }>
}

export interface PhpRecipe {
  /** Modules every build has whatever the flags (php -m names). */
  builtinModules: string[]
  /** Extensions the runtime bootstrap needs; always built. */
  runtimeRequires: string[]
  configure: {
    flags: string[]
    env: Record<string, string>
  }
  /** Build toolchain packages every compile needs. */
  packages: PackageSet
  /**
   * Symbols whose newest glibc version is above the base's ceiling, pinned to the arch's baseline version when the
   * toolchain's glibc is newer than the base's (host builds on Debian bookworm).
   */
  glibcPins: string[]
  /** configure cache variables forced on toolchains with a newer glibc, so PHP does not pick functions the base lacks. */
  newGlibcConfigureEnv: Record<string, string>
  /** The ini every layer ships (/opt/php/etc/php.ini). */
  ini: string[]
  extensions: Record<string, ExtensionRecipe>
}

export interface Config {
  versions: VersionsFile
  php: PhpRecipe
  /** Base library file names per arch (from base.libraries). */
  baseLibraries: Record<Arch, string[]>
  /** Paths the config was read from, for error messages. */
  files: { versions: string; php: string }
}
