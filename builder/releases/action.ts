// `npm run releases`: compares versions.yaml with php.net's release data and, with --write, adds the new patch
// releases after downloading each tarball and its signature and verifying both (sha256 against php.net's published
// value, GPG against the minor's listed signers). All or nothing: any refusal leaves versions.yaml byte-identical.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { loadConfig } from '../config/load.ts'
import { SourceError, StaleError, UsageError } from '../errors.ts'
import { createLogger, type Logger } from '../log.ts'
import type { SourceSpec } from '../plan/plan.ts'
import { createRunner } from '../run.ts'
import { fetchSource } from '../sources/fetch.ts'
import { debianMirror, localMirror, upstreamMirror, type Mirror } from '../sources/mirrors.ts'
import { compareReleases, isBehind, type ReleaseReport } from './compare.ts'
import { addReleases, type NewRelease } from './edit.ts'
import { DISTRIBUTIONS, LATEST_QUERY, RELEASES_ENDPOINT, minorQuery, parseReleaseData, requireQueries, type ReleaseData } from './phpnet.ts'


export interface ReleasesOptions {
  check?: boolean
  write?: boolean
  from?: string
  record?: string
  versions?: string
  keys?: string
  sources?: string
  upstream: boolean
  json?: boolean
  verbose?: boolean
}

async function fetchLive(minors: string[], log: Logger): Promise<ReleaseData> {
  const data: ReleaseData = {}
  for (const q of [LATEST_QUERY, ...minors.map(minorQuery)]) {
    const url = `${RELEASES_ENDPOINT}?${q}`
    const t0 = performance.now()
    let res: Response
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(30_000) })
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } }
      throw new SourceError(`cannot reach php.net (${url}: ${err.cause?.code ?? err.message})`, 'Run where php.net is reachable, or replay a recording with --from FILE.')
    }
    if (!res.ok) throw new SourceError(`${url} answered HTTP ${res.status}`, 'Retry later; php.net may be down.')
    try {
      data[q] = await res.json()
    } catch {
      throw new SourceError(`${url} did not answer JSON`, 'Retry later; if it persists, php.net changed its release API.')
    }
    log.done(`php.net ${q}`, performance.now() - t0)
  }
  return data
}

function readRecording(file: string): ReleaseData {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new UsageError(`--from ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`)
  }
  try {
    const data = JSON.parse(text) as unknown
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not an object')
    return data as ReleaseData
  } catch (e) {
    throw new UsageError(`--from ${file}: not a JSON object of php.net answers (${(e as Error).message}); accepted: the format written by --record`)
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
  try {
    writeFileSync(tmp, text)
    renameSync(tmp, path)
  } finally {
    rmSync(tmp, { force: true })
  }
}

function describe(r: ReleaseReport): string[] {
  return [
    ...r.newPatches.map((p) => `new patch ${p.version} (${p.file} sha256 ${p.sha256}${p.date ? `, ${p.date}` : ''})`),
    ...r.newMinors.map((m) => `new minor ${m.minor} (newest ${m.newest}): add it to versions.yaml by hand with its release managers' fingerprints and keys`),
    ...r.mismatched.map((m) => `pin mismatch ${m.version}: versions.yaml has ${m.listed}, php.net publishes ${m.published}`),
    ...r.rejected.map((x) => `refused ${x.version}: ${x.why}`),
  ]
}

