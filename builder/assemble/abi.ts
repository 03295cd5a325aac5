// The ABI gate: no ELF file in a layer may need a GLIBC symbol version newer than the base image's glibc, or it
// fails to load on Lambda with "version `GLIBC_2.xx' not found".
import { glibcOffenders, glibcReport, type ElfInfo, type GlibcReport } from '../artifact/elf.ts'
import { AssembleError } from '../errors.ts'

export type AbiReport = GlibcReport

export function checkAbi(files: Map<string, ElfInfo>, ceiling: string): AbiReport {
  const report = glibcReport(files)
  const offenders = glibcOffenders(report, ceiling)
  if (offenders.length) {
    throw new AssembleError(
      `ABI gate: base glibc is ${ceiling} but ${offenders.join('; ')}`,
      'Pin the symbol to an older version (recipes/php.yaml glibcPins) or stop configure from using it (newGlibcConfigureEnv), or build in the base image (--executor docker).',
    )
  }
  return report
}
