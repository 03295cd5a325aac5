// `npm run smoke -- --arn <LayerVersionArn>`: fetches a published layer version the way a user's function would get
// it — GetLayerVersion, then the presigned Content.Location — and checks the bytes against Content.CodeSha256
// before anything runs. The AWS SDK's standard configuration applies (credentials chain, AWS_ENDPOINT_URL_LAMBDA).
import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { writeFileAtomic } from '../artifact/atomic.ts'
import { SmokeError, UsageError } from '../errors.ts'

const ARN = /^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):(\d{12}):layer:([A-Za-z0-9_-]+):(\d+)$/

export interface ParsedLayerArn {
  region: string
  layerArn: string
  name: string
  version: number
}

export function parseLayerVersionArn(arn: string): ParsedLayerArn {
  const m = ARN.exec(arn.trim())
  if (!m) throw new UsageError(`--arn ${arn}: not a layer version ARN; accepted: arn:aws:lambda:<region>:<account>:layer:<name>:<version>`)
  const [, partition, region, account, name, version] = m
  return { region: region!, layerArn: `arn:${partition}:lambda:${region}:${account}:layer:${name}`, name: name!, version: Number(version) }
}

/** Downloads the version's zip into `dir`; returns its path. */
export async function downloadLayerVersion(arn: string, dir: string): Promise<string> {
  const parsed = parseLayerVersionArn(arn)
  const { GetLayerVersionCommand, LambdaClient } = await import('@aws-sdk/client-lambda')
  const lambda = new LambdaClient({ region: parsed.region, maxAttempts: 3 })
  let location: string | undefined
  let expected: string | undefined
  try {
    const out = await lambda.send(new GetLayerVersionCommand({ LayerName: parsed.layerArn, VersionNumber: parsed.version }))
    location = out.Content?.Location
    expected = out.Content?.CodeSha256
  } catch (e) {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }
    const status = err.$metadata?.httpStatusCode
    throw new SmokeError(
      `GetLayerVersion ${arn} failed${status ? ` (HTTP ${status})` : ''}: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${(err.message ?? String(e)).split('\n')[0]}`,
      'Check the ARN, the region and your AWS credentials (the SDK\'s standard configuration).',
    )
  } finally {
    lambda.destroy()
  }
  if (!location) throw new SmokeError(`GetLayerVersion ${arn} returned no Content.Location`, 'The caller may lack lambda:GetLayerVersion on it.')
  const res = await fetch(location).catch((e: Error) => {
    throw new SmokeError(`downloading ${arn} failed: ${e.message}`)
  })
  if (!res.ok) throw new SmokeError(`downloading ${arn} failed: HTTP ${res.status} from Content.Location`, 'The presigned URL is valid for minutes; rerun.')
  const bytes = Buffer.from(await res.arrayBuffer())
  const got = createHash('sha256').update(bytes).digest('base64')
  if (expected && got !== expected) {
    throw new SmokeError(`downloaded ${bytes.length} bytes for ${arn} with CodeSha256 ${got}, Lambda says ${expected}`, 'Rerun; if it persists the download is being altered on the way.')
  }
  const zip = join(dir, `${parsed.name}-${parsed.version}.zip`)
  await writeFileAtomic(zip, bytes)
  return zip
}
