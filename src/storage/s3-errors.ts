/** S3 SDK errors as sluice errors: missing keys, access, timeouts and network failures by code. */
import type { S3ServiceException } from '@aws-sdk/client-s3';
import { NetworkError, NotFoundError, S3AccessError, SluiceError, TimeoutError } from '../errors.ts';

export function mapS3Error(error: unknown, bucket: string, key: string, action: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const e = error as Partial<S3ServiceException> & { code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? e.code ?? 'Error';
  const where = `s3://${bucket}/${key}`;
  const context = { bucket, key, status, awsCode: name };
  if (name === 'NoSuchKey' || name === 'NotFound' || (status === 404 && name !== 'NoSuchBucket')) {
    return new NotFoundError(`No object at ${where}`, { cause: error, context });
  }
  if (name === 'NoSuchBucket') {
    return new S3AccessError(`Bucket ${bucket} does not exist (while trying to ${action} ${where})`, {
      cause: error,
      context,
    });
  }
  if (
    status === 403 ||
    name === 'AccessDenied' ||
    name === 'InvalidAccessKeyId' ||
    name === 'SignatureDoesNotMatch'
  ) {
    return new S3AccessError(`Access denied to ${where} (${name}); check credentials and bucket policy`, {
      cause: error,
      context,
    });
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout' || e.code === 'ETIMEDOUT') {
    return new TimeoutError(`Timed out trying to ${action} ${where}`, { cause: error, context });
  }
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(e.code ?? '')) {
    return new NetworkError(`Cannot reach S3 endpoint to ${action} ${where}: ${e.code}`, {
      cause: error,
      context,
    });
  }
  const retryable = status === undefined || status >= 500 || status === 429 || name === 'SlowDown';
  return new S3AccessError(`Cannot ${action} ${where}: ${name}${e.message ? ` (${e.message})` : ''}`, {
    cause: error,
    context: { ...context, retryable },
  });
}
