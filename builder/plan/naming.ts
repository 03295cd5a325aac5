// The one place layer names come from. Published ARNs embed these names, so changing the template renames layers.
import type { Arch, VersionsFile } from '../config/types.ts'

/** `8.2` + x86_64 → `php-82`; `8.2` + arm64 → `arm-php-82` (with the shipped template). */
export function layerName(layer: VersionsFile['layer'], minor: string, arch: Arch): string {
  const [major, min] = minor.split('.')
  return layer.name
    .replaceAll('{prefix}', layer.prefix[arch])
    .replaceAll('{major}', major ?? '')
    .replaceAll('{minor}', min ?? '')
}
