// The fast ListObjectsV2 reader must return exactly what the SDK's deserializer returns, for every
// document it accepts, and must hand every document it does not fully understand back to the SDK.
// Both run inside a real S3Client; the request handler answers with the generated document
// instead of a network response (the end-to-end path over s3rver is in the storage conformance
// suite, s3.test.ts).
import { Readable } from 'node:stream';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { installFastListing } from '../../src/storage/drivers/s3/fast-list.ts';
import { readListObjectsV2 } from '../../src/storage/drivers/s3/list-xml.ts';
import fc from '../helpers/fc.ts';

function clientAnswering(fast: boolean): { client: S3Client; answer(xml: string): void } {
  let body = '';
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200,
          headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'REQ1', 'x-amz-id-2': 'EXT2' },
          body: Readable.from([Buffer.from(body, 'utf8')]),
        },
      }),
    },
  });
  if (fast) installFastListing(client);
  return {
    client,
    answer(xml) {
      body = xml;
    },
  };
}

const sdk = clientAnswering(false);
const fast = clientAnswering(true);
afterAll(() => {
  sdk.client.destroy();
  fast.client.destroy();
});

/** What each client makes of `xml`: its output, or its error's message. */
async function bothReadings(xml: string): Promise<[unknown, unknown]> {
  sdk.answer(xml);
  fast.answer(xml);
  const input = { Bucket: 'bucket', Prefix: 'p/' };
  const read = (client: S3Client) =>
    client.send(new ListObjectsV2Command(input)).then(
      (output) => output as unknown,
      (error: Error) => ({ error: error.message }),
    );
  return Promise.all([read(sdk.client), read(fast.client)]);
}

const escapeXml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');

// Text as servers send it: XML-special characters escaped (sometimes only & and <), any Unicode.
const text = fc
  .tuple(
    fc.string({
      unit: fc.constantFrom('a', 'Z', '/', '.', '-', '_', ' ', '&', '<', '>', '"', "'", 'é', '€', '😀', '9'),
    }),
    fc.boolean(),
  )
  .map(([s, full]) => (full ? escapeXml(s) : s.replace(/&/g, '&amp;').replace(/</g, '&lt;')));
const nonEmptyText = text.filter((s) => s.length > 0);
const date = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true })
  .chain((d) => fc.constantFrom(d.toISOString(), d.toISOString().replace(/\.\d+Z$/, 'Z')));
const ws = fc.constantFrom('', '', '\n', '\n  ');

const contents = fc
  .record({
    key: nonEmptyText,
    modified: date,
    etag: fc
      .string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 })
      .chain((h) => fc.constantFrom(`&quot;${h}&quot;`, `"${h}-3"`)),
    size: fc.maxSafeNat().map((n) => n % (5 * 1024 ** 4)),
    storageClass: fc.constantFrom('STANDARD', 'GLACIER', 'INTELLIGENT_TIERING'),
    checksums: fc.array(fc.constantFrom('CRC32', 'CRC64NVME', 'SHA256'), { maxLength: 2 }),
    checksumType: fc.option(fc.constantFrom('FULL_OBJECT', 'COMPOSITE'), { nil: undefined }),
    extra: fc.boolean(),
    space: ws,
  })
  .map(
    (c) =>
      `<Contents>${c.space}<Key>${c.key}</Key>${c.space}<LastModified>${c.modified}</LastModified><ETag>${c.etag}</ETag>` +
      c.checksums.map((a) => `<ChecksumAlgorithm>${a}</ChecksumAlgorithm>`).join('') +
      (c.checksumType ? `<ChecksumType>${c.checksumType}</ChecksumType>` : '') +
      `<Size>${c.size}</Size><StorageClass>${c.storageClass}</StorageClass>${c.extra ? '<Unmodelled>x</Unmodelled>' : ''}${c.space}</Contents>`,
  );

const document = fc
  .record({
    declaration: fc.boolean(),
    prefix: text,
    delimiter: fc.option(fc.constantFrom('/', '-'), { nil: undefined }),
    token: fc.option(fc.base64String({ minLength: 4, maxLength: 64 }), { nil: undefined }),
    next: fc.option(fc.base64String({ minLength: 4, maxLength: 64 }), { nil: undefined }),
    startAfter: fc.option(text, { nil: undefined }),
    encoding: fc.option(fc.constant('url'), { nil: undefined }),
    contents: fc.array(contents, { maxLength: 6 }),
    prefixes: fc.array(nonEmptyText, { maxLength: 3 }),
    space: ws,
  })
  .map(
    (d) =>
      `${d.declaration ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${d.space}` +
      `<Name>bucket</Name><Prefix>${d.prefix}</Prefix>` +
      (d.startAfter !== undefined ? `<StartAfter>${d.startAfter}</StartAfter>` : '') +
      (d.token ? `<ContinuationToken>${d.token}</ContinuationToken>` : '') +
      (d.next ? `<NextContinuationToken>${d.next}</NextContinuationToken>` : '') +
      `<KeyCount>${d.contents.length + d.prefixes.length}</KeyCount><MaxKeys>1000</MaxKeys>` +
      (d.delimiter ? `<Delimiter>${d.delimiter}</Delimiter>` : '') +
      (d.encoding ? `<EncodingType>${d.encoding}</EncodingType>` : '') +
      `<IsTruncated>${d.next ? 'true' : 'false'}</IsTruncated>${d.space}` +
      d.contents.join(d.space) +
      d.prefixes.map((p) => `<CommonPrefixes><Prefix>${p}</Prefix></CommonPrefixes>`).join('') +
      `${d.space}</ListBucketResult>`,
  );

