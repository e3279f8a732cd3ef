import fc from "fast-check";
import assert from "node:assert/strict";
import {
  entryAt,
  holds,
  K,
  LEAF,
  runAt,
  runsProblem,
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
          assert.equal(runsProblem(next), undefined);
          copy = next;
          oracle = want;
        }
      },
    ),
    { seed: 7, numRuns: 400 },
  );
});

Deno.test("runsProblem names each broken run-array invariant", () => {
  const cases: [number[], RegExp][] = [
    [[], /not a positive multiple of 3/],
    [[0, K.MFN, 1, 4], /not a positive multiple of 3/],
    [[1, K.INVALID, 0], /starts at offset 1/],
    [[0, K.INVALID, 0, 512, K.MFN, 0], /run 1 \(offset 512\): offset out of 0..511/],
    [[0, K.INVALID, 0, 8, K.MFN, 3, 8, K.IDENTITY, 0], /run 2 .*not above the previous/],
    [[0, 9, 0], /unknown kind 9/],
    [[0, K.MFN, 0.5], /base 0.5 is not an integer/],
    [[0, K.IDENTITY, 7], /base 7 does not fit kind 1/],
    [[0, K.MFN, -1], /base -1 does not fit kind 2/],
    [[0, K.SCRATCH, -2], /base -2 does not fit kind 4/],
    [[0, K.MFN, 100, 4, K.MFN, 104], /run 1 .*continues the previous run/],
    [[0, K.SCRATCH, 5, 4, K.SCRATCH, 5], /continues the previous run/],
    [[0, K.INVALID, 0, 4, K.INVALID, 0], /continues the previous run/],
  ];
  for (const [runs, want] of cases) assert.match(runsProblem(runs) ?? "ok", want, `${runs}`);
  assert.equal(runsProblem([0, K.SCRATCH, -1, 4, K.SCRATCH, 5, 9, K.FOREIGN, 3]), undefined);
  assert.equal(runsProblem([0, K.MFN, 100, 4, K.MFN, 105]), undefined);
});

Deno.test("runAt finds the run holding an offset whatever it answered last, as the array is edited in place", () => {
  // runAt remembers the array and run it found last and tries that run and its neighbours
  // first; the answer must still be the run a linear scan finds, after edits that move runs.
  const linear = (runs: readonly number[], off: number) => {
    let i = 0;
    while (i + 3 < runs.length && runs[i + 3] <= off) i += 3;
    return i;
  };
  const step = fc.oneof(
    fc.record({ query: fc.integer({ min: 0, max: LEAF - 1 }) }),
    fc.record({
      a: fc.integer({ min: 0, max: LEAF - 1 }),
      len: fc.integer({ min: 1, max: 40 }),
      kind: fc.constantFrom(K.MFN, K.SCRATCH, K.INVALID),
      base: fc.integer({ min: 0, max: 3 }),
    }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 80 }), (steps) => {
      const runs = uniformRuns(K.MFN, 1000);
      const other = uniformRuns(K.INVALID);
      for (const s of steps) {
        if ("query" in s) {
          assert.equal(runAt(runs, s.query), linear(runs, s.query));
          assert.equal(runAt(other, s.query), 0);
        } else {
          writeRunsInPlace(runs, s.a, Math.min(LEAF, s.a + s.len), s.kind, s.base);
        }
      }
    }),
    { seed: 16, numRuns: 500 },
  );
});
