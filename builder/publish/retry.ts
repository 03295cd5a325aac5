// Two layers of retry. Each SDK call retries throttling, 5xx and dropped connections itself (the SDK's standard
// mode: exponential backoff with full jitter, per-client retry quota). Around that, a whole region is re-run with
// p-retry (exponential backoff, randomized): the region procedure is idempotent, so re-running it after any transient
// failure — including a PublishLayerVersion whose response was lost — converges instead of duplicating.
import pRetry from 'p-retry'

export interface RetryPolicy {
  /** Attempts of each SDK call (1 = no SDK retries). */
  sdkMaxAttempts: number
  /** Attempts of a whole region. */
  regionAttempts: number
  /** First region-level backoff, ms; doubles each time, randomized ×1–2. */
  regionMinDelayMs: number
  regionMaxDelayMs: number
  /**
   * An SDK call whose connection sends and receives nothing for this long fails with TimeoutError (and is retried
   * like any transient failure). An inactivity limit, not a deadline: a slow 50 MB upload that keeps moving is fine.
   */
  sdkIdleTimeoutMs: number
  /** Connecting to an endpoint may take this long. */
  sdkConnectTimeoutMs: number
}

export const DEFAULT_RETRY: RetryPolicy = {
  sdkMaxAttempts: 5,
  regionAttempts: 8,
  regionMinDelayMs: 1000,
  regionMaxDelayMs: 20_000,
  sdkIdleTimeoutMs: 60_000,
  sdkConnectTimeoutMs: 10_000,
}

const RETRYABLE_NAMES = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'ServiceException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ServiceUnavailableException',
  'EC2ThrottledException',
  'ResourceConflictException', // "another operation is in progress" on the same resource
])
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED'])

interface SdkLikeError {
  name?: string
  code?: string
  cause?: unknown
  $metadata?: { httpStatusCode?: number }
  $retryable?: unknown
}

/** Throttling, server faults and network failures are worth another try; client errors (4xx) are not. */
export function isRetryable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 5) return false
  const e = error as SdkLikeError
  const status = e.$metadata?.httpStatusCode
  if (status === 429 || (status !== undefined && status >= 500)) return true
  if (e.$retryable !== undefined) return true
  if (e.name !== undefined && RETRYABLE_NAMES.has(e.name)) return true
  if (e.code !== undefined && RETRYABLE_CODES.has(e.code)) return true
  return e.cause !== undefined && isRetryable(e.cause, depth + 1)
}

/** Runs `fn` until it succeeds, a non-retryable error occurs, or the attempts are used up. */
export function retryRegion<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  onRetry?: (error: unknown, attempt: number) => void,
): Promise<T> {
  return pRetry(fn, {
    retries: Math.max(0, policy.regionAttempts - 1),
    minTimeout: policy.regionMinDelayMs,
    maxTimeout: policy.regionMaxDelayMs,
    factor: 2,
    randomize: true,
    shouldRetry: ({ error }) => isRetryable(error),
    onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
      if (retriesLeft > 0 && isRetryable(error)) onRetry?.(error, attemptNumber)
    },
  })
}
