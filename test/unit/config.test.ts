import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { ConfigError } from '../../builder/errors.ts'

const root = join(import.meta.dirname, '..', '..')

/** A throwaway copy of the project's data files, to break one thing at a time. */
function copyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'))
  cpSync(join(root, 'versions.yaml'), join(dir, 'versions.yaml'))
  cpSync(join(root, 'recipes'), join(dir, 'recipes'), { recursive: true })
  return dir
}

function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8')
  const next = text.replace(from, to)
  if (next === text) throw new Error(`fixture edit did not apply to ${file}`)
  writeFileSync(file, next)
}

t.test('the shipped files load', async (t) => {
  const c = loadConfig({ root })
  t.same(Object.keys(c.versions.php).sort(), ['8.2', '8.3', '8.4', '8.5', '8.6'])
  t.ok(c.versions.php['8.2']!.releases.some((r) => r.version === '8.2.32'), '8.2.32 is listed')
  t.equal(c.versions.base.glibc, '2.34')
  t.ok(c.baseLibraries.x86_64.includes('libc.so.6'))
  t.ok(c.baseLibraries.arm64.includes('libcurl.so.4'))
  t.ok(c.versions.regions.length >= 30)
})

t.test('a malformed sha256 names the file, key path, line and the accepted form', async (t) => {
  const dir = copyProject()
  edit(join(dir, 'versions.yaml'), 'sha256: e02aa173c236c12791696254d607da680e6d5516f8f5c2339642de7c4f944bd2', 'sha256: e02aa173XYZ')
  const err = t.throws(() => loadConfig({ root: dir })) as unknown as ConfigError
  t.ok(err instanceof ConfigError)
  t.match(err.message, /^versions\.yaml:\d+: php\."8\.2"\.releases\[2\]\.sha256 must be 64 lowercase hex characters, got "e02aa173XYZ"$/)
  t.equal(err.exitCode, 3)
})

t.test('an unknown recipe key is rejected with the accepted keys', async (t) => {
  const dir = copyProject()
  edit(join(dir, 'recipes', 'php.yaml'), '  bcmath:\n    flags: [--enable-bcmath]', '  bcmath:\n    flgs: [--enable-bcmath]')
  const err = t.throws(() => loadConfig({ root: dir })) as unknown as ConfigError
  t.match(err.message, /^recipes\/php\.yaml:\d+: unknown key "flgs" at extensions\.bcmath; accepted keys: module, flags, shared/)
})

t.test('cross-references are checked', async (t) => {
  const dir = copyProject()
  edit(join(dir, 'versions.yaml'), '[bcmath, ctype,', '[bcmath, ctypo,')
  t.throws(() => loadConfig({ root: dir }), { message: /extensions\.default\[1\] is "ctypo"; accepted: bcmath, ctype/ })

  const dir2 = copyProject()
  edit(join(dir2, 'versions.yaml'), /version: 8\.2\.31\n/, 'version: 8.3.31\n')
  t.throws(() => loadConfig({ root: dir2 }), { message: /version is 8\.3\.31; accepted: a 8\.2\.x version/ })

  const dir3 = copyProject()
  edit(join(dir3, 'recipes', 'php.yaml'), 'requires: [mysqlnd]', 'requires: [mysqlnx]')
  t.throws(() => loadConfig({ root: dir3 }), { message: /requires names unknown extension "mysqlnx"/ })
})

t.test('end-of-life dates and pre-release versions are checked', async (t) => {
  const dir = copyProject()
  edit(join(dir, 'versions.yaml'), 'endOfLife: "2026-12-31"', 'endOfLife: "end of 2026"')
  t.throws(() => loadConfig({ root: dir }), { message: /php\."8\.2"\.endOfLife must be a date like "2026-12-31", got "end of 2026"/ })
  const dir2 = copyProject()
  edit(join(dir2, 'versions.yaml'), 'endOfLife: "2026-12-31"', 'endOfLife: "2026-02-30"')
  t.throws(() => loadConfig({ root: dir2 }), { message: /endOfLife is "2026-02-30", not a real date/ })
  const dir3 = copyProject()
  edit(join(dir3, 'versions.yaml'), 'version: 8.6.0RC3', 'version: 8.6.0-rc3')
  t.throws(() => loadConfig({ root: dir3 }), { message: /version must be a PHP version like 8\.2\.32 or 8\.6\.0RC3, got "8\.6\.0-rc3"/ })
})

t.test('YAML syntax errors carry the line', async (t) => {
  const dir = copyProject()
  writeFileSync(join(dir, 'versions.yaml'), 'schema: 1\nbase: [unclosed\n')
  t.throws(() => loadConfig({ root: dir }), { message: /^versions\.yaml:\d+: YAML syntax error/ })
})
