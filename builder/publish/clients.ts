// SDK clients per region. Everything not given explicitly comes from the SDK's standard configuration: the
// credential chain (env, shared config/SSO, web identity, container/instance roles), AWS_ENDPOINT_URL_LAMBDA /
// AWS_ENDPOINT_URL_S3 and so on — which is how tests and `docs/publishing.md` point it at a local endpoint. The region
// always comes from the job, since one run spans many; the retry mode, attempts and network timeouts come from the
// publisher's policy (a connection that hangs open would otherwise stall its region, and the run, for ever).
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda'
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import { PublishError } from '../errors.ts'

export interface ClientOverrides {
  lambda?: Omit<LambdaClientConfig, 'region'>
  s3?: Omit<S3ClientConfig, 'region'>
}

export interface RegionClients {
  region: string
  /** Retries throttling/5xx/resets itself (SDK standard mode). For idempotent calls. */
  lambda: LambdaClient
  /**
   * Never retries on its own: PublishLayerVersion is not idempotent, and an SDK retry after a lost response would
   * create a second version. The region procedure re-checks the newest version instead (see region.ts).
   */
  lambdaOnce: LambdaClient
  s3(): Promise<S3Client>
  destroy(): void
}

export interface NetworkPolicy {
  maxAttempts: number
  /** see RetryPolicy.sdkIdleTimeoutMs */
  idleTimeoutMs: number
  connectTimeoutMs: number
}

/**
 * A reply that is not the JSON the API speaks (a wrong endpoint, a proxy's HTML error page) surfaces from the SDK as
 * a bare SyntaxError; this names the operation, the HTTP status and what came back instead. The SDK's $metadata is
 * kept, so a 5xx page is still retried like any server fault.
 */
const explainReplies = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown): Promise<unknown> => {
  try {
    return await next(args)
  } catch (e) {
    const err = e as { name?: string; message?: string; $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } }
    if (err?.name !== 'SyntaxError' && !/Deserialization error/.test(err?.message ?? '')) throw e
    const status = err.$metadata?.httpStatusCode ?? 'unknown'
    const type = err.$response?.headers?.['content-type']
    const seen = /"([^"]*)"\.\.\. is not valid JSON/.exec(err.message ?? '')?.[1]
    const explained = new Error(
      `${context.commandName?.replace(/Command$/, '') ?? 'request'}: the endpoint answered HTTP ${status}${type ? ` (${type})` : ''} with a body that is not JSON${seen ? ` (starting ${JSON.stringify(seen)})` : ''}; check AWS_ENDPOINT_URL_LAMBDA and any proxy`,
    )
    explained.name = 'UnexpectedReply'
    throw Object.assign(explained, { $metadata: err.$metadata })
  }
}

export class ClientFactory {
  private sharedCredentials: LambdaClientConfig['credentials']
  private readonly made: RegionClients[] = []

  constructor(
    private readonly overrides: ClientOverrides,
    private readonly network: NetworkPolicy,
  ) {}

  forRegion(region: string): RegionClients {
    const requestHandler = { socketTimeout: this.network.idleTimeoutMs, connectionTimeout: this.network.connectTimeoutMs }
    const base: LambdaClientConfig = { requestHandler, ...this.overrides.lambda, region }
    // Resolve credentials once for the whole run: 30 regional clients would otherwise each walk the chain
    // (and, with SSO or an assumed role, each call STS).
    if (base.credentials === undefined && this.sharedCredentials !== undefined) base.credentials = this.sharedCredentials
    const lambda = new LambdaClient({ maxAttempts: this.network.maxAttempts, retryMode: 'standard', ...base })
    if (this.sharedCredentials === undefined) this.sharedCredentials = lambda.config.credentials
    const lambdaOnce = new LambdaClient({ ...base, credentials: base.credentials ?? lambda.config.credentials, maxAttempts: 1 })
    for (const client of [lambda, lambdaOnce]) {
      const add = client.middlewareStack.add as unknown as (mw: typeof explainReplies, opts: { step: 'initialize'; name: string }) => void
      add.call(client.middlewareStack, explainReplies, { step: 'initialize', name: 'phpLayersExplainReplies' })
    }
    let s3: S3Client | undefined
    const overrides = this.overrides
    const maxAttempts = this.network.maxAttempts
    const clients: RegionClients = {
      region,
      lambda,
      lambdaOnce,
      async s3() {
        if (s3 === undefined) {
          // Only the >50 MB path needs S3; keep its SDK out of the common path.
          const { S3Client } = await import('@aws-sdk/client-s3')
          s3 = new S3Client({
            maxAttempts,
            retryMode: 'standard',
            requestHandler,
            credentials: lambda.config.credentials,
            ...overrides.s3,
            region,
          })
        }
        return s3
      },
      destroy() {
        lambda.destroy()
        lambdaOnce.destroy()
        s3?.destroy()
      },
    }
    this.made.push(clients)
    return clients
  }

  /**
   * Resolves the credentials once, before any region starts: without this, a missing or broken credential chain
   * fails every region separately (the same error once per region and call) after the run has begun.
   */
  async resolveCredentials(region: string): Promise<void> {
    const { lambda } = this.forRegion(region)
    const provider = lambda.config.credentials as unknown as () => Promise<unknown>
    try {
      await provider()
    } catch (e) {
      const err = e as { name?: string; message?: string }
      throw new PublishError(
        `no usable AWS credentials: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${(err.message ?? String(e)).split('\n')[0]}`,
        'Configure the SDK\'s standard credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, SSO, a role), then rerun; see docs/publishing.md.',
      )
    }
  }

  destroyAll(): void {
    for (const c of this.made.splice(0)) c.destroy()
  }
}
