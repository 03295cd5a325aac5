// A zip is smoke-tested against what it was built from, not against the checkout's recipes as they are now: a
// layer built with another --recipes directory carries that directory's probes in its manifest, and smoke runs
// exactly those. Here the other recipes hold a ctype probe that expects the wrong answer; the checkout's probe
// would pass, so a failing "probe ctype" shows the manifest's probe is the one that ran.
import t from 'tap'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ZipManifest } from '../../builder/artifact/manifest.ts'
import { npmRun, projectRoot } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'

// Same configure flags as the default layer, so its compiled tree is reused: only assembly and smoke run here.
await ensureLayer(DEFAULT_LAYER)

t.test('a layer built with another --recipes directory is checked against its own manifest', async (t) => {
  const recipes = mkdtempSync(join(tmpdir(), 'recipes-'))
  cpSync(join(projectRoot, 'recipes'), recipes, { recursive: true })
  const file = join(recipes, 'php.yaml')
  const text = readFileSync(file, 'utf8')
  const edited = text.replace('var_export(ctype_digit("123"));', 'var_export(ctype_digit("123")); echo "|other-recipes";')
  t.not(edited, text, 'the fixture edit applied')
  writeFileSync(file, edited)
  const out = mkdtempSync(join(tmpdir(), 'out-'))

  const r = npmRun('build', ['--php', DEFAULT_LAYER.php, '--arch', 'x86_64', '--recipes', recipes, '--out', out, '--json'])
  t.equal(r.code, 7, 'the build fails its smoke test')
  t.match(r.stderr, /✗ probe ctype .*printed "true\|other-recipes", expected "true"/, 'the probe from the zip\'s manifest ran')
  const side = JSON.parse(readFileSync(join(out, 'php-82-8.2.32-x86_64.manifest.json'), 'utf8')) as ZipManifest
  t.match(side.extensions.find((e) => e.name === 'ctype')?.probe?.code, /other-recipes/)
  t.equal(side.smoke?.passed, false)

  // The same zip checked on its own, from the checkout whose recipes differ: the same verdict.
  const again = npmRun('smoke', [join(out, 'php-82-8.2.32-x86_64.zip')])
  t.equal(again.code, 7)
  t.match(again.stderr, /✗ probe ctype/)
})
