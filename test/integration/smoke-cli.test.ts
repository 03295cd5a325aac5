// Bad input to `npm run smoke`: one error line, the README's exit code (7 for anything wrong with the zip, 2 for
// usage), and nothing left behind in the temp directory.
import t, { type Test } from 'tap'
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeZip } from '../../builder/assemble/zip.ts'
import { npmRun } from '../support/cli.ts'

const dir = mkdtempSync(join(tmpdir(), 'smoke-input-'))
// The commands get a temp directory of their own (TMPDIR), so what they leave behind is not confused with the work
// of other test files running at the same time.
const ownTmp = mkdtempSync(join(tmpdir(), 'smoke-cli-tmp-'))

function refused(t: Test, args: string[], exit: number, message: RegExp): void {
  const r = npmRun('smoke', args, { TMPDIR: ownTmp })
  t.equal(r.code, exit, `exit ${exit}: ${r.stderr.trim()}`)
  const lines = r.stderr.trim().split('\n').filter(Boolean)
  t.equal(lines.length, 1, 'exactly one line')
  t.match(lines[0] ?? '', message)
  t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace')
}

t.test('a file that is not a zip', async (t) => {
  const zip = join(dir, 'corrupt.zip')
  writeFileSync(zip, Buffer.from('PK\x03\x04 this is not really a zip file at all'))
  refused(t, [zip], 7, /^error: corrupt\.zip: not a readable zip \(.+\) → /)
})

t.test('a zip that is not a PHP layer', async (t) => {
  const zip = join(dir, 'notes.zip')
  await writeZip([{ path: 'readme.txt', mode: 0o100644, data: Buffer.from('hello\n') }], zip)
  refused(t, [zip], 7, /^error: notes\.zip is not a PHP layer for Lambda's provided runtimes: it has no bin\/php at its root \(1 entries\)/)
})

t.test('a path that does not exist', async (t) => {
  refused(t, [join(dir, 'nope.zip')], 7, /^error: .*nope\.zip: no such zip/)
})

t.test('neither a zip nor --arn, or both', async (t) => {
  refused(t, [], 2, /^error: smoke needs a zip path or --arn <LayerVersionArn> \(one of them\)/)
  refused(t, ['x.zip', '--arn', 'arn:aws:lambda:eu-west-1:123456789012:layer:php-82:1'], 2, /^error: smoke needs a zip path or --arn/)
})

t.test('a malformed --arn', async (t) => {
  refused(t, ['--arn', 'php-82:1'], 2, /^error: --arn php-82:1: not a layer version ARN; accepted: arn:aws:lambda:<region>:<account>:layer:<name>:<version>/)
})

t.test('nothing is left in the temp directory', async (t) => {
  // npm and tsx may keep their own caches under TMPDIR; the smoke command's work directories are smoke-*.
  t.same(readdirSync(ownTmp).filter((n) => n.startsWith('smoke-')), [])
})
