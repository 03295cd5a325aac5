// Runs once before the test files (see .taprc `before`): builds the real default layer (PHP 8.2.32 x86_64) with
// the README's command, so end-to-end tests can share it. On a fresh machine this compiles PHP (several minutes);
// afterwards it is a cache hit. The outcome is saved for the tests, including a failure, which they report.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { npmRun, projectRoot } from '../support/cli.ts'

const dir = join(projectRoot, '.cache', 'test-layer')
mkdirSync(dir, { recursive: true })
process.stderr.write('building the test layer (PHP 8.2.32 x86_64) …\n')
const r = npmRun('build', ['--php', '8.2.32', '--arch', 'x86_64', '--json'])
writeFileSync(join(dir, 'result.json'), JSON.stringify(r, null, 2))
process.stderr.write(r.stderr.split('\n').filter((l) => /^[✓✗»]/.test(l)).join('\n') + '\n')
process.stderr.write(`test layer build exit ${r.code} after ${(r.ms / 1000).toFixed(1)}s\n`)
