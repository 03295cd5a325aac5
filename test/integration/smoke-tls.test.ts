// The smoke test's throwaway certificate authority (real openssl): its private keys are gone once the TLS server
// holds them, and nothing is left behind when set-up fails half-way.
import t from 'tap'
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger } from '../../builder/log.ts'
import { createRunner, type RunOptions } from '../../builder/run.ts'
import { startTlsServer } from '../../builder/smoke/tls.ts'

t.test('the throwaway CA\'s keys never outlive the check, on success or failure', async (t) => {
  const parent = mkdtempSync(join(tmpdir(), 'tls-test-'))
  const run = createRunner(createLogger({ quiet: true }))
  const tls = await startTlsServer(run, parent)
  t.same(readdirSync(tls.dir).filter((f) => f.endsWith('.key')), [], 'private keys are deleted once the server holds them')
  t.ok(existsSync(tls.caFile))
  await tls.close()
  t.same(readdirSync(parent), [], 'close() removes the directory')

  // openssl failing at the last step (signing the server certificate) must not leave the keys made before it.
  const failing = Object.assign(
    async (argv: string[], o?: RunOptions) => (argv[0] === 'openssl' && argv[1] === 'x509' ? { exitCode: 1, stdout: '', stderr: 'simulated failure', ms: 0 } : run(argv, o)),
    { commandLog: undefined },
  )
  await t.rejects(startTlsServer(failing, parent), { name: 'SmokeError', message: /openssl x509 failed: simulated failure/ })
  t.same(readdirSync(parent), [], 'nothing left after a failed set-up')
})