export async function releasesAction(root: string, o: ReleasesOptions): Promise<void> {
  if (!!o.check === !!o.write && !o.record) throw new UsageError('releases: give exactly one of --check, --write or --record FILE')
  const log = createLogger({ verbose: !!o.verbose })
  const versionsFile = o.versions ? resolve(o.versions) : join(root, 'versions.yaml')
  const before = readFileSync(versionsFile, 'utf8')
  const config = loadConfig({ root, versionsFile })
  const php = config.versions.php
  const minors = Object.keys(php)

  const data = o.from ? readRecording(resolve(o.from)) : await fetchLive(minors, log)
  if (o.record) {
    writeAtomically(resolve(o.record), JSON.stringify(data, null, 2) + '\n')
    log.info(`recorded ${Object.keys(data).length} php.net answers in ${o.record}`)
    if (!o.check && !o.write) return
  }
  requireQueries(data, minors)
  const report = compareReleases(php, parseReleaseData(data, minors))
  const lines = describe(report)
  if (o.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n')
  else process.stdout.write((lines.length ? lines : ['versions.yaml lists the newest patch of every minor php.net publishes']).join('\n') + '\n')

  if (o.check) {
    if (report.rejected.length) {
      throw new SourceError(`php.net's release data has ${report.rejected.length} entr${report.rejected.length === 1 ? 'y' : 'ies'} the checker refuses (listed above)`, 'Investigate before trusting it; --write would refuse too.')
    }
    if (isBehind(report)) {
      throw new StaleError(`${config.files.versions} is behind php.net (${lines.length === 1 ? 'one finding' : `${lines.length} findings`}, listed above)`, 'Run npm run releases -- --write to add the new patches.')
    }
    return
  }

  // --write: refuse up front on anything that is not a plain, verifiable new patch.
  const refusals = [...report.rejected.map((x) => `${x.version}: ${x.why}`), ...report.newMinors.map((m) => `new minor ${m.minor} needs its signers added by hand`), ...report.mismatched.map((m) => `${m.version}: listed pin differs from php.net's`)]
  if (refusals.length) throw new SourceError(`refusing to write ${config.files.versions} (unchanged): ${refusals.join('; ')}`, 'Investigate the release data; nothing was written.')
  if (!report.newPatches.length) return

  const cacheDir = process.env.PHP_LAYER_CACHE ? resolve(process.env.PHP_LAYER_CACHE) : join(root, '.cache')
  const run = createRunner(log, join(cacheDir, 'logs', 'commands.log'))
  const localDirs = [...(o.sources ? o.sources.split(':') : []), ...(process.env.PHP_LAYER_SOURCES ?? '').split(':')].filter(Boolean).map((d) => resolve(d))
  const mirrors: Mirror[] = [...(o.upstream ? [upstreamMirror()] : []), debianMirror(run), localMirror(localDirs)]
  const keysDir = o.keys ? resolve(o.keys) : join(root, 'recipes', 'keys')
  const add: NewRelease[] = []
  for (const p of report.newPatches) {
    const info = php[p.minor]!
    const url = DISTRIBUTIONS + p.file
    const spec: SourceSpec = {
      name: 'php',
      version: p.version,
      file: p.file,
      sha256: p.sha256,
      urls: [url],
      signature: { url: url + '.asc', signers: info.signers },
      ...(info.debianSource ? { debian: { package: info.debianSource, origFile: `${info.debianSource}_${p.version}.orig.tar.xz` } } : {}),
    }
    const t0 = performance.now()
    try {
      const got = await fetchSource(spec, { cacheDir, keysDir, mirrors, run })
      log.done(`verified ${p.file} (${got.manifest.verified.join(', ')}; from ${got.manifest.origin})`, performance.now() - t0)
    } catch (e) {
      const msg = (e as Error).message
      throw new SourceError(`refusing to write ${config.files.versions} (unchanged): ${p.version} did not verify: ${msg}`, 'Nothing was written; rerun when the tarball and signature can be fetched and verified.')
    }
    add.push({ minor: p.minor, version: p.version, sha256: p.sha256, url, signature: url + '.asc' })
  }
  const after = addReleases(before, add, config.files.versions)
  // Validate the result with the same loader as a build before it replaces the file.
  const tmp = join(dirname(versionsFile), `.${basename(versionsFile)}.check.${process.pid}.yaml`)
  try {
    writeFileSync(tmp, after)
    loadConfig({ root, versionsFile: tmp })
  } finally {
    rmSync(tmp, { force: true })
  }
  if (readFileSync(versionsFile, 'utf8') !== before) throw new SourceError(`${config.files.versions} changed while the releases were being verified; nothing was written`, 'Rerun.')
  writeAtomically(versionsFile, after)
  log.info(`added ${add.map((a) => a.version).join(', ')} to ${config.files.versions}`)
}

