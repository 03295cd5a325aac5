// A local stand-in for the AWS Lambda *layers* API (plus the two S3 calls the >50 MB path makes), spoken over HTTP
// exactly as the real SDK speaks it: REST-JSON under /2018-10-31/layers, errors as `x-amzn-errortype` + JSON body,
// S3 path-style with XML errors. The region (and the service) is read from the SigV4 credential scope in the
// Authorization header, so one endpoint serves every region and each region has its own layers, like the real cloud.
//
// It enforces the documented limits and error codes the publisher must cope with, and injects faults on demand:
// 429 TooManyRequestsException, 500 ServiceException, connection resets before the request is read, and "lost
// responses" (the request is applied, then the connection is reset), plus added latency. Counters tell tests how many
// bytes were uploaded and how many versions were created. Test-only: nothing here is used by the publisher.
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import yauzl from 'yauzl'

export type FaultKind = 'throttle' | 'server-error' | 'reset' | 'lost-response'
export const FAULT_KINDS: readonly FaultKind[] = ['throttle', 'server-error', 'reset', 'lost-response']

export interface FaultConfig {
  /** Probability (0–1) that a request is hit by a fault. */
  rate: number
  kinds?: FaultKind[]
  /** Only these operations can be hit (default: all). */
  operations?: string[]
  /** Seed of the fault sequence, for reproducible runs. */
  seed?: number
}

export interface EmulatorOptions {
  accountId?: string
  /** Added to every request before it is answered. */
  latencyMs?: number
  /** Per-operation latency replacing latencyMs, e.g. { PublishLayerVersion: 1000 } (S3 calls are `S3:PUT` etc.). */
  operationLatencyMs?: Record<string, number>
  faults?: FaultConfig
  /** S3 buckets that exist: name → region. */
  buckets?: Record<string, string>
  /** Regions answered with 403 UnrecognizedClientException, like an opt-in region the account has not enabled. */
  disabledRegions?: string[]
  /** When set, requests signed with another access key id are refused. */
  accessKeyId?: string
  /** Sent as Retry-After on throttling responses. */
  retryAfterSeconds?: number
}

export interface EmulatorStats {
  requests: number
  byOperation: Record<string, number>
  /** Request body bytes received, all operations. */
  bytesReceived: number
  /** Layer content received: decoded ZipFile bytes of PublishLayerVersion plus S3 PutObject bodies. */
  uploadedZipBytes: number
  versionsCreated: number
  faults: Record<FaultKind, number>
  /** Most requests being handled at the same moment. */
  maxInFlight: number
}

export interface PolicyStatement {
  Sid: string
  Effect: 'Allow'
  Principal: string | { AWS: string }
  Action: string
  Resource: string
  Condition?: Record<string, Record<string, string>>
}

export interface LayerVersionRecord {
  version: number
  description?: string
  licenseInfo?: string
  compatibleRuntimes?: string[]
  compatibleArchitectures?: string[]
  codeSha256: string
  codeSize: number
  createdDate: string
  statements: PolicyStatement[]
  revisionId: string
}

/** The documented limits (kept here on purpose rather than imported from the publisher: the emulator is the cloud). */
export const API_LIMITS = {
  description: 256,
  licenseInfo: 512,
  compatibleRuntimes: 15,
  compatibleArchitectures: 2,
  layerName: 140,
  requestBody: 69_905_067,
  unzipped: 262_144_000,
  statementId: 100,
  listMaxItems: 50,
  policyBytes: 20_480,
} as const

const RUNTIMES = new Set([
  'nodejs', 'nodejs4.3', 'nodejs6.10', 'nodejs8.10', 'nodejs10.x', 'nodejs12.x', 'nodejs14.x', 'nodejs16.x', 'nodejs18.x',
  'nodejs20.x', 'nodejs22.x', 'java8', 'java8.al2', 'java11', 'java17', 'java21', 'python2.7', 'python3.6', 'python3.7',
  'python3.8', 'python3.9', 'python3.10', 'python3.11', 'python3.12', 'python3.13', 'dotnetcore1.0', 'dotnetcore2.0',
  'dotnetcore2.1', 'dotnetcore3.1', 'dotnet6', 'dotnet8', 'nodejs4.3-edge', 'go1.x', 'ruby2.5', 'ruby2.7', 'ruby3.2',
  'ruby3.3', 'ruby3.4', 'provided', 'provided.al2', 'provided.al2023',
])
const ARCHITECTURES = new Set(['x86_64', 'arm64'])
const ADMIN_PREFIX = '/_emulator/'
/** Content.Location points here: the stand-in for the presigned S3 URL GetLayerVersion returns (no signature needed). */
const CONTENT_PREFIX = '/_content/'
const LAYER_NAME = /^[a-zA-Z0-9-_]+$/
const STATEMENT_ID = /^[a-zA-Z0-9-_]+$/
const PRINCIPAL = /^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$/
const ORG_ID = /^o-[a-z0-9]{10,32}$/

interface LayerState {
  lastVersion: number
  versions: Map<number, LayerVersionRecord>
}

