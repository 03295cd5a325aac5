// Reads versions.yaml and recipes/ from a project root, validates them, and checks the cross-references a schema
// cannot express. Everything downstream receives the typed Config and never touches these files again.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import semver from 'semver'
import { ConfigError } from '../errors.ts'
import { ARCHS, type AddonRecipe, type Config, type LibRecipe, type PhpRecipe, type VersionsFile } from './types.ts'
import { parseAndValidate } from '../schema/validate.ts'
import { compareDesc } from '../schema/php-version.ts'
import { AddonRecipeSchema, LibRecipeSchema, phpRecipeSchema, versionsSchema } from './schema.ts'

export interface LoadOptions {
  root: string
  /** Override the versions file (tests point it at a broken copy). */
  versionsFile?: string
  recipesDir?: string
}

function read(path: string, root: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new ConfigError(`${relative(root, path) || path}: cannot read (${(e as NodeJS.ErrnoException).code ?? e})`, 'Run the command from the project root or check the path.')
  }
}

export function loadConfig(opts: LoadOptions): Config {
  const root = opts.root
  const versionsPath = opts.versionsFile ?? join(root, 'versions.yaml')
  const recipesDir = opts.recipesDir ?? join(root, 'recipes')
  const phpPath = join(recipesDir, 'php.yaml')
  const vName = relative(root, versionsPath) || versionsPath
  const pName = relative(root, phpPath) || phpPath

  const error = (message: string, hint: string) => new ConfigError(message, hint)
  const versions: VersionsFile = parseAndValidate(read(versionsPath, root), versionsSchema, { file: vName, error })
  const php: PhpRecipe = parseAndValidate(read(phpPath, root), phpRecipeSchema, { file: pName, error })
  checkVersions(vName, versions)
  checkRecipe(pName, php)

  const baseLibraries = Object.fromEntries(
    ARCHS.map((arch) => {
      const file = join(root, versions.base.libraries[arch])
      const names = read(file, root)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'))
      return [arch, names]
    }),
  ) as Config['baseLibraries']

  const libs = loadLibs(root, join(recipesDir, 'lib'), error)
  const addons = loadAddons(root, join(recipesDir, 'ext'), php, libs, error)
  // The default set may name recipes/ext extensions too: the planner builds them into the layer after the core.
  versions.extensions.default.forEach((name, i) => {
    if (!php.extensions[name] && !addons[name]) {
      throw new ConfigError(`${vName}: extensions.default[${i}] is "${name}"; accepted: ${Object.keys(php.extensions).sort().join(', ')}; or from recipes/ext: ${Object.keys(addons).sort().join(', ')}`)
    }
  })

  return { versions, php, addons, libs, baseLibraries, files: { versions: vName, php: pName } }
}

/** recipes/ext/<name>.yaml, each validated; the file name is the extension's name. */
/** A source marked as Debian's repack is fetched from Debian only, so it must name the Debian package. */
function checkRepack(rel: string, source: { repack?: unknown; debian?: unknown }): void {
  if (source.repack && !source.debian) {
    throw new ConfigError(`${rel}: source.repack needs source.debian (the package whose orig tarball is the repack); accepted: repack with debian: { package, origFile }`)
  }
}

/** recipes/lib/<name>.yaml, each validated; the file name is the library's name. */
function loadLibs(root: string, dir: string, error: (message: string, hint: string) => ConfigError): Record<string, LibRecipe> {
  if (!existsSync(dir)) return {}
  const out: Record<string, LibRecipe> = {}
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) {
    const rel = relative(root, join(dir, f)) || join(dir, f)
    const name = f.slice(0, -'.yaml'.length)
    if (!/^[a-z][a-z0-9_-]*$/.test(name)) throw new ConfigError(`${rel}: "${name}" is not a library name; accepted: lowercase letters, digits, _ and - (the file is named after the library)`)
    const recipe: LibRecipe = parseAndValidate(read(join(dir, f), root), LibRecipeSchema, { file: rel, error })
    checkRepack(rel, recipe.source)
    const cmake = recipe.build === 'cmake'
    const wrong = recipe.configure.find((f) => f.startsWith('-D') !== cmake)
    if (wrong) throw new ConfigError(`${rel}: configure flag ${wrong} does not fit build: ${recipe.build ?? 'autoconf'}; accepted: ${cmake ? '-DNAME=value flags for cmake' : '--flags and NAME=value variables for ./configure'}`)
    if (cmake && recipe.makeDirs) throw new ConfigError(`${rel}: makeDirs ${recipe.makeDirs.join(', ')} does not fit build: cmake; accepted: makeDirs with build: autoconf`)
    const up = [...(recipe.makeDirs ?? []), ...(recipe.headers ? [recipe.headers.from, ...recipe.headers.files] : [])].find((d) => d.split('/').includes('..'))
    if (up) throw new ConfigError(`${rel}: ${up} leaves the source tree; accepted: paths inside it, without ..`)
    out[name] = recipe
  }
  return out
}

