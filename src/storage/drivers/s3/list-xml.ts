/**
 * A fast reader for S3 ListObjectsV2 response bodies. The SDK's generic XML parser and
 * schema-driven deserializer take ~35 ms for one cold 1,000-object page, on the critical path of
 * every listing (the next page is only asked for once this one is read); this reader takes a few.
 *
 * It only reads documents of the plain shape S3 and compatible servers send, and returns
 * `undefined` for anything else (comments, CDATA, numeric character references, attributes
 * below the root, owners, restore status, unusual or out-of-range dates, unusual numbers,
 * whitespace-only text), so the caller falls back to the SDK. What it does read, it reads as the
 * SDK does: a property test and a list of edge cases hold the two to the same output.
 */

export interface ListedObjectXml {
  Key?: string;
  LastModified?: Date;
  ETag?: string;
  Size?: number;
  StorageClass?: string;
  ChecksumAlgorithm?: string[];
  ChecksumType?: string;
}

export interface ListObjectsV2Xml {
  Name?: string;
  Prefix?: string;
  Delimiter?: string;
  MaxKeys?: number;
  EncodingType?: string;
  KeyCount?: number;
  ContinuationToken?: string;
  NextContinuationToken?: string;
  StartAfter?: string;
  IsTruncated?: boolean;
  Contents?: ListedObjectXml[];
  CommonPrefixes?: { Prefix?: string }[];
}

/** Thrown inside the reader when the document is not of the plain shape; never escapes. */
class NotPlain extends Error {}

const NAMED_ENTITY = /&(amp|lt|gt|quot|apos);/g;
const OTHER_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos);)/;
const ENTITY_TEXT: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
// S3's own format (2009-10-12T17:50:30.000Z): exact for `new Date`; anything else goes to the SDK.
const UTC_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z$/;
const DIGITS = /^\d{1,15}$/;
const ELEMENT_NAME = /^[A-Za-z][\w.-]*$/;

const TOP_STRINGS = new Set([
  'Name',
  'Prefix',
  'Delimiter',
  'EncodingType',
  'ContinuationToken',
  'NextContinuationToken',
  'StartAfter',
]);

/** Reads a ListObjectsV2 body, or returns undefined when the SDK must read it instead. */
export function readListObjectsV2(xml: string): ListObjectsV2Xml | undefined {
  try {
    return new Reader(xml).document();
  } catch (error) {
    if (error instanceof NotPlain) return undefined;
    throw error;
  }
}

class Reader {
  private i = 0;
  private readonly x: string;
  constructor(x: string) {
    this.x = x;
    // The SDK folds CR and CRLF into LF before parsing; such documents are left to it.
    if (x.includes('\r')) throw new NotPlain();
  }

  document(): ListObjectsV2Xml {
    const { x } = this;
    this.skipSpace();
    if (x.startsWith('<?xml', this.i)) {
      const end = x.indexOf('?>', this.i);
      if (end < 0) throw new NotPlain();
      this.i = end + 2;
      this.skipSpace();
    }
    // The root may carry attributes (xmlns); nothing below it may.
    if (!x.startsWith('<ListBucketResult', this.i)) throw new NotPlain();
    const close = x.indexOf('>', this.i);
    const after = x.charCodeAt(this.i + 17);
    if (close < 0 || x.charCodeAt(close - 1) === 47 /* / */ || (after !== 62 && after !== 32))
      throw new NotPlain();
    this.i = close + 1;
    const page: ListObjectsV2Xml = {};
    const contents: ListedObjectXml[] = [];
    const commonPrefixes: { Prefix?: string }[] = [];
    for (
      let name = this.nextChild('ListBucketResult');
      name !== undefined;
      name = this.nextChild('ListBucketResult')
    ) {
      if (name === 'Contents') {
        contents.push(this.object());
      } else if (name === 'CommonPrefixes') {
        commonPrefixes.push(this.commonPrefix());
      } else {
        const text = this.leafText(name);
        if (TOP_STRINGS.has(name)) setOnce(page, name as 'Name', text);
        else if (name === 'MaxKeys' || name === 'KeyCount') setOnce(page, name, integer(text));
        else if (name === 'IsTruncated') setOnce(page, name, boolean(text));
        // Other plain elements are not part of the output shape; the SDK ignores them too.
      }
    }
    this.skipSpace();
    if (this.i !== x.length) throw new NotPlain();
    if (contents.length > 0) page.Contents = contents;
    if (commonPrefixes.length > 0) page.CommonPrefixes = commonPrefixes;
    return page;
  }

