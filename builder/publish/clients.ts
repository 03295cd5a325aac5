// SDK clients per region. Everything not given explicitly comes from the SDK's standard configuration: the
// credential chain (env, shared config/SSO, web identity, container/instance roles), AWS_ENDPOINT_URL_LAMBDA /
// AWS_ENDPOINT_URL_S3 and so on — which is how tests and `docs/publishing.md` point it at a local endpoint. The region
// always comes from the job, since one run spans many; the retry mode, attempts and network timeouts come from the
// publisher's policy (a connection that hangs open would otherwise stall its region, and the run, for ever).
import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda'
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3'

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

  destroyAll(): void {
    for (const c of this.made.splice(0)) c.destroy()
  }
}
