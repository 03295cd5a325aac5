// What `npm run snippets` does: read layers.json and versions.yaml, render, then print or write the files.
import { mkdir, readFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { loadConfig } from '../config/load.ts'
import { ARCHS, type Arch } from '../config/types.ts'
import { UsageError } from '../errors.ts'
import { PROJECT_ROOT, processIo, type Io } from '../publish/actions.ts'
import { writeFileAtomic } from '../artifact/atomic.ts'
import { readLayersFile } from '../publish/layers-file.ts'
import type { SnippetsOptions } from './command.ts'
import { renderReadmeSection, replaceReadmeSection } from './readme.ts'
import { renderSnippets } from './render.ts'
import { resolveTarget } from './target.ts'
import { TOOLS, type Tool } from './types.ts'

export function parseTools(value: string): Tool[] {
  if (value.trim() === 'all') return [...TOOLS]
  const tools = value.split(',').map((s) => s.trim()).filter(Boolean)
  const bad = tools.find((tool) => !(TOOLS as readonly string[]).includes(tool))
  if (bad !== undefined || tools.length === 0) throw new UsageError(`--tool is "${value}"; accepted: all, or a comma-separated list of ${TOOLS.join(', ')}`)
  return [...new Set(tools)] as Tool[]
}

export async function snippetsAction(opts: SnippetsOptions & { root?: string }, io: Io = processIo): Promise<void> {
  const root = resolve(opts.root ?? PROJECT_ROOT)
  const layersPath = opts.layersFile === undefined ? join(root, 'layers.json') : resolve(opts.layersFile)
  if (opts.readme === true || opts.write !== undefined) return readmeAction(layersPath, opts.write, io)
  if (opts.php === undefined) throw new UsageError('snippets needs --php (or --readme)', 'Example: npm run snippets -- --php 8.4 --arch arm64 --region eu-west-1')
  const arch = opts.arch as Arch
  if (!ARCHS.includes(arch)) throw new UsageError(`--arch is "${opts.arch}"; accepted: ${ARCHS.join(', ')}`)
  const tools = parseTools(opts.tool)
  const config = loadConfig({ root })
  const layers = await readLayersFile(layersPath)
  const target = resolveTarget(config.versions, layers, {
    php: opts.php,
    arch,
    ...(opts.region !== undefined ? { region: opts.region } : {}),
    ...(opts.handler !== undefined ? { handler: opts.handler } : {}),
    ...(opts.name !== undefined ? { functionName: opts.name } : {}),
    ...(opts.layerName !== undefined ? { layerName: opts.layerName } : {}),
  })
  const files = renderSnippets(target, tools)
  if (opts.out === undefined) {
    io.out(files.map((f) => `==> ${f.path} <==\n${f.text}`).join('\n'))
    return
  }
  const out = resolve(opts.out)
  for (const f of files) {
    const path = join(out, f.path)
    await mkdir(dirname(path), { recursive: true })
    await writeFileAtomic(path, f.text)
  }
  io.err(`${files.length} files for ${target.layerName} (${Object.keys(target.arns).join(', ')}) written under ${opts.out}: ${files.map((f) => f.path).join(', ')}\n`)
}

async function readmeAction(layersPath: string, write: string | undefined, io: Io): Promise<void> {
  const section = renderReadmeSection(await readLayersFile(layersPath))
  if (write === undefined) {
    io.out(section)
    return
  }
  const target = resolve(write)
  let current: string
  try {
    current = await readFile(target, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read ${write} (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
  const updated = replaceReadmeSection(current, section, basename(target))
  if (updated !== current) await writeFileAtomic(target, updated)
  io.err(`${write}: "Use the layers" example ${updated === current ? 'already up to date' : 'updated'}\n`)
}
