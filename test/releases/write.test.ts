// `npm run releases` end to end against recorded php.net answers, real gpg and throwaway release-manager keys: a
// newer patch is found by --check and added by --write as a minimal diff; hostile answers are refused with
// versions.yaml left byte-identical. Throwaway keys live in temporary GNUPGHOMEs removed however the test ends, and
// the command itself must leave no keyring behind (its TMPDIR is checked after every run).
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { npmRun, projectRoot } from '../support/cli.ts'
import { makeKey } from '../support/gpg.ts'

const work = mkdtempSync(join(tmpdir(), 'releases-test-'))
t.teardown(() => rmSync(work, { recursive: true, force: true }))
const rm = makeKey('Test Release Manager <rm@example.test>')
const outsider = makeKey('Someone Else <else@example.test>')
t.teardown(() => {
  rmSync(rm.home, { recursive: true, force: true })
  rmSync(outsider.home, { recursive: true, force: true })
})

// Both public keys are available, so the unlisted signature is good but made by a key off the 8.3 list.
const keys = join(work, 'keys')
mkdirSync(keys)
for (const k of [rm, outsider]) writeFileSync(join(keys, `${k.fingerprint}.asc`), readFileSync(join(k.keysDir, `${k.fingerprint}.asc`)))

const original = readFileSync(join(projectRoot, 'versions.yaml'), 'utf8')
const signersBlock = /("8\.3":\n(?: +#.*\n)* +signers:\n)/
t.match(original, signersBlock, 'versions.yaml has an 8.3 signers list')
const versionsText = original.replace(signersBlock, `$1      - ${rm.fingerprint} # throwaway test key\n`)

// A stand-in tarball for "8.3.34", signed by the listed test key and, in its own directory, by the outsider.
function release(dirName: string, signer: typeof rm): { dir: string; sha256: string } {
  const dir = join(work, dirName)
  mkdirSync(dir)
  const file = join(dir, 'php-8.3.34.tar.xz')
  writeFileSync(file, randomBytes(4096))
  signer.sign(file)
  return { dir, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') }
}
const good = release('src-good', rm)
const foreign = release('src-foreign', outsider)

const recorded = JSON.parse(readFileSync(join(projectRoot, 'test/fixtures/releases/phpnet-2026-07.json'), 'utf8')) as Record<string, Record<string, unknown>>
const entry = (v: string, sha256?: string) => ({ announcement: true, source: [{ filename: `php-${v}.tar.xz`, name: `PHP ${v} (tar.xz)`, ...(sha256 !== undefined ? { sha256 } : {}) }] })
function answers(name: string, edit: (d: Record<string, Record<string, unknown>>) => void): string {
  const d = structuredClone(recorded)
  edit(d)
  const file = join(work, `${name}.json`)
  writeFileSync(file, JSON.stringify(d, null, 2))
  return file
}
const add834 = (sha256?: string) => (d: Record<string, Record<string, unknown>>) => {
  d['json&version=8.3&max=100'] = { '8.3.34': entry('8.3.34', sha256), ...d['json&version=8.3&max=100'] }
}

let n = 0
function run(mode: '--check' | '--write', from: string, sources: string) {
  const id = `case-${++n}`
  const versions = join(work, `${id}.yaml`)
  writeFileSync(versions, versionsText)
  const tmp = join(work, `${id}-tmp`)
  mkdirSync(tmp)
  const r = npmRun('releases', [mode, '--from', from, '--versions', versions, '--keys', keys, '--sources', sources, '--no-upstream'], {
    PHP_LAYER_CACHE: join(work, `${id}-cache`),
    PHP_LAYER_SOURCES: '',
    TMPDIR: tmp,
  })
  // tsx keeps its compile cache in TMPDIR; anything else left there is ours.
  return { ...r, after: readFileSync(versions, 'utf8'), leftovers: readdirSync(tmp).filter((f) => !f.startsWith('tsx-')) }
}

t.test('--check finds the newer 8.3 patch; --write adds exactly its entry, verified by sha256 and the listed key', async (t) => {
  const from = answers('newer', add834(good.sha256))
  const check = run('--check', from, good.dir)
  t.equal(check.code, 9, check.stderr)
  t.match(check.stdout, /new patch 8\.3\.34 \(php-8\.3\.34\.tar\.xz sha256 [0-9a-f]{64}/)
  t.match(check.stderr, /behind php\.net/)
  t.equal(check.after, versionsText, '--check never writes')

  const write = run('--write', from, good.dir)
  t.equal(write.code, 0, write.stderr)
  t.match(write.stderr, new RegExp(`verified php-8\\.3\\.34\\.tar\\.xz \\(sha256, gpg:${rm.fingerprint}`))
  const before = versionsText.split('\n')
  const after = write.after.split('\n')
  const at = after.indexOf('      - version: 8.3.34')
  t.ok(at > 0, 'the entry is there, indented like its neighbours')
  t.same(after.slice(at, at + 4), [
    '      - version: 8.3.34',
    `        sha256: ${good.sha256}`,
    '        url: https://www.php.net/distributions/php-8.3.34.tar.xz',
    '        signature: https://www.php.net/distributions/php-8.3.34.tar.xz.asc',
  ])
  t.match(after[at + 4], /- version: 8\.3\.33/, 'above the previous newest 8.3 patch')
  t.same([...after.slice(0, at), ...after.slice(at + 4)], before, 'nothing else changed: a four-line diff')
  t.same(write.leftovers, [], 'no keyring or scratch file left in TMPDIR')
})

const refusals: Array<{ name: string; edit: (d: Record<string, Record<string, unknown>>) => void; sources: string; why: RegExp; check: number }> = [
  { name: 'tampered sha256', edit: add834('0'.repeat(64)), sources: good.dir, why: /8\.3\.34 did not verify: .*sha256 [0-9a-f]{64} does not match the pinned 0{64}/, check: 9 },
  { name: 'signature by a key outside the 8.3 list', edit: add834(foreign.sha256), sources: foreign.dir, why: new RegExp(`signed by ${outsider.fingerprint}, which is not an allowed signer`), check: 9 },
  { name: 'missing sha256', edit: add834(undefined), sources: good.dir, why: /refused|8\.3\.34: php-8\.3\.34\.tar\.xz has no sha256/, check: 4 },
  { name: 'non-semver version', edit: (d) => { d['json&version=8.3&max=100'] = { '8.3.x': entry('8.3.x', good.sha256), ...d['json&version=8.3&max=100'] } }, sources: good.dir, why: /"8\.3\.x" is not a release version/, check: 4 },
  { name: 'unknown minor', edit: (d) => { d['json&version=8'] = { version: '8.9.0', ...entry('8.9.0', good.sha256), supported_versions: ['8.9'] } }, sources: good.dir, why: /new minor 8\.9 needs its signers added by hand/, check: 9 },
]

for (const c of refusals) {
  t.test(`--write refuses a ${c.name} and leaves versions.yaml byte-identical`, async (t) => {
    const from = answers(c.name.replace(/\W+/g, '-'), c.edit)
    const check = run('--check', from, c.sources)
    t.equal(check.code, c.check, `--check exits ${c.check}: ${check.stderr}`)
    const write = run('--write', from, c.sources)
    t.equal(write.code, 4, write.stderr)
    t.match(write.stderr, c.why)
    t.match(write.stderr, /^error: .*\n$/, 'one line')
    t.equal(write.after, versionsText, 'byte-identical')
    t.same(write.leftovers, [], 'no keyring or scratch file left in TMPDIR')
  })
}
