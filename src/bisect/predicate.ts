/**
 * The built-in bisect predicates: what makes a step **bad**. Each is evaluated on the state
 * after the step (and, for `--detector`, the findings reported so far), never on the path
 * that led there, so a scan can tell whether a property that went bad holds again later.
 *
 * | predicate | a step is bad when | sticky |
 * | --- | --- | --- |
 * | `--detector ID` | detector ID has reported a finding at this step or an earlier one | yes: once reported, every later step is bad |
 * | `--pfn X --returns-zero` | a PTE built for PFN X (`pfn_pte`) is the value 0: the lookup is INVALID | no |
 * | `--pfn X --is CLASS` | PFN X's lookup answers CLASS (`identity`, `invalid`, `mapped`, `foreign`), after the policy's overrides | no |
 * | `--balloon-identity` | a PFN on the balloon list or in extra memory answers identity | no |
 *
 * The `--detector` form is the "first step whose replay produces a finding of that detector":
 * findings are reported once, at the first step that shows them, so "reported at or before
 * the step" is the only exact reading of "bad at step N". The others are state predicates.
 *
 * @module
 */

import type { PfnRange, TraceEvent } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import { K } from "../p2m/leaf_runs.ts";
import { PfnSet } from "../p2m/pfn_set.ts";
import { lookup } from "../p2m/lookup.ts";
import type { Detector } from "../detect/detectors.ts";
import type { Finding } from "../detect/finding.ts";
import { fmtPfns } from "../detect/finding.ts";
import { selectDetectors, type StepRecord } from "../replay/replayer.ts";
import type { ModelState } from "../model/state.ts";
import type { StepPoint } from "../replay/steps.ts";
import { entryText } from "../report/describe.ts";
import { entryClass } from "../report/snapshot_report.ts";

/** A predicate's answer for one step. */
export type BisectVerdict = "good" | "bad";

/** One step as a predicate sees it. */
export interface StepView {
  /** The step. */
  point: StepPoint;
  /** The event that ends it (undefined at step 0). */
  event: TraceEvent | undefined;
  /**
   * The state after it: frozen for {@link BisectPredicate.isBad}, `why` and `affected`; the
   * replay's live draft for a {@link LiveCheck} (read it during the call, never keep it).
   */
  state: ModelState;
  /** What the step did (undefined at step 0). */
  rec: StepRecord | undefined;
  /** Every finding reported up to and including this step. */
  findings: readonly Finding[];
}

/** A bisect predicate. */
export interface BisectPredicate {
  /** The predicate as options, for messages and the bug report: `--detector lookup-zero`. */
  readonly spec: string;
  /** When a step is bad, in one sentence. */
  readonly meaning: string;
  /** Detectors the replay must run for it (none for state predicates). */
  readonly detectors: readonly Detector[];
  /** True when a bad step makes every later step bad by definition. */
  readonly sticky: boolean;
  /** True when the verdict depends on the state alone (a step that changed nothing keeps it). */
  readonly stateOnly: boolean;
  /** Whether the step is bad. */
  isBad(view: StepView): boolean;
  /** Why `after` is bad (and `before` was not), one line each. */
  why(before: StepView | undefined, after: StepView): string[];
  /** The PFN ranges the verdict is about at `after` (for before/after tables). */
  affected(after: StepView): PfnRange[];
  /**
   * A fresh {@link LiveCheck} for one scan, when the predicate has one: the scan then reads the
   * live replay and freezes no state per step. Without it the scan freezes the state after
   * every step for {@link BisectPredicate.isBad} (and skips unchanged states when `stateOnly`).
   */
  live?(): LiveCheck;
}

/**
 * A predicate evaluated step after step on a scan's live replay: called for step 0 (`rec`
 * undefined, or the record of an event with seq 0), then once after every event, in order,
 * with the live draft as `view.state` — read it during the call, never keep it or write it.
 * It may keep what it learnt at earlier steps (a count, a set of PFNs) so that a step costs
 * what the step changed, not what the state holds. Its answer at every step must equal
 * {@link BisectPredicate.isBad} on the frozen state (`tests/bisect_scan_test.ts` checks the
 * built-in ones against fresh replays).
 */
