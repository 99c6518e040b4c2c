/** S3 SDK errors as sluice errors: missing keys, access, timeouts and network failures by code. */
import type { S3ServiceException } from '@aws-sdk/client-s3';
import { NetworkError, NotFoundError, S3AccessError, SluiceError, TimeoutError } from '../../../errors.ts';

type SdkError = Partial<S3ServiceException> & {
  code?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
};

/**
 * A connection the peer reset or closed mid-request. The SDK renames these errors `TimeoutError`
 * (its node-http-handler treats ECONNRESET and EPIPE as timeouts), so the code decides, not the name.
 */
function isConnectionReset(e: SdkError): boolean {
  return e.code === 'ECONNRESET' || e.code === 'EPIPE' || /socket hang up/i.test(e.message ?? '');
}

/** "uploading k to http://host/bucket", "downloading k from …", "trying to list k at …". */
function resetWhile(action: string, key: string, at: string): string {
  if (action === 'write') return `uploading ${key} to ${at}`;
  if (action === 'read') return `downloading ${key} from ${at}`;
  return `trying to ${action} ${key} at ${at}`;
}

/**
 * `endpoint` is the custom endpoint the client talks to, if any: messages about the network name
 * it (`http://host:port/bucket`), since that is what the user must check.
 */
export function mapS3Error(
  error: unknown,
  bucket: string,
  key: string,
  action: string,
  endpoint?: string,
): SluiceError {
  if (error instanceof SluiceError) return error;
  const e = error as SdkError;
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
  if (name === 'CredentialsProviderError') {
    // No request was sent: the SDK's chain found no keys. Permanent until the user supplies some.
    return new S3AccessError(
      `No S3 credentials found to ${action} ${where}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile in ~/.aws/credentials or ~/.aws/config), or run where an instance or container role is available`,
      { cause: error, context: { ...context, retryable: false } },
    );
  }
  if (isConnectionReset(e)) {
    const at = endpoint ? `${endpoint.replace(/\/+$/, '')}/${bucket}` : `s3://${bucket}`;
    const attempts = e.$metadata?.attempts;
    return new NetworkError(
      `Connection reset while ${resetWhile(action, key, at)} (${e.code ?? e.message}${attempts ? ` after ${attempts} attempts` : ''}); a transient network fault, safe to retry`,
      {
        cause: error,
        context: { ...context, endpoint, errno: e.code, attempts, retryable: true },
      },
    );
  }
  if (name === 'TimeoutError' || name === 'RequestTimeout' || e.code === 'ETIMEDOUT') {
    return new TimeoutError(`Timed out trying to ${action} ${where}`, { cause: error, context });
  }
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(e.code ?? '')) {
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
