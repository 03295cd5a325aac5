import t from 'tap'
import { checkShape } from '../../builder/smoke/events.ts'
import { CA_BUNDLE_PATH, LAMBDA_LD_LIBRARY_PATH, sandboxArgv } from '../../builder/smoke/sandbox.ts'
import { mergeLayers, modules } from '../../builder/smoke/smoke.ts'
import { expectationsFor } from '../../builder/smoke/expectations.ts'

t.test('php -m parsing keeps the PHP Modules section only', async (t) => {
  const out = '[PHP Modules]\nCore\nZend OPcache\ndate\n\n[Zend Modules]\nZend OPcache\n\n'
  t.same(modules(out), ['Core', 'Zend OPcache', 'date'])
})

t.test('the sandbox mounts the layer and the function read-only and sets Lambda\'s environment', async (t) => {
  const argv = sandboxArgv({ layerDir: '/L', taskDir: '/T', baseLibDir: '/B', gnuTriplet: 'x86_64-linux-gnu', caBundle: '/ca.pem', env: { _HANDLER: 'x.php' } }, ['/opt/bin/php', '-v'])
  const s = argv.join(' ')
  t.equal(argv[0], 'bwrap')
  t.match(s, '--ro-bind /L /opt')
  t.match(s, '--ro-bind /T /var/task')
  t.match(s, '--tmpfs /tmp')
  t.match(s, '--ro-bind /B /usr/lib64')
  t.match(s, '--ro-bind /B /usr/lib/x86_64-linux-gnu')
  t.match(s, `--ro-bind /ca.pem ${CA_BUNDLE_PATH}`)
  t.match(s, '--uid 993')
  t.match(s, '--clearenv')
  t.match(s, `--setenv LD_LIBRARY_PATH ${LAMBDA_LD_LIBRARY_PATH}`)
  t.match(s, '--setenv _HANDLER x.php')
  t.same(argv.slice(-3), ['--', '/opt/bin/php', '-v'])
  t.ok(LAMBDA_LD_LIBRARY_PATH.indexOf('/lib64') < LAMBDA_LD_LIBRARY_PATH.indexOf('/opt/lib'), 'base before layer, as on Lambda')
  const noCa = sandboxArgv({ layerDir: '/L', taskDir: '/T', baseLibDir: '/B', gnuTriplet: 'x86_64-linux-gnu' }, ['true']).join(' ')
  t.notMatch(noCa, CA_BUNDLE_PATH)
})

t.test('response shapes per source', async (t) => {
  const body = JSON.stringify({ method: 'GET' })
  const rest = { httpMethod: 'GET' }
  const v2 = { requestContext: { http: { method: 'GET' } } }
  t.doesNotThrow(() => checkShape('rest', rest, { statusCode: 200, body, multiValueHeaders: { 'X-Smoke': ['a', 'b'] } }))
  t.throws(() => checkShape('rest', rest, { statusCode: 200, body, statusDescription: '200 OK', multiValueHeaders: { 'X-Smoke': ['a'] } }), /must not carry statusDescription/)
  t.doesNotThrow(() => checkShape('http', v2, { statusCode: 200, body, cookies: ['smoke=1'], headers: {} }))
  t.throws(() => checkShape('http', v2, { statusCode: 200, body, headers: { 'set-cookie': 'smoke=1' } }), /cookie not in cookies/)
  t.doesNotThrow(() => checkShape('alb', rest, { statusCode: 200, statusDescription: '200 OK', body, headers: { 'content-type': 'application/json' } }))
  t.throws(() => checkShape('alb', rest, { statusCode: 200, body, headers: {} }), /statusDescription/)
  t.throws(() => checkShape('alb-multi', rest, { statusCode: 200, statusDescription: '200 OK', body, headers: {} }), /without multiValueHeaders/)
  t.throws(() => checkShape('rest', { httpMethod: 'POST' }, { statusCode: 200, body, multiValueHeaders: { 'X-Smoke': ['a'] } }), /PHP saw method GET/)
})

t.test('stacking layers as Lambda merges them: shared files must be identical', async (t) => {
  const file = (path: string, text: string) => ({ path, mode: 0o100644, size: text.length, data: Buffer.from(text) })
  const base = { name: 'php-82.zip', entries: [file('bin/php', 'php'), file('php/etc/conf.d/40-igbinary.ini', 'extension=igbinary\n')] }
  const addon = { name: 'php-82-redis.zip', entries: [file('php/etc/conf.d/40-igbinary.ini', 'extension=igbinary\n'), file('php/extensions/redis.so', 'so')] }
  t.same(mergeLayers([base, addon]).map((e) => e.path).sort(), ['bin/php', 'php/etc/conf.d/40-igbinary.ini', 'php/extensions/redis.so'])
  const clash = { name: 'php-82-evil.zip', entries: [file('bin/php', 'not php')] }
  t.throws(() => mergeLayers([base, clash]), { name: 'SmokeError', message: /^php-82-evil\.zip and php-82\.zip both have bin\/php, with different contents/ })
})

t.test('an add-on zip alone is known by its own manifest, and marked as an add-on', async (t) => {
  const manifest = {
    schema: 2, layerName: 'php-82-apcu', php: { version: '8.2.32', minor: '8.2' }, arch: 'x86_64',
    base: { name: 'provided.al2023', image: 'i', glibc: '2.34', runtime: 'provided.al2023', libraries: [], notOnLambdaHost: [], gconvModules: [] },
    target: { gnuTriplet: 'x86_64-linux-gnu', elfMachine: 62 }, executor: 'host', buildId: 'a'.repeat(32), modules: ['Core', 'apcu'],
    extensions: [{ name: 'apcu', module: 'apcu', shared: true, enabled: true, zend: false, probe: { code: 'echo 1;', expect: '1' } }],
    libraries: [], sources: [], configureFlags: [], maxGlibc: '2.34', unzippedBytes: 1, license: 'x', toolchain: {},
    addon: { name: 'apcu', description: 'd', extensions: [{ name: 'apcu', version: '5.1.24' }], devOnly: false, base: { layerName: 'php-82', artifact: 'php-82-8.2.32-x86_64', buildId: 'b'.repeat(32), phpApi: '20220829' } },
  }
  const entries = [{ path: 'php/addons/apcu.json', mode: 0o100644, size: 1, data: Buffer.from(JSON.stringify(manifest)) }]
  const e = expectationsFor('/nowhere/php-82-apcu.zip', 'c'.repeat(64), entries, () => { throw new Error('no base needed') }, () => {})
  t.equal(e.source, 'layer manifest')
  t.equal(e.addon?.base.artifact, 'php-82-8.2.32-x86_64')
  t.same(e.modules, ['Core', 'apcu'])
})
