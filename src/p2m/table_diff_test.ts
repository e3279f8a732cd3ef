import assert from "node:assert/strict";
import fc from "fast-check";
import { P2m } from "./table.ts";
import { continues, K } from "./leaf_runs.ts";
import { diffTables, type EntryDiff } from "./table_diff.ts";

const WINDOW = 0x1000;

/** Per-PFN oracle: compare entry() PFN by PFN and coalesce as diffTables documents. */
function naiveDiff(a: P2m, b: P2m): EntryDiff[] {
  const out: EntryDiff[] = [];
  for (let pfn = 0; pfn < WINDOW; pfn++) {
    const [ka, fa] = a.entry(pfn), [kb, fb] = b.entry(pfn);
    const frameless = (k: number) => k === K.INVALID || k === K.IDENTITY || k === K.MFN_UNKNOWN;
    if (ka === kb && (frameless(ka) || fa === fb)) continue;
    const last = out[out.length - 1];
    if (
      last && last.endPfn === pfn && continues(last.aKind, last.aFrame, pfn - last.pfn, ka, fa) &&
      continues(last.bKind, last.bFrame, pfn - last.pfn, kb, fb)
    ) last.endPfn++;
    else out.push({ pfn, endPfn: pfn + 1, aKind: ka, aFrame: fa, bKind: kb, bFrame: fb });
  }
  return out;
}

const writeArb = fc.record({
  pfn: fc.integer({ min: 0, max: WINDOW - 1 }),
  len: fc.integer({ min: 1, max: 700 }),
  kind: fc.constantFrom(K.INVALID, K.IDENTITY, K.MFN, K.FOREIGN, K.SCRATCH, K.MFN_UNKNOWN),
  base: fc.integer({ min: 0, max: 5000 }),
});

function apply(t: P2m, ws: { pfn: number; len: number; kind: number; base: number }[]): P2m {
  const d = t.draft();
  for (const w of ws) {
    const end = Math.min(WINDOW, w.pfn + w.len);
    // The reducer writes frameless kinds (INVALID, identity, unrecorded mfn) with base 0.
    const frameless = w.kind === K.INVALID || w.kind === K.IDENTITY || w.kind === K.MFN_UNKNOWN;
    d.writePrivate(w.pfn, end, { kind: w.kind, base: frameless ? 0 : w.base, startPfn: w.pfn });
  }
  return d.finish();
}

Deno.test("diffTables equals a per-PFN comparison, coalesced", () => {
  fc.assert(
    fc.property(
      fc.constantFrom<"T12" | "T16" | "L19">("T12", "T16", "L19"),
      fc.array(writeArb, { maxLength: 6 }),
      fc.array(writeArb, { maxLength: 6 }),
      (era, wa, wb) => {
        const base = P2m.build(era, 0x40000);
        const a = apply(base, wa), b = apply(a, wb);
        const got = diffTables(a, b).filter((d) => d.pfn < WINDOW);
        assert.deepEqual(got, naiveDiff(a, b));
        assert.deepEqual(
          diffTables(b, a).map((d) => [d.pfn, d.endPfn]),
          got.map((d) => [d.pfn, d.endPfn]),
        );
      },
    ),
    { seed: 5150, numRuns: 150 },
  );
});

Deno.test("diffTables ignores structure: a leaf made private with the same entries is no difference", () => {
  const a = P2m.build("T12", 0x40000);
  const d = a.draft();
  d.writePrivate(0x80000, 0x80001, { kind: K.INVALID, base: 0, startPfn: 0x80000 });
  const b = d.finish();
  assert.notEqual(a.structureAt(0x80000), b.structureAt(0x80000));
  assert.deepEqual(diffTables(a, b), []);
});
