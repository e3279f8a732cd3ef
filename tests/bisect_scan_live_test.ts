import assert from "node:assert/strict";
import fc from "fast-check";
import { TraceReader } from "../src/trace/read.ts";
import { runTrace } from "../src/replay/run.ts";
import type { ModelState } from "../src/model/state.ts";
import { balloonIdentityPredicate, type BisectPredicate } from "../src/bisect/predicate.ts";
import { bisectScan, type BisectScanResult } from "../src/bisect/scan.ts";
import { snapshotJson } from "../src/report/snapshot_report.ts";
import { GEN_POLICIES, predicateArb, traceArb, traceText } from "./support/bisect_trace_gen.ts";

/** The same predicate without its live form: the scan freezes the state after every step. */
function frozenOnly(p: BisectPredicate): BisectPredicate {
  const { live: _live, ...rest } = p;
  return rest;
}

/** Everything a report can read from a state, as JSON text. */
function stateText(state: ModelState): string {
  return JSON.stringify(
    snapshotJson({
      trace: "t",
      point: { step: 0, index: 0 },
      event: undefined,
      state,
      policySource: "option",
    }),
  );
}

/** The state at a step, from a fresh replay. */
async function freshState(text: string, policy: string, step: number): Promise<ModelState> {
  const r = await runTrace(TraceReader.fromText("t", text), {
    policy,
    atSeq: step,
    detectors: ["trace-anomaly"],
  });
  return r.state;
}

function runsOf(r: BisectScanResult): [string, number, number][] {
  return r.runs.map((x) => [x.verdict, x.from.point.index, x.to.index]);
}

Deno.test("bisect scan: live checks equal frozen states; the first bad step's states equal fresh replays at any checkpoint spacing", async () => {
  let rebuilt = 0;
  await fc.assert(
    fc.asyncProperty(
      traceArb(14),
      fc.constantFrom(...GEN_POLICIES),
      predicateArb,
      fc.constantFrom(1, 2, 3, 5),
      async (gen, policy, predicate, every) => {
        const text = traceText(gen);
        const scan = (p: BisectPredicate, checkpointEvery?: number) =>
          bisectScan(TraceReader.fromText("t", text), p, { policy, checkpointEvery });
        const live = await scan(predicate);
        const frozen = await scan(frozenOnly(predicate), every);
        const spaced = await scan(predicate, every);
        assert.deepEqual(runsOf(live), runsOf(frozen));
        assert.deepEqual(runsOf(spaced), runsOf(live));
        const fb = spaced.firstBad;
        assert.equal(fb?.after.point.step, live.firstBad?.after.point.step);
        if (!fb) return;
        assert.equal(
          stateText(fb.after.state),
          stateText(await freshState(text, policy, fb.after.point.step)),
        );
        if (!fb.before) return;
        rebuilt++;
        assert.equal(
          stateText(fb.before.state),
          stateText(await freshState(text, policy, fb.before.point.step)),
        );
        assert.deepEqual(fb.before.findings, live.firstBad?.before?.findings);
        assert.equal(fb.before.rec?.event.seq, fb.before.event?.seq);
      },
    ),
    { seed: 20240611, numRuns: 150 },
  );
  assert.ok(rebuilt >= 10, `only ${rebuilt} case(s) rebuilt a state before the first bad step`);
});

Deno.test("bisect scan rejects a checkpoint spacing that is not a positive integer", async () => {
  const text = '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
    '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}\n';
  await assert.rejects(
    bisectScan(TraceReader.fromText("t", text), balloonIdentityPredicate(), {
      checkpointEvery: 0,
    }),
    { name: "RangeError", message: "checkpointEvery must be a positive integer, not 0" },
  );
});
