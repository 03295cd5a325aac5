// Registers `releases` on the factory's commander program; the work (network, gpg) is imported only when it runs.
import type { Command } from 'commander'
import { RELEASES_ENDPOINT } from './phpnet.ts'
import type { ReleasesOptions } from './action.ts'

const HELP = `
Reads php.net's release data (GET ${RELEASES_ENDPOINT}?json&version=8 and ?json&version=<minor>&max=100 for
each minor in versions.yaml; format in docs/releases.md) and reports patch releases newer than the newest listed
one, minors versions.yaml lacks, and listed releases whose pin differs from php.net's.

  --check   exit 0 when versions.yaml is current, 9 when it is behind, 4 when php.net's data is malformed
  --write   download each new tarball and its .asc (php.net, then Debian source packages, then --sources / PHP_LAYER_SOURCES),
            verify sha256 and the signature against the minor's signers and recipes/keys/, then add them to
            versions.yaml as a minimal diff. Refuses (exit 4, file untouched) if any entry is malformed, any download
            does not verify, or php.net has a minor versions.yaml lacks (adding one needs its release managers).
  --record FILE   save php.net's answers to FILE (the format --from reads)

Examples:
  npm run releases -- --check
  npm run releases -- --write
  npm run releases -- --check --from test/fixtures/releases/phpnet-2026-07.json
`

export function registerReleasesCommand(program: Command, root: string): void {
  program
    .command('releases')
    .description('compare versions.yaml with php.net releases; --write adds verified new patches (minimal diff)')
    .option('--check', 'report; exit 9 when versions.yaml is behind php.net')
    .option('--write', 'download, verify (sha256 + GPG) and add new patch releases to versions.yaml')
    .option('--from <file>', 'replay recorded php.net answers instead of asking php.net')
    .option('--record <file>', 'save php.net\'s answers to a file (the format --from reads)')
    .option('--versions <file>', 'the versions.yaml to check and edit', undefined)
    .option('--keys <dir>', 'release managers\' public keys (default recipes/keys)')
    .option('--sources <dirs>', ':-separated directories holding tarballs and .asc files (also PHP_LAYER_SOURCES)')
    .option('--no-upstream', 'do not download from php.net (Debian source packages and --sources only)')
    .option('--json', 'print the report as JSON')
    .option('--verbose', 'log every external command')
    .addHelpText('after', HELP)
    .action(async (o: ReleasesOptions) => (await import('./action.ts')).releasesAction(root, o))
}
