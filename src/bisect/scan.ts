/**
 * The exact bisect: one forward pass that evaluates the predicate at every step, 0 to end.
 * A property of a replayed P2M need not be monotonic (an identity range can be written back,
 * a device removed), and a binary search over a non-monotonic property can name any of its
 * transitions; a scan costs one replay and names the first. It also records every run of
 * good and bad steps, so the report can say whether the property holds again later.
 *
 * The scan freezes no state per step. A predicate with a live form
 * ({@link BisectPredicate.live}: every built-in one) reads the replay's live draft after each
 * step, and what it costs is what the step touched. Only the first bad step's states are
 * kept, frozen: the state after it is the live one, frozen once, then; the state before it
 * is rebuilt exactly from a checkpoint — the state frozen every `checkpointEvery` (1024)
 * steps while no bad step has been seen — by replaying the at most 1023 events since it,
 * without detectors. A checkpoint costs what a frozen state costs the next steps (their
 * first writes copy the pages they touch), once per 1024 steps instead of once per step. (A
 * "before" rebuilt from the step's changes alone could not say which structure answered —
 * a leaf may be allocated without changing an entry — nor serve a predicate's `why`.)
 * Memory is constant: the checkpoint, the events since it, the states before and after the
 * first bad step, the verdict runs, and the current draft.
 *
 * @module
 */

import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import type { TraceReader } from "../trace/read.ts";
import type { CutOffError } from "../errors.ts";
import type { Policy } from "../policy/policy.ts";
import type { Finding } from "../detect/finding.ts";
import { type PolicySource, Replayer, type StepRecord } from "../replay/replayer.ts";
import type { ModelState } from "../model/state.ts";
import { ForwardPass, type PassEnding } from "../replay/forward.ts";
import type { StepPoint } from "../replay/steps.ts";
import type { BisectPredicate, BisectVerdict, LiveCheck, StepView } from "./predicate.ts";

/** A run of consecutive steps with one verdict. */
export interface VerdictRun {
  /** The verdict. */
  verdict: BisectVerdict;
  /** First step of the run, with the event that ends it. */
  from: Omit<StepView, "state" | "rec" | "findings">;
  /** Last step of the run. */
  to: StepPoint;
}

/** The outcome of a scan. */
export interface BisectScanResult {
  /** The trace header. */
  header: TraceHeader;
  /** The policy. */
  policy: Policy;
  /** Where it came from. */
  policySource: PolicySource;
  /** How the trace ended. */
  ending: PassEnding;
  /** The cut-off, if the last line was truncated (the scan covers the events before it). */
  cutOff: CutOffError | undefined;
  /** The first bad step and the step before it (undefined `before`: bad from step 0). */
  firstBad: { before: StepView | undefined; after: StepView } | undefined;
  /** Every run of one verdict, in order, covering every step scanned. */
  runs: VerdictRun[];
  /** Every finding of the predicate's detectors. */
  findings: readonly Finding[];
}

/** Options of {@link bisectScan}. */
export interface BisectScanOptions {
  /** `--policy` value (name with options); default as `choosePolicy`. */
  policy?: string;
  /**
   * Steps between the checkpoints the state before the first bad step is rebuilt from
   * (default 1024): at most this many minus one events are replayed again, once.
   */
  checkpointEvery?: number;
}

/** Default {@link BisectScanOptions.checkpointEvery}. */
const CHECKPOINT_EVERY = 1024;

/**
 * Scans every step of `reader` with `predicate`.
 *
 * @example
 * ```ts
 * import { bisectScan } from "./scan.ts";
 * import { detectorPredicate } from "./predicate.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const reader = TraceReader.fromText("t", [
 *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *     '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
 *   '{"seq":1,"kind":"e820","start":"0x0","end":"0x3fffffff","type":"ram"}',
 *   '{"seq":2,"kind":"memory_setup"}',
 *   '{"seq":3,"kind":"xen_add_device","device":"0000:01:00.0","resources":' +
 *     '[{"index":0,"start":"0x80000000","end":"0x80003fff","flags":"0x40200"}]}',
 * ].join("\n") + "\n");
 * const r = await bisectScan(reader, detectorPredicate("lookup-zero"), { policy: "linux-3.12" });
 * assert.equal(r.firstBad?.after.point.step, 3);
 * assert.equal(r.firstBad?.before?.point.step, 2);
 * assert.deepEqual(r.runs.map((x) => [x.verdict, x.from.point.step, x.to.step]),
 *   [["good", 0, 2], ["bad", 3, 3]]);
 * ```
 */
