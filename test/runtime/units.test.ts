// The runtime's PHP pieces one at a time (URL rebuilding, CGI response parsing, body encoding,
// FastCGI framing, script resolution, event detection), run by the same `php -n` the bootstrap
// uses; plus a check that the runtime calls only functions of the extensions every layer has.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { createServer, type AddressInfo } from 'node:net'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mimeTablePhp } from '../../builder/assemble/runtime-files.ts'
import { findPhpBinaries, fixtureEvents, repoRoot } from '../support/php.ts'

const php = findPhpBinaries()
const runtimeSrc = join(repoRoot, 'runtime/src')

/** Runs `body` (PHP statements ending in a return) with the runtime loaded; $input holds `input`. */
function runPhp(body: string, input: unknown = null, noIni = true): unknown {
  const code = `
    require ${JSON.stringify(join(runtimeSrc, 'load.php'))};
    use PhpLambda\\Runtime\\{Url, CgiResponse, BodyEncoding, HttpResponse, FastCgi, FastCgiReader, Router, ScriptRoute, StaticRoute, DirectoryRedirect, StaticFiles, WarmUp, CgiParams, Invocation, EventSources, InvocationFailure};
    $input = json_decode(stream_get_contents(STDIN), true);
    $result = (function ($input) { ${body} })($input);
    echo json_encode($result, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE);
  `
  const args = noIni ? ['-n', '-d', 'display_errors=stderr', '-d', 'error_reporting=-1', '-r', code] : ['-r', code]
  const run = spawnSync(php.php, args, { input: JSON.stringify(input), encoding: 'utf8' })
  if (run.status !== 0 || run.stderr) throw new Error(`php failed (${run.status}): ${run.stderr}${run.stdout}`)
  return JSON.parse(run.stdout) as unknown
}

t.test('URL paths and queries come out valid and decoded exactly once by PHP', async (t) => {
  t.same(runPhp(`return array_map(fn ($p) => Url::path($p), $input);`, ['/a b', '/already%20encoded', '/100%', 'noslash', '/ü', '/a+b;c=d@e:f']), [
    '/a%20b', '/already%20encoded', '/100%25', '/noslash', '/%C3%BC', '/a+b;c=d@e:f',
  ])
  t.same(runPhp(`return array_map(fn ($q) => Url::query($q), $input);`, ['a=b c', 'x=%zz', 'p=1+2&q=%2B', 'k=v#frag']), [
    'a=b%20c', 'x=%25zz', 'p=1+2&q=%2B', 'k=v%23frag',
  ])
  t.equal(
    runPhp(`return Url::buildQuery($input, false);`, { 'a.b': ['1'], 'k[]': ['x', 'y'], sp: ['a b&c=d'], plus: ['1+1'], empty: [''] }),
    'a.b=1&k%5B%5D=x&k%5B%5D=y&sp=a%20b%26c%3Dd&plus=1%2B1&empty=',
    'decoded values (API Gateway REST) are encoded, repeated keys and dotted keys kept',
  )
  t.equal(
    runPhp(`return Url::buildQuery($input, true);`, { g: 'hello%20world', eq: ['a=b'], raw: ['a b'], plus: ['a+b'] }),
    'g=hello%20world&eq=a%3Db&raw=a%20b&plus=a+b',
    'values already in wire form (ALB) keep their escapes',
  )
})

