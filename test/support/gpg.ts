// A throwaway signing key for signature tests (ed25519: generated in well under a second).
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { scratch } from './cc.ts'

export interface TestKey {
  home: string
  fingerprint: string
  /** Directory holding the exported public key, as recipes/keys/ does. */
  keysDir: string
  sign(file: string): string
}

export function makeKey(name = 'Test Release Manager <rm@example.test>'): TestKey {
  const home = scratch('gpg-')
  const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', '--homedir', home, ...args], { stdio: 'pipe' }).toString()
  gpg('--passphrase', '', '--quick-gen-key', name, 'ed25519', 'sign', 'never')
  const fingerprint = gpg('--list-keys', '--with-colons').split('\n').find((l) => l.startsWith('fpr:'))!.split(':')[9]!
  const keysDir = join(home, 'keys')
  mkdirSync(keysDir)
  writeFileSync(join(keysDir, `${fingerprint}.asc`), gpg('--armor', '--export', fingerprint))
  return {
    home,
    fingerprint,
    keysDir,
    sign(file) {
      gpg('--yes', '--armor', '--detach-sign', '--output', file + '.asc', file)
      return file + '.asc'
    },
  }
}
