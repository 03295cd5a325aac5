// One request body for every region. A direct PublishLayerVersion carries the zip base64-encoded in JSON, and the
// SDK would build that body and hash it for SigV4 once per region: for a 40 MB zip and 30 regions that is seconds of
// CPU and 30 copies of ~55 MB in memory, all identical. Here the command is serialized by the SDK as usual but with
// a tiny placeholder in Content.ZipFile; a build-step middleware swaps in the real body, built once and shared, and
// sets x-amz-content-sha256 to its hash computed once (SigV4 signers take a present payload-hash header as given).
// The body is the SDK's own serialization with only the placeholder's base64 replaced, so nothing else can differ.
import { createHash } from 'node:crypto'
import type { PublishLayerVersionCommand } from '@aws-sdk/client-lambda'

/** Bytes that cannot occur by accident: the base64 of these marks where the zip goes. */
const PLACEHOLDER = Buffer.from('php-lambda-layers:zip-placeholder:7d3f9c1e', 'utf8')

interface Built {
  bytes: Buffer
  sha256: string
}

export class SharedZipBody {
  readonly placeholder = new Uint8Array(PLACEHOLDER)
  private readonly marker = `"${PLACEHOLDER.toString('base64')}"`
  /** Encoded on first use: a run that reuses every region, or goes through S3, never needs it. */
  private zipBase64: string | undefined
  /** Keyed by the SDK's serialized body, which is the same for every region. */
  private readonly cache = new Map<string, Built>()

  constructor(private readonly zip: Buffer) {}

  /** The real body for an SDK-serialized body holding the placeholder. */
  build(serialized: string): Built {
    let built = this.cache.get(serialized)
    if (built === undefined) {
      const at = serialized.indexOf(this.marker)
      if (at < 0 || serialized.indexOf(this.marker, at + 1) >= 0) throw new Error('shared zip body: placeholder not found exactly once')
      // Concatenating Buffers avoids one more 55 MB string for the whole body.
      const bytes = Buffer.concat([
        Buffer.from(serialized.slice(0, at + 1), 'utf8'),
        Buffer.from((this.zipBase64 ??= this.zip.toString('base64')), 'latin1'),
        Buffer.from(serialized.slice(at + this.marker.length - 1), 'utf8'),
      ])
      built = { bytes, sha256: createHash('sha256').update(bytes).digest('hex') }
      this.cache.set(serialized, built)
    }
    return built
  }

  /** Makes one command (whose input has `placeholder` as Content.ZipFile) send the shared body. */
  attach(command: PublishLayerVersionCommand): PublishLayerVersionCommand {
    command.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: unknown; headers?: Record<string, string> }
        // The SDK hands over the serialized JSON as a string or as UTF-8 bytes, depending on its version.
        const serialized =
          typeof request.body === 'string'
            ? request.body
            : request.body instanceof Uint8Array
              ? Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString('utf8')
              : undefined
        if (serialized !== undefined && request.headers !== undefined) {
          const built = this.build(serialized)
          request.body = built.bytes
          // Replace whatever casing the SDK used, so exactly one of each header is sent and signed.
          for (const h of Object.keys(request.headers)) {
            if (h.toLowerCase() === 'content-length' || h.toLowerCase() === 'x-amz-content-sha256') delete request.headers[h]
          }
          request.headers['content-length'] = String(built.bytes.length)
          request.headers['x-amz-content-sha256'] = built.sha256
        }
        return next(args)
      },
      { step: 'build', priority: 'low', name: 'sharedZipBodyMiddleware' },
    )
    return command
  }
}