function loadAddons(root: string, dir: string, php: PhpRecipe, libs: Record<string, LibRecipe>, error: (message: string, hint: string) => ConfigError): Record<string, AddonRecipe> {
  if (!existsSync(dir)) return {}
  const out: Record<string, AddonRecipe> = {}
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()
  for (const f of files) {
    const rel = relative(root, join(dir, f)) || join(dir, f)
    const name = f.slice(0, -'.yaml'.length)
    if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new ConfigError(`${rel}: "${name}" is not an extension name; accepted: lowercase letters, digits and _ (the file is named after the extension)`)
    if (php.extensions[name]) throw new ConfigError(`${rel}: ${name} is already a core extension in recipes/php.yaml; accepted: a name recipes/php.yaml does not have`)
    const recipe: AddonRecipe = parseAndValidate(read(join(dir, f), root), AddonRecipeSchema, { file: rel, error })
    if (semver.validRange(recipe.php) === null) throw new ConfigError(`${rel}: php is "${recipe.php}"; accepted: a semver range like ">=8.1 <8.6"`)
    if ('pecl' in recipe.source) checkRepack(rel, recipe.source)
    for (const [i, o] of (recipe.overrides ?? []).entries()) {
      if (o.when.php !== undefined && semver.validRange(o.when.php) === null) throw new ConfigError(`${rel}: overrides[${i}].when.php is "${o.when.php}"; accepted: a semver range like ">=8.4"`)
    }
    out[name] = recipe
  }
  const known = Object.keys(out).sort().join(', ')
  for (const [name, r] of Object.entries(out)) {
    for (const req of r.requires ?? []) {
      if (!out[req]) throw new ConfigError(`recipes/ext/${name}.yaml: requires names unknown extension "${req}"; accepted: ${known}`)
    }
    for (const lib of r.libraries ?? []) {
      if (!libs[lib]) throw new ConfigError(`recipes/ext/${name}.yaml: libraries names "${lib}", which has no recipes/lib/${lib}.yaml; accepted: ${Object.keys(libs).sort().join(', ') || '(no library recipes)'}`)
      if (out[lib]) throw new ConfigError(`recipes/lib/${lib}.yaml: "${lib}" is also an extension in recipes/ext; accepted: a library name no extension has`)
    }
    for (const req of r.baseRequires ?? []) {
      if (!php.extensions[req]) throw new ConfigError(`recipes/ext/${name}.yaml: baseRequires names "${req}", which is not in recipes/php.yaml; accepted: ${Object.keys(php.extensions).sort().join(', ')}`)
    }
    const needed = new Set([name, ...(r.requires ?? []), ...(r.baseRequires ?? [])])
    for (const c of r.conflicts ?? []) {
      if (needed.has(c)) throw new ConfigError(`recipes/ext/${name}.yaml: conflicts names "${c}", which it is or needs; accepted: extensions it must not be loaded with`)
    }
  }
  return out
}

function checkVersions(file: string, v: VersionsFile): void {
  for (const [minor, info] of Object.entries(v.php)) {
    // Date.parse rolls 2026-02-30 over into March; a real date survives the round trip unchanged.
    const eol = info.endOfLife === undefined ? undefined : new Date(info.endOfLife + 'T00:00:00Z')
    if (eol && (Number.isNaN(eol.getTime()) || eol.toISOString().slice(0, 10) !== info.endOfLife)) {
      throw new ConfigError(`${file}: php."${minor}".endOfLife is "${info.endOfLife}", not a real date; accepted: a date like "2026-12-31"`)
    }
    const seen = new Set<string>()
    info.releases.forEach((r, i) => {
      const at = `php."${minor}".releases[${i}]`
      if (!r.version.startsWith(minor + '.')) {
        throw new ConfigError(`${file}: ${at}.version is ${r.version}; accepted: a ${minor}.x version under the "${minor}" key`)
      }
      if (seen.has(r.version)) throw new ConfigError(`${file}: ${at}.version ${r.version} is listed twice; accepted: each version once`)
      seen.add(r.version)
      if (i > 0 && compareDesc(r.version, info.releases[i - 1]!.version) < 0) {
        throw new ConfigError(`${file}: ${at}.version ${r.version} is newer than the entry before it; accepted: releases newest first`)
      }
    })
  }
}

function checkRecipe(file: string, php: PhpRecipe): void {
  const names = new Set(Object.keys(php.extensions))
  const known = [...names].sort().join(', ')
  for (const [name, ext] of Object.entries(php.extensions)) {
    const lists = [ext.requires ?? [], ...(ext.overrides ?? []).map((o) => o.set.requires ?? [])]
    for (const req of lists.flat()) {
      if (!names.has(req)) throw new ConfigError(`${file}: extensions.${name}.requires names unknown extension "${req}"; accepted: ${known}`)
    }
    for (const [i, o] of (ext.overrides ?? []).entries()) {
      if (o.when.php !== undefined && semver.validRange(o.when.php) === null) {
        throw new ConfigError(`${file}: extensions.${name}.overrides[${i}].when.php is "${o.when.php}"; accepted: a semver range like ">=8.4"`)
      }
    }
  }
  for (const req of php.runtimeRequires) {
    if (!names.has(req)) throw new ConfigError(`${file}: runtimeRequires names unknown extension "${req}"; accepted: ${known}`)
  }
}