  private object(): ListedObjectXml {
    // One switch and locals, not a generic setter: this runs for every listed object.
    const object: ListedObjectXml = {};
    let checksums: string[] | undefined;
    let empty = true;
    for (let name = this.nextChild('Contents'); name !== undefined; name = this.nextChild('Contents')) {
      empty = false;
      const text = this.leafText(name);
      switch (name) {
        case 'Key':
          if (object.Key !== undefined) throw new NotPlain();
          object.Key = text;
          break;
        case 'LastModified':
          if (object.LastModified !== undefined) throw new NotPlain();
          object.LastModified = this.date(text);
          break;
        case 'ETag':
          if (object.ETag !== undefined) throw new NotPlain();
          object.ETag = text;
          break;
        case 'Size':
          if (object.Size !== undefined) throw new NotPlain();
          object.Size = integer(text);
          break;
        case 'StorageClass':
          if (object.StorageClass !== undefined) throw new NotPlain();
          object.StorageClass = text;
          break;
        case 'ChecksumType':
          if (object.ChecksumType !== undefined) throw new NotPlain();
          object.ChecksumType = text;
          break;
        case 'Owner':
        case 'RestoreStatus':
          throw new NotPlain(); // structures the SDK reads even when empty; never asked for
        case 'ChecksumAlgorithm':
          checksums = checksums ?? [];
          checksums.push(text);
          break;
        // Other plain elements are not part of the output shape; the SDK ignores them too.
      }
    }
    if (empty) throw new NotPlain();
    if (checksums) object.ChecksumAlgorithm = checksums;
    return object;
  }

  /** Listings carry runs of equal timestamps (objects written in the same second): parse each once. */
  private lastDate: { text: string; ms: number } | undefined;
  private date(text: string): Date {
    if (text !== this.lastDate?.text) this.lastDate = { text, ms: utcDate(text) };
    return new Date(this.lastDate.ms);
  }

  private commonPrefix(): { Prefix?: string } {
    const entry: { Prefix?: string } = {};
    let empty = true;
    for (
      let name = this.nextChild('CommonPrefixes');
      name !== undefined;
      name = this.nextChild('CommonPrefixes')
    ) {
      empty = false;
      const text = this.leafText(name);
      if (name === 'Prefix') setOnce(entry, name, text);
    }
    if (empty) throw new NotPlain();
    return entry;
  }

  /**
   * Moves past the next child's opening tag and returns its name, or past the parent's closing
   * tag and returns undefined.
   */
  private nextChild(parent: string): string | undefined {
    const { x } = this;
    const from = this.i;
    this.skipSpace();
    // The SDK drops whitespace between elements only when it holds a newline; other whitespace
    // becomes text of the parent, which changes its reading. Leave that to it.
    if (this.i > from && !x.slice(from, this.i).includes('\n')) throw new NotPlain();
    if (x.charCodeAt(this.i) !== 60 /* < */) throw new NotPlain();
    const close = x.indexOf('>', this.i);
    if (close < 0) throw new NotPlain();
    if (x.charCodeAt(this.i + 1) === 47 /* / */) {
      if (x.slice(this.i + 2, close) !== parent) throw new NotPlain();
      this.i = close + 1;
      return undefined;
    }
    const name = x.slice(this.i + 1, close);
    // Comments, CDATA, processing instructions, attributes and self-closing tags: SDK's job.
    if (!ELEMENT_NAME.test(name)) throw new NotPlain();
    this.i = close + 1;
    return name;
  }

  /** The text of a leaf element whose opening tag was just read, up to its closing tag. */
  private leafText(name: string): string {
    const { x } = this;
    const end = x.indexOf('<', this.i);
    // `</name>` next (compared in place: a template string per element costs an allocation).
    if (
      end < 0 ||
      x.charCodeAt(end + 1) !== 47 /* / */ ||
      !x.startsWith(name, end + 2) ||
      x.charCodeAt(end + 2 + name.length) !== 62 /* > */
    )
      throw new NotPlain();
    let text = x.slice(this.i, end);
    this.i = end + name.length + 3;
    if (text.includes('&')) {
      // Numeric references and unknown entities are decoded the SDK's own way: leave them to it.
      if (OTHER_AMPERSAND.test(text)) throw new NotPlain();
      text = text.replace(NAMED_ENTITY, (_, entity: string) => ENTITY_TEXT[entity] as string);
    }
    // Whitespace-only text with a newline reads as "" in the SDK (by String.prototype.trim, so
    // Unicode spaces count); rare enough to leave to it.
    if (text.includes('\n') && text.trim() === '') throw new NotPlain();
    return text;
  }

  private skipSpace(): void {
    const { x } = this;
    let c = x.charCodeAt(this.i);
    while (c === 32 || c === 10 || c === 9) c = x.charCodeAt(++this.i);
  }
}

function setOnce<T extends object, K extends keyof T>(target: T, key: K, value: T[K]): void {
  // A repeated single-valued element becomes an array in the SDK's reading; leave that to it.
  if (target[key] !== undefined) throw new NotPlain();
  target[key] = value;
}

function integer(text: string): number {
  if (!DIGITS.test(text)) throw new NotPlain();
  return Number(text);
}

/**
 * Milliseconds of a timestamp in S3's own format. Anything else, and any out-of-range field (hour
 * 24, second 60, 30 February), goes to the SDK, which rejects or reads those its own way.
 */
function utcDate(text: string): number {
  if (!UTC_DATE.test(text)) throw new NotPlain();
  const ms = Date.parse(text);
  // A field out of range either fails to parse or rolls over into the next unit.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== text.slice(0, 19)) throw new NotPlain();
  return ms;
}

function boolean(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new NotPlain();
}