export async function bisectScan(
  reader: TraceReader,
  predicate: BisectPredicate,
  opts: BisectScanOptions = {},
): Promise<BisectScanResult> {
  const every = opts.checkpointEvery ?? CHECKPOINT_EVERY;
  if (!Number.isInteger(every) || every < 1) {
    throw new RangeError(`checkpointEvery must be a positive integer, not ${every}`);
  }
  const pass = await ForwardPass.open(reader, {
    policy: opts.policy,
    detectors: predicate.detectors,
  });
  const replayer = pass.replayer;
  const findings = replayer.findings;
  const check = predicate.live?.() ?? frozenCheck(predicate, pass);
  // Step 0 includes any event with seq 0 (step N = after every event with seq <= N).
  let last: StepRecord | undefined;
  await pass.forEachStep((rec) => {
    last = rec;
  }, 0);
  const point0 = pass.point;
  const event0 = pass.lastEvent;
  let verdict: BisectVerdict =
    check({ point: point0, event: event0, state: replayer.current, rec: last, findings })
      ? "bad"
      : "good";
  const runs: VerdictRun[] = [{ verdict, from: { point: point0, event: event0 }, to: point0 }];
  let firstBad: BisectScanResult["firstBad"];
  // The last good step, and what its state is rebuilt from: a checkpoint and the events since.
  let prev = { point: point0, event: event0, rec: last };
  let checkpoint: ModelState | undefined;
  const since: TraceEvent[] = [];
  if (verdict === "bad") {
    firstBad = {
      before: undefined,
      after: {
        point: point0,
        event: event0,
        state: pass.state(),
        rec: last,
        findings: findings.slice(),
      },
    };
  } else checkpoint = pass.state();
  let run = runs[0];
  await pass.forEachStep((rec) => {
    const index = replayer.steps;
    const step = replayer.lastSeq;
    const point = { step, index };
    const bad = check({ point, event: rec.event, state: replayer.current, rec, findings });
    verdict = bad ? "bad" : "good";
    if (firstBad === undefined) {
      if (bad) {
        firstBad = {
          before: {
            point: prev.point,
            event: prev.event,
            state: rebuild(checkpoint!, since),
            rec: prev.rec,
            findings: findings.slice(0, findings.length - rec.findings.length),
          },
          after: { point, event: rec.event, state: pass.state(), rec, findings: findings.slice() },
        };
        checkpoint = undefined;
        since.length = 0;
      } else {
        prev = { point, event: rec.event, rec };
        if (since.length + 1 >= every) {
          checkpoint = pass.state();
          since.length = 0;
        } else since.push(rec.event);
      }
    }
    if (run.verdict === verdict) run.to = point;
    else {
      run = { verdict, from: { point, event: rec.event }, to: point };
      runs.push(run);
    }
  });
  return {
    header: pass.header,
    policy: pass.policy,
    policySource: pass.policySource,
    ending: pass.ending,
    cutOff: pass.cutOff,
    firstBad,
    runs,
    findings: findings.slice(),
  };
}

/**
 * The check of a predicate without a live form: it sees the state frozen after every step, as
 * {@link BisectPredicate.isBad} expects, and keeps its verdict over a step that changed
 * nothing when the predicate is `stateOnly`.
 */
function frozenCheck(predicate: BisectPredicate, pass: ForwardPass): LiveCheck {
  let prev: ModelState | undefined;
  let bad = false;
  return (v) => {
    const state = pass.state();
    if (!(predicate.stateOnly && state === prev)) bad = predicate.isBad({ ...v, state });
    prev = state;
    return bad;
  };
}

/** The state `events` lead to from `from`, frozen (no detectors run). */
function rebuild(from: ModelState, events: readonly TraceEvent[]): ModelState {
  const r = new Replayer(from, []);
  for (const e of events) r.apply(e);
  return r.snapshot();
}
