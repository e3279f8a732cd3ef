/**
 * The reducer: one event applied to the replayed guest under its policy. {@link applyEvent}
 * edits a {@link ModelDraft} (the fast path replay uses); {@link step} and {@link reduce} are the
 * pure forms: `(state, event) -> state`, returning the same state object when the event
 * changed nothing. Problems are recorded in the outcome, never thrown: an event the model cannot
 * apply (a retrieve of a page that is not ballooned, a second boot pass) is an anomaly at its
 * step.
 *
 * @module
 */

import type { EventKind, TraceEvent } from "../trace/event.ts";
import { increments, K } from "../p2m/leaf_runs.ts";
import { WriteLog } from "../p2m/table.ts";
import { runMemorySetup } from "../kernel/events/boot.ts";
import { KERNEL_HANDLERS } from "../kernel/handlers.ts";
import type { HandlerTable } from "../kernel/handler.ts";
import { POLICIES, policyForKernel } from "../policy/policies.ts";
import { ModelDraft, type ModelState } from "../model/state.ts";
import { add, type Change, emptyOutcome, NO_ITEMS, type StepOutcome } from "../model/outcome.ts";
import { verifyBoot, verifyDump, verifyLookup } from "./verify.ts";

/** Replay's own handlers: the boot pass with its recorded counts checked, and observations. */
const HANDLERS: HandlerTable<EventKind> = {
  ...KERNEL_HANDLERS,
  memory_setup: (d, e, out) => {
    const report = runMemorySetup(d, e, out);
    if (report === undefined || !e.expect) return;
    const recorded = recordedBootPass(d.guest.kernel);
    const pass = d.policy.kernel.bootPass;
    if (recorded === undefined || recorded === pass) {
      add(out, "verifications", ...verifyBoot(e.expect, report));
    } else {
      add(
        out,
        "messages",
        `boot counts not compared: the recording's kernel ${d.guest.kernel} does the ` +
          `${recorded} pass, policy ${d.policy.name} the ${pass} pass`,
      );
    }
  },
  lookup: (d, e, out) => add(out, "verifications", ...verifyLookup(d, e)),
  p2m_dump: (d, e, out) => add(out, "verifications", ...verifyDump(d, e)),
  mark: () => {},
};

/**
 * Applies `e` to the draft `d` with the handler of its kind. The draft's write log must be
 * empty (the caller clears it between steps); the outcome's `changes` are computed from it.
 */
export function applyEvent(d: ModelDraft, e: TraceEvent): StepOutcome {
  const out = emptyOutcome();
  (HANDLERS[e.kind] as (d: ModelDraft, e: TraceEvent, out: StepOutcome) => void)(d, e, out);
  // The log starts a new list for the next step's notes (WriteLog.clear), so this one is kept.
  if (d.log.notes.length > 0) out.notes = d.log.notes;
  out.changes = diffChanges(d);
  return out;
}

/**
 * Applies `events` in order to `s`, each as the replayer applies it (a draft kept across
 * steps, its write log cleared between them), and returns the state after the last;
 * `onStep` sees each event with what it did. No detector runs: this is the replay of an
 * answer from the on-disk index, which loads neither the replayer nor the detectors.
 *
 * @example
 * ```ts
 * import { applyEvents } from "./step.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s0 = initialState(
 *   { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.16"),
 * );
 * const seen: number[] = [];
 * const s2 = applyEvents(s0, [
 *   { seq: 1, line: 2, kind: "balloon_append", ranges: [{ pfn: 5, endPfn: 6 }] },
 *   { seq: 2, line: 3, kind: "mark", text: "x" },
 * ], (e) => seen.push(e.seq));
 * assert.equal(s2.balloon.has(5), true);
 * assert.deepEqual(seen, [1, 2]);
 * ```
 */
export function applyEvents(
  s: ModelState,
  events: readonly TraceEvent[],
  onStep?: (e: TraceEvent, outcome: StepOutcome) => void,
): ModelState {
  if (events.length === 0) return s;
  const log = new WriteLog();
  const d = new ModelDraft(s, log);
  for (const e of events) {
    log.clear();
    const outcome = applyEvent(d, e);
    onStep?.(e, outcome);
  }
  return d.finish();
}

/** The boot pass the kernel that made a recording does, from its release string. */
function recordedBootPass(kernel: string | undefined): string | undefined {
  const name = kernel === undefined ? undefined : policyForKernel(kernel);
  return name === undefined ? undefined : POLICIES.get(name)?.base.kernel.bootPass;
}

/** True when two entries (kind, frame at the same PFN) read the same to a lookup. */
function sameEntry(k0: number, b0: number, k1: number, b1: number): boolean {
  return k1 === k0 && (k0 === K.INVALID || k0 === K.IDENTITY || k0 === K.MFN_UNKNOWN || b1 === b0);
}

