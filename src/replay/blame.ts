/**
 * Provenance of one PFN's entry: which steps changed it, with the value before and after, so a
 * lookup can name the event that last changed it (blame) and list its whole history. Changes
 * are the reducer's lookup-level changes (`StepOutcome.changes`), so a PFN changed through an
 * alias of the shared mid-missing page or a whole-leaf swap is blamed on the step that did it;
 * a step that only rearranged structures (a leaf made private with the same contents) is not a
 * change.
 *
 * @module
 */

import type { TraceEvent } from "../trace/event.ts";
import type { StepRecord } from "./replayer.ts";
import type { Change } from "../model/outcome.ts";

/** One step that changed the PFN. */
export interface PfnChange {
  /** The event that changed it. */
  event: TraceEvent;
  /** The changed range containing the PFN, with both values (frames at the range's start). */
  change: Change;
}

/**
 * Collects the steps that change one PFN, fed one step at a time.
 *
 * @example
 * ```ts
 * import { PfnHistory } from "./blame.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const h = new PfnHistory(0x80000);
 * const change = { pfn: 0x80000, endPfn: 0x80010, beforeKind: K.INVALID, beforeMfn: 0,
 *   afterKind: K.IDENTITY, afterMfn: 0 };
 * const empty = { notes: [], messages: [], verifications: [], anomalies: [], rules: [], moved: [] };
 * h.add({ event: { seq: 1, line: 2, kind: "mark", text: "x" }, outcome: { ...empty, changes: [] }, findings: [], unjudged: [] });
 * h.add({ event: { seq: 2, line: 3, kind: "set_identity", range: { pfn: 0x80000, endPfn: 0x80010 } },
 *   outcome: { ...empty, changes: [change] }, findings: [], unjudged: [] });
 * assert.equal(h.changes.length, 1);
 * assert.equal(h.last?.event.seq, 2);
 * ```
 */
export class PfnHistory {
  /** The PFN followed. */
  readonly pfn: number;
  /** Every change, in step order. */
  readonly changes: PfnChange[] = [];

  /** Follows `pfn`. */
  constructor(pfn: number) {
    this.pfn = pfn;
  }

  /** The last change so far (the blame), if any. */
  get last(): PfnChange | undefined {
    return this.changes[this.changes.length - 1];
  }

  /** Looks at one step. */
  add(rec: StepRecord): void {
    const cs = rec.outcome.changes;
    // Changes are coalesced and sorted by PFN: binary search for the one holding pfn.
    let lo = 0, hi = cs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = cs[mid];
      if (this.pfn < c.pfn) hi = mid - 1;
      else if (this.pfn >= c.endPfn) lo = mid + 1;
      else {
        this.changes.push({ event: rec.event, change: c });
        return;
      }
    }
  }
}
