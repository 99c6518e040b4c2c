/** What a caller can set on an S3 storage: where it is, how to reach it, and how bodies are sent. */
export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket that this storage is rooted at. @default '' */
  prefix?: string;
  /** @default process.env.AWS_REGION ?? 'us-east-1' */
  region?: string;
  /** Custom endpoint (MinIO, s3rver, …). @default AWS_ENDPOINT_URL_S3 ?? AWS_ENDPOINT_URL */
  endpoint?: string;
  /** Path-style addressing. @default true when an endpoint is set, else false */
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request, with the SDK's exponential backoff on throttling and 5xx. @default 5 */
  maxAttempts?: number;
  /** Bodies at least this large are sent as multipart uploads. @default 16 MiB */
  multipartThreshold?: number;
  /** @default 8 MiB */
  partSize?: number;
  /** Parts uploaded at once per multipart upload. @default 4 */
  queueSize?: number;
}

export const MiB = 1024 * 1024;
