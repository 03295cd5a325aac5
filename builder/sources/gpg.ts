// Signature check for upstream tarballs: the signature must be good AND made by a key whose primary fingerprint is
// on the minor's allow-list in versions.yaml. Keys come from recipes/keys/ (checked in) plus any keyring a mirror
// supplies (Debian ships the release managers' keys); importing extra keys is safe because only allow-listed
// fingerprints are accepted.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SourceError } from '../errors.ts'
import type { Runner } from '../run.ts'

export interface GpgInput {
  file: string
  signature: string
  /** Allowed primary-key fingerprints (40 hex, upper case). */
  signers: string[]
  keysDir: string
  extraKeyFiles?: string[]
}

/** Returns the fingerprint that made the good signature. */
export async function verifySignature(run: Runner, input: GpgInput): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'php-layer-gpg-'))
  try {
    const keyFiles = [
      ...readdirSync(input.keysDir).filter((f) => f.endsWith('.asc')).map((f) => join(input.keysDir, f)),
      ...(input.extraKeyFiles ?? []),
    ]
    if (keyFiles.length === 0) throw new SourceError(`no signing keys in ${input.keysDir}`, 'Add the release managers\' public keys there.')
    const imp = await run(['gpg', '--batch', '--homedir', home, '--import', ...keyFiles])
    if (imp.exitCode !== 0) throw new SourceError(`gpg --import failed: ${imp.stderr.trim().split('\n').pop()}`)
    const v = await run(['gpg', '--batch', '--homedir', home, '--status-fd', '1', '--verify', input.signature, input.file])
    // VALIDSIG <sig-key-fpr> <date> <ts> <expire> <ver> <reserved> <pk-algo> <hash-algo> <class> <primary-fpr>
    const valid = v.stdout.split('\n').find((l) => l.startsWith('[GNUPG:] VALIDSIG '))
    if (v.exitCode !== 0 || !valid) {
      const reason = v.stdout.split('\n').find((l) => /\[GNUPG:\] (BADSIG|NO_PUBKEY|ERRSIG)/.test(l)) ?? v.stderr.trim().split('\n').pop()
      throw new SourceError(`bad or unverifiable signature on ${input.file}: ${reason}`, 'The file was deleted; if the signer is new, add their key to recipes/keys/ and their fingerprint to versions.yaml.')
    }
    const fields = valid.split(' ')
    const primary = (fields[fields.length - 1] ?? '').toUpperCase()
    if (!input.signers.includes(primary)) {
      throw new SourceError(`${input.file} is signed by ${primary}, which is not an allowed signer (${input.signers.join(', ')})`, 'Check the release announcement; add the fingerprint to versions.yaml only if it is a release manager.')
    }
    return primary
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}