describe('fast ListObjectsV2 reader', () => {
  it('reads plain documents exactly as the SDK does (property)', async () => {
    await fc.assert(
      fc.asyncProperty(document, async (xml) => {
        expect(readListObjectsV2(xml)).toBeDefined();
        const [bySdk, byFast] = await bothReadings(xml);
        expect(byFast).toStrictEqual(bySdk);
      }),
      { numRuns: 300 },
    );
  });

  it('leaves to the SDK what it does not take, with the same result', async () => {
    const plain = (inner: string) =>
      `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><IsTruncated>false</IsTruncated>${inner}</ListBucketResult>`;
    const item = (inner: string) =>
      plain(
        `<Contents>${inner}<LastModified>2024-01-02T03:04:05.000Z</LastModified><Size>3</Size></Contents>`,
      );
    const exotic = [
      item('<Key>tab&#9;key</Key>'), // numeric character reference
      item('<Key>hex&#x20AC;</Key>'),
      item('<Key><![CDATA[a<b]]></Key>'),
      item('<Key>a<!-- note -->b</Key>'),
      item('<Key>a</Key><Owner><ID>id</ID><DisplayName>n</DisplayName></Owner>'),
      item('<Key>a</Key><RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus>'),
      item('<Key>line\r\nbreak</Key>'),
      item('<Key xml:space="preserve">a</Key>'),
      item('<Key>a</Key><Key>b</Key>'), // the SDK rejects this one
      plain('<Contents> <Key>a</Key></Contents>'), // whitespace without a newline becomes text
      item('<Key>\n</Key>'),
      plain('<Contents><Key>a</Key><LastModified>2024-01-02T03:04:05.123456Z</LastModified></Contents>'),
      plain('<Contents><Key>a</Key><LastModified>2024-01-02T03:04:05+01:00</LastModified></Contents>'),
      plain('<Contents><Key>a</Key><Size>-1</Size></Contents>'),
      plain('<Contents><Key>a</Key><Size/></Contents>'),
      plain('<Contents></Contents>'),
      plain('<MaxKeys> 5</MaxKeys>'),
      // Timestamps the SDK rejects or reads its own way.
      plain('<Contents><Key>a</Key><LastModified></LastModified></Contents>'),
      plain('<Contents><Key>a</Key><LastModified>2024-01-01T24:00:00Z</LastModified></Contents>'),
      plain('<Contents><Key>a</Key><LastModified>2024-01-01T23:59:60Z</LastModified></Contents>'),
      plain('<Contents><Key>a</Key><LastModified>2024-13-01T00:00:00Z</LastModified></Contents>'),
      plain('<Contents><Key>a</Key><LastModified>2023-02-30T00:00:00Z</LastModified></Contents>'),
      plain('<Contents><Key>a</Key><LastModified>2023-02-00T00:00:00Z</LastModified></Contents>'),
      // Whitespace-only text with a newline (Unicode spaces included) reads as "" in the SDK.
      item('<Key>\u00a0\n</Key>'),
      item('<Key>\n\u3000</Key>'),
      // Structures the SDK reads even when empty or text-only.
      item('<Key>a</Key><Owner></Owner>'),
      item('<Key>a</Key><Owner>x</Owner>'),
      item('<Key>a</Key><RestoreStatus></RestoreStatus>'),
      plain('<Unknown><Nested>x</Nested></Unknown>'),
      '<ListBucketResult/>',
    ];
    for (const xml of exotic) {
      expect(readListObjectsV2(xml), xml).toBeUndefined();
      const [bySdk, byFast] = await bothReadings(xml);
      expect(byFast, xml).toStrictEqual(bySdk);
    }
  });

  it('passes malformed documents to the SDK, which raises its own error', async () => {
    const broken = '<ListBucketResult><Contents><Key>a</Key></ListBucketResult>';
    expect(readListObjectsV2(broken)).toBeUndefined();
    const [bySdk, byFast] = await bothReadings(broken);
    expect(bySdk).toMatchObject({ error: expect.stringContaining('mismatched tags') });
    expect(byFast).toStrictEqual(bySdk);
  });
});
