// A throwaway certificate authority and an HTTPS server on loopback, so TLS can be checked from inside the sandbox
// without the internet: the sandbox's CA bundle holds only this CA. The keys live in a directory below the caller's
// work directory and are removed by close(), and at once if setting up fails.
import { createServer, type Server } from 'node:https'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Runner } from '../run.ts'
import { SmokeError } from '../errors.ts'

export interface TestTls {
  /** The directory holding the CA certificate and the private keys. */
  dir: string
  caFile: string
  url: string
  body: string
  /** Stops the server and deletes the keys. */
  close(): Promise<void>
}

export async function startTlsServer(run: Runner, parent: string): Promise<TestTls> {
  const dir = mkdtempSync(join(parent, 'tls-'))
  try {
    const ossl = async (args: string[]) => {
      const r = await run(['openssl', ...args], { cwd: dir })
      if (r.exitCode !== 0) throw new SmokeError(`openssl ${args[0]} failed: ${r.stderr.trim().split('\n').pop()}`, 'Install openssl (scripts/setup-host.sh).')
    }
    await ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=smoke test CA', '-keyout', 'ca.key', '-out', 'ca.crt'])
    await ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', 'srv.key', '-out', 'srv.csr'])
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
    await ossl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'ext.cnf', '-out', 'srv.crt'])
    const body = 'tls-ok'
    const server: Server = createServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.crt')) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end(body)
    })
    // The server holds the key in memory; nothing else needs the CA's or the server's key on disk.
    rmSync(join(dir, 'ca.key'), { force: true })
    rmSync(join(dir, 'srv.key'), { force: true })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return {
      dir,
      caFile: join(dir, 'ca.crt'),
      url: `https://localhost:${port}/`,
      body,
      close: async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()))
        rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
}
