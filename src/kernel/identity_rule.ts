/**
 * The per-PFN identity rule of the seed patch and the host-bridge proposal: for each PFN of a
 * range whose `pfn_to_mfn` is INVALID and that is neither on the balloon list nor RAM, write
 * IDENTITY_FRAME(pfn) with the policy's primitive (p2m-semantics.md 9b-9d). The rule runs over
 * runs of the table, so a 64 TiB window costs what its structure costs, not its size.
 *
 * @module
 */

import type { PfnRange } from "../trace/event.ts";
import { MAX_P2M_PFN } from "../p2m/constants.ts";
import { K } from "../p2m/leaf_runs.ts";
import type { ModelDraft } from "../model/state.ts";
import { E820_TYPE } from "../trace/event.ts";
import { pfnDown, pfnUp } from "./memory_setup.ts";

/** Subtracts the members of `cut(a, b, emit)` from the ranges in `ranges`. */
function subtract(
  ranges: PfnRange[],
  forEachIn: (a: number, b: number, cb: (s: number, e: number) => void) => void,
): PfnRange[] {
  const out: PfnRange[] = [];
  for (const r of ranges) {
    let from = r.pfn;
    forEachIn(r.pfn, r.endPfn, (s, e) => {
      if (s > from) out.push({ pfn: from, endPfn: s });
      from = Math.max(from, e);
    });
    if (from < r.endPfn) out.push({ pfn: from, endPfn: r.endPfn });
  }
  return out;
}

/**
 * Applies the rule to `[range.pfn, range.endPfn)` on `d`; returns the ranges it wrote identity
 * to (before any leaf or GiB overreach of the faithful primitive).
 *
 * @example
 * ```ts
 * import { applyIdentityRule } from "./identity_rule.ts";
 * import { initialState, ModelDraft } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "seed-v1"),
 * );
 * const d = new ModelDraft(s);
 * assert.deepEqual(applyIdentityRule(d, { pfn: 0x80000, endPfn: 0x80004 }),
 *   [{ pfn: 0x80000, endPfn: 0x80004 }]);
 * assert.deepEqual(applyIdentityRule(d, { pfn: 0x100, endPfn: 0x104 }), []); // RAM
 * ```
 */
export function applyIdentityRule(d: ModelDraft, range: PfnRange): PfnRange[] {
  const policy = d.policy;
  const end = policy.guard ? Math.min(range.endPfn, MAX_P2M_PFN) : range.endPfn;
  if (range.pfn >= end) return [];
  let candidates: PfnRange[] = [];
  d.p2m.forEachRun(range.pfn, end, (p, e, k) => {
    if (k === K.INVALID) candidates.push({ pfn: p, endPfn: e });
  }, true);
  candidates = subtract(candidates, (a, b, cb) => d.balloon.forEachIn(a, b, cb));
  if (policy.ram === "max_pfn") {
    candidates = subtract(candidates, (a, b, cb) => {
      if (a < d.maxPfn) cb(a, Math.min(b, d.maxPfn));
    });
  } else {
    candidates = subtract(candidates, (a, b, cb) => {
      for (const e of d.e820) {
        if (e.type !== E820_TYPE.ram) continue;
        const s = Math.max(a, pfnDown(e.start));
        const t = Math.min(b, pfnUp(e.start + e.size));
        if (s < t) cb(s, t);
      }
    });
  }
  for (const c of candidates) {
    const v = { kind: K.IDENTITY, base: 0, startPfn: c.pfn };
    if (policy.primitive === "ideal") d.p2m.writePrivate(c.pfn, c.endPfn, v);
    else d.p2m.write(c.pfn, c.endPfn, v, "set_phys_to_machine");
  }
  return candidates;
}
