// Every workflow in .github/workflows is parsed and converted by GitHub's own workflow parser
// (@actions/workflow-parser), so a broken workflow fails here before it fails on GitHub. Then the project's rules:
// workflows call only the CLI (no build logic in YAML), and the build and publish workflows keep the properties the
// README promises (matrix from the CLI, fail-fast off, artifacts required, OIDC and a reviewed environment).
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser'
import { projectRoot } from '../support/cli.ts'

const dir = join(projectRoot, '.github', 'workflows')
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()

interface Step { run?: string; uses?: string; with?: Record<string, unknown> }
interface Job { 'runs-on'?: string; environment?: string; permissions?: Record<string, string>; strategy?: { 'fail-fast'?: boolean; matrix?: unknown }; steps?: Step[] }
interface Workflow { on?: unknown; permissions?: Record<string, string>; jobs: Record<string, Job> }

async function validate(name: string, content: string): Promise<string[]> {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter())
  const errors = parsed.context.errors.getErrors().map((e) => e.message)
  if (errors.length || !parsed.value) return errors
  const converted = await convertWorkflowTemplate(parsed.context, parsed.value)
  return [...errors, ...(converted.errors ?? []).map((e) => e.Message)]
}

t.test('the workflows directory holds the build and publish workflows', async (t) => {
  t.ok(files.includes('build.yml'), 'build.yml')
  t.ok(files.includes('publish.yml'), 'publish.yml')
})

for (const file of files) {
  t.test(`${file} passes GitHub's workflow parser`, async (t) => {
    t.same(await validate(file, readFileSync(join(dir, file), 'utf8')), [])
  })

  t.test(`${file} calls only the CLI: no build logic in YAML`, async (t) => {
    const wf = YAML.parse(readFileSync(join(dir, file), 'utf8')) as Workflow
    const runs = Object.values(wf.jobs).flatMap((j) => (j.steps ?? []).map((s) => s.run ?? '')).filter(Boolean)
    // Compiling, packaging and talking to AWS belong to the CLI; the YAML only sequences it. (Commands at the start of
    // a line or after ; & | are checked, not words in messages.)
    const forbidden = /(^|[;&|(]|\n)\s*(sudo\s+)?(docker\s+(build|run|buildx)|\.\/configure|make|gcc|cc|apt-get|dnf|zip|aws\s+lambda|strip|bwrap|curl|wget|tar)\s/
    for (const r of runs) t.notMatch(r, forbidden, `run step stays out of the build: ${r.split('\n')[0]}`)
  })
}

t.test('the parser rejects a broken workflow (the check has teeth)', async (t) => {
  const errors = await validate('broken.yml', 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    stepz: []\n')
  t.ok(errors.some((e) => /stepz/.test(e)), errors.join('; '))
})

t.test('build.yml: matrix from the CLI, native runners, no fail-fast, artifacts required, smoke and the real image', async (t) => {
  const text = readFileSync(join(dir, 'build.yml'), 'utf8')
  const wf = YAML.parse(text) as Workflow
  const on = wf.on as Record<string, unknown>
  t.ok('schedule' in on && 'push' in on && 'workflow_dispatch' in on, 'weekly schedule, push and manual dispatch')
  const build = wf.jobs.build!
  t.equal(build.strategy?.['fail-fast'], false)
  t.match(String(build.strategy?.matrix), /fromJSON\(needs\.matrix\.outputs\.matrix\)/)
  t.match(text, /npm run --silent matrix -- --json/, 'the matrix comes from `npm run matrix`')
  t.equal(build['runs-on'], '${{ matrix.runner }}')
  const runs = (build.steps ?? []).map((s) => s.run ?? '').join('\n')
  t.match(runs, /npm run --silent build -- .*--executor docker --build-image \$\{\{ matrix\.buildImage \}\}/)
  t.match(runs, /npm run smoke -- /)
  t.match(runs, /npm run rie -- /)
  const upload = (build.steps ?? []).find((s) => s.uses?.startsWith('actions/upload-artifact'))
  t.equal(upload?.with?.['if-no-files-found'], 'error')
  // The heavier suite the CI budget leaves out runs here.
  t.match((wf.jobs['matrix-tests']?.steps ?? []).map((s) => s.run ?? '').join('\n'), /npm run test:matrix/, 'npm run test:matrix runs in a job')
})

t.test('every workflow runs Node 22 or newer (AWS SDK releases after early 2027 need it)', async (t) => {
  for (const file of files) {
    const wf = YAML.parse(readFileSync(join(dir, file), 'utf8')) as Workflow
    for (const [name, job] of Object.entries(wf.jobs)) {
      for (const s of (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/setup-node'))) {
        t.ok(Number(s.with?.['node-version']) >= 22, `${file} ${name}: node-version ${String(s.with?.['node-version'])}`)
      }
    }
  }
})

t.test('publish.yml: manual or release, OIDC only, reviewed environment, pull request with layers.json', async (t) => {
  const text = readFileSync(join(dir, 'publish.yml'), 'utf8')
  const wf = YAML.parse(text) as Workflow
  const on = wf.on as Record<string, unknown>
  t.ok('workflow_dispatch' in on && 'release' in on)
  const job = Object.values(wf.jobs)[0]!
  t.equal(job.permissions?.['id-token'], 'write')
  t.equal(job.environment, 'production')
  t.ok((job.steps ?? []).some((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials') && 'role-to-assume' in (s.with ?? {})), 'role assumption')
  t.notMatch(text, /aws-access-key-id|AWS_SECRET_ACCESS_KEY/, 'no stored keys')
  t.match(text, /npm run publish -- /)
  t.match(text, /npm run arn -- --table --write README\.md/)
  t.match(text, /gh pr create/)
})
