// The bottom rung of the test ladder stays in-process: a file under test/unit/ starts no program (no compiler, gpg,
// openssl, bash, npm or tsx child) and builds no layer, so `npx tap test/unit` takes seconds and needs nothing but
// `npm ci`. Tests that need a real tool live in test/integration/ (or test/runtime/, test/publish/), layers in test/e2e/.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { projectRoot } from '../support/cli.ts'

/** What a unit test may not import, and why. */
const FORBIDDEN: Array<{ pattern: RegExp; why: string }> = [
  { pattern: /from\s+'node:child_process'/, why: 'starts a program' },
  { pattern: /from\s+'zx'/, why: 'starts a program' },
  { pattern: /\bcreateRunner\b[^;]*from\s+'[./]+builder\/run\.ts'/, why: 'runs external commands' },
  { pattern: /from\s+'\.\.\/support\/gpg\.ts'/, why: 'runs gpg' },
  { pattern: /\{[^}]*\bcc\b[^}]*\}\s*from\s+'\.\.\/support\/cc\.ts'/, why: 'runs the C compiler' },
  { pattern: /\bnpmRun(Async)?\b[^;]*from\s+'\.\.\/support\/cli\.ts'/, why: 'starts npm and tsx' },
  { pattern: /from\s+'\.\.\/support\/layer\.ts'/, why: 'builds a layer' },
]

t.test('no unit test starts a program or builds a layer', async (t) => {
  const dir = join(projectRoot, 'test', 'unit')
  // This file is left out: its own examples below would match.
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.ts') && f !== 'ladder.test.ts')
  t.ok(files.length >= 10, `${files.length} unit test files`)
  const offences = files.flatMap((f) => {
    const text = readFileSync(join(dir, f), 'utf8')
    return FORBIDDEN.filter((rule) => rule.pattern.test(text)).map((rule) => `test/unit/${f} ${rule.why}: move it to test/integration/`)
  })
  t.same(offences, [])
})

t.test('the rule catches what it is meant to catch', async (t) => {
  const caught = (src: string) => FORBIDDEN.some((rule) => rule.pattern.test(src))
  t.ok(caught("import { execFileSync } from 'node:child_process'"))
  t.ok(caught("import { createRunner } from '../../builder/run.ts'"))
  t.ok(caught("import { cc, scratch } from '../support/cc.ts'"))
  t.ok(caught("import { makeKey } from '../support/gpg.ts'"))
  t.ok(caught("import { npmRun } from '../support/cli.ts'"))
  t.ok(caught("import { ensureLayer } from '../support/layer.ts'"))
  t.notOk(caught("import { scratch } from '../support/cc.ts'"), 'a scratch directory is fine')
  t.notOk(caught("import { projectRoot } from '../support/cli.ts'"), 'so is the project root')
})
