// The index's changed-PFN sets (unionOf, from which a region block says which intervals
// changed a PFN) against a reference that marks every PFN of every range: the union holds
// exactly the PFNs some range holds, as sorted, disjoint, non-touching ranges. And the row
// blocks of the change and region rows: every number read back exactly, narrow (i32) or wide;
// the region blocks the same bytes as format 7's reference (a list of rows per region, each
// block a row block of an f64 copy), held narrow or wide.
import fc from "fast-check";
import assert from "node:assert/strict";
import { regionRows, rowBlock, RowList, rowsOf, unionOf } from "./trace_index.ts";

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

/** Format 7's region blocks as first written: rows per region in JS lists, blocks of f64 copies. */
function referenceRegions(members: number[]): [number, Uint8Array][] {
  const m = members.length / 3;
  if (m === 0) return [];
  const starts = Float64Array.from({ length: m }, (_, i) => members[i * 3 + 1]).sort();
  const bounds = [0];
  for (let i = 1024; i < m; i += 1024) {
    if (starts[i] > bounds[bounds.length - 1]) bounds.push(starts[i]);
  }
  const out = bounds.map((pfn) => ({ pfn, rows: [] as number[] }));
  for (let i = 0; i < m; i++) {
    const [j, a, e] = members.slice(i * 3, i * 3 + 3);
    for (let r = 0; r < bounds.length; r++) {
      if (bounds[r] < e && (r + 1 === bounds.length || bounds[r + 1] > a)) {
        out[r].rows.push(
          j,
          Math.max(a, bounds[r]),
          r + 1 < bounds.length ? Math.min(e, bounds[r + 1]) : e,
        );
      }
    }
  }
  return out.map(({ pfn, rows }) => [pfn, rowBlock(Float64Array.from(rows))]);
}

Deno.test("regionRows: the region blocks of format 7, bytes for bytes, narrow and wide", () => {
  // Intervals in order, ranges of a few PFNs to thousands, some past 2^31 (held wide).
  const range = fc.tuple(
    fc.oneof(
      fc.integer({ min: 0, max: 20_000 }),
      fc.integer({ min: 2 ** 31 - 50, max: 2 ** 31 + 50 }),
    ),
    fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 5000 })),
  );
  fc.assert(
    fc.property(
      // Up to 4,800 ranges: several regions of about 1,024 range starts.
      fc.array(fc.array(range, { maxLength: 400, size: "max" }), { maxLength: 12, size: "max" }),
      (intervals) => {
        const flat: number[] = [];
        intervals.forEach((ranges, j) => {
          for (const [a, n] of ranges.sort((x, y) => x[0] - y[0])) flat.push(j, a, a + n);
        });
        const members = new RowList();
        for (const v of flat) members.push(v);
        assert.equal(members.narrow, flat.every((v) => v < 2 ** 31));
        const got: [number, Uint8Array][] = [];
        regionRows(members, (pfn, rows) => got.push([pfn, rowBlock(rows)]));
        assert.deepEqual(got, referenceRegions(flat));
      },
    ),
    // No shrinking: thousands of ranges shrink for minutes; the seed replays a failure.
    { numRuns: 40, endOnFailure: true },
  );
  // An i32 block is the f64 block of the same numbers.
  assert.deepEqual(rowBlock(Int32Array.of(1, -1, 7)), rowBlock(Float64Array.of(1, -1, 7)));
});
