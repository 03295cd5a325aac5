// Compiles small C programs and libraries with the real toolchain, for ELF-level tests.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export function scratch(prefix = 'elf-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Compiles `source` (C) into `out` with extra args, by `compiler` (default gcc); returns `out`. */
export function cc(dir: string, name: string, source: string, args: string[], compiler = 'gcc'): string {
  const src = join(dir, `${name}.c`)
  writeFileSync(src, source)
  const out = join(dir, name)
  execFileSync(compiler, ['-O1', '-o', out, src, ...args], { stdio: 'pipe' })
  return out
}
