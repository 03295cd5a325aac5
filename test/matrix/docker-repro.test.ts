// Part of `npm run test:matrix` (the heavier suite GitHub Actions and maintainers run; `npm test` and .ci/run do not):
// two docker-executor builds of the same target in two separate fresh containers give identical bytes. Build A uses
// BuildKit (--output type=local), build B the classic builder (docker create + docker cp) with --no-cache, so nothing
// of A's compile is reused. The extension set is test/e2e/docker.test.ts's, so A usually comes from its cache.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { npmRun } from '../support/cli.ts'

const EXT = 'ctype'
const host = npmRun('engine', ['--host'])
if (host.code !== 0) {
  t.fail('no Docker engine answers: start one with sudo scripts/docker-engine.sh start (and sudo scripts/docker-base-image.sh)')
} else {
  const dir = mkdtempSync(join(tmpdir(), 'docker-repro-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const args = (out: string) => ['--php', '8.2.32', '--arch', 'x86_64', '--ext', EXT, '--executor', 'docker', '--build-image', 'debian', '--out', out, '--json']

  t.test('a second build in a second fresh container (classic builder, no cache) gives the same bytes', async (t) => {
    const a = npmRun('build', args(join(dir, 'a')), { PHP_LAYER_DOCKER_BUILDER: 'buildkit' })
    t.equal(a.code, 0, a.stderr.split('\n').slice(-5).join('\n'))
    const b = npmRun('build', [...args(join(dir, 'b')), '--no-cache'], { PHP_LAYER_DOCKER_BUILDER: 'classic' })
    t.comment(`build A (BuildKit) ${(a.ms / 1000).toFixed(1)}s, build B (classic builder, --no-cache) ${(b.ms / 1000).toFixed(1)}s`)
    t.equal(b.code, 0, b.stderr.split('\n').slice(-5).join('\n'))
    t.match(b.stderr, /compile in a debian container \(classic builder/)
    t.notMatch(b.stderr, /: cached \(/, 'compiled from scratch')
    const ra = JSON.parse(a.stdout) as { sha256: string; codeSha256: string }
    const rb = JSON.parse(b.stdout) as { sha256: string; codeSha256: string }
    t.equal(rb.sha256, ra.sha256, `sha256 ${rb.sha256}`)
    t.equal(rb.codeSha256, ra.codeSha256)
  })
}
