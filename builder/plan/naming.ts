// The one place layer names come from. Published ARNs embed these names, so changing the template renames layers.
import type { Arch, VersionsFile } from '../config/types.ts'
import { preStage } from '../schema/php-version.ts'

/**
 * `8.2` + x86_64 → `php-82`; `8.2` + arm64 → `arm-php-82` (with the shipped template). A pre-release gets its
 * stage appended (`8.6.0RC3` → `php-86-rc`), so its layer can never be taken for, or overwrite, the release's.
 */
export function layerName(layer: VersionsFile['layer'], minor: string, arch: Arch, version?: string): string {
  const [major, min] = minor.split('.')
  const stage = version ? preStage(version) : undefined
  return layer.name
    .replaceAll('{prefix}', layer.prefix[arch])
    .replaceAll('{major}', major ?? '')
    .replaceAll('{minor}', min ?? '') + (stage ? `-${stage}` : '')
}

/**
 * An add-on layer's name: the base layer's name and the extension, `php-82-redis` / `arm-php-82-redis`. The add-on
 * fits exactly the base layer of the same name prefix (same minor, same arch).
 */
export function addonLayerName(layer: VersionsFile['layer'], minor: string, arch: Arch, version: string, addon: string): string {
  return `${layerName(layer, minor, arch, version)}-${addon.replaceAll('_', '-')}`
}
