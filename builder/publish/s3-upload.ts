// The path for zips over the direct-upload limit: put the zip in an S3 bucket in the layer's region, then publish
// from there (Lambda only reads layer content from a bucket in its own region). The key holds the zip's sha256, so a
// rerun after an interruption finds the object already there and skips the upload.
import { UsageError } from '../errors.ts'
import type { S3Client } from '@aws-sdk/client-s3'

export const S3_BUCKET_ENV = 'PHP_LAYERS_S3_BUCKET'

/** `my-layers-{region}` → `my-layers-eu-west-1`. */
export function bucketFor(template: string, region: string): string {
  return template.replaceAll('{region}', region)
}

export function s3Key(layerName: string, sha256: string): string {
  return `php-lambda-layers/${layerName}/${sha256}.zip`
}

/** Refuses a bucket setting that cannot work before anything is uploaded. */
export function checkBucketTemplate(template: string | undefined, regions: readonly string[], zipBytes: number): string {
  const mb = (zipBytes / 1024 / 1024).toFixed(1)
  if (template === undefined || template.trim() === '') {
    throw new UsageError(
      `the zip is ${mb} MiB, over Lambda's 50 MiB direct-upload limit, and no S3 bucket is configured`,
      `Pass --s3-bucket NAME (or set ${S3_BUCKET_ENV}); use {region} in the name for a bucket per region, e.g. my-layers-{region}.`,
    )
  }
  if (regions.length > 1 && !template.includes('{region}')) {
    throw new UsageError(
      `--s3-bucket "${template}" names one bucket for ${regions.length} regions; Lambda reads layer content only from a bucket in the layer's own region`,
      'Use {region} in the bucket name, e.g. my-layers-{region}, with one bucket per region.',
    )
  }
  return template
}

/** HEAD of a missing key is 404, or 403 without s3:ListBucket; either way the object has to be put. */
function isAbsent(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } }
  const status = err.$metadata?.httpStatusCode
  return err.name === 'NotFound' || err.name === 'NoSuchKey' || status === 404 || status === 403
}

/** Ensures s3://bucket/key holds these bytes; returns the bytes sent (0 when the object was already there). */
export async function ensureS3Object(s3: S3Client, bucket: string, key: string, bytes: Buffer, sha256: string): Promise<number> {
  const { HeadObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3')
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
    if (head.ContentLength === bytes.length && head.Metadata?.sha256 === sha256) return 0
  } catch (e) {
    if (!isAbsent(e)) throw e
  }
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: 'application/zip', Metadata: { sha256 } }),
  )
  return bytes.length
}
