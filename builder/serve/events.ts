// A browser's HTTP request as the event each Lambda HTTP source would deliver, and a function's answer in that
// source's response format back as HTTP. Pure: no sockets here (builder/serve/server.ts does the I/O).
//
// The forwarding headers describe the local connection (plain HTTP on 127.0.0.1:<port>), not the HTTPS front end a
// deployed function sits behind, so absolute URLs an app builds point back at the local server.
import { randomUUID } from 'node:crypto'

export const SOURCES = ['alb', 'http', 'rest', 'url'] as const
export type Source = (typeof SOURCES)[number]

export const SOURCE_LABELS: Record<Source, string> = {
  alb: 'Application Load Balancer (multi-value headers on, as docs/deploy sets its target groups)',
  http: 'API Gateway HTTP API (payload format 2.0)',
  rest: 'API Gateway REST API (payload format 1.0)',
  url: 'Lambda function URL',
}

export interface IncomingHttp {
  method: string
  /** request target as sent on the wire: path and query, still percent-encoded */
  target: string
  /** header name/value pairs in arrival order, names as sent (node's rawHeaders) */
  rawHeaders: string[]
  body: Buffer
  remoteAddress: string
  /** the local server's port (X-Forwarded-Port) */
  port: number
}

export interface OutgoingHttp {
  status: number
  /** name/value pairs; a name may repeat (Set-Cookie) */
  headers: Array<[string, string]>
  body: Buffer
}

/** The largest request body each source passes to a function: ALB's 1 MB; otherwise Lambda's 6 MB event limit. */
export const MAX_EVENT_BYTES = 6_291_456
export const ALB_MAX_BODY_BYTES = 1_048_576

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]+\+(json|xml))\b)/i

/** Text bodies travel as strings, everything else base64, as the HTTP sources do with binary media. */
function encodeBody(body: Buffer, contentType: string | undefined): { body: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { body: '', isBase64Encoded: false }
  const text = contentType !== undefined && TEXT_TYPES.test(contentType.trim())
  if (text) {
    const s = body.toString('utf8')
    if (Buffer.byteLength(s) === body.length && !s.includes('\uFFFD')) return { body: s, isBase64Encoded: false }
  }
  return { body: body.toString('base64'), isBase64Encoded: true }
}

function splitTarget(target: string): { path: string; rawQuery: string } {
  const q = target.indexOf('?')
  const path = q < 0 ? target : target.slice(0, q)
  return { path: path.startsWith('/') ? path : `/${path}`, rawQuery: q < 0 ? '' : target.slice(q + 1) }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replaceAll('+', ' '))
  } catch {
    return s
  }
}

/** key → every value, in order; `decode` as API Gateway does (ALB passes them as the client encoded them). */
function queryPairs(rawQuery: string, decode: boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const eq = part.indexOf('=')
    const k = eq < 0 ? part : part.slice(0, eq)
    const v = eq < 0 ? '' : part.slice(eq + 1)
    const key = decode ? safeDecode(k) : k
    ;(out[key] ??= []).push(decode ? safeDecode(v) : v)
  }
  return out
}

function headerPairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = []
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!])
  return out
}

function group(pairs: Array<[string, string]>, lower: boolean): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [k, v] of pairs) (out[lower ? k.toLowerCase() : k] ??= []).push(v)
  return out
}

const last = (m: Record<string, string[]>): Record<string, string> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v[v.length - 1]!]))
const joined = (m: Record<string, string[]>): Record<string, string> => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v.join(',')]))

function forwarded(req: IncomingHttp): Array<[string, string]> {
  return [
    ['X-Forwarded-For', req.remoteAddress],
    ['X-Forwarded-Proto', 'http'],
    ['X-Forwarded-Port', String(req.port)],
  ]
}

export function eventBodyLimit(source: Source): number {
  return source === 'alb' ? ALB_MAX_BODY_BYTES : MAX_EVENT_BYTES
}

