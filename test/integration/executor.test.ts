// The host executor after a failed compile step: a BuildError naming the step and its log, and nothing left in the
// cache's work/ directory (which would otherwise grow by a source tree per failed attempt).
import t from 'tap'
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../builder/config/load.ts'
import { EXECUTOR_CAPABILITIES } from '../../builder/executors/index.ts'
import { hostExecutor } from '../../builder/executors/host.ts'
import type { FetchedSource } from '../../builder/sources/fetch.ts'
import { createLogger } from '../../builder/log.ts'
import { plan } from '../../builder/plan/plan.ts'
import { createRunner } from '../../builder/run.ts'
import { projectRoot } from '../support/cli.ts'

t.test('a failed compile step leaves no work directory behind', async (t) => {
  const config = loadConfig({ root: projectRoot })
  const p = plan(config, { php: '8.2.32', arch: 'x86_64', executor: 'host' }, { executors: EXECUTOR_CAPABILITIES, hostArch: 'x86_64' })
  const cacheDir = mkdtempSync(join(tmpdir(), 'executor-'))
  const failing = {
    ...p,
    // Nothing to install and a compile script that fails in its first step, so nothing is compiled.
    packages: { apt: [], dnf: [] },
    compileScript: '#!/usr/bin/env bash\necho "step $1 cannot run here" >&2\nexit 3\n',
    compileKey: `test-${process.pid}-${Date.now()}`,
  }
  const log = createLogger({ quiet: true })
  const sources = [{ spec: p.sources[0]!, path: '/dev/null' }] as unknown as FetchedSource[]
  await t.rejects(
    hostExecutor().compile({ plan: failing, sources, cacheDir, logDir: join(cacheDir, 'logs'), run: createRunner(log), log }),
    { name: 'BuildError', message: /^extract php 8\.2\.32 x86_64 failed with exit 3: step extract cannot run here; full log: / },
  )
  t.ok(existsSync(join(cacheDir, 'work')), 'the work directory was used')
  t.same(readdirSync(join(cacheDir, 'work')), [], 'and is empty again')
  t.same(existsSync(join(cacheDir, 'builds')) ? readdirSync(join(cacheDir, 'builds')) : [], [], 'nothing cached as built')
})