export type LiveCheck = (view: StepView) => boolean;

/**
 * Bad once detector `id` has reported a finding.
 *
 * @example
 * ```ts
 * import { detectorPredicate } from "./predicate.ts";
 * import assert from "node:assert/strict";
 * const p = detectorPredicate("lookup-zero");
 * assert.equal(p.spec, "--detector lookup-zero");
 * assert.equal(p.sticky, true);
 * assert.throws(() => detectorPredicate("nope"), /unknown detector 'nope'/);
 * ```
 */
export function detectorPredicate(id: string): BisectPredicate {
  const detectors = selectDetectors([id]);
  const own = (fs: readonly Finding[]) => fs.filter((f) => f.detector === id);
  return {
    spec: `--detector ${id}`,
    meaning: `bad once detector ${id} has reported a finding, at the step or before it`,
    detectors,
    sticky: true,
    stateOnly: false,
    isBad: (v) => v.findings.some((f) => f.detector === id),
    live() {
      // Findings only accumulate: look at the ones reported since the previous step.
      let seen = 0, bad = false;
      return (v) => {
        const fs = v.findings;
        for (; !bad && seen < fs.length; seen++) bad = fs[seen].detector === id;
        seen = fs.length;
        return bad;
      };
    },
    why(_before, after) {
      const out: string[] = [];
      for (const f of own(after.rec?.findings ?? [])) {
        out.push(`${f.detector} (${f.severity}): ${f.message}`);
        for (const [k, v] of f.evidence) out.push(`  ${k}: ${v}`);
      }
      return out;
    },
    affected: (after) => own(after.rec?.findings ?? []).flatMap((f) => f.range ? [f.range] : []),
  };
}

/** How a PFN's lookup reads, for `why` lines. */
function pfnLine(v: StepView, pfn: number): string {
  const r = lookup(v.state.p2m, pfn, v.state.ctx);
  const pte = r.pteZero
    ? "PTE 0"
    : r.pte === undefined
    ? "PTE a valid frame"
    : `PTE frame ${hex(r.pte)}`;
  return `${entryText(r.kind, r.mfn)} (${r.structure}; ${pte})`;
}

function stepName(v: StepView): string {
  return `step ${v.point.step}`;
}

/**
 * The live form of a one-PFN predicate. A lookup's kind, frame and PTE are functions of the
 * PFN's entry (`P2m.entry`: kind and frame) and the lookup context, which a replay never
 * changes; the structure that answers only names the answer. So the verdict is computed again
 * (with `isBad`) only at a step where the entry differs from the previous step's.
 */
function entryLive(pfn: number, isBad: (v: StepView) => boolean): () => LiveCheck {
  return () => {
    let kind = -1, mfn = 0, bad = false;
    return (v) => {
      const [k, m] = v.state.p2m.entry(pfn);
      if (k !== kind || m !== mfn) {
        kind = k;
        mfn = m;
        bad = isBad(v);
      }
      return bad;
    };
  };
}

/** The PFN at the step before, when there is one. */
function beforeLine(before: StepView | undefined, pfn: number): string[] {
  return before ? [`pfn ${hex(pfn)} at ${stepName(before)}: ${pfnLine(before, pfn)}`] : [];
}

/**
 * Bad when a PTE built for `pfn` is 0 (its lookup is INVALID, after the policy's overrides).
 *
 * @example
 * ```ts
 * import { returnsZeroPredicate } from "./predicate.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const state = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const view = { point: { step: 0, index: 0 }, event: undefined, state, rec: undefined, findings: [] };
 * assert.equal(returnsZeroPredicate(0x3800000).isBad(view), true);
 * assert.equal(returnsZeroPredicate(0x100).isBad(view), false);
 * ```
 */
