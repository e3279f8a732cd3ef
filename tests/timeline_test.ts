import assert from "node:assert/strict";
import fc from "fast-check";
import { TraceReader } from "../src/trace/read.ts";
import { runTrace } from "../src/replay/run.ts";
import { Timeline } from "../src/replay/timeline.ts";
import { StepIndex, type StepPoint } from "../src/replay/steps.ts";
import { ForwardPass } from "../src/replay/forward.ts";
import type { ModelState } from "../src/model/state.ts";
import { snapshotDebugfs, snapshotJson } from "../src/report/snapshot_report.ts";
import { GEN_POLICIES, traceArb, traceText } from "./support/bisect_trace_gen.ts";

/** Everything observable of a state: the snapshot document and the debugfs text. */
function observable(state: ModelState, point: StepPoint): unknown {
  return {
    json: snapshotJson({ trace: "t", point, event: undefined, state, policySource: "option" }),
    debugfs: snapshotDebugfs(state.p2m),
    boot: state.boot,
  };
}

async function freshState(text: string, policy: string, step: number): Promise<ModelState> {
  return (await runTrace(TraceReader.fromText("t", text), { policy, atSeq: step })).state;
}

Deno.test("Timeline.stateAt at any step, in any order, equals a fresh replay to that step", async () => {
  await fc.assert(
    fc.asyncProperty(
      traceArb(16),
      fc.constantFrom(...GEN_POLICIES),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 2, max: 4 }),
      fc.array(fc.nat(), { minLength: 1, maxLength: 10 }),
      async (gen, policy, interval, maxCheckpoints, picks) => {
        const text = traceText(gen);
        const t = await Timeline.build(TraceReader.fromText("t", text), {
          policy,
          interval,
          maxCheckpoints,
          findings: false,
        });
        const points = t.index.points();
        assert.ok(t.checkpoints <= maxCheckpoints);
        for (const pick of picks) {
          const p = points[pick % points.length];
          const fresh = await freshState(text, policy, p.step);
          assert.deepEqual(observable(t.stateAt(p.index), p), observable(fresh, p));
        }
      },
    ),
    { seed: 20261124, numRuns: 40 },
  );
});

Deno.test("Timeline walked forward step by step equals a fresh replay at every step", async () => {
  await fc.assert(
    fc.asyncProperty(traceArb(12), fc.constantFrom(...GEN_POLICIES), async (gen, policy) => {
      const text = traceText(gen);
      const t = await Timeline.build(TraceReader.fromText("t", text), { policy, interval: 3 });
      for (const p of t.index.points()) {
        const fresh = await freshState(text, policy, p.step);
        assert.deepEqual(observable(t.stateAt(p.index), p), observable(fresh, p));
      }
    }),
    { seed: 7, numRuns: 12 },
  );
});

Deno.test("Timeline.build collects the same findings as replay", async () => {
  await fc.assert(
    fc.asyncProperty(traceArb(16), fc.constantFrom(...GEN_POLICIES), async (gen, policy) => {
      const text = traceText(gen);
      const t = await Timeline.build(TraceReader.fromText("t", text), { policy });
      const r = await runTrace(TraceReader.fromText("t", text), { policy });
      assert.deepEqual(t.findings, r.replayer.findings);
      assert.equal(t.ending, r.ending);
    }),
    { seed: 11, numRuns: 25 },
  );
});

Deno.test("Timeline thins its checkpoints and doubles the interval past maxCheckpoints", async () => {
  const text = traceText({
    domain: "domU",
    nrPages: 0x40000,
    layout: 0,
    boot: false,
    events: Array.from({ length: 40 }, (_, i) => ({ kind: "mark", text: `m${i}` })),
    gaps: [0],
    end: true,
  });
  const t = await Timeline.build(TraceReader.fromText("t", text), {
    policy: "linux-3.16",
    interval: 2,
    maxCheckpoints: 4,
  });
  assert.equal(t.events, 43);
  assert.equal(t.interval, 16);
  assert.equal(t.checkpoints, 3); // indices 0, 16, 32
});

Deno.test("Timeline over a cut-off recording ends before the truncated line", async () => {
  const text = traceText({
    domain: "dom0",
    nrPages: 0x40000,
    layout: 0,
    boot: true,
    events: [{ kind: "set_identity", pfn: "0x80000", end_pfn: "0x80010" }],
    gaps: [0],
    end: false,
  }) + '{"seq":99,"kind":"ma';
  const t = await Timeline.build(TraceReader.fromText("t", text), { policy: "linux-3.12" });
  assert.equal(t.ending, "cut-off");
  assert.equal(t.events, 5);
  assert.equal(t.resolve("end").step, 5);
  assert.match(t.cutOff?.message ?? "", /cut off/);
});

Deno.test("StepIndex names steps as rr does: 0, N (seq <= N), end; past the end is an error", () => {
  const ix = new StepIndex([2, 3, 7]);
  assert.deepEqual(ix.resolve(0), { step: 0, index: 0 });
  assert.deepEqual(ix.resolve(1), { step: 1, index: 0 });
  assert.deepEqual(ix.resolve(6), { step: 6, index: 2 });
  assert.deepEqual(ix.resolve(7), { step: 7, index: 3 });
  assert.deepEqual(ix.resolve("end"), { step: 7, index: 3 });
  assert.throws(
    () => ix.resolve(8),
    /^UsageError: step 8 is past the end of the trace: its last event is seq 7 \('end' names the state after it\)$/,
  );
  assert.deepEqual(ix.points(), [
    { step: 0, index: 0 },
    { step: 2, index: 1 },
    { step: 3, index: 2 },
    { step: 7, index: 3 },
  ]);
});

Deno.test("StepIndex: step 0 includes an event with seq 0 (the format allows seq 0)", () => {
  const ix = new StepIndex([0, 4]);
  assert.deepEqual(ix.resolve(0), { step: 0, index: 1 });
  assert.deepEqual(ix.points(), [{ step: 0, index: 1 }, { step: 4, index: 2 }]);
  assert.throws(() => new StepIndex([]).resolve(1), /it has no events/);
  assert.deepEqual(new StepIndex([]).resolve("end"), { step: 0, index: 0 });
});

Deno.test("ForwardPass.steps(atSeq) stops before the first later event and resumes from it", async () => {
  const text = traceText({
    domain: "domU",
    nrPages: 0x40000,
    layout: 0,
    boot: false,
    events: [{ kind: "mark", text: "a" }, { kind: "mark", text: "b" }],
    gaps: [0, 2],
    end: true,
  });
  // seqs: e820 x3 at 1, 4, 5, marks at 8, 9 (gaps cycle 0, 2)
  const pass = await ForwardPass.open(TraceReader.fromText("t", text), { policy: "linux-3.16" });
  const seen: number[] = [];
  for await (const rec of pass.steps(6)) seen.push(rec.event.seq);
  assert.deepEqual(seen, [1, 4, 5]);
  assert.equal(pass.ending, "stopped");
  assert.deepEqual(await pass.walkTo(7), { step: 7, index: 3 });
  for await (const rec of pass.steps()) seen.push(rec.event.seq);
  assert.deepEqual(seen, [1, 4, 5, 8, 9]);
  assert.equal(pass.ending, "end-record");
  await assert.rejects(
    async () => {
      const p = await ForwardPass.open(TraceReader.fromText("t", text), { policy: "linux-3.16" });
      await p.walkTo(10);
    },
    /step 10 is past the end of the trace: its last event is seq 9/,
  );
});
