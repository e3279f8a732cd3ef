import assert from "node:assert/strict";
import fc from "fast-check";
import { TraceReader } from "../src/trace/read.ts";
import { runTrace } from "../src/replay/run.ts";
import { StepIndex } from "../src/replay/steps.ts";
import type { BisectPredicate, BisectVerdict } from "../src/bisect/predicate.ts";
import { bisectScan } from "../src/bisect/scan.ts";
import { runSearch, type SearchPoint } from "../src/bisect/run.ts";
import { GEN_POLICIES, predicateArb, traceArb, traceText } from "./support/bisect_trace_gen.ts";

function seqsOf(text: string): number[] {
  return text.trim().split("\n").slice(1).map((l) => JSON.parse(l)).filter((o) => o.kind !== "end")
    .map((o) => o.seq);
}

/** The verdict at every nameable step, each from a fresh replay to that step. */
async function bruteForce(
  text: string,
  policy: string,
  p: BisectPredicate,
): Promise<BisectVerdict[]> {
  const out: BisectVerdict[] = [];
  for (const point of new StepIndex(seqsOf(text)).points()) {
    const r = await runTrace(TraceReader.fromText("t", text), {
      policy,
      atSeq: point.step,
      detectors: p.detectors.length ? p.detectors.map((d) => d.id) : ["trace-anomaly"],
    });
    const bad = p.isBad({
      point,
      event: undefined,
      state: r.state,
      rec: undefined,
      findings: r.replayer.findings,
    });
    out.push(bad ? "bad" : "good");
  }
  return out;
}

Deno.test("bisect scan equals a brute-force scan of fresh replays at every step", async () => {
  let withBad = 0, holdsAgain = 0;
  await fc.assert(
    fc.asyncProperty(
      traceArb(14),
      fc.constantFrom(...GEN_POLICIES),
      predicateArb,
      async (gen, policy, predicate) => {
        const text = traceText(gen);
        const expected = await bruteForce(text, policy, predicate);
        const res = await bisectScan(TraceReader.fromText("t", text), predicate, { policy });
        const got: BisectVerdict[] = [];
        for (const r of res.runs) {
          for (let i = r.from.point.index; i <= r.to.index; i++) got.push(r.verdict);
        }
        assert.deepEqual(got, expected);
        if (expected.includes("bad")) withBad++;
        if (expected.lastIndexOf("good") > expected.indexOf("bad") && expected.includes("bad")) {
          holdsAgain++;
        }
        const first = expected.indexOf("bad");
        const points = new StepIndex(seqsOf(text)).points();
        assert.equal(res.firstBad?.after.point.step, first < 0 ? undefined : points[first].step);
        assert.equal(
          res.firstBad?.before?.point.step,
          first > 0 ? points[first - 1].step : undefined,
        );
      },
    ),
    { seed: 424242, numRuns: 60 },
  );
  // The generated cases are not vacuous: many go bad, some recover (non-monotone).
  assert.ok(withBad >= 10, `only ${withBad} case(s) had a bad step`);
  assert.ok(holdsAgain >= 2, `only ${holdsAgain} case(s) held again after going bad`);
});

Deno.test("bisect run's binary search finds the first bad step of a monotone predicate, or a skipped neighbourhood holding it", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 2, max: 40 }),
      fc.nat(),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (n, badSeed, skipSeeds) => {
        const firstBad = 1 + badSeed % (n - 1);
        const skip = new Set(skipSeeds.map((s) => 1 + s % (n - 2 || 1)).filter((s) => s < n - 1));
        const points: SearchPoint[] = Array.from({ length: n }, (_, i) => ({
          point: { step: i, index: i },
          event: undefined,
        }));
        const probed: number[] = [];
        const { outcome } = await runSearch({
          points,
          good: 0,
          bad: n - 1,
          terms: { good: "good", bad: "bad" },
          emit: () => {},
          probe: (p) => {
            probed.push(p);
            if (skip.has(p)) return Promise.resolve({ mark: "skip", code: 125 });
            return Promise.resolve(
              p >= firstBad ? { mark: "bad", code: 1 } : { mark: "good", code: 0 },
            );
          },
        });
        assert.deepEqual(probed.slice(0, 2), [0, n - 1]);
        assert.equal(new Set(probed).size, probed.length, "no step is probed twice");
        if (outcome.kind === "found") assert.equal(outcome.position, firstBad);
        else {
          assert.equal(outcome.kind, "ambiguous");
          if (outcome.kind !== "ambiguous") return;
          assert.ok(outcome.positions.includes(firstBad));
          for (const p of outcome.positions.slice(0, -1)) assert.ok(skip.has(p));
        }
      },
    ),
    { seed: 99, numRuns: 300 },
  );
});
