// `npm run bench -- size [zip…]`: per layer, zipped and unzipped bytes, the ten largest files, what each shared
// extension costs (its .so and the bundled libraries only it needs) and what the executables' libraries cost. Without
// arguments: the default layer the tests build (test/support/layer.ts), if it is there.
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { isElf, readElf } from '../../builder/artifact/elf.ts'
import { readZip } from '../../builder/artifact/zip-read.ts'
import { sizeReport } from '../../builder/artifact/size.ts'
import { BenchFailed, benchArgs } from './args.ts'
import { builtTestLayerZips } from '../support/layer.ts'

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`

export default async function bench(args: string[]): Promise<void> {
  const { positionals } = benchArgs('size', args, {}, { max: 20, usage: '[layer.zip …]' })
  const zips = positionals.length ? positionals : builtTestLayerZips()
  if (!zips.length) throw new BenchFailed('no layer zip given and none built by the tests yet; accepted: npm run bench -- size <layer.zip …>')
  for (const zip of zips) {
    if (!existsSync(zip)) throw new BenchFailed(`${zip}: no such file; accepted: paths to layer zips`)
    const entries = await readZip(zip)
    const r = sizeReport(entries.filter((e) => !e.path.endsWith('/')).map((e) => ({ path: e.path, bytes: e.data.length, needed: isElf(e.data) ? readElf(e.data).needed : [] })))
    console.log(`${zip}\n  ${mb(statSync(zip).size)} zipped, ${mb(r.unzippedBytes)} unzipped`)
    console.log('  largest files:')
    for (const f of r.largest) console.log(`    ${mb(f.bytes).padStart(9)}  ${f.path}`)
    console.log(`  lib/ reached from bin/ (libphp.so, the core with the static extensions, and the libraries it links): ${mb(r.coreLibraryBytes)}`)
    console.log('  shared extensions (own .so + libraries only they need):')
    for (const e of r.extensions) console.log(`    ${mb(e.totalBytes).padStart(9)}  ${e.extension}${e.onlyItsLibraries.length ? ` (with ${e.onlyItsLibraries.join(', ')})` : ''}`)
  }
}
