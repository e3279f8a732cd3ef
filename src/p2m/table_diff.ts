/**
 * Differences between two P2M tables, by value: the PFN ranges whose entry (kind and frame)
 * differs, coalesced, with both values. Which structure answers is not compared — a leaf made
 * private with the same contents is no difference — so two tables of different eras can be
 * compared too. The walk is over runs, never pages: O(runs of both tables).
 *
 * @module
 */

import { continues, increments, K } from "./leaf_runs.ts";
import type { P2m } from "./table.ts";

/** One differing range: `[pfn, endPfn)` is `aKind`/`aFrame` in one table, `b...` in the other. */
export interface EntryDiff {
  /** First PFN. */
  pfn: number;
  /** One past the last PFN. */
  endPfn: number;
  /** Entry kind in the first table ({@link K}). */
  aKind: number;
  /** Frame at `pfn` in the first table (as `P2m.entry` gives it). */
  aFrame: number;
  /** Entry kind in the second table. */
  bKind: number;
  /** Frame at `pfn` in the second table. */
  bFrame: number;
}

/** Flat runs `[pfn, endPfn, kind, frame, ...]` of `[a, b)`, by value. */
function runsOf(t: P2m, a: number, b: number): number[] {
  const out: number[] = [];
  t.forEachRun(a, b, (p, e, k, bs) => {
    out.push(p, e, k, bs);
  }, true);
  return out;
}

/** Frame of a run at `pfn` when the run starts at `start` with `frame`. */
function frameAt(kind: number, frame: number, start: number, pfn: number): number {
  return increments(kind) ? frame + (pfn - start) : frame;
}

/** Same lookup value: kinds equal and frames equal where the kind carries one. */
function same(ka: number, fa: number, kb: number, fb: number): boolean {
  if (ka !== kb) return false;
  return ka === K.INVALID || ka === K.IDENTITY || ka === K.MFN_UNKNOWN || fa === fb;
}

/**
 * The ranges of `[0, end)` where `a` and `b` hold different entries, in PFN order; `end`
 * defaults to the larger structure limit of the two (beyond it both answer by the same rule).
 *
 * @example
 * ```ts
 * import { P2m } from "./table.ts";
 * import { diffTables } from "./table_diff.ts";
 * import { K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const a = P2m.build("T12", 0x40000);
 * const d = a.draft();
 * d.setIdentityRange(0x80000, 0x80010);
 * const b = d.finish();
 * assert.deepEqual(diffTables(a, b), [
 *   { pfn: 0x80000, endPfn: 0x80010, aKind: K.INVALID, aFrame: 0, bKind: K.IDENTITY, bFrame: 0 },
 * ]);
 * assert.deepEqual(diffTables(a, a), []);
 * ```
 */
export function diffTables(a: P2m, b: P2m, end?: number): EntryDiff[] {
  const limit = end ?? Math.max(a.structureLimit, b.structureLimit, 1);
  if (a === b) return [];
  const ra = runsOf(a, 0, limit), rb = runsOf(b, 0, limit);
  const out: EntryDiff[] = [];
  let i = 0, j = 0, pfn = 0;
  while (pfn < limit && i < ra.length && j < rb.length) {
    while (ra[i + 1] <= pfn) i += 4;
    while (rb[j + 1] <= pfn) j += 4;
    if (i >= ra.length || j >= rb.length) break;
    const e = Math.min(ra[i + 1], rb[j + 1]);
    const ka = ra[i + 2], fa = frameAt(ka, ra[i + 3], ra[i], pfn);
    const kb = rb[j + 2], fb = frameAt(kb, rb[j + 3], rb[j], pfn);
    if (!same(ka, fa, kb, fb)) {
      const last = out[out.length - 1];
      if (
        last && last.endPfn === pfn &&
        continues(last.aKind, last.aFrame, pfn - last.pfn, ka, fa) &&
        continues(last.bKind, last.bFrame, pfn - last.pfn, kb, fb)
      ) {
        last.endPfn = e;
      } else out.push({ pfn, endPfn: e, aKind: ka, aFrame: fa, bKind: kb, bFrame: fb });
    }
    pfn = e;
  }
  return out;
}
