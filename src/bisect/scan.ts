/**
 * The exact bisect: one forward pass that evaluates the predicate at every step, 0 to end.
 * A property of a replayed P2M need not be monotonic (an identity range can be written back,
 * a device removed), and a binary search over a non-monotonic property can name any of its
 * transitions; a scan costs one replay and names the first. It also records every run of
 * good and bad steps, so the report can say whether the property holds again later.
 * Memory is constant: the states before and after the first bad step, and the current one.
 *
 * @module
 */

import type { TraceHeader } from "../trace/event.ts";
import type { TraceReader } from "../trace/read.ts";
import type { CutOffError } from "../errors.ts";
import type { Policy } from "../policy/policy.ts";
import type { Finding } from "../detect/finding.ts";
import type { PolicySource, StepRecord } from "../replay/replayer.ts";
import { ForwardPass, type PassEnding } from "../replay/forward.ts";
import type { StepPoint } from "../replay/steps.ts";
import type { BisectPredicate, BisectVerdict, StepView } from "./predicate.ts";

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
 *   '{"seq":1,"kind":"mark","text":"boot"}',
 *   '{"seq":2,"kind":"xen_add_device","device":"0000:01:00.0","resources":' +
 *     '[{"index":0,"start":"0x80000000","end":"0x80003fff","flags":"0x40200"}]}',
 * ].join("\n") + "\n");
 * const r = await bisectScan(reader, detectorPredicate("lookup-zero"), { policy: "linux-3.12" });
 * assert.equal(r.firstBad?.after.point.step, 2);
 * assert.deepEqual(r.runs.map((x) => [x.verdict, x.from.point.step, x.to.step]),
 *   [["good", 0, 1], ["bad", 2, 2]]);
 * ```
 */
export async function bisectScan(
  reader: TraceReader,
  predicate: BisectPredicate,
  opts: { policy?: string } = {},
): Promise<BisectScanResult> {
  const pass = await ForwardPass.open(reader, {
    policy: opts.policy,
    detectors: predicate.detectors,
  });
  const findings = pass.replayer.findings;
  // Step 0 includes any event with seq 0 (step N = after every event with seq <= N).
  let last: StepRecord | undefined;
  for await (const rec of pass.steps(0)) last = rec;
  let prev: StepView = {
    point: pass.point,
    event: pass.lastEvent,
    state: pass.state(),
    rec: last,
    findings,
  };
  let verdict: BisectVerdict = predicate.isBad(prev) ? "bad" : "good";
  let firstBad: BisectScanResult["firstBad"] = verdict === "bad"
    ? { before: undefined, after: { ...prev, findings: findings.slice() } }
    : undefined;
  const runs: VerdictRun[] = [{
    verdict,
    from: { point: prev.point, event: prev.event },
    to: prev.point,
  }];
  for await (const rec of pass.steps()) {
    const state = pass.state();
    const cur: StepView = { point: pass.point, event: rec.event, state, rec, findings };
    if (!(predicate.stateOnly && state === prev.state)) {
      verdict = predicate.isBad(cur) ? "bad" : "good";
    }
    if (verdict === "bad" && !firstBad) {
      const before = findings.slice(0, findings.length - rec.findings.length);
      firstBad = {
        before: { ...prev, findings: before },
        after: { ...cur, findings: findings.slice() },
      };
    }
    const run = runs[runs.length - 1];
    if (run.verdict === verdict) run.to = cur.point;
    else runs.push({ verdict, from: { point: cur.point, event: cur.event }, to: cur.point });
    prev = cur;
  }
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
