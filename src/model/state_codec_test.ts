// The on-disk index stores model states (state_codec.ts) and later answers from them instead of
// a replay from step 0, so a restored state must be the same state: at every step of a trace,
// decodeState(encodeState(s)) prints the same snapshot (text, JSON, the kernel's debugfs text),
// encodes to the same bytes, and replaying the rest of the trace from it gives the same step
// outcomes and the same final snapshot as the plain replay.
import assert from "node:assert/strict";
import fc from "fast-check";
import { generateTrace } from "../gen/trace_gen.ts";
import { replayOn, statesOf } from "../../tests/support/replay_states.ts";
import type { TraceEvent } from "../trace/event.ts";
import type { ModelState } from "./state.ts";
import { decodeState, encodeState } from "./state_codec.ts";
import { snapshotDebugfs, snapshotJson, snapshotText } from "../report/snapshot_report.ts";
import { POLICIES } from "../policy/policies.ts";
import { p2mPages } from "../p2m/table.ts";

function report(state: ModelState, index: number): string {
  const input = {
    trace: "t",
    point: { step: index, index },
    event: undefined,
    state,
    policySource: "option" as const,
  };
  return snapshotText(input) + JSON.stringify(snapshotJson(input)) + snapshotDebugfs(state.p2m);
}

/** The outcomes of `events` replayed from `state`, as JSON, and the final report. */
function continueFrom(state: ModelState, events: readonly TraceEvent[]): string {
  const { outcomes, final } = replayOn(state, events);
  return outcomes + report(final, -1);
}

async function checkRoundTrip(text: string, policy: string, every = 1): Promise<void> {
  const { states, events, header } = await statesOf(text, policy);
  const p = states[0].policy;
  for (let i = 0; i < states.length; i++) {
    const bytes = encodeState(states[i]);
    const back = decodeState(bytes, header.guest, p);
    assert.deepEqual(encodeState(back), bytes, `step index ${i}: bytes differ after a round trip`);
    // Written against an earlier state (the index's checkpoints within an interval): the
    // same state again, whole.
    const b = Math.floor(i / 2);
    const basePages = p2mPages(states[b].p2m);
    const baseBytes = encodeState(states[b], undefined, basePages);
    const delta = decodeState(encodeState(states[i], basePages), header.guest, p, baseBytes);
    assert.deepEqual(encodeState(delta), bytes, `step index ${i}: differs written against ${b}`);
    if (i % every === 0 || i === states.length - 1) {
      const rest = events.slice(i);
      for (const restored of [back, delta]) {
        assert.equal(
          report(restored, i),
          report(states[i], i),
          `step index ${i}: snapshot differs`,
        );
        assert.equal(
          continueFrom(restored, rest),
          continueFrom(states[i], rest),
          `step index ${i} under ${policy}: replaying on from the restored state differs`,
        );
      }
    }
  }
}

Deno.test("state codec: a restored state replays like the original at every step (property)", async () => {
  const policies = [...POLICIES.keys()];
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: 0, max: 60 }),
      fc.constantFrom(...policies),
      async (seed, n, policy) => {
        const text = [...generateTrace({ events: n, seed })].join("\n") + "\n";
        await checkRoundTrip(text, policy, 6);
      },
    ),
    { numRuns: 8 },
  );
});

Deno.test("state codec: every bundled trace round-trips at every step (one policy per era)", async () => {
  for await (const f of Deno.readDir("traces")) {
    if (!f.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(`traces/${f.name}`);
    for (const policy of ["linux-3.12", "linux-3.16", "linux-3.19"]) {
      await checkRoundTrip(text, policy, 7);
    }
  }
});
