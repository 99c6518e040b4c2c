/**
 * A native-speed search for CSV records that end in a delimiter (`,\n` or `,\r\n`), over a read
 * buffer that lives in a small WebAssembly module's memory: the file is read straight into it and
 * scanned 32 bytes per step with SIMD (≈4 GB/s; a regex over the Latin-1 text managed ≈1 GB/s
 * and was most of the strict check's cost). Source: wasm/record-ends.wat.
 */
import { WASM_BASE64 } from './wasm/record-ends.ts';

/** Bytes before the buffer: the two bytes that came before the current chunk live there. */
const HEADER = 16;

// The WebAssembly global of Node, typed here: the project's TypeScript libs (no DOM) omit it.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;

export interface DelimiterEndScanner {
  /** Read file bytes into this buffer (a view of the module's memory, never reallocated). */
  readonly buffer: Buffer;
  /** Offset in `buffer` of the first LF in [from, to) after `,` or `,\r`; -1 when none. */
  find(from: number, to: number): number;
  /**
   * The two bytes before `buffer[0]` in the file (the last ones of the previous chunk), so an
   * end split across chunks is found; a file starts with neither.
   */
  setBytesBefore(beforeLast: number, last: number): void;
}

/** One scanner per file being checked: its memory is its own, so checks can run side by side. */
export function createDelimiterEndScanner(): DelimiterEndScanner {
  compiled ??= new wasm.Module(Buffer.from(WASM_BASE64, 'base64'));
  const instance = new wasm.Instance(compiled);
  const exports = instance.exports as {
    memory: { buffer: ArrayBuffer };
    findDelimiterAtEnd: (start: number, end: number) => number;
  };
  const memory = new Uint8Array(exports.memory.buffer);
  const buffer = Buffer.from(exports.memory.buffer, HEADER, memory.length - HEADER);
  return {
    buffer,
    find(from, to) {
      const at = exports.findDelimiterAtEnd(HEADER + from, HEADER + to);
      return at < 0 ? -1 : at - HEADER;
    },
    setBytesBefore(beforeLast, last) {
      memory[HEADER - 2] = beforeLast;
      memory[HEADER - 1] = last;
    },
  };
}