export function toEvent(source: Source, req: IncomingHttp, now = new Date()): Record<string, unknown> {
  const { path, rawQuery } = splitTarget(req.target)
  const incoming = headerPairs(req.rawHeaders).filter(([k]) => !/^x-forwarded-(for|proto|port)$/i.test(k))
  const pairs = [...incoming, ...forwarded(req)]
  const contentType = pairs.find(([k]) => k.toLowerCase() === 'content-type')?.[1]
  const { body, isBase64Encoded } = encodeBody(req.body, contentType)
  const method = req.method.toUpperCase()
  const requestId = randomUUID()
  switch (source) {
    case 'alb':
      return {
        requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/serve/0123456789abcdef' } },
        httpMethod: method,
        path,
        multiValueQueryStringParameters: queryPairs(rawQuery, false),
        multiValueHeaders: group(pairs, true),
        body,
        isBase64Encoded,
      }
    case 'rest': {
      const query = queryPairs(rawQuery, true)
      const headers = group(pairs, false)
      const has = Object.keys(query).length > 0
      return {
        resource: '/{proxy+}',
        path,
        httpMethod: method,
        headers: last(headers),
        multiValueHeaders: headers,
        queryStringParameters: has ? last(query) : null,
        multiValueQueryStringParameters: has ? query : null,
        pathParameters: path === '/' ? null : { proxy: path.slice(1) },
        stageVariables: null,
        requestContext: {
          resourcePath: '/{proxy+}',
          httpMethod: method,
          path,
          stage: '$default',
          requestId,
          accountId: '123456789012',
          apiId: 'serve',
          protocol: 'HTTP/1.1',
          identity: { sourceIp: req.remoteAddress, userAgent: last(group(pairs, true))['user-agent'] ?? null },
          requestTimeEpoch: now.getTime(),
        },
        body: req.body.length === 0 ? null : body,
        isBase64Encoded,
      }
    }
    case 'http':
    case 'url': {
      const lower = group(pairs, true)
      const cookies = (lower.cookie ?? []).flatMap((c) => c.split(';')).map((c) => c.trim()).filter(Boolean)
      delete lower.cookie
      const query = queryPairs(rawQuery, true)
      const apiId = source === 'url' ? 'serve0local0function0url0' : 'serve'
      const event: Record<string, unknown> = {
        version: '2.0',
        routeKey: '$default',
        rawPath: path,
        rawQueryString: rawQuery,
        ...(cookies.length > 0 ? { cookies } : {}),
        headers: joined(lower),
        ...(Object.keys(query).length > 0 ? { queryStringParameters: joined(query) } : {}),
        requestContext: {
          accountId: source === 'url' ? 'anonymous' : '123456789012',
          apiId,
          // The runtime tells a function URL from an HTTP API by this domain; Host (the local address) still wins
          // for what PHP sees as the server name.
          domainName: source === 'url' ? `${apiId}.lambda-url.us-east-1.on.aws` : `${apiId}.execute-api.us-east-1.amazonaws.com`,
          domainPrefix: apiId,
          http: { method, path, protocol: 'HTTP/1.1', sourceIp: req.remoteAddress, userAgent: lower['user-agent']?.[0] ?? '' },
          requestId,
          routeKey: '$default',
          stage: '$default',
          timeEpoch: now.getTime(),
        },
        ...(req.body.length > 0 ? { body } : {}),
        isBase64Encoded,
      }
      return event
    }
  }
}

/** Hop-by-hop and framing headers the local server sets itself. */
const DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade'])

/**
 * A function's answer as the source's front end turns it into HTTP. Undefined when the answer is not a valid
 * response for that source (the front end would answer 502).
 */
export function fromResponse(source: Source, payload: unknown, rawText: string): OutgoingHttp | undefined {
  const isObject = typeof payload === 'object' && payload !== null && !Array.isArray(payload)
  const r = (isObject ? payload : {}) as Record<string, unknown>
  if (!isObject || typeof r.statusCode !== 'number') {
    // Payload format 2.0 takes any other JSON as a 200 application/json body.
    if ((source === 'http' || source === 'url') && payload !== undefined && !(isObject && 'statusCode' in r)) {
      return { status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(rawText) }
    }
    return undefined
  }
  const headers: Array<[string, string]> = []
  const multi = (r.multiValueHeaders ?? {}) as Record<string, unknown>
  const single = (r.headers ?? {}) as Record<string, unknown>
  const multiNames = new Set(Object.keys(multi).map((k) => k.toLowerCase()))
  for (const [k, v] of Object.entries(multi)) if (Array.isArray(v)) for (const item of v) headers.push([k, String(item)])
  for (const [k, v] of Object.entries(single)) if (!multiNames.has(k.toLowerCase()) && v !== undefined && v !== null) headers.push([k, String(v)])
  if ((source === 'http' || source === 'url') && Array.isArray(r.cookies)) for (const c of r.cookies) headers.push(['set-cookie', String(c)])
  const rawBody = typeof r.body === 'string' ? r.body : ''
  const body = r.isBase64Encoded === true ? Buffer.from(rawBody, 'base64') : Buffer.from(rawBody, 'utf8')
  return { status: r.statusCode, headers: headers.filter(([k]) => !DROPPED.has(k.toLowerCase())), body }
}