/** Lookup-level changes of the step, from the write log's before-captures. */
function diffChanges(d: ModelDraft): Change[] {
  const count = d.log.capturedRuns;
  if (count === 0) return NO_ITEMS;
  const bf = d.log.beforeStore, af = d.log.afterStore;
  if (count === 1 && af[0] >= 0) {
    // Most steps: one store wrote one run of a leaf; its change needs no list to sort or merge.
    const k0 = bf[2], b0 = bf[3], k1 = af[0], b1 = af[1];
    if (sameEntry(k0, b0, k1, b1)) return NO_ITEMS;
    return [{
      pfn: bf[0],
      endPfn: bf[1],
      beforeKind: k0,
      beforeMfn: b0,
      afterKind: k1,
      afterMfn: b1,
    }];
  }
  const raw: Change[] = [];
  for (let i = 0, j = 0; i < count * 4; i += 4, j += 2) {
    const p = bf[i], e = bf[i + 1], k0 = bf[i + 2], b0 = bf[i + 3];
    const k1 = af[j];
    if (k1 >= 0) {
      // one store wrote all of it: the after-value is known without reading the table
      const b1 = af[j + 1];
      if (!sameEntry(k0, b0, k1, b1)) {
        raw.push({ pfn: p, endPfn: e, beforeKind: k0, beforeMfn: b0, afterKind: k1, afterMfn: b1 });
      }
      continue;
    }
    d.p2m.forEachRun(p, e, (ap, ae, k1, b1) => {
      const before0 = increments(k0) ? b0 + (ap - p) : b0;
      if (
        k1 === k0 &&
        (k0 === K.INVALID || k0 === K.IDENTITY || k0 === K.MFN_UNKNOWN || b1 === before0)
      ) return;
      raw.push({
        pfn: ap,
        endPfn: ae,
        beforeKind: k0,
        beforeMfn: before0,
        afterKind: k1,
        afterMfn: b1,
      });
    }, true);
  }
  if (raw.length < 2) return raw;
  inPfnOrder(raw);
  // Coalesce in place (raw's changes are this function's own): a change the next one continues
  // is extended over it, and the next is dropped.
  let w = 0;
  for (let r = 1; r < raw.length; r++) {
    const last = raw[w], c = raw[r];
    if (continuesChange(last, c)) last.endPfn = c.endPfn;
    else raw[++w] = c;
  }
  raw.length = w + 1;
  return raw;
}

/**
 * Sorts a step's changes by PFN. The balloon driver walks its pages top down, so the changes of
 * a multi-page balloon event arrive in reverse: those are turned in place, without the copy a
 * sort makes.
 */
function inPfnOrder(changes: Change[]): void {
  let ascending = true, descending = true;
  for (let i = 1; i < changes.length; i++) {
    if (changes[i].pfn > changes[i - 1].pfn) descending = false;
    else ascending = false;
  }
  if (ascending) return;
  if (descending) changes.reverse();
  else changes.sort((x, y) => x.pfn - y.pfn);
}

/** True when change `c` starts where `last` ends and reads as its continuation, before and after. */
function continuesChange(last: Change, c: Change): boolean {
  return last.endPfn === c.pfn && last.beforeKind === c.beforeKind &&
    last.afterKind === c.afterKind &&
    (!increments(c.beforeKind) || c.beforeMfn === last.beforeMfn + (last.endPfn - last.pfn)) &&
    (!increments(c.afterKind) || c.afterMfn === last.afterMfn + (last.endPfn - last.pfn)) &&
    (c.beforeKind !== K.SCRATCH || c.beforeMfn === last.beforeMfn) &&
    (c.afterKind !== K.SCRATCH || c.afterMfn === last.afterMfn);
}

/** Result of a pure {@link step}. */
export interface StepResult {
  /** The new state (the same object when nothing changed). */
  state: ModelState;
  /** What the step did. */
  outcome: StepOutcome;
}

/**
 * The pure reducer step: applies `e` to a copy-on-write draft of `s`.
 *
 * @example
 * ```ts
 * import { step } from "./step.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s0 = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const mark = step(s0, { seq: 1, line: 2, kind: "mark", text: "hello" });
 * assert.equal(mark.state, s0);                       // nothing changed: same object
 * const r = step(s0, { seq: 2, line: 3, kind: "set_identity", range: { pfn: 0x80000, endPfn: 0x80001 } });
 * assert.notEqual(r.state, s0);
 * assert.equal(r.outcome.changes.length, 1);
 * ```
 */
export function step(s: ModelState, e: TraceEvent): StepResult {
  const d = new ModelDraft(s, new WriteLog());
  const outcome = applyEvent(d, e);
  return { state: d.finish(), outcome };
}

/**
 * `reduce(state, event) -> state`, pure and total.
 *
 * @example
 * ```ts
 * import { reduce } from "./step.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s0 = initialState(
 *   { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.16"),
 * );
 * const s1 = reduce(s0, { seq: 1, line: 2, kind: "balloon_append", ranges: [{ pfn: 5, endPfn: 6 }] });
 * assert.equal(s1.balloon.has(5), true);
 * assert.equal(s0.balloon.has(5), false);
 * ```
 */
export function reduce(s: ModelState, e: TraceEvent): ModelState {
  return step(s, e).state;
}
