// The trust anchors: every public key in recipes/keys/ is the key its file name says (checked by gpg in a
// throwaway home), belongs to a release manager versions.yaml lists, and versions.yaml's signers per minor are
// exactly php.net's list (test/fixtures/php-gpg-fingerprints.tsv).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import type { VersionsFile } from '../../builder/config/types.ts'
import { projectRoot } from '../support/cli.ts'

const versions = parse(readFileSync(join(projectRoot, 'versions.yaml'), 'utf8')) as VersionsFile
const published = new Map<string, string[]>()
for (const line of readFileSync(join(projectRoot, 'test/fixtures/php-gpg-fingerprints.tsv'), 'utf8').split('\n')) {
  if (!line.trim() || line.startsWith('#')) continue
  const [minor, fpr] = line.split('\t')
  published.set(minor!, [...(published.get(minor!) ?? []), fpr!])
}

t.test("versions.yaml's signers are php.net's release managers for each minor", async (t) => {
  for (const [minor, info] of Object.entries(versions.php)) {
    t.same([...info.signers].sort(), [...(published.get(minor) ?? [])].sort(), minor)
  }
})

t.test('each key in recipes/keys/ is the key its name says, and signs for a listed minor', async (t) => {
  const keysDir = join(projectRoot, 'recipes', 'keys')
  const files = readdirSync(keysDir).filter((f) => f.endsWith('.asc'))
  t.ok(files.length > 0)
  const allSigners = new Set(Object.values(versions.php).flatMap((m) => m.signers))
  for (const file of files) {
    const home = mkdtempSync(join(tmpdir(), 'keys-test-'))
    try {
      const out = execFileSync('gpg', ['--batch', '--homedir', home, '--with-colons', '--import-options', 'show-only', '--import', join(keysDir, file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      const primaries = out.split('\n').filter((l) => l.startsWith('pub:')).length
      const fpr = out.split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9]
      t.equal(primaries, 1, `${file} holds one primary key`)
      t.equal(`${fpr}.asc`, file, `${file}: fingerprint matches the file name`)
      t.ok(allSigners.has(fpr!), `${fpr} is a listed signer`)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  }
})