interface S3Object {
  bytes: Buffer
  metadata: Record<string, string>
  etag: string
}

interface Reply {
  status: number
  headers?: Record<string, string>
  body?: Buffer | string
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly fault: 'User' | 'Service' = 'User',
    readonly extraHeaders: Record<string, string> = {},
  ) {
    super(message)
  }
}

function validationError(problems: string[]): ApiError {
  const n = problems.length
  return new ApiError(400, 'ValidationException', `${n} validation error${n > 1 ? 's' : ''} detected: ${problems.join('; ')}`)
}

/** Deterministic PRNG (mulberry32) so a seeded fault run is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20250101/eu-west-1/lambda/aws4_request, ...` → its parts. */
export function credentialScope(authorization: string | undefined): { accessKeyId: string; region: string; service: string } | undefined {
  const m = /Credential=([^/\s,]+)\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request/.exec(authorization ?? '')
  if (!m) return undefined
  return { accessKeyId: m[1]!, region: m[2]!, service: m[3]! }
}

function lambdaDate(d: Date): string {
  return d.toISOString().replace('Z', '+0000')
}

const LARGE_BODY = 1024 * 1024
const CACHE_ENTRIES = 8

interface ZipFacts {
  /** The zip itself, kept for downloads through Content.Location. */
  bytes: Buffer
  size: number
  codeSha256: string
  /** Undefined when the bytes are not a readable zip. */
  unzipped: number | undefined
}

interface BodyInfo {
  /** The signed payload hash header, when it is a hash. */
  claimedHash: string | undefined
  /** A known body that was only counted, not kept (see knownBody): its length and cached parse. */
  known: { length: number; parsed: Promise<ParsedPublish> } | undefined
}

interface ParsedPublish {
  /** The request JSON (Content.ZipFile is '' when the zip was cut out into `zip`). */
  req: Record<string, unknown>
  zip?: ZipFacts
}

async function parsePublish(body: Buffer): Promise<ParsedPublish> {
  const marker = Buffer.from('"ZipFile":"')
  const at = body.indexOf(marker)
  const end = at < 0 ? -1 : body.indexOf(0x22, at + marker.length)
  const base64 = end < 0 ? undefined : body.subarray(at + marker.length, end)
  if (base64 === undefined || base64.includes(0x5c)) return { req: parseJson(body) }
  const req = parseJson(Buffer.concat([body.subarray(0, at + marker.length), body.subarray(end)]))
  return { req, zip: await zipFacts(Buffer.from(base64.toString('latin1'), 'base64')) }
}

async function zipFacts(zip: Buffer): Promise<ZipFacts> {
  let unzipped: number | undefined
  try {
    unzipped = await unzippedSize(zip)
  } catch {
    unzipped = undefined
  }
  return { bytes: zip, size: zip.length, codeSha256: createHash('sha256').update(zip).digest('base64'), unzipped }
}

