import { PfnSet } from "./pfn_set.ts";
import fc from "fast-check";
import assert from "node:assert/strict";
Deno.test("PfnSet agrees with a naive Set<number> under random adds and deletes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat(60), fc.nat(12)), { maxLength: 40 }),
      (ops) => {
        const s = PfnSet.empty().thaw();
        const n = new Set<number>();
        for (const [add, a, len] of ops) {
          const b = a + len;
          let cnt = 0;
          for (let p = a; p < b; p++) {
            if (add ? !n.has(p) : n.has(p)) cnt++;
            add ? n.add(p) : n.delete(p);
          }
          assert.equal(add ? s.add(a, b) : s.delete(a, b), cnt);
          assert.equal(s.pages, n.size);
          s.validate("s");
          for (let p = 0; p < 80; p++) {
            assert.equal(s.has(p), n.has(p));
          }
          const r = s.toArray();
          for (let i = 2; i < r.length; i += 2) assert.ok(r[i] > r[i - 1]);
        }
      },
    ),
    { seed: 1, numRuns: 500 },
  );
});

Deno.test("PfnSet.of: any flat ranges, canonical (toArray's form) or not, give the same set", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(60), fc.nat(6)), { maxLength: 12 }), (ranges) => {
      const flat = ranges.flatMap(([a, len]) => [a, a + len]);
      const n = new Set<number>();
      for (const [a, len] of ranges) for (let p = a; p < a + len; p++) n.add(p);
      for (const s of [PfnSet.of(flat), PfnSet.of(PfnSet.of(flat).toArray())]) {
        s.validate("of");
        assert.equal(s.pages, n.size);
        for (let p = 0; p < 70; p++) assert.equal(s.has(p), n.has(p));
      }
    }),
    { seed: 2, numRuns: 500 },
  );
});
