// layers.json: the file consumers pin ARNs from. Shape (documented in docs/publishing.md):
//   { "schema": 1, "layers": { "<layer name>": { "php": "8.3", "arch": "arm64",
//       "regions": { "<region>": { arn, version, php, buildId, codeSha256, zipBytes, unzippedBytes, publishedAt } } } } }
// Keys are sorted on every write so the file diffs cleanly, and every write is temp file + fsync + rename so a reader
// (or a publisher killed mid-run) never sees half a file.
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import lockfile from 'proper-lockfile'
import { writeFileAtomic } from '../artifact/atomic.ts'
import { LayersFileSchema, type LayerEntry, type LayerRegionEntry, type LayersFile } from '../artifact/schema.ts'
import { PublishError } from '../errors.ts'
import type { Arch } from '../schema/common.ts'
import { parseAndValidate } from '../schema/validate.ts'

export type { LayerEntry, LayerRegionEntry, LayersFile }
export { LayersFileSchema as layersFileSchema }

export function emptyLayersFile(): LayersFile {
  return { schema: 1, layers: {} }
}

export function parseLayersFile(text: string, name: string): LayersFile {
  return parseAndValidate(text, LayersFileSchema, {
    file: name,
    error: (message, hint) => new PublishError(message, hint),
    hint: () => `Restore ${name} from git or fix the entry by hand; it is only ever written whole.`,
  })
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

/** Same content, keys in a stable order (layers, regions, and the fields of each entry). */
export function sortLayersFile(file: LayersFile): LayersFile {
  const layers: Record<string, LayerEntry> = {}
  for (const [name, layer] of Object.entries(sortKeys(file.layers))) {
    const regions: Record<string, LayerRegionEntry> = {}
    for (const [region, e] of Object.entries(sortKeys(layer.regions))) {
      regions[region] = {
        arn: e.arn,
        version: e.version,
        php: e.php,
        buildId: e.buildId,
        codeSha256: e.codeSha256,
        zipBytes: e.zipBytes,
        unzippedBytes: e.unzippedBytes,
        publishedAt: e.publishedAt,
      }
    }
    layers[name] = { php: layer.php, arch: layer.arch, regions }
  }
  return { schema: 1, layers }
}

/** Returns a new file with one region's entry set (replacing the previous version recorded for that region). */
export function withRegionEntry(
  file: LayersFile,
  layer: { name: string; php: string; arch: Arch },
  region: string,
  entry: LayerRegionEntry,
): LayersFile {
  const previous = file.layers[layer.name]
  const regions = { ...(previous?.regions ?? {}), [region]: entry }
  return sortLayersFile({ schema: 1, layers: { ...file.layers, [layer.name]: { php: layer.php, arch: layer.arch, regions } } })
}

export function serializeLayersFile(file: LayersFile): string {
  return JSON.stringify(sortLayersFile(file), null, 2) + '\n'
}

export async function readLayersFile(path: string): Promise<LayersFile> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyLayersFile()
    throw new PublishError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
  return parseLayersFile(text, basename(path))
}

/**
 * Serializes read-merge-write cycles within one process: regions finish concurrently, and each update re-reads the
 * file so edits made since the run started (another layer published meanwhile) are merged rather than overwritten.
 */
/**
 * How long another process may hold the file's lock before we give up (about a minute), and when a lock whose holder
 * stopped refreshing it (killed mid-update) counts as abandoned.
 */
const LOCK_OPTIONS = {
  realpath: false, // the file may not exist yet
  stale: 10_000,
  update: 2_000,
  retries: { retries: 60, factor: 1.3, minTimeout: 10, maxTimeout: 1000, randomize: true },
}

/**
 * Read–merge–write updates of one layers.json. Updates from this process are serialized by a promise chain; updates
 * from other processes (two publish commands in one checkout) by a lock directory beside the file (`<file>.lock`),
 * so neither overwrites the other's regions.
 */
export class LayersFileWriter {
  private chain: Promise<void> = Promise.resolve()
  constructor(
    readonly path: string,
    /** how long to wait for another process's lock (tests shorten it) */
    private readonly lockRetries: lockfile.LockOptions['retries'] = LOCK_OPTIONS.retries,
  ) {}

  update(change: (file: LayersFile) => LayersFile): Promise<void> {
    const next = this.chain.then(async () => {
      const release = await this.lock()
      try {
        const current = await readLayersFile(this.path)
        const updated = serializeLayersFile(change(current))
        if (updated !== serializeLayersFile(current)) await writeFileAtomic(this.path, updated)
      } finally {
        await release()
      }
    })
    // A failed write must not wedge later ones; the caller of this update still sees the error.
    this.chain = next.catch(() => undefined)
    return next
  }

  /**
   * Waits only while another process holds the lock (ELOCKED). Any other error (a missing directory, no permission)
   * fails at once: proper-lockfile's own retries would repeat those for as long as they wait for a holder.
   */
  private async lock(): Promise<() => Promise<void>> {
    const given = this.lockRetries
    const policy: { retries?: number; minTimeout?: number; maxTimeout?: number; factor?: number; randomize?: boolean } =
      typeof given === 'number' ? { retries: given } : Array.isArray(given) || given === undefined ? {} : given
    const retries = policy.retries ?? 0
    let delay = policy.minTimeout ?? 10
    for (let attempt = 0; ; attempt++) {
      try {
        return await lockfile.lock(this.path, { ...LOCK_OPTIONS, retries: 0 })
      } catch (error) {
        const code = (error as { code?: string }).code
        if (code !== 'ELOCKED') {
          throw new PublishError(`cannot lock ${this.path} (${code ?? (error as Error).message})`, 'Check that the layers file\'s directory exists and is writable.')
        }
        if (attempt >= retries) {
          throw new PublishError(
            `${this.path} stayed locked by another publisher for as long as this one waits (${this.path}.lock)`,
            'Wait for the other publish to finish, then rerun; if none is running, remove the .lock directory.',
          )
        }
        await new Promise((r) => setTimeout(r, delay * (policy.randomize ? 1 + Math.random() : 1)))
        delay = Math.min(delay * (policy.factor ?? 2), policy.maxTimeout ?? 1000)
      }
    }
  }
}
