// The PublishLayerVersion fields derived from a manifest. The description must carry the exact PHP version and the
// build id (the content hash of every build input), so a consumer looking at a layer version in the console can tell
// which build it holds. It is never truncated: an over-long description is an error, not a silent loss of the id.
import type { ZipManifest } from '../artifact/manifest.ts'
import type { LayerVersionFields } from './limits.ts'

export function layerDescription(m: Pick<ZipManifest, 'php' | 'arch' | 'buildId' | 'addon'> & { base: Partial<ZipManifest['base']> & { runtime: string } }): string {
  // An add-on says what it adds and that it needs its base layer: `apcu 5.1.24 add-on for PHP 8.2.32 …`.
  const what = m.addon ? `${m.addon.extensions.map((e) => `${e.name} ${e.version}`).join(', ')} add-on for ` : ''
  return `${what}PHP ${m.php.version} for ${m.base.runtime} (${m.arch}), build ${m.buildId}`
}

export function layerVersionFields(m: ZipManifest, layerName: string, licenseInfo: string): LayerVersionFields {
  return {
    layerName,
    description: layerDescription(m),
    licenseInfo,
    compatibleRuntimes: [m.base.runtime],
    compatibleArchitectures: [m.arch],
  }
}
