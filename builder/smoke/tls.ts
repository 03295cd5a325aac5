// A throwaway certificate authority and an HTTPS server on loopback, so TLS can be checked from inside the sandbox
// without the internet: the sandbox's CA bundle holds only this CA.
import { createServer, type Server } from 'node:https'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import type { Runner } from '../run.ts'
import { SmokeError } from '../errors.ts'

export interface TestTls {
  caFile: string
  url: string
  body: string
  close(): Promise<void>
}

export async function startTlsServer(run: Runner): Promise<TestTls> {
  const dir = mkdtempSync(join(tmpdir(), 'smoke-tls-'))
  const ossl = async (args: string[]) => {
    const r = await run(['openssl', ...args], { cwd: dir })
    if (r.exitCode !== 0) throw new SmokeError(`openssl ${args[0]} failed: ${r.stderr.trim().split('\n').pop()}`, 'Install openssl (scripts/setup-host.sh).')
  }
  await ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=smoke test CA', '-keyout', 'ca.key', '-out', 'ca.crt'])
  await ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-keyout', 'srv.key', '-out', 'srv.csr'])
  await run(['sh', '-c', 'printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > ext.cnf'], { cwd: dir })
  await ossl(['x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'ext.cnf', '-out', 'srv.crt'])
  const body = 'tls-ok'
  const server: Server = createServer({ key: readFileSync(join(dir, 'srv.key')), cert: readFileSync(join(dir, 'srv.crt')) }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    caFile: join(dir, 'ca.crt'),
    url: `https://localhost:${port}/`,
    body,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}
