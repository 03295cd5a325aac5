// Services an extension's probe talks to (a redis probe needs a Redis server), started on this machine's loopback
// for the smoke run only, on a free port, and stopped on every path out. The sandbox shares the loopback.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { join } from 'node:path'
import { SmokeError } from '../errors.ts'

export type ServiceName = 'redis-server' | 'memcached'

const INSTALL: Record<ServiceName, string> = {
  'redis-server': 'redis-server (apt-get install redis-server; scripts/setup-host.sh installs it)',
  memcached: 'memcached (apt-get install memcached; scripts/setup-host.sh installs it)',
}

/** No persistence, loopback only: a throwaway server for one probe. */
function serviceArgv(name: ServiceName, port: number, dir: string): string[] {
  switch (name) {
    case 'redis-server':
      return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
    case 'memcached':
      // memcached refuses to run as root unless told which user to be.
      return ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16', ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])]
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => resolve(port))
    })
  })
}

function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`exited with ${child.exitCode} before listening`))
      const sock = connect(port, '127.0.0.1')
      sock.once('connect', () => {
        sock.destroy()
        resolve()
      })
      sock.once('error', () => {
        sock.destroy()
        if (Date.now() > deadline) reject(new Error(`not listening on 127.0.0.1:${port} after ${ms / 1000}s`))
        else setTimeout(attempt, 50)
      })
    }
    attempt()
  })
}

export interface ProbeServices {
  /** Starts the service once per smoke run and returns its loopback port. */
  start(name: ServiceName): Promise<number>
  close(): Promise<void>
}

export function probeServices(work: string): ProbeServices {
  const running = new Map<ServiceName, Promise<{ port: number; child: ChildProcess }>>()
  return {
    async start(name) {
      if (!running.has(name)) {
        running.set(name, (async () => {
          const port = await freePort()
          const dir = join(work, `service-${name}`)
          mkdirSync(dir, { recursive: true })
          const child = spawn(name, serviceArgv(name, port, dir), { stdio: 'ignore' })
          const spawned = await new Promise<Error | undefined>((resolve) => {
            child.once('spawn', () => resolve(undefined))
            child.once('error', (e) => resolve(e))
          })
          if (spawned) throw new SmokeError(`the probe needs ${name}, which cannot start here (${(spawned as NodeJS.ErrnoException).code ?? spawned.message})`, `Install ${INSTALL[name]}.`)
          await waitForPort(port, child, 10_000).catch((e: Error) => {
            child.kill('SIGKILL')
            throw new SmokeError(`${name} for the probe: ${e.message}`)
          })
          return { port, child }
        })())
      }
      return (await running.get(name)!).port
    },
    async close() {
      for (const p of running.values()) {
        const svc = await p.catch(() => undefined)
        if (!svc || svc.child.exitCode !== null) continue
        const exited = new Promise((resolve) => svc.child.once('exit', resolve))
        svc.child.kill('SIGTERM')
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))])
        if (svc.child.exitCode === null) svc.child.kill('SIGKILL')
      }
    },
  }
}
