// Where a layer's bytes go (builder/artifact/size.ts): libraries are charged to a shared extension only when nothing
// else in the layer reaches them.
import t from 'tap'
import { sizeReport } from '../../builder/artifact/size.ts'

t.test('an extension is charged for the libraries only it reaches, transitively; shared ones go to the core', async (t) => {
  const r = sizeReport([
    { path: 'bin/php', bytes: 1000, needed: ['libxml2.so.2', 'libc.so.6'] },
    { path: 'bin/php-cgi', bytes: 1000, needed: ['libxml2.so.2'] },
    { path: 'lib/libxml2.so.2', bytes: 300, needed: ['libz.so.1'] },
    { path: 'lib/libz.so.1', bytes: 50, needed: [] },
    { path: 'lib/libicuuc.so.72', bytes: 400, needed: ['libicudata.so.72'] },
    { path: 'lib/libicudata.so.72', bytes: 3000, needed: [] },
    { path: 'lib/libicui18n.so.72', bytes: 500, needed: ['libicuuc.so.72'] },
    { path: 'php/extensions/intl.so', bytes: 60, needed: ['libicui18n.so.72', 'libicuuc.so.72'] },
    // soap needs libxml2, which the executables already bring: it costs only its own bytes.
    { path: 'php/extensions/soap.so', bytes: 30, needed: ['libxml2.so.2'] },
    { path: 'php/runtime/Runtime.php', bytes: 5, needed: [] },
  ], 3)
  t.equal(r.unzippedBytes, 6345)
  t.same(r.largest, [{ path: 'lib/libicudata.so.72', bytes: 3000 }, { path: 'bin/php', bytes: 1000 }, { path: 'bin/php-cgi', bytes: 1000 }])
  t.same(r.extensions, [
    { extension: 'intl', ownBytes: 60, onlyItsLibraries: ['libicudata.so.72', 'libicui18n.so.72', 'libicuuc.so.72'], totalBytes: 3960 },
    { extension: 'soap', ownBytes: 30, onlyItsLibraries: [], totalBytes: 30 },
  ])
  t.equal(r.coreLibraryBytes, 350, 'libxml2 and, through it, zlib')
})

t.test('a library two extensions share is charged to neither', async (t) => {
  const r = sizeReport([
    { path: 'bin/php', bytes: 10, needed: [] },
    { path: 'lib/libshared.so.1', bytes: 100, needed: [] },
    { path: 'php/extensions/a.so', bytes: 1, needed: ['libshared.so.1'] },
    { path: 'php/extensions/b.so', bytes: 2, needed: ['libshared.so.1'] },
  ])
  t.same(r.extensions.map((e) => [e.extension, e.totalBytes]), [['b', 2], ['a', 1]])
  t.equal(r.coreLibraryBytes, 0)
})
