// Add-on layers on the default layer for end-to-end files (test/e2e/addons.test.ts, and the matrix's
// test/matrix/addons.test.ts): each built once per file, after the base, side by side with the others.
import { DEFAULT_LAYER, ensureLayer } from './layer.ts'

export interface AddonJson {
  zip: string
  layerName: string
  arch: string
  php: string
  unzippedBytes: number
  maxGlibc: string
  libraries: string[]
  addon: { name: string; extensions: Array<{ name: string; version: string }>; base: { buildId: string; artifact: string; phpApi: string } }
  base: { zip: string; layerName: string; buildId: string }
  smoke: { passed: boolean; checks: number } | null
}

const building = new Map<string, Promise<AddonJson>>()

/** The add-on's build (`--addon name` on the default layer), started once per file. */
export function addon(name: string): Promise<AddonJson> {
  if (!building.has(name)) {
    building.set(name, (async () => {
      // The base first, under its own lock: an add-on build must not compile the default layer a second time.
      await ensureLayer(DEFAULT_LAYER)
      const { result } = await ensureLayer({ ...DEFAULT_LAYER, extraArgs: ['--addon', name] })
      return result as unknown as AddonJson
    })())
  }
  return building.get(name)!
}

/**
 * Starts these add-on builds now: much of an add-on build is single-threaded (phpize, configure, the smoke test), so
 * on 2 cores they overlap instead of queueing. A failure surfaces in the test that awaits it.
 */
export function startAddons(names: string[]): void {
  for (const name of names) addon(name).catch(() => {})
}
