// Typed shapes of versions.yaml and recipes/*.yaml after validation. They are derived from the schemas in
// schema.ts (TypeBox), so what is accepted and what the compiler sees are one definition.
import type { Arch } from '../schema/common.ts'
import type { AddonRecipe, LibRecipe, PhpRecipe, VersionsFile } from './schema.ts'

export { ARCHS, type Arch } from '../schema/common.ts'
export type {
  AddonRecipe, AddonSource, ArchInfo, LibRecipe, BuildImage, ExtensionFields, ExtensionRecipe, PackageSet, PhpMinorInfo as PhpMinor, PhpRecipe, PhpRelease, Probe, Region, VersionsFile, When,
} from './schema.ts'

export interface Config {
  versions: VersionsFile
  php: PhpRecipe
  /** recipes/ext/<name>.yaml: extensions built against a finished base build, shipped as add-on layers. */
  addons: Record<string, AddonRecipe>
  /** recipes/lib: libraries built from source for add-ons. */
  libs: Record<string, LibRecipe>
  /** Base library file names per arch (from base.libraries). */
  baseLibraries: Record<Arch, string[]>
  /** Paths the config was read from, for error messages. */
  files: { versions: string; php: string }
}
