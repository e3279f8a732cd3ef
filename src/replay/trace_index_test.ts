// The index's changed-PFN sets (unionOf, from which a region block says which intervals
// changed a PFN) against a reference that marks every PFN of every range: the union holds
// exactly the PFNs some range holds, as sorted, disjoint, non-touching ranges.
import fc from "fast-check";
import assert from "node:assert/strict";
import { unionOf } from "./trace_index.ts";

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