export function returnsZeroPredicate(pfn: number): BisectPredicate {
  return {
    spec: `--pfn ${hex(pfn)} --returns-zero`,
    meaning: `bad when a PTE built for pfn ${hex(pfn)} is 0: its lookup is INVALID (bus address 0)`,
    detectors: [],
    sticky: false,
    stateOnly: true,
    isBad: (v) => lookup(v.state.p2m, pfn, v.state.ctx).pteZero,
    live: entryLive(pfn, (v) => lookup(v.state.p2m, pfn, v.state.ctx).pteZero),
    why: (before, after) => [
      ...beforeLine(before, pfn),
      `pfn ${hex(pfn)} at ${stepName(after)}: ${pfnLine(after, pfn)}: a PTE built for it is 0`,
    ],
    affected: () => [{ pfn, endPfn: pfn + 1 }],
  };
}

/** Lookup classes `--is` takes. */
export const PFN_CLASSES = ["identity", "invalid", "mapped", "foreign"] as const;

/** One of {@link PFN_CLASSES}. */
export type PfnClass = typeof PFN_CLASSES[number];

/**
 * Bad when `pfn`'s lookup answers `cls` (after the policy's overrides).
 *
 * @example
 * ```ts
 * import { pfnIsPredicate } from "./predicate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pfnIsPredicate(0x9c, "identity").spec, "--pfn 0x9c --is identity");
 * ```
 */
export function pfnIsPredicate(pfn: number, cls: PfnClass): BisectPredicate {
  const is = (v: StepView) => entryClass(lookup(v.state.p2m, pfn, v.state.ctx).kind) === cls;
  return {
    spec: `--pfn ${hex(pfn)} --is ${cls}`,
    meaning: `bad when pfn ${hex(pfn)} looks up ${cls}`,
    detectors: [],
    sticky: false,
    stateOnly: true,
    isBad: is,
    live: entryLive(pfn, is),
    why: (before, after) => [
      ...beforeLine(before, pfn),
      `pfn ${hex(pfn)} at ${stepName(after)}: ${pfnLine(after, pfn)}: it is ${cls}`,
    ],
    affected: () => [{ pfn, endPfn: pfn + 1 }],
  };
}

/**
 * The PFNs on the balloon list or in extra memory whose lookup answers identity (after the
 * policy's overrides: under `invalid-is-identity` an INVALID ballooned page is identity).
 *
 * @example
 * ```ts
 * import { balloonIdentityRanges } from "./predicate.ts";
 * import { reduce } from "../replay/step.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * let s = initialState(
 *   { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.16"),
 * );
 * s = reduce(s, { seq: 1, line: 2, kind: "balloon_append", ranges: [{ pfn: 0x80000, endPfn: 0x80004 }] });
 * assert.deepEqual(balloonIdentityRanges(s), []);
 * s = reduce(s, { seq: 2, line: 3, kind: "set_identity", range: { pfn: 0x80002, endPfn: 0x80010 } });
 * assert.deepEqual(balloonIdentityRanges(s), [{ pfn: 0x80002, endPfn: 0x80004 }]);
 * ```
 */
export function balloonIdentityRanges(state: ModelState): PfnRange[] {
  if (state.ctx.autoTranslated) return [];
  const hits: PfnRange[] = [];
  forEachBalloonIdentity(state, 0, Number.MAX_SAFE_INTEGER, (p, e) => {
    hits.push({ pfn: p, endPfn: e });
  });
  hits.sort((x, y) => x.pfn - y.pfn);
  const merged: PfnRange[] = [];
  for (const h of hits) {
    const last = merged[merged.length - 1];
    if (last && h.pfn <= last.endPfn) last.endPfn = Math.max(last.endPfn, h.endPfn);
    else merged.push({ ...h });
  }
  return merged;
}

/**
 * Calls `hit` for each run of `[a, b)` on the balloon list or in extra memory that looks up
 * identity (INVALID too under `invalid-is-identity`); a PFN in both is reported twice.
 */
function forEachBalloonIdentity(
  state: ModelState,
  a: number,
  b: number,
  hit: (pfn: number, endPfn: number) => void,
): void {
  const invalidToo = state.ctx.invalidIsIdentity;
  const scan = (x: number, y: number) => {
    state.p2m.forEachRun(x, y, (p, e, k) => {
      if (k === K.IDENTITY || (invalidToo && k === K.INVALID)) hit(p, e);
    }, true);
  };
  state.balloon.forEachIn(a, b, scan);
  state.extra.forEachIn(a, b, scan);
}