t.test('CGI responses: Status header, Location, repeated headers, both line endings', async (t) => {
  const parse = `try { $r = CgiResponse::parse($input); return [$r->status, $r->reason, $r->headers, $r->body]; } catch (InvocationFailure $e) { return [$e->errorType, $e->getMessage()]; }`
  t.same(runPhp(parse, 'Status: 404 Not Found\r\nX-A: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nbody\r\n\r\nmore'), [
    404, 'Not Found', [['x-a', '1'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']], 'body\r\n\r\nmore',
  ])
  t.same(runPhp(parse, 'Location: /elsewhere\r\n\r\n'), [302, 'Found', [['location', '/elsewhere']], ''])
  t.same(runPhp(parse, 'Status: 201\nContent-Type: text/plain\n\nunix'), [201, 'Created', [['content-type', 'text/plain']], 'unix'])
  t.same(runPhp(parse, 'Status: 299\r\n\r\n'), [299, 'Unknown', [], ''])
  t.same(runPhp(parse, 'Status: 418 Custom Reason\r\nX-Weird:no-space\r\n\r\n'), [418, 'Custom Reason', [['x-weird', 'no-space']], ''])
  t.match(runPhp(parse, 'no header block at all'), ['Runtime.InvalidCgiResponse', /without a CGI header block/])
})

t.test('CGI responses: exactly the header block, which may be empty', async (t) => {
  const parse = `try { $r = CgiResponse::parse($input); return [$r->status, $r->headers, $r->body]; } catch (InvocationFailure $e) { return [$e->errorType, $e->getMessage()]; }`
  t.same(runPhp(parse, '\r\nName: value\n\nrest'), [200, [], 'Name: value\n\nrest'], 'an empty header block (CRLF) is accepted, and body lines stay body')
  t.same(runPhp(parse, '\nName: value\r\n\r\nrest'), [200, [], 'Name: value\r\n\r\nrest'], 'an empty header block (LF) too')
  t.same(runPhp(parse, 'Content-Type: text/plain\r\n\r\nX-Not-A-Header: 1\n\nbody'), [200, [['content-type', 'text/plain']], 'X-Not-A-Header: 1\n\nbody'])
  t.same(runPhp(parse, 'Content-Type: text/plain\nX-A: 1\n\nFoo: bar\r\n\r\n'), [200, [['content-type', 'text/plain'], ['x-a', '1']], 'Foo: bar\r\n\r\n'], 'LF header block, body with CRLF lines')
  t.same(runPhp(parse, 'Status: 204\r\n\r\n'), [204, [], ''])
  t.match(runPhp(parse, 'Content-Type: text/plain\r\nno colon here\r\n\r\n'), ['Runtime.InvalidCgiResponse', /malformed CGI header line/])
  t.match(runPhp(parse, 'Content-Type: text/plain\r\n'), ['Runtime.InvalidCgiResponse', /without a CGI header block/], 'a header block that never ends')
})

t.test('CGI params: header names of any characters, CONTENT_LENGTH whenever the request had one', async (t) => {
  const build = `
    $event = $input;
    $source = EventSources::detect($event);
    $request = $source->toRequest($event);
    $p = (new CgiParams('/var/task/public'))->build($request, new Invocation('id', 0, 'arn', null, null, null, ''), new ScriptRoute('/index.php', ''));
    return array_intersect_key($p, array_flip(['HTTP_12345', 'HTTP_X_OK', 'HTTP_0', 'CONTENT_LENGTH', 'CONTENT_TYPE', 'HTTP_X_UNDER_SCORE', 'HTTP_X_DOT']));
  `
  const event = (headers: Record<string, string>, method = 'GET', body: string | null = null) => ({
    version: '2.0', rawPath: '/', rawQueryString: '', headers, body, isBase64Encoded: false,
    requestContext: { http: { method, path: '/', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1' }, domainName: 'example.com' },
  })
  t.same(runPhp(build, event({ '12345': 'digits', '0': 'zero', 'x-ok': 'yes', x_under_score: 'no', 'x.dot': 'no' })), {
    CONTENT_TYPE: '', CONTENT_LENGTH: '', HTTP_12345: 'digits', HTTP_0: 'zero', HTTP_X_OK: 'yes',
  }, 'all-digit names become HTTP_12345; names with "_" or "." are dropped, as nginx drops them')
  t.same(runPhp(build, event({ 'content-length': '0' })), { CONTENT_TYPE: '', CONTENT_LENGTH: '0' }, 'Content-Length: 0 on a GET is passed on')
  t.same(runPhp(build, event({ 'content-type': 'text/plain' }, 'POST', 'abc')), { CONTENT_TYPE: 'text/plain', CONTENT_LENGTH: '3' })
})

t.test('warm-up pings are recognised without looking like HTTP events', async (t) => {
  t.same(runPhp(`return array_map(fn ($e) => WarmUp::isPing($e), $input);`, [{ warmer: true }, { warmer: true, concurrency: 3 }, { source: 'serverless-plugin-warmup' }, { warmer: 'yes' }, { httpMethod: 'GET' }, []]), [true, true, true, false, false, false])
})

t.test('static files: media types from the generated mime-db table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mime-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'mime-types.php'), mimeTablePhp())
  const files = ['a.png', 'b.CSS', 'c.js', 'd.mjs', 'e.woff2', 'f.svg', 'g.json', 'h.webp', 'i.wasm', 'j.txt', 'k.html', 'l.unknownext', 'noextension', 'm.pdf', 'n.mp4']
  t.same(
    runPhp(`$s = new StaticFiles($input[0], null, 6291556); return array_map(fn ($f) => $s->type($f), $input[1]);`, [join(dir, 'mime-types.php'), files]),
    ['image/png', 'text/css', 'text/javascript', 'text/javascript', 'font/woff2', 'image/svg+xml', 'application/json', 'image/webp', 'application/wasm', 'text/plain', 'text/html', 'application/octet-stream', 'application/octet-stream', 'application/pdf', 'video/mp4'],
  )
  const table = mimeTablePhp()
  t.ok(table.split('\n').length > 1000, 'the whole database, not a hand-picked list')
  t.equal(mimeTablePhp(), table, 'generated the same way every time (deterministic layer bytes)')
})

t.test('response bodies: text stays text, everything else is base64', async (t) => {
  const types = ['text/html; charset=UTF-8', 'application/json', 'application/vnd.api+json', 'application/xml', 'image/svg+xml', '', 'image/png', 'application/octet-stream', 'application/pdf', 'font/woff2']
  t.same(runPhp(`return array_map(fn ($type) => BodyEncoding::isTextType($type), $input);`, types), [true, true, true, true, true, true, false, false, false, false])
  t.same(
    runPhp(`return [
      BodyEncoding::isBinary(new HttpResponse(200, 'OK', [['content-type', 'text/plain']], 'plain')),
      BodyEncoding::isBinary(new HttpResponse(200, 'OK', [['content-type', 'text/plain'], ['content-encoding', 'gzip']], 'x')),
      BodyEncoding::isBinary(new HttpResponse(200, 'OK', [['content-type', 'text/plain']], "\\xff\\xfe not utf-8")),
    ];`),
    [false, true, true],
    'compressed or invalid UTF-8 bodies are binary whatever the type says',
  )
})

t.test('FastCGI framing: name-value pairs and records split anywhere', async (t) => {
  t.same(
    runPhp(`
      $pairs = ['A' => '1', str_repeat('n', 200) => str_repeat('v', 70000), 'EMPTY' => ''];
      $decoded = FastCgi::decodePairs(FastCgi::encodePairs($pairs));
      return [$decoded === $pairs, strlen(FastCgi::encodePairs(['A' => '1']))];
    `),
    [true, 4],
  )
  t.same(
    runPhp(`return bin2hex(substr(FastCgi::encodePairs(['A' => str_repeat('v', 127), 'B' => str_repeat('v', 128)]), 0, 5)) . ' ' . bin2hex(substr(FastCgi::encodePairs(['B' => str_repeat('v', 128)]), 0, 6));`),
    '017f417676 018000008042',
    'lengths up to 127 take one byte, longer ones four with the high bit set (FastCGI 1.0, 3.4)',
  )
  t.same(
    runPhp(`
      $stdout = str_repeat('x', 70000);
      $wire = FastCgi::stream(FastCgi::STDOUT, 1, "Status: 200\\r\\n\\r\\n" . $stdout)
        . FastCgi::record(FastCgi::STDERR, 1, "warning\\n")
        . FastCgi::record(FastCgi::END_REQUEST, 1, pack('NCx3', 0, 0));
      $logged = '';
      $reader = new FastCgiReader(1 << 20, function (string $s) use (&$logged) { $logged .= $s; }, false);
      $result = null;
      foreach (str_split($wire, 7) as $piece) {
        $result ??= $reader->feed($piece);
      }
      $small = new FastCgiReader(100, null, false);
      $capped = $small->feed($wire);
      return [strlen($result->stdout), $result->stdoutBytes, $result->stdoutTruncated, $logged, $capped->stdoutTruncated, strlen($capped->stdout), $capped->stdoutBytes];
    `),
    [70015, 70015, false, 'warning\n', true, 0, 70015],
    'a record split across reads is reassembled; stdout beyond the cap is counted, not kept',
  )
})

t.test('scripts: only existing .php files under the document root run', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'resolver-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const root = join(dir, 'public')
  mkdirSync(join(root, 'sub'), { recursive: true })
  mkdirSync(join(root, 'dir.php'))
  for (const file of ['index.php', 'a.php', 'sub/b.php', 'image.jpg']) writeFileSync(join(root, file), '<?php')
  writeFileSync(join(dir, 'outside.php'), '<?php')
  symlinkSync('/etc/passwd', join(root, 'passwd.php'))
  symlinkSync(join(dir, 'outside.php'), join(root, 'escape.php'))
  symlinkSync(join(root, 'image.jpg'), join(root, 'disguised.php'))
  const paths = ['/', '/a.php', '/a.php/x/y', '/sub/b.php', '/sub/b.php/', '/image.jpg', '/image.jpg/a.php', '/dir.php', '/passwd.php', '/escape.php', '/disguised.php', '/sub/../a.php', '/nothere.php/a.php', '/a.php\u0000.txt', '/.php']
  const resolved = runPhp(`$r = new Router($input[0], '/index.php', false); return array_map(fn ($p) => ($s = $r->route(rawurlencode($p) === $p ? $p : implode('/', array_map('rawurlencode', explode('/', $p))), '')) instanceof ScriptRoute ? [$s->scriptName, $s->pathInfo] : get_class($s), $input[1]);`, [root, paths]) as string[][]
  t.same(Object.fromEntries(paths.map((p, i) => [p, resolved[i]])), {
    '/': ['/index.php', ''],
    '/a.php': ['/a.php', ''],
    '/a.php/x/y': ['/a.php', '/x/y'],
    '/sub/b.php': ['/sub/b.php', ''],
    '/sub/b.php/': ['/sub/b.php', '/'],
    '/image.jpg': ['/index.php', ''],
    '/image.jpg/a.php': ['/index.php', ''],
    '/dir.php': ['/index.php', ''],
    '/passwd.php': ['/index.php', ''],
    '/escape.php': ['/index.php', ''],
    '/disguised.php': ['/index.php', ''],
    '/sub/../a.php': ['/index.php', ''],
    '/nothere.php/a.php': ['/index.php', ''],
    '/a.php\u0000.txt': ['/index.php', ''],
    '/.php': ['/index.php', ''],
  })
})

t.test('routing as try_files $uri $uri/ /index.php: static files, directory indexes, redirects, nothing unsafe', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'router-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const root = join(dir, 'public')
  for (const d of ['admin', 'docs', 'assets', 'empty', '.git', '.well-known', 'both']) mkdirSync(join(root, d), { recursive: true })
  for (const f of ['index.php', 'admin/index.php', 'docs/index.html', 'assets/logo.png', 'assets/old.PHP', 'assets/page.phtml', '.env', '.git/config', '.well-known/security.txt', 'both/index.php', 'both/index.html']) writeFileSync(join(root, f), 'x')
  writeFileSync(join(dir, 'secret.txt'), 'outside')
  symlinkSync(join(dir, 'secret.txt'), join(root, 'assets/escape.txt'))
  symlinkSync(join(root, '.env'), join(root, 'assets/env.txt'))
  symlinkSync(join(root, 'assets/logo.png'), join(root, 'assets/alias.png'))
  const paths = ['/', '/admin/', '/admin', '/docs/', '/docs', '/both/', '/empty/', '/empty', '/assets/logo.png', '/assets/logo.png/', '/assets/alias.png', '/assets/old.PHP', '/assets/page.phtml',
    '/.env', '/.git/config', '/.well-known/security.txt', '/assets/escape.txt', '/assets/env.txt', '/assets/../.env', '/nothing.png', '/assets%2Flogo.png', '/ad%6Din/']
  const route = `$r = new Router($input[0], '/index.php', $input[2]); return array_map(function ($p) use ($r, $input) {
    $q = $p === '/admin' ? 'a=1' : '';
    $x = $r->route($p, $q);
    return match (true) { $x instanceof ScriptRoute => 'script ' . $x->scriptName, $x instanceof StaticRoute => 'file ' . substr($x->file, strlen($input[0])), $x instanceof DirectoryRedirect => '301 ' . $x->location };
  }, $input[1]);`
  const on = runPhp(route, [root, paths, true]) as string[]
  t.same(Object.fromEntries(paths.map((p, i) => [p, on[i]])), {
    '/': 'script /index.php',
    '/admin/': 'script /admin/index.php',
    '/admin': '301 /admin/?a=1',
    '/docs/': 'file /docs/index.html',
    '/docs': '301 /docs/',
    '/both/': 'script /both/index.php',
    '/empty/': 'script /index.php',
    '/empty': 'script /index.php',
    '/assets/logo.png': 'file /assets/logo.png',
    '/assets/logo.png/': 'script /index.php',
    '/assets/alias.png': 'file /assets/logo.png',
    '/assets/old.PHP': 'script /index.php',
    '/assets/page.phtml': 'script /index.php',
    '/.env': 'script /index.php',
    '/.git/config': 'script /index.php',
    '/.well-known/security.txt': 'file /.well-known/security.txt',
    '/assets/escape.txt': 'script /index.php',
    '/assets/env.txt': 'script /index.php',
    '/assets/../.env': 'script /index.php',
    '/nothing.png': 'script /index.php',
    '/assets%2Flogo.png': 'file /assets/logo.png',
    '/ad%6Din/': 'script /admin/index.php',
  })
  const off = runPhp(route, [root, paths, false]) as string[]
  t.same(
    paths.filter((_, i) => off[i]!.startsWith('file ')),
    [],
    'with static files off, no file is ever served',
  )
  t.equal(off[paths.indexOf('/admin/')], 'script /admin/index.php', 'directory indexes still run with static files off')
  t.equal(off[paths.indexOf('/docs/')], 'script /index.php', 'an index.html is a static file, so the front controller answers')
  t.same(
    runPhp(`$r = new Router($input, '/app.php', true); return [$r->route('/', '')->scriptName, $r->route('/admin/', '')->scriptName];`, root),
    ['/app.php', '/admin/index.php'],
    '"/" runs the front controller even when the root also has an index.php',
  )
})

t.test('event sources are told apart by their own fields', async (t) => {
  const events: Record<string, unknown> = {}
  for (const file of readdirSync(fixtureEvents)) events[file] = JSON.parse(readFileSync(join(fixtureEvents, file), 'utf8')) as unknown
  const rest = events['apigw-rest-get-multivalue.json'] as Record<string, unknown>
  events['http-api-1.0 (same shape as REST)'] = { ...rest, version: '1.0' }
  events['REST without a stage is not REST'] = { ...rest, requestContext: { elbNot: true } }
  const detected = runPhp(`
    $out = [];
    foreach ($input as $name => $event) {
      try {
        $source = EventSources::detect($event);
        $out[$name] = (new \\ReflectionClass($source))->getShortName() . ' ' . $source->toRequest($event)->source;
      } catch (InvocationFailure $e) {
        $out[$name] = $e->errorType;
      }
    }
    return $out;
  `, events)
  t.same(detected, {
    'alb-multi-value.json': 'AlbSource alb-multi-value',
    'alb-single-value.json': 'AlbSource alb',
    'apigw-rest-get-multivalue.json': 'ApiGatewayV1Source apigateway-rest',
    'apigw-rest-post-base64.json': 'ApiGatewayV1Source apigateway-rest',
    'function-url.json': 'HttpApiV2Source function-url',
    'httpapi-v2-binary-post.json': 'HttpApiV2Source apigateway-http-v2',
    'httpapi-v2-cookies.json': 'HttpApiV2Source apigateway-http-v2',
    'malformed.json': 'Runtime.MalformedEvent',
    'sqs.json': 'Runtime.UnsupportedEvent',
    'http-api-1.0 (same shape as REST)': 'ApiGatewayV1Source apigateway-http-v1',
    'REST without a stage is not REST': 'Runtime.UnsupportedEvent',
  })
})

// The build forces exactly these extensions into every layer; the bootstrap runs with -n.
const ALLOWED_EXTENSIONS = ['Core', 'standard', 'date', 'pcre', 'spl', 'json', 'hash', 'random', 'posix', 'pcntl']
const LANGUAGE_CONSTRUCTS = new Set(['array', 'catch', 'declare', 'die', 'echo', 'elseif', 'empty', 'eval', 'exit', 'fn', 'for', 'foreach', 'function', 'if', 'include', 'include_once', 'isset', 'list', 'match', 'print', 'require', 'require_once', 'return', 'static', 'switch', 'unset', 'use', 'while', 'new', 'parent', 'self', 'and', 'or', 'not'])

t.test('the runtime calls only functions of the extensions every layer has', async (t) => {
  const called = new Set<string>()
  for (const file of readdirSync(runtimeSrc).filter((f) => f.endsWith('.php'))) {
    const source = readFileSync(join(runtimeSrc, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/(^|[^:])\/\/.*$/gm, '$1')
      .replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, "''")
    // A call: a name followed by "(", not a method (->, ::), not a definition or instantiation.
    for (const match of source.matchAll(/(?<![\w$>:])(\\?)([A-Za-z_]\w*)\s*\(/g)) {
      const before = source.slice(Math.max(0, (match.index ?? 0) - 12), match.index).trimEnd()
      const name = (match[2] ?? '').toLowerCase()
      if (/(?:function|new|fn|->|::)$/.test(before) || LANGUAGE_CONSTRUCTS.has(name)) continue
      called.add(name)
    }
  }
  const available = runPhp(`
    $names = [];
    foreach ($input as $extension) {
      if (!extension_loaded($extension)) { return ['missing' => $extension]; }
      foreach (get_extension_funcs($extension) ?: [] as $f) { $names[] = strtolower($f); }
    }
    return $names;
  `, ALLOWED_EXTENSIONS, false)
  if (!Array.isArray(available)) {
    t.fail(`php (${php.php}) lacks an extension every layer has: ${JSON.stringify(available)}; use a PHP with ${ALLOWED_EXTENSIONS.join(', ')}`)
    return
  }
  const allowed = new Set(available as string[])
  const outside = [...called].filter((name) => !allowed.has(name)).sort()
  t.same(outside, [], `functions used by runtime/src that are not in ${ALLOWED_EXTENSIONS.join(', ')}`)
  t.ok(called.size > 50, `found ${called.size} distinct functions to check`)
})

t.test('the Runtime API client reads answers however they are cut up: split heads, chunked bodies, Connection: close', async (t) => {
  const body = JSON.stringify({ hello: 'wörld', pad: 'x'.repeat(20_000) })
  const chunked = (text: string): string => {
    const bytes = Buffer.from(text)
    let out = ''
    for (let i = 0; i < bytes.length; i += 7000) {
      const part = bytes.subarray(i, i + 7000)
      out += `${part.length.toString(16)};ext=1\r\n${part.toString('latin1')}\r\n`
    }
    return `${out}0\r\nX-Trailer: yes\r\n\r\n`
  }
  const answers = [
    // 1: Content-Length, head and body cut into small pieces
    `HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-1\r\nLambda-Runtime-Deadline-Ms: 1234\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${Buffer.from(body).toString('latin1')}`,
    // 2: the 202 for the response
    'HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{"status":"OK"}',
    // 3: chunked, then the server closes the connection
    `HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-2\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked(body)}`,
    // 4: on a new connection, a body that ends with the connection (no length at all)
    `HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-3\r\nConnection: close\r\n\r\n${Buffer.from(body).toString('latin1')}`,
  ]
  const connections: number[] = []
  const server = createServer((socket) => {
    connections.push(connections.length + 1)
    let seen = ''
    socket.on('data', async (data) => {
      seen += data.toString('latin1')
      while (seen.includes('\r\n\r\n')) {
        const end = seen.indexOf('\r\n\r\n')
        const length = Number(/content-length: (\d+)/i.exec(seen.slice(0, end))?.[1] ?? 0)
        if (seen.length < end + 4 + length) return
        seen = seen.slice(end + 4 + length)
        const answer = Buffer.from(answers.shift() ?? 'HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n', 'latin1')
        for (let i = 0; i < answer.length; i += 997) {
          socket.write(answer.subarray(i, i + 997))
          await new Promise((r) => setTimeout(r, 1))
        }
        if (answer.includes('Connection: close')) socket.end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => server.close())
  const { port } = server.address() as AddressInfo
  const code = `
    require ${JSON.stringify(join(runtimeSrc, 'load.php'))};
    $api = new PhpLambda\\Runtime\\RuntimeApiClient('127.0.0.1:${port}');
    $out = [];
    $first = $api->next();
    $out[] = [$first->requestId, $first->deadlineMs, $first->payload];
    $out[] = $api->respond($first->requestId, '{"ok":true}');
    $second = $api->next();
    $out[] = [$second->requestId, $second->payload];
    $third = $api->next();
    $out[] = [$third->requestId, $third->payload];
    echo json_encode($out, JSON_UNESCAPED_UNICODE);
  `
  const child = spawn(php.php, ['-n', '-d', 'display_errors=stderr', '-r', code], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.equal(status, 0, stderr)
  t.same(JSON.parse(stdout), [['id-1', 1234, body], 202, ['id-2', body], ['id-3', body]])
  t.equal(connections.length, 2, 'a new connection after the server closed one')
})

t.test('the Runtime API client reads large events on a kept-alive connection, chunked or with a length', async (t) => {
  // node:http answers a writeHead() without a length in chunks and keeps the connection open: the client must
  // stop at the body's end, not wait for end-of-file (which a 32 KiB+ stream_get_contents() did, until timeout).
  const { createServer: createHttpServer } = await import('node:http')
  const sizes = [30_000, 300_000, 3_000_000]
  const bodies = sizes.map((n, i) => JSON.stringify({ i, pad: 'é'.repeat(n / 2) }))
  let served = 0
  const server = createHttpServer((req, res) => {
    if (req.url?.endsWith('/invocation/next')) {
      const body = bodies[served]!
      const headers: Record<string, string> = { 'lambda-runtime-aws-request-id': `id-${served}`, 'lambda-runtime-deadline-ms': '1' }
      // Alternate: chunked (no length), then a Content-Length, on the same connection.
      if (served % 2 === 1) headers['content-length'] = String(Buffer.byteLength(body))
      served++
      res.writeHead(200, headers)
      res.end(body)
    } else {
      req.resume()
      req.on('end', () => res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"OK"}'))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  let connections = 0
  server.on('connection', () => connections++)
  const { port } = server.address() as AddressInfo
  const code = `
    require ${JSON.stringify(join(runtimeSrc, 'load.php'))};
    $api = new PhpLambda\\Runtime\\RuntimeApiClient('127.0.0.1:${port}');
    $out = [];
    for ($i = 0; $i < ${sizes.length}; $i++) {
      $next = $api->next();
      $out[] = [$next->requestId, hash('sha256', $next->payload), $api->respond($next->requestId, '{}')];
    }
    echo json_encode($out);
  `
  const child = spawn(php.php, ['-n', '-d', 'display_errors=stderr', '-r', code], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  clearTimeout(timer)
  t.equal(status, 0, `the client finished (a hang is killed after 20 s): ${stderr}`)
  const { createHash } = await import('node:crypto')
  t.same(JSON.parse(stdout || '[]'), bodies.map((b, i) => [`id-${i}`, createHash('sha256').update(b).digest('hex'), 202]))
  t.equal(connections, 1, 'one kept-alive connection throughout')
})
