/**
 * Bench entry: the cost of one identity or INVALID write over 1 page against the same write
 * over 2^27 pages (the whole 3-level tree, 512 GiB of PFNs), per kernel era, on the state after
 * a generated dom0's boot (4 GiB of RAM in private leaves). Each write is one pure `step()`
 * from the same state; time is the median of several, memory is what the resulting state holds
 * beyond the state it came from (heap after a full GC, so run with `--v8-flags=--expose-gc`).
 * Prints one JSON object per line: `{"policy","value","pages","median_us","retained_kb"}`.
 *
 * Usage: `deno run --allow-read --v8-flags=--expose-gc bench/range_write.ts [REPEATS]`
 *
 * @module
 */

import { drawMachine } from "../src/gen/machine.ts";
import { Prng } from "../src/gen/prng.ts";
import { initialState, type ModelState } from "../src/model/state.ts";
import { step } from "../src/replay/step.ts";
import { resolvePolicy } from "../src/policy/policy.ts";
import { POLICIES } from "../src/policy/policies.ts";
import type { TraceEvent } from "../src/trace/event.ts";

function heap(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed;
}

function booted(policyName: string): ModelState {
  const m = drawMachine(new Prng(1));
  let s = initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: m.nrPages },
    resolvePolicy(POLICIES, policyName),
  );
  let seq = 0;
  for (const e of m.e820) {
    s = step(s, {
      seq: ++seq,
      line: seq + 1,
      kind: "e820",
      start: e.start,
      size: e.end - e.start,
      type: e.type,
      map: "raw",
    }).state;
  }
  return step(s, { seq: ++seq, line: seq + 1, kind: "memory_setup", maxReservation: m.nrPages })
    .state;
}

if (import.meta.main) {
  const repeats = Number(Deno.args[0] ?? 15);
  const BIG = 2 ** 27;
  for (const policy of ["linux-3.12", "linux-3.16", "linux-3.19"]) {
    const s = booted(policy);
    for (const value of ["identity", "invalid"] as const) {
      for (const [pfn, pages] of [[0x2000000, 1], [0, BIG]]) {
        const e: TraceEvent = {
          seq: 100,
          line: 101,
          kind: "set_p2m",
          range: { pfn, endPfn: pfn + pages },
          value,
          primitive: "set_phys_to_machine",
        };
        step(s, e); // warm up
        const times: number[] = [];
        const kept: ModelState[] = [];
        const base = heap();
        for (let i = 0; i < repeats; i++) {
          const t0 = performance.now();
          kept.push(step(s, e).state);
          times.push(performance.now() - t0);
        }
        const retained = (heap() - base) / repeats;
        times.sort((a, b) => a - b);
        console.log(JSON.stringify({
          policy,
          value,
          pages,
          median_us: Math.round(times[Math.floor(times.length / 2)] * 1000),
          retained_kb: Math.max(0, Math.round(retained / 1024)),
          kept: kept.length,
        }));
      }
    }
  }
}
