// runAround walks a window around the PFN instead of the whole table: the run it finds must
// be the one a walk of the whole table finds (same start, end, kind, frame and structure), at
// every PFN near run boundaries of states replayed from generated traces.
import assert from "node:assert/strict";
import { runAround } from "./lookup_report.ts";
import { generateTrace } from "../gen/trace_gen.ts";
import { TraceReader } from "../trace/read.ts";
import { ForwardPass } from "../replay/forward.ts";
import type { ModelState } from "../model/state.ts";

function wholeTable(state: ModelState, pfn: number) {
  const t = state.p2m;
  let found;
  t.forEachRun(0, Math.max(t.structureLimit, pfn + 1), (p, e, k, f, st) => {
    if (pfn >= p && pfn < e) found = { pfn: p, endPfn: e, kind: k, frame: f, structure: st };
  });
  return found;
}

Deno.test("runAround: the run a walk of the whole table finds, near every run boundary", async () => {
  for (const [seed, policy] of [[3, "linux-3.12"], [8, "linux-3.16"], [9, "linux-3.19"]] as const) {
    const text = [...generateTrace({ events: 1500, seed })].join("\n") + "\n";
    const pass = await ForwardPass.open(TraceReader.fromText("t", text), { policy });
    await pass.forEachStep(() => {});
    const state = pass.state();
    const pfns = new Set<number>([0, 1, 0x3ffff, 0x40000, 0x1000000, 0x7fffffff]);
    state.p2m.forEachRun(0, state.p2m.structureLimit, (p, e) => {
      for (const q of [p - 1, p, p + 1, e - 1, e, e + 4096, p - 5000]) if (q >= 0) pfns.add(q);
    });
    assert.ok(pfns.size > 100, `seed ${seed}: too few runs`);
    for (const pfn of pfns) {
      assert.deepEqual(runAround(state, pfn), wholeTable(state, pfn), `seed ${seed} pfn ${pfn}`);
    }
  }
});