/** No membership change. */
const NO_RANGES: readonly PfnRange[] = [];

/**
 * Where event `e` can change balloon-list or extra-memory membership: its `ranges` for the
 * balloon calls, none for the kinds that never touch it (their P2M writes are in the step's
 * changes), undefined — anywhere — for `memory_setup`, `balloon_init`, `memory_hotplug` and
 * any kind added later.
 */
function membershipRanges(e: TraceEvent): readonly PfnRange[] | undefined {
  switch (e.kind) {
    case "balloon_append":
    case "balloon_retrieve":
    case "increase_reservation":
    case "decrease_reservation":
      return e.ranges;
    case "e820":
    case "set_identity":
    case "set_p2m":
    case "pci_host_bridge":
    case "xen_add_device":
    case "xen_remove_device":
    case "pci_resource_assign":
    case "lookup":
    case "p2m_dump":
    case "mark":
      return NO_RANGES;
    default:
      return undefined;
  }
}

/**
 * The live `--balloon-identity` check. It keeps the set of member PFNs that look up identity
 * and, after a step, looks again only where the step could have changed the answer: the P2M
 * ranges of the step's changes (lookup-level and exact: the write log captures every write)
 * and the ranges whose membership the event changes ({@link membershipRanges}; the whole set
 * again when that is unknown). A step costs what it touched, not the thousands of ranges a
 * balloon list holds.
 */
function balloonIdentityLive(): LiveCheck {
  const bad = PfnSet.empty().thaw();
  let state: ModelState | undefined;
  let started = false;
  const add = (p: number, e: number) => {
    bad.add(p, e);
  };
  const again = (a: number, b: number) => {
    bad.delete(a, b);
    forEachBalloonIdentity(state!, a, b, add);
  };
  return (v) => {
    if (v.state.ctx.autoTranslated) return false;
    state = v.state;
    const rec = v.rec;
    const ranges = started && rec ? membershipRanges(rec.event) : undefined;
    if (ranges === undefined || rec === undefined) {
      bad.clear();
      forEachBalloonIdentity(state, 0, Number.MAX_SAFE_INTEGER, add);
      started = true;
    } else {
      for (let i = 0; i < ranges.length; i++) again(ranges[i].pfn, ranges[i].endPfn);
      const changes = rec.outcome.changes;
      for (let i = 0; i < changes.length; i++) again(changes[i].pfn, changes[i].endPfn);
    }
    state = undefined;
    return bad.pages > 0;
  };
}

function rangesText(rs: readonly PfnRange[], max = 3): string {
  const shown = rs.slice(0, max).map(fmtPfns).join(", ");
  return rs.length > max ? `${shown}, and ${rs.length - max} more range(s)` : shown;
}

/**
 * Bad when a ballooned or extra-memory PFN answers identity: a PTE for it would map machine
 * frame == pfn, memory the guest does not own.
 *
 * @example
 * ```ts
 * import { balloonIdentityPredicate } from "./predicate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(balloonIdentityPredicate().spec, "--balloon-identity");
 * ```
 */
export function balloonIdentityPredicate(): BisectPredicate {
  return {
    spec: "--balloon-identity",
    meaning: "bad when a PFN on the balloon list or in extra memory looks up identity",
    detectors: [],
    sticky: false,
    stateOnly: true,
    isBad: (v) => balloonIdentityRanges(v.state).length > 0,
    live: balloonIdentityLive,
    why(_before, after) {
      const rs = balloonIdentityRanges(after.state);
      const pages = rs.reduce((n, r) => n + r.endPfn - r.pfn, 0);
      return [
        `${pages} ballooned/extra-memory PFN(s) look up identity: ${rangesText(rs)}`,
        "a PTE for them maps machine frame == pfn: memory this guest does not own",
      ];
    },
    affected: (after) => balloonIdentityRanges(after.state),
  };
}
