// The pipeline's data flows one way, and so do its imports: no stage imports a later one, the shared modules import
// no stage, and no stage imports the commands built on top of it. A static scan of every relative import (and
// dynamic import()) in builder/; docs/architecture.md shows the same graph.
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { projectRoot } from '../support/cli.ts'

/** The stages, in pipeline order. */
const STAGES = ['config', 'plan', 'sources', 'executors', 'assemble', 'smoke', 'publish']
/** Shared by every stage; they import only each other. */
const SHARED = ['schema', 'artifact', 'errors', 'log', 'run', 'host-libs', 'lambda-limits']
/** Commands and tools built on the stages (they may import any stage; no stage imports them). */
const ON_TOP = ['build', 'cli', 'releases', 'snippets', 'serve', 'verify']

const builder = join(projectRoot, 'builder')

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []
  })
}

/** `builder/plan/plan.ts` → `plan`; `builder/run.ts` → `run`. */
function moduleOf(file: string): string {
  const rel = relative(builder, file)
  return rel.includes('/') ? rel.split('/')[0]! : rel.replace(/\.ts$/, '')
}

export function importGraph(): Array<{ from: string; to: string; file: string; spec: string }> {
  const edges = []
  for (const file of files(builder)) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s+'(\.[^']+)'|\bimport\(\s*'(\.[^']+)'\s*\)/g)) {
      const spec = (m[1] ?? m[2])!
      const target = resolve(dirname(file), spec)
      if (!target.startsWith(builder + '/')) continue
      const from = moduleOf(file)
      const to = moduleOf(target)
      if (from !== to) edges.push({ from, to, file: relative(projectRoot, file), spec })
    }
  }
  return edges
}

t.test('every module of builder/ has a place in the graph', async (t) => {
  const known = new Set([...STAGES, ...SHARED, ...ON_TOP])
  const modules = [...new Set(files(builder).map(moduleOf))].sort()
  t.same(modules.filter((m) => !known.has(m)), [], 'a new module must be placed in STAGES, SHARED or ON_TOP (and in docs/architecture.md)')
})

t.test('no stage imports a later stage, shared modules import no stage, nothing imports the commands', async (t) => {
  const edges = importGraph()
  t.ok(edges.length > 30, `${edges.length} imports between modules found`)
  const wrong = edges.filter(({ from, to }) => {
    if (ON_TOP.includes(to)) return !ON_TOP.includes(from)
    if (SHARED.includes(from)) return !SHARED.includes(to)
    if (STAGES.includes(from) && STAGES.includes(to)) return STAGES.indexOf(to) > STAGES.indexOf(from)
    return false
  })
  t.same(wrong.map((e) => `${e.file} imports ${e.spec} (${e.from} → ${e.to})`), [])
})

t.test('the scan sees what it should', async (t) => {
  const edges = importGraph()
  t.ok(edges.some((e) => e.from === 'smoke' && e.to === 'artifact'), 'static imports')
  t.ok(edges.some((e) => e.from === 'build' && e.to === 'smoke' && e.spec === './smoke/smoke.ts'), 'dynamic import()')
  t.ok(edges.some((e) => e.from === 'plan' && e.to === 'config'), 'type-only imports count too')
})
