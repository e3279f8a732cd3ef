import fc from "fast-check";
import assert from "node:assert/strict";
import {
  entryAt,
  holds,
  K,
  LEAF,
  runAt,
  uniformRuns,
  writeRuns,
  writeRunsInPlace,
} from "./leaf_runs.ts";

/** The value of every offset, as `kind:frame` strings (the per-offset oracle). */
function expand(runs: readonly number[]): string[] {
  const out: string[] = [];
  for (let off = 0; off < LEAF; off++) out.push(entryAt(runs, off).join(":"));
  return out;
}

function assertCoalesced(runs: readonly number[]): void {
  assert.equal(runs[0], 0);
  for (let i = 3; i < runs.length; i += 3) {
    assert.ok(runs[i] > runs[i - 3], "offsets increase");
    const [k0, b0] = entryAt(runs, runs[i] - 1);
    const [k1, b1] = entryAt(runs, runs[i]);
    const same = k0 === k1 &&
      (k0 === K.MFN || k0 === K.FOREIGN ? b1 === b0 + 1 : k0 === K.SCRATCH ? b0 === b1 : true);
    assert.ok(!same, `runs at ${runs[i]} continue each other`);
  }
  assert.equal(runAt(runs, LEAF - 1), runs.length - 3);
}

const KINDS = [K.INVALID, K.IDENTITY, K.MFN, K.MFN_UNKNOWN, K.SCRATCH, K.FOREIGN];

Deno.test("writeRuns and writeRunsInPlace agree with a per-offset oracle and stay coalesced", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.nat(LEAF - 1),
          fc.integer({ min: 1, max: 40 }),
          fc.constantFrom(...KINDS),
          fc.nat(4),
        ),
        { maxLength: 60 },
      ),
      (writes) => {
        let copy = uniformRuns(K.MFN_UNKNOWN);
        const inPlace = uniformRuns(K.MFN_UNKNOWN);
        let oracle = expand(copy);
        for (const [a, len, kind, pick] of writes) {
          const b = Math.min(LEAF, a + len);
          // Few distinct bases, so neighbouring writes often continue each other.
          const base = kind === K.MFN || kind === K.FOREIGN
            ? 1000 + a + pick * 7
            : kind === K.SCRATCH
            ? pick % 2
            : 0;
          const unchanged = holds(copy, a, b, kind, base);
          const next = writeRuns(copy, a, b, kind, base);
          writeRunsInPlace(inPlace, a, b, kind, base);
          const want = oracle.slice();
          for (let off = a; off < b; off++) {
            const f = kind === K.MFN || kind === K.FOREIGN ? base + (off - a) : base;
            want[off] = `${kind}:${f}`;
          }
          assert.deepEqual(expand(next), want);
          assert.equal(unchanged, want.every((v, i) => v === oracle[i]));
          assert.equal(next === copy, unchanged);
          assert.deepEqual(inPlace, next);
          assertCoalesced(next);
          copy = next;
          oracle = want;
        }
      },
    ),
    { seed: 7, numRuns: 400 },
  );
});
