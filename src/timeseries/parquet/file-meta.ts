/**
 * The parts of a Parquet footer (FileMetaData) a reader of segment files needs: the writer, the
 * schema's leaves, and each row group's column chunks (where their pages lie, how they are
 * compressed and encoded, their ts statistics). Fields it has no use for are skipped. A footer
 * that does not parse throws BadFooterError; what it says is checked by the reader (page-read.ts).
 */
import { BadFooterError, In, T } from './footer.ts';

/** Where one column's pages lie in the file and what they hold. */
export interface ChunkMeta {
  /** Physical type (writer.ts Physical). */
  type: number;
  encodings: number[];
  /** CompressionCodec: 0 none, 2 gzip, 6 zstd. */
  codec: number;
  numValues: number;
  /** Offset of the first page (the dictionary page's, if any). */
  start: number;
  /** Offset of the data page. */
  dataOffset: number;
  dictionaryOffset?: number;
  compressedSize: number;
  /** Statistics (PLAIN bytes), min_value/max_value, else the deprecated min/max. */
  min?: Buffer;
  max?: Buffer;
}

export interface RowGroupMeta {
  numRows: number;
  /** The group's first row in the file. */
  firstRow: number;
  /** Column chunks by column name (flat schemas: a leaf's path is its name). */
  columns: Map<string, ChunkMeta>;
}

export interface FileMeta {
  createdBy: string;
  numRows: number;
  /** The schema's leaves: name, physical type, optional. */
  leaves: { name: string; type: number; optional: boolean }[];
  rowGroups: RowGroupMeta[];
}

/** Reads the fields of a struct: `on(id, type)` reads a field or returns false to skip it. */
function fields(r: In, on: (id: number, type: number) => boolean): void {
  let last = 0;
  for (let f = r.field(last); f; f = r.field(last)) {
    last = f.id;
    if (!on(f.id, f.type)) r.skip(f.type);
  }
}

/** A list's elements, each read by `each` (which must consume exactly one element of `type`). */
function listOf<X>(r: In, elem: number, each: () => X): X[] {
  const { size, type } = r.listHeader();
  if (type !== elem && size > 0)
    throw new BadFooterError(`a list holds type ${type} where ${elem} was expected`);
  // A corrupt size would make this loop long before the reader runs out: each element is ≥ 1 byte.
  if (size > r.buf.length - r.at) throw new BadFooterError(`a list of ${size} elements exceeds the footer`);
  const out: X[] = [];
  for (let i = 0; i < size; i++) out.push(each());
  return out;
}

function statistics(r: In, c: ChunkMeta): void {
  let min: Buffer | undefined;
  let max: Buffer | undefined;
  fields(r, (id, type) => {
    if (type !== T.BINARY) return false;
    if (id === 5) c.max = r.bytes();
    else if (id === 6) c.min = r.bytes();
    else if (id === 1) max = r.bytes();
    else if (id === 2) min = r.bytes();
    else return false;
    return true;
  });
  c.min ??= min;
  c.max ??= max;
}

function columnMeta(r: In): { name: string; meta: ChunkMeta } {
  const c: ChunkMeta = {
    type: -1,
    encodings: [],
    codec: -1,
    numValues: -1,
    start: -1,
    dataOffset: -1,
    compressedSize: -1,
  };
  let name = '';
  fields(r, (id, type) => {
    if (type === T.I32 || type === T.I64) {
      const v = r.int();
      if (id === 1) c.type = v;
      else if (id === 4) c.codec = v;
      else if (id === 5) c.numValues = v;
      else if (id === 7) c.compressedSize = v;
      else if (id === 9) c.dataOffset = v;
      else if (id === 11) c.dictionaryOffset = v;
      return true;
    }
    if (id === 2 && type === T.LIST) c.encodings = listOf(r, T.I32, () => r.int());
    else if (id === 3 && type === T.LIST) name = listOf(r, T.BINARY, () => r.bytes().toString()).join('.');
    else if (id === 12 && type === T.STRUCT) statistics(r, c);
    else return false;
    return true;
  });
  c.start = c.dictionaryOffset ?? c.dataOffset;
  return { name, meta: c };
}

function rowGroup(r: In, firstRow: number): RowGroupMeta {
  const g: RowGroupMeta = { numRows: -1, firstRow, columns: new Map() };
  fields(r, (id, type) => {
    if (id === 3 && type === T.I64) g.numRows = r.int();
    else if (id === 1 && type === T.LIST)
      listOf(r, T.STRUCT, () =>
        fields(r, (cid, ctype) => {
          if (cid !== 3 || ctype !== T.STRUCT) return false;
          const { name, meta } = columnMeta(r);
          g.columns.set(name, meta);
          return true;
        }),
      );
    else return false;
    return true;
  });
  return g;
}

function schemaElement(r: In): { name: string; type: number; optional: boolean; children: number } {
  const e = { name: '', type: -1, optional: false, children: 0 };
  fields(r, (id, type) => {
    if (id === 4 && type === T.BINARY) e.name = r.bytes().toString();
    else if ((id === 1 || id === 3 || id === 5) && type === T.I32) {
      const v = r.int();
      if (id === 1) e.type = v;
      else if (id === 3) e.optional = v === 1;
      else e.children = v;
    } else return false;
    return true;
  });
  return e;
}

/** The FileMetaData in `footer` (throws BadFooterError if it does not parse). */
export function parseFileMeta(footer: Buffer): FileMeta {
  const r = new In(footer);
  const meta: FileMeta = { createdBy: '', numRows: -1, leaves: [], rowGroups: [] };
  let firstRow = 0;
  fields(r, (id, type) => {
    if (id === 2 && type === T.LIST) {
      // The root, then its leaves (a flat schema); a nested one has children below the root's.
      meta.leaves = listOf(r, T.STRUCT, () => schemaElement(r))
        .slice(1)
        .map((e) => ({ name: e.children > 0 ? '' : e.name, type: e.type, optional: e.optional }));
    } else if (id === 3 && type === T.I64) meta.numRows = r.int();
    else if (id === 4 && type === T.LIST)
      meta.rowGroups = listOf(r, T.STRUCT, () => {
        const g = rowGroup(r, firstRow);
        firstRow += Math.max(0, g.numRows);
        return g;
      });
    else if (id === 6 && type === T.BINARY) meta.createdBy = r.bytes().toString();
    else return false;
    return true;
  });
  return meta;
}
