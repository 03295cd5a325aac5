// The layer built by test/setup/build-layer.ts, for end-to-end tests.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CliResult } from './cli.ts'
import { projectRoot } from './cli.ts'

export interface BuildJson {
  zip: string
  manifest: string
  sha256: string
  codeSha256: string
  zippedBytes: number
  unzippedBytes: number
  php: string
  arch: string
  extensions: string[]
  smoke: { passed: boolean; checks: number } | null
}

/** The saved build outcome; throws with the build's own output when it failed. */
export function testLayer(): { run: CliResult; result: BuildJson } {
  const run = JSON.parse(readFileSync(join(projectRoot, '.cache', 'test-layer', 'result.json'), 'utf8')) as CliResult
  if (run.code !== 0) throw new Error(`the test layer build failed (exit ${run.code}):\n${run.stderr.slice(-4000)}`)
  return { run, result: JSON.parse(run.stdout) as BuildJson }
}
