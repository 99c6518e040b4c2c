/**
 * Hands successful ListObjectsV2 responses of an S3 client to readListObjectsV2 before the SDK's
 * own deserializer, which it falls back to for anything that reader does not take. The hook sits
 * on the client's protocol object, which the SDK asks for every response (config `protocol`), so
 * signing, retries, redirects and error responses stay the SDK's.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { readListObjectsV2 } from './list-xml.ts';

interface HttpResponseLike {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}
interface SerdeContextLike {
  streamCollector(body: unknown): Promise<Uint8Array>;
}
interface ProtocolLike {
  deserializeResponse(
    operation: { name?: string },
    context: SerdeContextLike,
    response: HttpResponseLike,
  ): Promise<unknown>;
  deserializeMetadata(response: HttpResponseLike): Record<string, unknown>;
}

const hooked = new WeakSet<object>();

/** Installs the fast ListObjectsV2 reader on `client`; a client the hook does not fit is left as is. */
export function installFastListing(client: S3Client): void {
  const protocol = client.config.protocol as unknown as Partial<ProtocolLike>;
  if (
    typeof protocol !== 'object' ||
    protocol === null ||
    hooked.has(protocol) ||
    typeof protocol.deserializeResponse !== 'function' ||
    typeof protocol.deserializeMetadata !== 'function'
  ) {
    return;
  }
  hooked.add(protocol);
  const sdkDeserialize = protocol.deserializeResponse.bind(protocol);
  const metadata = protocol.deserializeMetadata.bind(protocol);
  protocol.deserializeResponse = async (operation, context, response) => {
    if (
      operation?.name !== 'ListObjectsV2' ||
      response.statusCode < 200 ||
      response.statusCode >= 300 ||
      // A header-bound output member; the SDK reads it.
      response.headers['x-amz-request-charged'] !== undefined
    ) {
      return sdkDeserialize(operation, context, response);
    }
    const bytes =
      response.body instanceof Uint8Array ? response.body : await context.streamCollector(response.body);
    const page = readListObjectsV2(
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    );
    if (page === undefined) {
      // The body stream is spent: the SDK reads the bytes instead, which it accepts as a body.
      response.body = bytes;
      return sdkDeserialize(operation, context, response);
    }
    return Object.assign(page, { $metadata: metadata(response) });
  };
}
