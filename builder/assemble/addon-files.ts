// What an add-on compile produced, laid into a layer tree: each extension's .so with the conf.d file that loads it,
// and the libraries built from recipes/lib (lib/libX.so.N, roots of the closure like the extensions). Used for
// add-on layers and for recipes/ext extensions built into a base layer (--ext redis).
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AssembleError } from '../errors.ts'
import type { AddonPlan, PlannedAddonExtension } from '../plan/addon.ts'

/** Copies them into `tree` (php/extensions, php/etc/conf.d, lib/); returns the library file names copied. */
export function layAddonFiles(plan: AddonPlan, stagingRoot: string, tree: string, iniHeader: (e: PlannedAddonExtension) => string): string[] {
  const extDir = join(tree, 'php', 'extensions')
  const confd = join(tree, 'php', 'etc', 'conf.d')
  mkdirSync(extDir, { recursive: true })
  mkdirSync(confd, { recursive: true })
  for (const e of plan.extensions) {
    const src = join(stagingRoot, 'php', 'extensions', `${e.name}.so`)
    if (!existsSync(src)) throw new AssembleError(`${e.name}.so missing from the staging tree of ${plan.name} (${src})`, 'Check its compile log.')
    copyFileSync(src, join(extDir, `${e.name}.so`))
    chmodSync(join(extDir, `${e.name}.so`), 0o755)
    writeFileSync(join(confd, e.iniFile), [`; ${iniHeader(e)}`, ...e.iniLines, ''].join('\n'))
  }
  if (!plan.libraries.length) return []
  const src = join(stagingRoot, 'lib')
  const names = existsSync(src) ? readdirSync(src).sort() : []
  if (!names.length) throw new AssembleError(`the staging tree of ${plan.name} has no lib/ (${src}), though it builds ${plan.libraries.map((l) => l.name).join(', ')}`, 'Check its install log.')
  mkdirSync(join(tree, 'lib'), { recursive: true })
  for (const n of names) {
    copyFileSync(join(src, n), join(tree, 'lib', n))
    chmodSync(join(tree, 'lib', n), 0o644)
  }
  return names
}
