// Adds releases to versions.yaml as a minimal diff: the new entries are spliced in as text just above the minor's
// newest listed release, so comments, order, quoting and line wrapping elsewhere stay byte-for-byte. The `yaml`
// Document API locates the spot (node ranges) and re-reads the result to prove that exactly the new entries were
// added; anything else is refused. Pure: text in, text out.
import { isMap, isSeq, parseDocument, type Document } from 'yaml'
import { ConfigError } from '../errors.ts'
import type { PhpRelease } from '../config/types.ts'

export interface NewRelease extends PhpRelease {
  minor: string
}

function parse(text: string, name: string): Document {
  const doc = parseDocument(text)
  if (doc.errors.length) throw new ConfigError(`${name}: ${doc.errors[0]!.message.split('\n')[0]}`, 'Fix the file before adding releases.')
  return doc
}

function render(r: PhpRelease, indent: string): string {
  const pad = indent + '  '
  return `${indent}- version: ${r.version}\n${pad}sha256: ${r.sha256}\n${pad}url: ${r.url}\n${pad}signature: ${r.signature}\n`
}

/** Returns the new text with each release inserted newest-first at the top of its minor's list. */
export function addReleases(text: string, add: NewRelease[], name = 'versions.yaml'): string {
  const doc = parse(text, name)
  const byMinor = new Map<string, NewRelease[]>()
  for (const r of add) byMinor.set(r.minor, [...(byMinor.get(r.minor) ?? []), r])
  // Splice from the end of the file backwards so earlier offsets stay valid.
  const spots: Array<{ at: number; insert: string }> = []
  for (const [minor, list] of byMinor) {
    const seq = doc.getIn(['php', minor, 'releases'], true)
    if (!isSeq(seq) || !seq.items.length || !isMap(seq.items[0]) || !seq.items[0].range) {
      throw new ConfigError(`${name}: php."${minor}".releases is not a non-empty block list`, 'Add the minor by hand first (with its signers).')
    }
    if (seq.flow) throw new ConfigError(`${name}: php."${minor}".releases is a flow list; the checker only edits block lists`)
    const itemStart = seq.items[0].range[0]
    const lineStart = text.lastIndexOf('\n', itemStart - 1) + 1
    const dash = text.slice(lineStart, itemStart)
    const m = /^( *)- *$/.exec(dash)
    if (!m) throw new ConfigError(`${name}: php."${minor}".releases[0] does not start its own "- " line`)
    const sorted = [...list].sort((a, b) => (a.version === b.version ? 0 : compareVersions(b.version, a.version)))
    spots.push({ at: lineStart, insert: sorted.map((r) => render(r, m[1]!)).join('') })
  }
  spots.sort((a, b) => b.at - a.at)
  let out = text
  for (const s of spots) out = out.slice(0, s.at) + s.insert + out.slice(s.at)

  // Prove the edit: the result parses, and equals the old data with exactly these entries prepended.
  const expected = doc.toJS() as { php: Record<string, { releases: PhpRelease[] }> }
  for (const [minor, list] of byMinor) {
    const sorted = [...list].sort((a, b) => compareVersions(b.version, a.version))
    expected.php[minor]!.releases.unshift(...sorted.map(({ version, sha256, url, signature }) => ({ version, sha256, url, signature })))
  }
  const got = parse(out, name).toJS()
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    throw new ConfigError(`${name}: inserting ${add.map((r) => r.version).join(', ')} would change more than those entries; nothing was written`)
  }
  return out
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}
