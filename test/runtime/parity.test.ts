// The parity suite on the runtime from this repository, with Debian's php-cgi reading the layer's php.ini: every
// parity request through every HTTP source, against the same requests through nginx + PHP-FPM (Debian's packages).
// test/e2e/parity.test.ts runs the same suite on the built layer in the smoke sandbox.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RuntimeApiEmulator } from '../support/runtime-api-emulator.ts'
import { layerIniLines, runParitySuite } from '../support/parity.ts'
import { findPhpBinaries, runtimeBootstrap, runtimeEnv } from '../support/php.ts'

const php = findPhpBinaries()

t.test('the runtime from this repository answers as nginx + PHP-FPM do', (t) => runParitySuite(t, false, async (appDir) => {
  // PHPRC: php-cgi reads this php.ini instead of Debian's; Debian's conf.d (extensions) is still scanned.
  const iniDir = mkdtempSync(join(tmpdir(), 'parity-ini-'))
  writeFileSync(join(iniDir, 'php.ini'), layerIniLines().join('\n') + '\n')
  const api = await RuntimeApiEmulator.start()
  const sandbox = api.spawnSandbox({ command: runtimeBootstrap, env: runtimeEnv(php, { taskRoot: appDir, extra: { PHPRC: iniDir } }) })
  return {
    invoke: (event) => api.invoke(event, { timeoutMs: 10_000 }),
    async stop() {
      await sandbox.stop()
      await api.close()
      rmSync(iniDir, { recursive: true, force: true })
    },
  }
}))
