// Services an extension's probe talks to (a redis probe needs a Redis server), started on this machine's loopback
// for the smoke run only, on a free port, and stopped on every path out. The sandbox shares the loopback.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { join } from 'node:path'
import { SmokeError } from '../errors.ts'
import type { ProbeService } from '../schema/common.ts'

export type ServiceName = ProbeService

const INSTALL: Record<ServiceName, string> = {
  'redis-server': 'redis-server (apt-get install redis-server; scripts/setup-host.sh installs it)',
  memcached: 'memcached (apt-get install memcached; scripts/setup-host.sh installs it)',
  'rabbitmq-server': 'rabbitmq-server (apt-get install rabbitmq-server; scripts/setup-host.sh installs it)',
}

/** Debian's RabbitMQ server itself (/usr/sbin/rabbitmq-server only switches to the rabbitmq user and logs to /var/log). */
const RABBITMQ = '/usr/lib/rabbitmq/bin/rabbitmq-server'

interface ServiceCommand {
  command: string
  args: string[]
  env?: Record<string, string>
  /** Seconds it may take to listen. */
  startup: number
}

/** No persistence, loopback only: a throwaway server for one probe. `extra` allocates more free ports. */
async function serviceCommand(name: ServiceName, port: number, dir: string, extra: () => Promise<number>, epmd: (port: number) => Promise<void>): Promise<ServiceCommand> {
  switch (name) {
    case 'redis-server':
      return { command: name, args: ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], startup: 10 }
    case 'memcached':
      // memcached refuses to run as root unless told which user to be.
      return { command: name, args: ['-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '16', ...(process.getuid?.() === 0 ? ['-u', 'root'] : [])], startup: 10 }
    case 'rabbitmq-server': {
      // An Erlang node: its own port mapper (epmd) on a free loopback port, so nothing outlives the run or meets
      // another node, and every file (database, logs, cookie) under `dir`. Booting takes a few seconds.
      const epmdPort = await extra()
      await epmd(epmdPort)
      writeFileSync(join(dir, 'enabled_plugins'), '[].\n')
      return {
        command: RABBITMQ,
        args: [],
        env: {
          HOME: dir,
          ERL_EPMD_PORT: String(epmdPort),
          RABBITMQ_NODENAME: `smoke${port}@localhost`,
          RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
          RABBITMQ_NODE_PORT: String(port),
          RABBITMQ_DIST_PORT: String(await extra()),
          RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
          RABBITMQ_LOG_BASE: join(dir, 'log'),
          RABBITMQ_LOGS: join(dir, 'log', 'rabbit.log'),
          RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
          RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
        },
        startup: 90,
      }
    }
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
  // Helper processes a service needs (RabbitMQ's epmd), stopped after the services.
  const helpers: ChildProcess[] = []
  const spawnChecked = async (name: ServiceName, command: string, args: string[], env?: Record<string, string>): Promise<ChildProcess> => {
    const child = spawn(command, args, { stdio: 'ignore', ...(env ? { env: { ...process.env, ...env } } : {}) })
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined))
      child.once('error', (e) => resolve(e))
    })
    if (spawned) throw new SmokeError(`the probe needs ${name}, which cannot start here (${command}: ${(spawned as NodeJS.ErrnoException).code ?? spawned.message})`, `Install ${INSTALL[name]}.`)
    return child
  }
  return {
    async start(name) {
      if (!running.has(name)) {
        running.set(name, (async () => {
          const port = await freePort()
          const dir = join(work, `service-${name}`)
          mkdirSync(dir, { recursive: true })
          const epmd = async (p: number) => {
            const child = await spawnChecked(name, 'epmd', ['-port', String(p), '-address', '127.0.0.1'])
            helpers.push(child)
            await waitForPort(p, child, 10_000).catch((e: Error) => {
              throw new SmokeError(`epmd for ${name}: ${e.message}`)
            })
          }
          const cmd = await serviceCommand(name, port, dir, freePort, epmd)
          const child = await spawnChecked(name, cmd.command, cmd.args, cmd.env)
          await waitForPort(port, child, cmd.startup * 1000).catch((e: Error) => {
            // SIGTERM: RabbitMQ's start script passes it on to the Erlang node; SIGKILL would orphan the node.
            child.kill('SIGTERM')
            throw new SmokeError(`${name} for the probe: ${e.message}`)
          })
          return { port, child }
        })())
      }
      return (await running.get(name)!).port
    },
    async close() {
      const children = [...(await Promise.all([...running.values()].map((p) => p.then((s) => s.child, () => undefined)))), ...helpers]
      for (const child of children) {
        if (!child || child.exitCode !== null || child.signalCode !== null) continue
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGTERM')
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))])
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
    },
  }
}
