// The index's changed-PFN sets (unionOf, from which a region block says which intervals
// changed a PFN) against a reference that marks every PFN of every range: the union holds
// exactly the PFNs some range holds, as sorted, disjoint, non-touching ranges. And the row
// blocks of the change and region rows: every number read back exactly, narrow (i32) or wide.
import fc from "fast-check";
import assert from "node:assert/strict";
import { rowBlock, rowsOf, unionOf } from "./trace_index.ts";

Deno.test("unionOf: exactly the PFNs of the ranges, sorted, disjoint, touching ones joined", () => {
  const range = fc.tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 1, max: 6 }));
  fc.assert(
    fc.property(fc.array(range, { maxLength: 12 }), (ranges) => {
      const want = new Set<number>();
      for (const [a, n] of ranges) for (let p = a; p < a + n; p++) want.add(p);
      const union = unionOf(
        Float64Array.from(ranges, ([a]) => a),
        Float64Array.from(ranges, ([a, n]) => a + n),
      );
      const got = new Set<number>();
      for (let i = 0; i < union.length; i += 2) {
        assert.ok(union[i] < union[i + 1], "an empty range");
        if (i > 0) assert.ok(union[i - 1] < union[i], "ranges overlap, touch or are unsorted");
        for (let p = union[i]; p < union[i + 1]; p++) got.add(p);
      }
      assert.deepEqual([...got].sort((a, b) => a - b), [...want].sort((a, b) => a - b));
    }),
    { numRuns: 500 },
  );
});

Deno.test("rowBlock: every row read back exactly, as i32 when all fit, else as f64", () => {
  // PFNs, MFNs (-1: unrecorded) and event indices: small, at the i32 edges, past them.
  const value = fc.oneof(
    fc.integer({ min: -1, max: 1000 }),
    fc.constantFrom(2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 2 ** 40, 2 ** 53 - 1),
  );
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.array(value, { maxLength: 60 }), (cols, vs) => {
      const rows = vs.slice(0, vs.length - vs.length % cols);
      const bytes = rowBlock(Float64Array.from(rows));
      const narrow = rows.every((v) => v >= -(2 ** 31) && v < 2 ** 31);
      assert.equal(bytes.length, 4 + rows.length * (narrow ? 4 : 8));
      const back = rowsOf(bytes, cols);
      assert.ok(back);
      assert.equal(back.count, rows.length / cols);
      for (let r = 0; r < back.count; r++) {
        for (let c = 0; c < cols; c++) assert.equal(back.at(r, c), rows[r * cols + c]);
      }
      // A block cut short, or of another width, is not one.
      if (rows.length) assert.equal(rowsOf(bytes.subarray(0, bytes.length - 1), cols), undefined);
    }),
    { numRuns: 200 },
  );
});
