// The ABI gate: no ELF file in a layer may need a GLIBC symbol version newer than the base image's glibc, or it
// fails to load on Lambda with "version `GLIBC_2.xx' not found".
import { AssembleError } from '../errors.ts'
import { compareVersions, maxGlibc, type ElfInfo } from './elf.ts'

export interface AbiReport {
  /** Highest GLIBC version needed by any file. */
  maxGlibc: string
  /** Per file, for the manifest and diagnostics. */
  files: Array<{ path: string; glibc: string }>
}

export function checkAbi(files: Map<string, ElfInfo>, ceiling: string): AbiReport {
  const report: AbiReport = { maxGlibc: '0', files: [] }
  const offenders: string[] = []
  for (const [path, info] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const m = maxGlibc(info)
    if (!m) continue
    report.files.push({ path, glibc: m.version })
    if (compareVersions(m.version, report.maxGlibc) > 0) report.maxGlibc = m.version
    if (compareVersions(m.version, ceiling) > 0) {
      offenders.push(`${path} needs GLIBC_${m.version} (${[...new Set(m.symbols)].slice(0, 5).join(', ') || 'version reference'})`)
    }
  }
  if (offenders.length) {
    throw new AssembleError(
      `ABI gate: base glibc is ${ceiling} but ${offenders.join('; ')}`,
      'Pin the symbol to an older version (recipes/php.yaml glibcPins) or stop configure from using it (newGlibcConfigureEnv), or build in the base image (--executor docker).',
    )
  }
  return report
}
