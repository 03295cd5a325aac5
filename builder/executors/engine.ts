// Finds a Docker engine that answers and the client and builder to drive it with: DOCKER_HOST when set, else the
// system socket, then the socket scripts/docker-engine.sh starts. The client may be a newer `docker`
// without the buildx plugin (then BuildKit is unavailable through it) or Debian's, which has BuildKit built in;
// without BuildKit the classic builder plus `docker create` + `docker cp` does the same job.
import { existsSync } from 'node:fs'
import { BuildError } from '../errors.ts'
import type { Runner } from '../run.ts'

/** Where scripts/docker-engine.sh puts its engine's socket (keep in step with that script). */
export const PROJECT_ENGINE_SOCKET = '/run/php-layer-docker/docker.sock'
export const START_ENGINE_HINT = 'Start one with `sudo scripts/docker-engine.sh start` (or set DOCKER_HOST), or build with --executor host.'

export type Builder = 'buildkit' | 'classic'

export interface Engine {
  /** -H value for every docker command. */
  host: string
  /** The docker client binary. */
  client: string
  /** BuildKit (exports with --output type=local) or the classic builder (docker create + docker cp). */
  builder: Builder
  serverVersion: string
  /** Engine's own architecture as Docker names it (amd64, arm64). */
  serverArch: string
}

function candidateHosts(): string[] {
  // DOCKER_HOST, when set, is the only engine (as for the docker CLI itself).
  if (process.env.DOCKER_HOST) return [process.env.DOCKER_HOST]
  const hosts: string[] = []
  for (const sock of ['/var/run/docker.sock', PROJECT_ENGINE_SOCKET]) {
    if (existsSync(sock)) hosts.push(`unix://${sock}`)
  }
  return [...new Set(hosts)]
}

function candidateClients(): string[] {
  // `docker` from PATH first (what the user runs), Debian's as the fallback that has BuildKit built in.
  return [...new Set(['docker', '/usr/bin/docker'])].filter((c) => c === 'docker' || existsSync(c))
}

/** The first engine that answers, or undefined. Costs one `docker version` per candidate (about 0.1 s each). */
export async function findEngine(run: Runner): Promise<Engine | undefined> {
  for (const host of candidateHosts()) {
    for (const client of candidateClients()) {
      const r = await run([client, '-H', host, 'version', '--format', '{{.Server.Version}} {{.Server.Arch}}'], { timeoutMs: 15_000 })
      if (r.exitCode !== 0) continue
      const [serverVersion = '', serverArch = ''] = r.stdout.trim().split(' ')
      const { client: chosen, builder } = await chooseClient(run, client)
      return { host, client: chosen, builder, serverVersion, serverArch }
    }
  }
  return undefined
}

/** A client with BuildKit if any has it; PHP_LAYER_DOCKER_BUILDER=classic|buildkit forces the builder. */
async function chooseClient(run: Runner, first: string): Promise<{ client: string; builder: Builder }> {
  const forced = process.env.PHP_LAYER_DOCKER_BUILDER
  if (forced === 'classic') return { client: first, builder: 'classic' }
  for (const client of [first, ...candidateClients().filter((c) => c !== first)]) {
    if (await hasBuildKit(run, client)) return { client, builder: 'buildkit' }
  }
  return { client: first, builder: 'classic' }
}

/**
 * Clients before 23.0 carry BuildKit themselves (DOCKER_BUILDKIT=1); later ones delegate `docker build` to the
 * buildx plugin and refuse BuildKit without it.
 */
async function hasBuildKit(run: Runner, client: string): Promise<boolean> {
  const v = await run([client, 'version', '--format', '{{.Client.Version}}'], { timeoutMs: 15_000 })
  const major = Number(v.stdout.trim().split('.')[0])
  if (Number.isFinite(major) && major > 0 && major < 23) return true
  return (await run([client, 'buildx', 'version'], { timeoutMs: 15_000 })).exitCode === 0
}

/** argv prefix for docker commands against this engine. */
export function dockerArgv(engine: Engine, ...args: string[]): string[] {
  return [engine.client, '-H', engine.host, ...args]
}

/** Environment for `docker build` with the chosen builder. */
export function buildEnv(builder: Builder): Record<string, string> {
  return { DOCKER_BUILDKIT: builder === 'buildkit' ? '1' : '0' }
}

/** The engine, or a BuildError saying how to start one. */
export async function requireEngine(run: Runner): Promise<Engine> {
  const engine = await findEngine(run)
  if (!engine) {
    const where = process.env.DOCKER_HOST ? `DOCKER_HOST=${process.env.DOCKER_HOST}` : `/var/run/docker.sock or ${PROJECT_ENGINE_SOCKET}`
    throw new BuildError(`--executor docker: no Docker engine answers at ${where}`, START_ENGINE_HINT)
  }
  return engine
}
