import t from 'tap'
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
import yauzl from 'yauzl'
import { collectTree, writeZip } from '../../builder/assemble/zip.ts'
import { scratch } from '../support/cc.ts'

function listZip(path: string): Promise<Array<{ name: string; mode: number; time: string }>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err)
      const out: Array<{ name: string; mode: number; time: string }> = []
      zip.on('entry', (e: yauzl.Entry) => {
        out.push({ name: e.fileName, mode: (e.externalFileAttributes >>> 16) & 0xffff, time: `${e.lastModFileDate}/${e.lastModFileTime}` })
        zip.readEntry()
      })
      zip.on('end', () => resolve(out))
      zip.readEntry()
    })
  })
}

function tree(): string {
  const d = scratch('zip-')
  mkdirSync(join(d, 'bin'))
  mkdirSync(join(d, 'lib'))
  writeFileSync(join(d, 'bootstrap'), '#!/bin/sh\n')
  chmodSync(join(d, 'bootstrap'), 0o700)
  writeFileSync(join(d, 'bin', 'tool'), 'x')
  chmodSync(join(d, 'bin', 'tool'), 0o775)
  writeFileSync(join(d, 'lib', 'libz.so.1.2'), 'z'.repeat(1000))
  chmodSync(join(d, 'lib', 'libz.so.1.2'), 0o600)
  symlinkSync('libz.so.1.2', join(d, 'lib', 'libz.so.1'))
  return d
}

t.test('same tree, same bytes, whatever the order, umask and time zone', async (t) => {
  const out = scratch('zipout-')
  const a = tree()
  await writeZip(collectTree(a), join(out, 'a.zip'))
  const b = tree()
  const entries = collectTree(b).reverse()
  process.env.TZ = 'Pacific/Auckland'
  await writeZip(entries, join(out, 'b.zip'))
  process.env.TZ = 'UTC'
  t.ok(readFileSync(join(out, 'a.zip')).equals(readFileSync(join(out, 'b.zip'))), 'byte-identical')
})

t.test('exec bits, symlinks, sorted names and one fixed time survive', async (t) => {
  const out = scratch('zipout-')
  await writeZip(collectTree(tree()), join(out, 'l.zip'))
  const list = await listZip(join(out, 'l.zip'))
  t.same(list.map((e) => e.name), ['bin/tool', 'bootstrap', 'lib/libz.so.1', 'lib/libz.so.1.2'])
  const mode = Object.fromEntries(list.map((e) => [e.name, e.mode.toString(8)]))
  t.equal(mode['bootstrap'], '100755')
  t.equal(mode['bin/tool'], '100755')
  t.equal(mode['lib/libz.so.1.2'], '100644')
  t.equal(mode['lib/libz.so.1'], '120777')
  t.equal(new Set(list.map((e) => e.time)).size, 1)
})

t.test('no temp file is left behind', async (t) => {
  const out = scratch('zipout-')
  await writeZip(collectTree(tree()), join(out, 'x.zip'))
  const { readdirSync } = await import('node:fs')
  t.same(readdirSync(out), ['x.zip'])
})
