// The release checker's pure parts: reading php.net's answers, comparing them with versions.yaml, and the
// minimal-diff edit.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { compareReleases, isBehind } from '../../builder/releases/compare.ts'
import { addReleases } from '../../builder/releases/edit.ts'
import { parseRelease, parseReleaseData, requireQueries, type ReleaseData } from '../../builder/releases/phpnet.ts'
import type { VersionsFile } from '../../builder/config/types.ts'
import { projectRoot } from '../support/cli.ts'

const fixture = JSON.parse(readFileSync(join(projectRoot, 'test/fixtures/releases/phpnet-2026-07.json'), 'utf8')) as ReleaseData
const versionsText = readFileSync(join(projectRoot, 'versions.yaml'), 'utf8')
const versions = parse(versionsText) as VersionsFile
const minors = Object.keys(versions.php)
const sha = (c: string) => c.repeat(64)
const entry = (v: string, sha256?: string) => ({ source: [{ filename: `php-${v}.tar.xz`, name: `PHP ${v} (tar.xz)`, ...(sha256 !== undefined ? { sha256 } : {}) }] })

t.test('a release entry is accepted only with a plain x.y.z version and a 64-hex sha256 for its .tar.xz', async (t) => {
  t.match(parseRelease('8.3.34', entry('8.3.34', sha('a'))), { version: '8.3.34', minor: '8.3', file: 'php-8.3.34.tar.xz', sha256: sha('a') })
  const refused: Array<[string, unknown, RegExp]> = [
    ['8.3.x', entry('8.3.x', sha('a')), /not a release version/],
    ['8.3.15-dev', entry('8.3.15-dev', sha('a')), /not a release version/],
    ['08.3.1', entry('08.3.1', sha('a')), /not a release version/],
    ['8.3.34', entry('8.3.34'), /has no sha256/],
    ['8.3.34', entry('8.3.34', ''), /has no sha256/],
    ['8.3.34', entry('8.3.34', 'ABC'), /not 64 lowercase hex/],
    ['8.3.34', { source: [{ filename: 'php-8.3.34.tar.gz', sha256: sha('a') }] }, /no php-8\.3\.34\.tar\.xz/],
    ['8.3.34', { version: '8.3.35', ...entry('8.3.35', sha('a')) }, /listed under "8\.3\.34"/],
    ['8.3.34', 'not an object', /no "source" list/],
  ]
  for (const [key, body, why] of refused) t.match(parseRelease(key, body), { why }, `${key} ${JSON.stringify(body).slice(0, 60)}`)
})

t.test('the recorded 2026-07 answers parse, name the supported minors, and match every pin versions.yaml shares', async (t) => {
  requireQueries(fixture, minors.filter((m) => m !== '8.6'))
  const data = parseReleaseData(fixture, minors)
  t.same(data.rejected, [])
  t.same(data.supported, ['8.2', '8.3', '8.4', '8.5'])
  t.ok(data.releases.some((r) => r.version === '8.3.33'))
  const report = compareReleases(versions.php, data)
  t.same(report.mismatched, [], 'every release both list has the same sha256')
  t.same(report.newMinors, [])
  t.same(report.newPatches, [], 'versions.yaml is at least as new as the recording')
  t.notOk(isBehind(report))
})

t.test('a newer patch, a new minor and a changed pin are reported', async (t) => {
  const data: ReleaseData = structuredClone(fixture)
  ;(data['json&version=8.3&max=100'] as Record<string, unknown>)['8.3.34'] = entry('8.3.34', sha('b'))
  data['json&version=8'] = { version: '8.7.0', ...entry('8.7.0', sha('c')), supported_versions: ['8.3', '8.4', '8.5', '8.6', '8.7'] }
  ;(data['json&version=8.4&max=100'] as Record<string, unknown>)['8.4.24'] = entry('8.4.24', sha('d'))
  const report = compareReleases(versions.php, parseReleaseData(data, minors))
  t.same(report.newPatches.map((p) => p.version), ['8.3.34'])
  t.same(report.newMinors, [{ minor: '8.7', newest: '8.7.0' }], 'seen in the latest answer; 8.6 is listed (with only a pre-release)')
  t.match(report.mismatched, [{ version: '8.4.24', published: sha('d') }])
  t.ok(isBehind(report))
})

t.test('a recording without a query the run needs is refused, naming the query', async (t) => {
  const data: ReleaseData = structuredClone(fixture)
  delete data['json&version=8.4&max=100']
  t.throws(() => requireQueries(data, minors), /no answer for "json&version=8\.4&max=100"/)
  t.throws(() => parseReleaseData({ 'json&version=8': [] }, minors), /not a JSON object/)
})

t.test('addReleases inserts only the new entries, above the newest listed one, and keeps every other byte', async (t) => {
  const url = 'https://www.php.net/distributions/php-8.3.34.tar.xz'
  const out = addReleases(versionsText, [
    { minor: '8.3', version: '8.3.34', sha256: sha('b'), url, signature: url + '.asc' },
    { minor: '8.3', version: '8.3.35', sha256: sha('c'), url: url.replace('34', '35'), signature: url.replace('34', '35') + '.asc' },
  ])
  const before = versionsText.split('\n')
  const after = out.split('\n')
  t.equal(after.length, before.length + 8)
  const at = after.findIndex((l) => l.includes('version: 8.3.35'))
  t.equal(after[at], '      - version: 8.3.35', 'same indentation as the existing entries')
  t.equal(after[at + 4], '      - version: 8.3.34', 'newest first')
  t.same([...after.slice(0, at), ...after.slice(at + 8)], before, 'every other line is unchanged, comments included')
  const parsed = parse(out) as VersionsFile
  t.equal(parsed.php['8.3']!.releases[0]!.version, '8.3.35')
  t.throws(() => addReleases(versionsText, [{ minor: '8.9', version: '8.9.1', sha256: sha('a'), url, signature: url }]), /php\."8\.9"\.releases is not/)
})