/** Small insertion-ordered cache. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  while (map.size > CACHE_ENTRIES) map.delete(map.keys().next().value as string)
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return typeof v === 'string' ? v : undefined
}

async function unzippedSize(bytes: Buffer): Promise<number> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true })
  let total = 0
  try {
    for await (const entry of zip.eachEntry()) total += entry.uncompressedSize
  } finally {
    zip.close()
  }
  return total
}

/** Decodes an `aws-chunked` body (the SDK uses it for streamed uploads with trailing checksums). */
function decodeAwsChunked(body: Buffer): Buffer {
  const parts: Buffer[] = []
  let pos = 0
  for (;;) {
    const eol = body.indexOf('\r\n', pos)
    if (eol < 0) break
    const size = parseInt(body.subarray(pos, eol).toString('latin1').split(';')[0]!, 16)
    if (!Number.isFinite(size) || size === 0) break
    parts.push(body.subarray(eol + 2, eol + 2 + size))
    pos = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}

function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export class LambdaEmulator {
  private readonly server: Server
  private readonly sockets = new Set<Socket>()
  private readonly regions = new Map<string, Map<string, LayerState>>()
  /** Published zips by CodeSha256, for Content.Location downloads. */
  private readonly contents = new Map<string, Buffer>()
  private readonly objects = new Map<string, Map<string, S3Object>>()
  private readonly accountId: string
  private latencyMs: number
  private operationLatencyMs: Record<string, number>
  private faults: FaultConfig | undefined
  private random: () => number
  private readonly buckets: Map<string, string>
  private readonly verified = new Map<string, true>()
  private readonly parsed = new Map<string, Promise<ParsedPublish>>()
  private readonly disabled: Set<string>
  private counters: EmulatorStats = LambdaEmulator.zeroStats()
  endpoint = ''

  private constructor(private readonly opts: EmulatorOptions) {
    this.accountId = opts.accountId ?? '123456789012'
    this.latencyMs = opts.latencyMs ?? 0
    this.operationLatencyMs = opts.operationLatencyMs ?? {}
    this.faults = opts.faults
    this.random = prng(opts.faults?.seed ?? 1)
    this.buckets = new Map(Object.entries(opts.buckets ?? {}))
    this.disabled = new Set(opts.disabledRegions ?? [])
    this.server = createServer((req, res) => void this.handle(req, res))
    this.server.on('connection', (s) => {
      this.sockets.add(s)
      s.on('close', () => this.sockets.delete(s))
    })
  }

  static async start(opts: EmulatorOptions = {}): Promise<LambdaEmulator> {
    const emu = new LambdaEmulator(opts)
    await new Promise<void>((resolve) => emu.server.listen(0, '127.0.0.1', resolve))
    emu.endpoint = `http://127.0.0.1:${(emu.server.address() as AddressInfo).port}`
    return emu
  }

  private static zeroStats(): EmulatorStats {
    return {
      requests: 0,
      byOperation: {},
      bytesReceived: 0,
      uploadedZipBytes: 0,
      versionsCreated: 0,
      faults: { throttle: 0, 'server-error': 0, reset: 0, 'lost-response': 0 },
      maxInFlight: 0,
    }
  }

  get stats(): EmulatorStats {
    return structuredClone(this.counters)
  }

  resetStats(): void {
    this.counters = LambdaEmulator.zeroStats()
  }

  setFaults(faults: FaultConfig | undefined): void {
    this.faults = faults
    this.random = prng(faults?.seed ?? 1)
  }

  setLatency(ms: number, perOperation?: Record<string, number>): void {
    this.latencyMs = ms
    this.operationLatencyMs = perOperation ?? {}
  }

  addBucket(name: string, region: string): void {
    this.buckets.set(name, region)
  }

  /** All versions of a layer in a region, oldest first. */
  layerVersions(region: string, layerName: string): LayerVersionRecord[] {
    const layer = this.regions.get(region)?.get(layerName)
    return layer ? [...layer.versions.values()].sort((a, b) => a.version - b.version) : []
  }

  /** Regions that hold at least one version of the layer. */
  regionsWith(layerName: string): string[] {
    return [...this.regions.entries()].filter(([, layers]) => (layers.get(layerName)?.versions.size ?? 0) > 0).map(([r]) => r).sort()
  }

  s3Object(bucket: string, key: string): Buffer | undefined {
    return this.objects.get(bucket)?.get(key)?.bytes
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  // ---------------------------------------------------------------- request plumbing

  private pickFault(operation: string): FaultKind | undefined {
    const f = this.faults
    if (!f || f.rate <= 0) return undefined
    if (f.operations && !f.operations.includes(operation)) return undefined
    if (this.random() >= f.rate) return undefined
    const kinds = f.kinds ?? FAULT_KINDS
    return kinds[Math.floor(this.random() * kinds.length)]
  }

  private reset(req: IncomingMessage): void {
    const s = req.socket as Socket & { resetAndDestroy?: () => void }
    // An RST, as a dropped connection looks to the client (ECONNRESET), rather than a polite FIN.
    if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy()
    else s.destroy()
  }

  /** Reads the body; `keep: false` only counts it (a known large body whose parse is cached, see knownBody). */
  private async readBody(req: IncomingMessage, keep = true): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const chunk of req) {
      if (keep) chunks.push(chunk as Buffer)
      this.counters.bytesReceived += (chunk as Buffer).length
    }
    return Buffer.concat(chunks)
  }

  /**
   * A PublishLayerVersion body whose signed hash and length match one already verified and parsed: the same bytes
   * again (a publisher sending one zip to every region). Its parse is reused instead of buffering 50 MB again.
   */
  private knownBody(req: IncomingMessage, operation: string): BodyInfo['known'] {
    if (operation !== 'PublishLayerVersion') return undefined
    const claimed = headerValue(req, 'x-amz-content-sha256')
    const length = Number(headerValue(req, 'content-length'))
    if (claimed === undefined || !/^[0-9a-f]{64}$/.test(claimed) || !(length >= LARGE_BODY)) return undefined
    const parsed = this.parsed.get(`${claimed}:${length}`)
    return parsed === undefined ? undefined : { length, parsed }
  }

  private inFlight = 0

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++
    this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.inFlight)
    try {
      await this.respond(req, res)
    } finally {
      this.inFlight--
    }
  }

  private async respond(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator')
    if (url.pathname.startsWith(ADMIN_PREFIX)) return this.admin(req, res, url.pathname.slice(ADMIN_PREFIX.length))
    if (url.pathname.startsWith(CONTENT_PREFIX)) return this.download(res, url.pathname.slice(CONTENT_PREFIX.length))
    this.counters.requests++
    const scope = credentialScope(req.headers.authorization)
    const service = scope?.service ?? 'lambda'
    const operation = service === 's3' ? `S3:${req.method}` : lambdaOperation(req.method ?? 'GET', url.pathname)
    this.counters.byOperation[operation] = (this.counters.byOperation[operation] ?? 0) + 1

    const fault = this.pickFault(operation)
    if (fault) this.counters.faults[fault]++
    if (fault === 'reset') {
      this.reset(req)
      return
    }
    let reply: Reply
    try {
      const known = this.knownBody(req, operation)
      const body = await this.readBody(req, known === undefined)
      const latency = this.operationLatencyMs[operation] ?? this.latencyMs
      if (latency > 0) await sleep(latency)
      if (fault === 'throttle') {
        throw new ApiError(429, 'TooManyRequestsException', 'Rate exceeded', 'User', this.opts.retryAfterSeconds ? { 'retry-after': String(this.opts.retryAfterSeconds) } : {})
      }
      if (fault === 'server-error') throw new ApiError(500, 'ServiceException', 'We encountered an internal error. Please try again.', 'Service')
      if (!scope) throw new ApiError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token')
      if (this.opts.accessKeyId !== undefined && scope.accessKeyId !== this.opts.accessKeyId) {
        throw new ApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
      }
      if (this.disabled.has(scope.region)) {
        throw new ApiError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.')
      }
      if (known === undefined) this.checkPayloadHash(req, body, service)
      reply = service === 's3' ? this.s3(req, url, scope.region, body) : await this.lambda(req.method ?? 'GET', url, scope.region, body, { claimedHash: headerValue(req, 'x-amz-content-sha256'), known })
    } catch (e) {
      reply = service === 's3' ? s3ErrorReply(e, req.method === 'HEAD') : lambdaErrorReply(e)
    }
    if (fault === 'lost-response') {
      // Applied, but the client never hears about it.
      this.reset(req)
      return
    }
    const body = reply.body === undefined ? undefined : Buffer.isBuffer(reply.body) ? reply.body : Buffer.from(reply.body)
    res.writeHead(reply.status, {
      'x-amzn-requestid': randomUUID(),
      ...(body !== undefined && req.method !== 'HEAD' ? { 'content-length': String(body.length) } : {}),
      ...reply.headers,
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  }

  /**
   * Control routes for a test that runs the emulator in another process (see spawnEmulator). "_emulator" cannot be
   * an S3 bucket name and is not a Lambda path, so these never collide with API calls; they are not counted.
   */
  private async admin(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks).toString('utf8')
    const reply = (value: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(value ?? null))
    }
    if (route === 'stats' && req.method === 'GET') return reply(this.stats)
    if (route === 'reset-stats' && req.method === 'POST') return reply(this.resetStats())
    if (route === 'faults' && req.method === 'POST') return reply(this.setFaults((JSON.parse(body || 'null') as FaultConfig | null) ?? undefined))
    res.writeHead(404).end()
  }

  /**
   * The signed payload hash must be the body's: SigV4 signs x-amz-content-sha256 and the service recomputes it.
   * (The signature itself is not recomputed; region and key come from its credential scope.) Large bodies already
   * verified are remembered by hash and length: the emulator stands for ~30 independent regional services, and must
   * not turn their parallel work into serial work on the test machine's cores when a publisher sends the same zip
   * everywhere.
   */
  private checkPayloadHash(req: IncomingMessage, body: Buffer, service: string): void {
    const claimed = req.headers['x-amz-content-sha256']
    if (typeof claimed !== 'string' || !/^[0-9a-f]{64}$/.test(claimed)) return // UNSIGNED-PAYLOAD, STREAMING-…, absent
    const key = `${claimed}:${body.length}`
    if (body.length >= LARGE_BODY && this.verified.has(key)) return
    if (createHash('sha256').update(body).digest('hex') === claimed) {
      if (body.length >= LARGE_BODY) remember(this.verified, key, true)
      return
    }
    if (service === 's3') throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.")
    throw new ApiError(403, 'InvalidSignatureException', 'The request signature we calculated does not match the signature you provided.')
  }

  /**
   * A publish body, parsed. The base64 zip is cut out of the raw bytes rather than JSON-parsed as one huge string
   * (base64 needs no JSON escapes), and the decoded zip's facts are kept per verified body, for the reason above.
   */
  private parsePublishBody(body: Buffer, claimed: string | undefined): Promise<ParsedPublish> {
    const key = claimed !== undefined && body.length >= LARGE_BODY && this.verified.has(`${claimed}:${body.length}`) ? `${claimed}:${body.length}` : undefined
    // The promise is kept, so identical bodies arriving together are parsed once.
    const cached = key === undefined ? undefined : this.parsed.get(key)
    if (cached) return cached
    const parsing = parsePublish(body)
    if (key !== undefined) {
      remember(this.parsed, key, parsing)
      parsing.catch(() => this.parsed.delete(key))
    }
    return parsing
  }

  // ---------------------------------------------------------------- Lambda

  /** GET Content.Location: the version's zip, as S3 would serve it to a presigned URL. */
  private download(res: ServerResponse, path: string): void {
    const [region, name, version] = path.split('/').map((p) => decodeURIComponent(p))
    const record = this.layersIn(region ?? '').get(name ?? '')?.versions.get(Number(version))
    const bytes = record ? this.contents.get(record.codeSha256) : undefined
    if (!bytes) {
      res.writeHead(404, { 'content-type': 'application/xml' })
      res.end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>')
      return
    }
    res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(bytes.length) })
    res.end(bytes)
  }

  private layersIn(region: string): Map<string, LayerState> {
    let m = this.regions.get(region)
    if (!m) this.regions.set(region, (m = new Map()))
    return m
  }

  private arn(region: string, name: string, version?: number): string {
    return `arn:aws:lambda:${region}:${this.accountId}:layer:${name}${version === undefined ? '' : `:${version}`}`
  }

  private version(region: string, name: string, versionText: string): LayerVersionRecord {
    const n = Number(versionText)
    const v = Number.isInteger(n) ? this.regions.get(region)?.get(name)?.versions.get(n) : undefined
    if (!v) throw new ApiError(404, 'ResourceNotFoundException', 'The resource you requested does not exist.')
    return v
  }

  private versionJson(region: string, name: string, v: LayerVersionRecord, withContent: boolean): Record<string, unknown> {
    return {
      ...(withContent
        ? { Content: { Location: `${this.endpoint}/_content/${region}/${name}/${v.version}`, CodeSha256: v.codeSha256, CodeSize: v.codeSize } }
        : {}),
      ...(withContent ? { LayerArn: this.arn(region, name) } : {}),
      LayerVersionArn: this.arn(region, name, v.version),
      Description: v.description,
      CreatedDate: v.createdDate,
      Version: v.version,
      CompatibleRuntimes: v.compatibleRuntimes,
      LicenseInfo: v.licenseInfo,
      CompatibleArchitectures: v.compatibleArchitectures,
    }
  }

  private async lambda(method: string, url: URL, region: string, body: Buffer, info: BodyInfo): Promise<Reply> {
    const seg = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    if (seg[0] !== '2018-10-31' || seg[1] !== 'layers') throw new ApiError(404, 'UnknownOperationException', `Unknown operation ${method} ${url.pathname}`)
    if (seg.length === 2 && method === 'GET') return this.listLayers(region)
    const name = layerNameFrom(seg[2] ?? '')
    if (seg[3] !== 'versions') throw new ApiError(404, 'UnknownOperationException', `Unknown operation ${method} ${url.pathname}`)
    if (seg.length === 4 && method === 'POST') return this.publish(region, name, body, info)
    if (seg.length === 4 && method === 'GET') return this.list(region, name, url.searchParams)
    const versionText = seg[4] ?? ''
    if (seg.length === 5 && method === 'GET') return json(200, this.versionJson(region, name, this.version(region, name, versionText), true))
    if (seg.length === 5 && method === 'DELETE') {
      this.regions.get(region)?.get(name)?.versions.delete(Number(versionText))
      return { status: 204 }
    }
    if (seg[5] === 'policy') {
      const v = this.version(region, name, versionText)
      if (seg.length === 6 && method === 'POST') return this.addPermission(region, name, v, body, url.searchParams)
      if (seg.length === 6 && method === 'GET') return this.getPolicy(region, name, v)
      if (seg.length === 7 && method === 'DELETE') return this.removePermission(v, seg[6] ?? '', url.searchParams)
    }
    throw new ApiError(404, 'UnknownOperationException', `Unknown operation ${method} ${url.pathname}`)
  }

  private listLayers(region: string): Reply {
    const layers = [...this.layersIn(region).entries()]
      .filter(([, l]) => l.versions.size > 0)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, l]) => {
        const newest = [...l.versions.values()].sort((a, b) => b.version - a.version)[0]!
        return { LayerName: name, LayerArn: this.arn(region, name), LatestMatchingVersion: this.versionJson(region, name, newest, false) }
      })
    return json(200, { Layers: layers })
  }

  private async publish(region: string, name: string, body: Buffer, info: BodyInfo): Promise<Reply> {
    const length = info.known?.length ?? body.length
    if (length > API_LIMITS.requestBody) {
      throw new ApiError(413, 'RequestEntityTooLargeException', `Request must be smaller than ${API_LIMITS.requestBody} bytes for the PublishLayerVersion operation`)
    }
    const parsed = await (info.known?.parsed ?? this.parsePublishBody(body, info.claimedHash))
    const req = parsed.req
    const problems: string[] = []
    if (name.length > API_LIMITS.layerName || !LAYER_NAME.test(name)) {
      problems.push(`Value '${name}' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ and have length less than or equal to ${API_LIMITS.layerName}`)
    }
    const description = req.Description
    if (description !== undefined && (typeof description !== 'string' || description.length > API_LIMITS.description)) {
      problems.push(`Value '${String(description)}' at 'description' failed to satisfy constraint: Member must have length less than or equal to ${API_LIMITS.description}`)
    }
    const license = req.LicenseInfo
    if (license !== undefined && (typeof license !== 'string' || license.length > API_LIMITS.licenseInfo)) {
      problems.push(`Value '${String(license)}' at 'licenseInfo' failed to satisfy constraint: Member must have length less than or equal to ${API_LIMITS.licenseInfo}`)
    }
    const runtimes = req.CompatibleRuntimes
    if (runtimes !== undefined) {
      if (!Array.isArray(runtimes) || runtimes.length > API_LIMITS.compatibleRuntimes) {
        problems.push(`Value '${JSON.stringify(runtimes)}' at 'compatibleRuntimes' failed to satisfy constraint: Member must have length less than or equal to ${API_LIMITS.compatibleRuntimes}`)
      } else if (runtimes.some((r) => !RUNTIMES.has(r as string))) {
        problems.push(`Value '${JSON.stringify(runtimes)}' at 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy enum value set: [${[...RUNTIMES].join(', ')}]`)
      }
    }
    const archs = req.CompatibleArchitectures
    if (archs !== undefined) {
      if (!Array.isArray(archs) || archs.length > API_LIMITS.compatibleArchitectures) {
        problems.push(`Value '${JSON.stringify(archs)}' at 'compatibleArchitectures' failed to satisfy constraint: Member must have length less than or equal to ${API_LIMITS.compatibleArchitectures}`)
      } else if (archs.some((a) => !ARCHITECTURES.has(a as string))) {
        problems.push(`Value '${JSON.stringify(archs)}' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]`)
      }
    }
    const content = req.Content as Record<string, unknown> | undefined
    if (content === undefined || content === null) problems.push(`Value null at 'content' failed to satisfy constraint: Member must not be null`)
    if (problems.length > 0) throw validationError(problems)

    const hasZip = typeof content!.ZipFile === 'string'
    const hasS3 = content!.S3Bucket !== undefined || content!.S3Key !== undefined
    if (hasZip === hasS3) throw new ApiError(400, 'InvalidParameterValueException', 'Please provide a source for publishing Layer. ZipFile or S3Bucket and S3Key.')
    const facts = hasZip
      ? (parsed.zip ?? (await zipFacts(Buffer.from(content!.ZipFile as string, 'base64'))))
      : await zipFacts(this.getObjectForLambda(region, String(content!.S3Bucket), String(content!.S3Key)))
    if (facts.unzipped === undefined) {
      throw new ApiError(400, 'InvalidParameterValueException', 'Could not unzip uploaded file. Please check your file, then try to upload again.')
    }
    if (facts.unzipped > API_LIMITS.unzipped) {
      throw new ApiError(400, 'InvalidParameterValueException', `Unzipped size must be smaller than ${API_LIMITS.unzipped} bytes`)
    }

    const layers = this.layersIn(region)
    let layer = layers.get(name)
    if (!layer) layers.set(name, (layer = { lastVersion: 0, versions: new Map() }))
    const record: LayerVersionRecord = {
      version: ++layer.lastVersion,
      description: description as string | undefined,
      licenseInfo: license as string | undefined,
      compatibleRuntimes: runtimes as string[] | undefined,
      compatibleArchitectures: archs as string[] | undefined,
      codeSha256: facts.codeSha256,
      codeSize: facts.size,
      createdDate: lambdaDate(new Date()),
      statements: [],
      revisionId: randomUUID(),
    }
    layer.versions.set(record.version, record)
    // Content-addressed, so the same zip published to many regions is held once.
    this.contents.set(facts.codeSha256, facts.bytes)
    this.counters.versionsCreated++
    if (hasZip) this.counters.uploadedZipBytes += facts.size
    return json(201, this.versionJson(region, name, record, true))
  }

  private getObjectForLambda(region: string, bucket: string, key: string): Buffer {
    const bucketRegion = this.buckets.get(bucket)
    const fail = (code: string, message: string): never => {
      throw new ApiError(400, 'InvalidParameterValueException', `Error occurred while GetObject. S3 Error Code: ${code}. S3 Error Message: ${message}`)
    }
    if (bucketRegion === undefined) return fail('NoSuchBucket', 'The specified bucket does not exist')
    if (bucketRegion !== region) return fail('PermanentRedirect', `The bucket is in this region: ${bucketRegion}. Please use this region to retry the request`)
    const obj = this.objects.get(bucket)?.get(key)
    if (!obj) return fail('NoSuchKey', 'The specified key does not exist.')
    return obj.bytes
  }

  private list(region: string, name: string, q: URLSearchParams): Reply {
    const maxText = q.get('MaxItems')
    const max = maxText === null ? API_LIMITS.listMaxItems : Number(maxText)
    if (!Number.isInteger(max) || max < 1 || max > API_LIMITS.listMaxItems) {
      throw validationError([`Value '${maxText}' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to ${API_LIMITS.listMaxItems}`])
    }
    const runtime = q.get('CompatibleRuntime')
    const arch = q.get('CompatibleArchitecture')
    const all = [...(this.regions.get(region)?.get(name)?.versions.values() ?? [])]
      .filter((v) => runtime === null || (v.compatibleRuntimes ?? []).includes(runtime))
      .filter((v) => arch === null || (v.compatibleArchitectures ?? []).includes(arch))
      .sort((a, b) => b.version - a.version)
    const marker = q.get('Marker')
    let start = 0
    if (marker !== null) {
      start = Number(Buffer.from(marker, 'base64url').toString())
      if (!Number.isInteger(start) || start < 0) throw new ApiError(400, 'InvalidParameterValueException', 'Invalid Marker.')
    }
    const page = all.slice(start, start + max)
    const next = start + max < all.length ? Buffer.from(String(start + max)).toString('base64url') : undefined
    return json(200, { ...(next ? { NextMarker: next } : {}), LayerVersions: page.map((v) => this.versionJson(region, name, v, false)) })
  }

  private policyDoc(v: LayerVersionRecord): string {
    return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: v.statements })
  }

  private addPermission(region: string, name: string, v: LayerVersionRecord, body: Buffer, q: URLSearchParams): Reply {
    const req = parseJson(body)
    const problems: string[] = []
    const sid = req.StatementId
    const action = req.Action
    const principal = req.Principal
    const org = req.OrganizationId
    if (typeof sid !== 'string' || sid.length < 1 || sid.length > API_LIMITS.statementId || !STATEMENT_ID.test(sid)) {
      problems.push(`Value '${String(sid)}' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)`)
    }
    if (action !== 'lambda:GetLayerVersion') {
      problems.push(`Value '${String(action)}' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion`)
    }
    if (typeof principal !== 'string' || !PRINCIPAL.test(principal)) {
      problems.push(`Value '${String(principal)}' at 'principal' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root`)
    }
    if (org !== undefined && (typeof org !== 'string' || !ORG_ID.test(org))) {
      problems.push(`Value '${String(org)}' at 'organizationId' failed to satisfy constraint: Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}`)
    }
    if (problems.length > 0) throw validationError(problems)
    const revision = q.get('RevisionId')
    if (revision !== null && revision !== v.revisionId) {
      throw new ApiError(412, 'PreconditionFailedException', 'The RevisionId provided does not match the latest RevisionId for the Lambda function or alias. Call the GetPolicy API to retrieve the latest RevisionId for your resource.')
    }
    if (v.statements.some((s) => s.Sid === sid)) {
      throw new ApiError(409, 'ResourceConflictException', `The statement id (${String(sid)}) provided already exists. Please provide a new statement id, or remove the existing statement.`)
    }
    const statement: PolicyStatement = {
      Sid: sid as string,
      Effect: 'Allow',
      Principal: principal === '*' ? '*' : { AWS: /^\d{12}$/.test(principal as string) ? `arn:aws:iam::${principal as string}:root` : (principal as string) },
      Action: action as string,
      Resource: this.arn(region, name, v.version),
      ...(org !== undefined ? { Condition: { StringEquals: { 'aws:PrincipalOrgID': org as string } } } : {}),
    }
    const nextDoc = JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: [...v.statements, statement] })
    if (Buffer.byteLength(nextDoc) > API_LIMITS.policyBytes) {
      throw new ApiError(400, 'PolicyLengthExceededException', 'The final policy size is bigger than the limit.')
    }
    v.statements.push(statement)
    v.revisionId = randomUUID()
    return json(201, { Statement: JSON.stringify(statement), RevisionId: v.revisionId })
  }

  private getPolicy(region: string, name: string, v: LayerVersionRecord): Reply {
    void region
    void name
    if (v.statements.length === 0) throw new ApiError(404, 'ResourceNotFoundException', 'No policy is associated with the given resource.')
    return json(200, { Policy: this.policyDoc(v), RevisionId: v.revisionId })
  }

  private removePermission(v: LayerVersionRecord, sid: string, q: URLSearchParams): Reply {
    const revision = q.get('RevisionId')
    if (revision !== null && revision !== v.revisionId) {
      throw new ApiError(412, 'PreconditionFailedException', 'The RevisionId provided does not match the latest RevisionId for the Lambda function or alias.')
    }
    const i = v.statements.findIndex((s) => s.Sid === sid)
    if (i < 0) throw new ApiError(404, 'ResourceNotFoundException', `Statement ${sid} is not found in resource policy.`)
    v.statements.splice(i, 1)
    v.revisionId = randomUUID()
    return { status: 204 }
  }

  // ---------------------------------------------------------------- S3 (only what the publisher uses)

  private s3(req: IncomingMessage, url: URL, region: string, body: Buffer): Reply {
    const [bucket, ...rest] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
    const key = rest.join('/')
    if (!bucket || !key) throw new S3Error(400, 'InvalidRequest', 'Only path-style object requests are emulated.')
    const bucketRegion = this.buckets.get(bucket)
    if (bucketRegion === undefined) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist')
    if (bucketRegion !== region) {
      throw new S3Error(400, 'AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${region}' is wrong; expecting '${bucketRegion}'`)
    }
    let objects = this.objects.get(bucket)
    if (!objects) this.objects.set(bucket, (objects = new Map()))
    if (req.method === 'PUT') {
      const encoding = String(req.headers['content-encoding'] ?? '')
      const bytes = encoding.includes('aws-chunked') ? decodeAwsChunked(body) : body
      const metadata: Record<string, string> = {}
      for (const [h, v] of Object.entries(req.headers)) if (h.startsWith('x-amz-meta-') && typeof v === 'string') metadata[h.slice(11)] = v
      const etag = `"${createHash('md5').update(bytes).digest('hex')}"`
      objects.set(key, { bytes, metadata, etag })
      this.counters.uploadedZipBytes += bytes.length
      return { status: 200, headers: { etag } }
    }
    const obj = objects.get(key)
    if (req.method === 'HEAD' || req.method === 'GET') {
      if (!obj) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.')
      const headers: Record<string, string> = { etag: obj.etag, 'content-type': 'application/zip', 'content-length': String(obj.bytes.length) }
      for (const [k, v] of Object.entries(obj.metadata)) headers[`x-amz-meta-${k}`] = v
      return { status: 200, headers, body: req.method === 'GET' ? obj.bytes : undefined }
    }
    if (req.method === 'DELETE') {
      objects.delete(key)
      return { status: 204 }
    }
    throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.')
  }
}

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

function lambdaOperation(method: string, path: string): string {
  const seg = path.split('/').filter(Boolean)
  if (seg.length === 2) return 'ListLayers'
  if (seg.length === 4) return method === 'POST' ? 'PublishLayerVersion' : 'ListLayerVersions'
  if (seg.length === 5) return method === 'DELETE' ? 'DeleteLayerVersion' : 'GetLayerVersion'
  if (seg.length === 6) return method === 'POST' ? 'AddLayerVersionPermission' : 'GetLayerVersionPolicy'
  if (seg.length === 7) return 'RemoveLayerVersionPermission'
  return 'Unknown'
}

function layerNameFrom(nameOrArn: string): string {
  const m = /^arn:[a-zA-Z0-9-]+:lambda:[a-z0-9-]+:\d{12}:layer:([a-zA-Z0-9-_]+)$/.exec(nameOrArn)
  return m ? m[1]! : nameOrArn
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {}
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>
  } catch {
    // fall through
  }
  throw new ApiError(400, 'InvalidRequestContentException', 'Could not parse request body into json.')
}

function json(status: number, value: unknown): Reply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) }
}

function lambdaErrorReply(e: unknown): Reply {
  const err = e instanceof ApiError ? e : new ApiError(500, 'ServiceException', `Emulator failure: ${(e as Error).message}`, 'Service')
  const body: Record<string, string> = { Type: err.fault, message: err.message }
  if (err.type === 'TooManyRequestsException') body.Reason = 'CallerRateLimitExceeded'
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.type, ...err.extraHeaders },
    body: JSON.stringify(body),
  }
}

function s3ErrorReply(e: unknown, head: boolean): Reply {
  // Faults injected before routing arrive as ApiError; S3 speaks XML and names throttling SlowDown.
  let status = 500
  let code = 'InternalError'
  let message = 'We encountered an internal error. Please try again.'
  if (e instanceof S3Error) ({ status, code, message } = e)
  else if (e instanceof ApiError) {
    status = e.status
    code = e.status === 429 ? 'SlowDown' : e.status >= 500 ? 'InternalError' : e.type
    message = e.message
  }
  return {
    status: status === 429 ? 503 : status,
    headers: { 'content-type': 'application/xml' },
    body: head ? undefined : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message></Error>`,
  }
}

// ---------------------------------------------------------------- the emulator in its own process

/** An emulator running in a child process: its CPU work does not compete with the publisher's, as in the cloud. */
export interface RemoteEmulator {
  endpoint: string
  stats(): Promise<EmulatorStats>
  resetStats(): Promise<void>
  setFaults(faults: FaultConfig | undefined): Promise<void>
  close(): Promise<void>
}

const READY = 'LAMBDA_EMULATOR_ENDPOINT='

export async function spawnEmulator(opts: EmulatorOptions = {}): Promise<RemoteEmulator> {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(opts)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const endpoint = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = new RegExp(`${READY}(\\S+)`).exec(out)
      if (m) resolve(m[1]!)
    })
    child.on('exit', (code) => reject(new Error(`emulator process exited early (${code})`)))
  })
  const call = async (route: string, method = 'GET', body?: unknown): Promise<unknown> => {
    const res = await fetch(`${endpoint}${ADMIN_PREFIX}${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body ?? null) })
    return res.json()
  }
  return {
    endpoint,
    stats: async () => (await call('stats')) as EmulatorStats,
    resetStats: async () => void (await call('reset-stats', 'POST')),
    setFaults: async (faults) => void (await call('faults', 'POST', faults ?? null)),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.stdin.end() // the child exits when its stdin closes (also when this process dies)
      await exited
    },
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const emu = await LambdaEmulator.start(JSON.parse(process.argv[2] ?? '{}') as EmulatorOptions)
  process.stdout.write(`${READY}${emu.endpoint}\n`)
  process.stdin.resume()
  process.stdin.on('end', () => void emu.close().then(() => process.exit(0)))
  process.on('SIGTERM', () => void emu.close().then(() => process.exit(0)))
}
