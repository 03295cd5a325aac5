// `npm run serve` end to end: the CLI started on the parity app with the real layer, and a real HTTP client (fetch)
// clicking through it for two event sources: a page, static assets (text and binary), a form with a file upload,
// a redirect that sets cookies, an edit to a PHP file showing on the next request, and the request log.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectRoot } from '../support/cli.ts'
import { DEFAULT_LAYER, ensureLayer } from '../support/layer.ts'

const { result } = await ensureLayer(DEFAULT_LAYER)
const parityApp = join(projectRoot, 'test/fixtures/parity-app')

interface Served {
  url: string
  /** everything serve printed so far */
  output(): string
  stop(): Promise<number | null>
}

function startServe(appDir: string, source: string): Promise<Served> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'builder/cli.ts', 'serve', appDir, '--source', source, '--port', '0', '--layer', result.zip], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let text = ''
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not print its URL in 60 s:\n${text}`)), 60_000)
    const onData = (d: Buffer) => {
      text += d.toString()
      // The whole banner, which may arrive in more than one chunk, ends with this line.
      const m = /serving .* at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text)
      if (m && text.includes('Ctrl-C stops it.')) {
        clearTimeout(timer)
        resolve({
          url: m[1]!,
          output: () => text,
          stop: async () => {
            child.kill('SIGTERM')
            return exited
          },
        })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited (${code}) before serving:\n${text}`))
    })
  })
}

const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex')

for (const source of ['alb', 'url']) {
  t.test(`serve through ${source} events`, { timeout: 180_000 }, async (t) => {
    const app = mkdtempSync(join(tmpdir(), `serve-${source}-`))
    t.teardown(() => rmSync(app, { recursive: true, force: true }))
    cpSync(parityApp, app, { recursive: true })
    // A script to edit during the test, older than anything opcache would refuse to cache.
    const edited = join(app, 'public', 'edited.php')
    writeFileSync(edited, '<?php echo "version 1";\n')
    utimesSync(edited, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000))

    const served = await startServe(app, source)
    t.teardown(() => served.stop())
    t.match(served.output(), new RegExp(`layer:\\s+${result.zip.match(/(php-\d+)/)![1]} \\(PHP ${result.php.replaceAll('.', '\\.')}, ${result.arch}`), 'startup names the layer build')

    // A page from the front controller, as PHP saw the request.
    const page = await fetch(`${served.url}some/page?x=1&y=two`)
    t.equal(page.status, 200)
    t.equal(page.headers.get('x-route'), 'front')
    const seen = (await page.json()) as { server: Record<string, string>; get: Record<string, string> }
    t.equal(seen.server.REQUEST_URI, '/some/page?x=1&y=two')
    t.same(seen.get, { x: '1', y: 'two' })

    // Static assets, served by the layer's runtime from the document root: text and binary, byte for byte.
    const css = await fetch(`${served.url}assets/style.css`)
    t.equal(css.status, 200)
    t.match(css.headers.get('content-type'), /^text\/css/)
    t.equal(await css.text(), readFileSync(join(app, 'public/assets/style.css'), 'utf8'))
    const png = await fetch(`${served.url}assets/logo.png`)
    t.equal(png.headers.get('content-type'), 'image/png')
    t.equal(sha256(new Uint8Array(await png.arrayBuffer())), sha256(readFileSync(join(app, 'public/assets/logo.png'))))
    t.ok(png.headers.get('etag'), 'with a validator')

    // A form with a file, as a browser posts it (multipart/form-data).
    const upload = Buffer.alloc(300_000)
    for (let i = 0; i < upload.length; i++) upload[i] = (i * 7919) & 0xff
    const form = new FormData()
    form.set('title', 'holiday été')
    form.set('photo', new Blob([upload], { type: 'application/octet-stream' }), 'photo.bin')
    const posted = await fetch(`${served.url}upload.php`, { method: 'POST', body: form })
    t.equal(posted.status, 200)
    const got = (await posted.json()) as { files: Record<string, { name: string; size: number; sha256: string; uploaded: boolean }>; post: Record<string, string> }
    t.same(got.post, { title: 'holiday été' })
    t.match(got.files.photo, { name: 'photo.bin', size: upload.length, sha256: sha256(upload), uploaded: true })

    // A redirect that sets two cookies, followed by the client to the directory index.
    const login = await fetch(`${served.url}login`, { redirect: 'manual' })
    t.equal(login.status, 302)
    t.equal(login.headers.get('location'), '/admin/')
    t.same(login.headers.getSetCookie().map((c) => c.split(';')[0]), ['session=abc123', 'theme=dark'], 'both cookies arrive')
    const followed = await fetch(`${served.url}login`)
    t.equal(followed.status, 200)
    t.equal(followed.url, `${served.url}admin/`)
    t.equal(followed.headers.get('x-route'), 'admin-index')
    const cookie = login.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
    const withCookies = (await (await fetch(`${served.url}admin/`, { headers: { cookie } })).json()) as { cookie: Record<string, string> }
    t.same(withCookies.cookie, { session: 'abc123', theme: 'dark' }, 'the browser\'s cookies reach PHP')

    // An edit shows on the next request (opcache revalidates timestamps under serve).
    t.equal(await (await fetch(`${served.url}edited.php`)).text(), 'version 1')
    writeFileSync(edited, '<?php echo "version 2";\n')
    t.equal(await (await fetch(`${served.url}edited.php`)).text(), 'version 2')

    // PHP's error output reaches the terminal, beside the request that caused it.
    t.equal((await fetch(`${served.url}fatal.php`)).status, 500)
    t.match(served.output(), /undefined_function_for_the_parity_test/, 'the fatal error is shown')

    // A missing page is the app's own 404; each request is logged with its status and duration.
    t.equal((await fetch(`${served.url}missing`)).status, 404)
    t.match(served.output(), /GET \/some\/page\?x=1&y=two → 200 \(\d+(\.\d+)?m?s\)/)
    t.match(served.output(), /POST \/upload\.php → 200 /)
    t.match(served.output(), /GET \/login → 302 /)
    // The log line follows the answer: give it a moment to arrive.
    for (let i = 0; i < 50 && !/GET \/missing → 404 /.test(served.output()); i++) await new Promise((r) => setTimeout(r, 100))
    t.match(served.output(), /GET \/missing → 404 /)
    t.equal(await served.stop(), 0, 'stops cleanly on SIGTERM')
  })
}
