;; Finds records that end in a delimiter (`,\n` or `,\r\n`) in a CSV chunk, 32 bytes per step
;; with SIMD. The caller reads the file straight into this module's memory (no copy) and keeps
;; the two bytes before a chunk at `start - 2` and `start - 1`, so an end split across two chunks
;; is found too. Built into record-ends.ts by `npm run build:wasm`; see csv-duckdb.ts for why.
(module
  ;; 5 MiB + 64 KiB: a 16-byte header, then the read buffer. Never grown (views would detach).
  (memory (export "memory") 81 81)

  ;; The first offset i in [start, end) where byte i is LF and the bytes before it are `,` or
  ;; `,\r`; -1 when there is none. Needs start >= 2 (bytes start-2 and start-1 are readable).
  (func (export "findDelimiterAtEnd") (param $start i32) (param $end i32) (result i32)
    (local $i i32)
    (local.set $i (local.get $start))
    (block $scalar
      (loop $vectors
        (br_if $scalar (i32.gt_u (i32.add (local.get $i) (i32.const 32)) (local.get $end)))
        (br_if $scalar
          (v128.any_true
            (v128.or
              (call $block (local.get $i))
              (call $block (i32.add (local.get $i) (i32.const 16))))))
        (local.set $i (i32.add (local.get $i) (i32.const 32)))
        (br $vectors)))
    ;; The rest of the chunk, or the 32 bytes where a vector step saw an end: byte by byte.
    (block $none
      (loop $bytes
        (br_if $none (i32.ge_u (local.get $i) (local.get $end)))
        (if (i32.eq (i32.load8_u (local.get $i)) (i32.const 10))
          (then
            (if (i32.eq (i32.load8_u (i32.sub (local.get $i) (i32.const 1))) (i32.const 44))
              (then (return (local.get $i))))
            (if (i32.and
                  (i32.eq (i32.load8_u (i32.sub (local.get $i) (i32.const 1))) (i32.const 13))
                  (i32.eq (i32.load8_u (i32.sub (local.get $i) (i32.const 2))) (i32.const 44)))
              (then (return (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $bytes)))
    (i32.const -1))

  ;; Lanes of the 16 bytes at $at that are LF after `,` or after `,\r`.
  (func $block (param $at i32) (result v128)
    (local $previous v128)
    (local.set $previous (v128.load (i32.sub (local.get $at) (i32.const 1))))
    (v128.and
      (i8x16.eq (v128.load (local.get $at)) (i8x16.splat (i32.const 10)))
      (v128.or
        (i8x16.eq (local.get $previous) (i8x16.splat (i32.const 44)))
        (v128.and
          (i8x16.eq (local.get $previous) (i8x16.splat (i32.const 13)))
          (i8x16.eq
            (v128.load (i32.sub (local.get $at) (i32.const 2)))
            (i8x16.splat (i32.const 44))))))))
