/**
 * Findings: problems found at a step, with a stable detector id, the PFN range, the event that
 * caused it and the evidence (before/after entries, the device, the numbers).
 *
 * @module
 */

import type { PfnRange } from "../trace/event.ts";

/** How bad a finding is. */
export type Severity = "error" | "warning";

/** One problem, found at one step. */
export interface Finding {
  /** Detector id, e.g. `lookup-zero`. */
  detector: string;
  /** `error`: the guest misbehaves; `warning`: a hazard or a suspicious trace. */
  severity: Severity;
  /** The step (event seq) that caused it. */
  seq: number;
  /** The event's trace line. */
  line: number;
  /** The event's kind. */
  kind: string;
  /** Affected PFNs, when any. */
  range?: PfnRange;
  /** One line saying what is wrong. */
  message: string;
  /** Evidence as ordered label/value pairs. */
  evidence: [string, string][];
  /** Identity of the problem for de-duplication (same key: reported once). */
  key: string;
  /**
   * Set when the finding cannot be judged: what its verdict needs that the trace lacks (`no raw
   * E820 map, no nr_pages`). Such a finding is never an error or a warning (see `basis.ts`).
   */
  cannotJudge?: string;
  /** Set when the finding rests on estimated facts: why its confidence is lowered. */
  doubts?: string[];
}

/**
 * Formats a PFN range the way reports print it: `0x3c00000-0x3c0ffff (65536 pages)`.
 *
 * @example
 * ```ts
 * import { fmtPfns } from "./finding.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fmtPfns({ pfn: 0x9e, endPfn: 0x100 }), "0x9e-0xff (98 pages)");
 * assert.equal(fmtPfns({ pfn: 5, endPfn: 6 }), "0x5 (1 page)");
 * ```
 */
export function fmtPfns(r: PfnRange): string {
  const n = r.endPfn - r.pfn;
  if (n === 1) return `0x${r.pfn.toString(16)} (1 page)`;
  return `0x${r.pfn.toString(16)}-0x${(r.endPfn - 1).toString(16)} (${n} pages)`;
}
