import t from 'tap'
import { checkShape } from '../../builder/smoke/events.ts'
import { CA_BUNDLE_PATH, LAMBDA_LD_LIBRARY_PATH, sandboxArgv } from '../../builder/smoke/sandbox.ts'
import { modules } from '../../builder/smoke/smoke.ts'

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
