// A timeline answers from the checkpoints it stored compactly (checkpoints.ts), so a decoded
// checkpoint must be the very state that was stored: the same P2M pages (runs, and which slots
// share a page), the same PFN sets, the same everything else, the same snapshot, and replaying
// on from it gives the same outcomes as replaying on from the original, also after thinning.
import assert from "node:assert/strict";
import fc from "fast-check";
import { generateTrace } from "../gen/trace_gen.ts";
import { replayOn, statesOf } from "../../tests/support/replay_states.ts";
import type { TraceEvent } from "../trace/event.ts";
import { initialState, type ModelState } from "../model/state.ts";
import { CheckpointStore } from "./checkpoints.ts";
import { snapshotDebugfs, snapshotJson } from "../report/snapshot_report.ts";
import { POLICIES } from "../policy/policies.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { p2mFromPages, p2mPages } from "../p2m/table.ts";
import { K } from "../p2m/leaf_runs.ts";
import { InvariantError } from "../errors.ts";

/** Everything of a state, plain: pages by index (sharing kept), sets as ranges, the rest. */
function plain(s: ModelState): unknown {
  return {
    ...s,
    p2m: p2mPages(s.p2m),
    extra: s.extra.toArray(),
    balloon: s.balloon.toArray(),
    hotplug: s.hotplug.toArray(),
    debugfs: snapshotDebugfs(s.p2m),
    json: snapshotJson({
      trace: "t",
      point: { step: 0, index: 0 },
      event: undefined,
      state: s,
      policySource: "option",
    }),
  };
}

function continueFrom(state: ModelState, events: readonly TraceEvent[]): string {
  const { outcomes, final } = replayOn(state, events);
  return outcomes + JSON.stringify(plain(final));
}

Deno.test("checkpoints: a stored state decodes to the same state, before and after thinning (property)", async () => {
  const policies = [...POLICIES.keys()];
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: 0, max: 80 }),
      fc.constantFrom(...policies),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 2, max: 6 }),
      async (seed, n, policy, every, max) => {
        const text = [...generateTrace({ events: n, seed })].join("\n") + "\n";
        const { states, events } = await statesOf(text, policy);
        const store = new CheckpointStore();
        let kept: number[] = [];
        for (let i = 0; i < states.length; i += every) {
          store.add(states[i]);
          kept.push(i);
          if (store.count > max) {
            store.thin();
            kept = kept.filter((_, j) => j % 2 === 0);
          }
        }
        assert.equal(store.count, kept.length);
        // Newest first, then oldest: decoding reuses the leaves of the state decoded before.
        const order = kept.map((_, j) => j).reverse();
        for (const j of [...order, ...order.reverse()]) {
          const back = store.get(j);
          const orig = states[kept[j]];
          assert.deepEqual(plain(back), plain(orig), `checkpoint ${j} (step index ${kept[j]})`);
        }
        const j = Math.floor(kept.length / 2);
        const rest = events.slice(kept[j]);
        assert.equal(continueFrom(store.get(j), rest), continueFrom(states[kept[j]], rest));
      },
    ),
    { numRuns: 25 },
  );
});

Deno.test("checkpoints: frames up to 2^52, the unrecorded scratch frame (-1) and negative bases round-trip", () => {
  const s0 = initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
    resolvePolicy(POLICIES, "linux-3.12"),
  );
  const pages = p2mPages(s0.p2m);
  // Leaf 3: a hand-made private leaf in GiB 0, slot 1.
  const runs = [0, K.MFN, 2 ** 52 - 600, 7, K.SCRATCH, -1, 8, K.FOREIGN, 128, 300, K.SCRATCH, -9];
  pages.leaves.push(runs);
  pages.mids.push(Array.from({ length: 512 }, (_, i) => (i === 1 ? 3 : 2)));
  pages.top[0] = 3;
  const s = { ...s0, p2m: p2mFromPages(pages) };
  const store = new CheckpointStore();
  store.add(s0);
  store.add(s);
  assert.deepEqual(p2mPages(store.get(1).p2m).leaves, [runs]);
  assert.deepEqual(store.get(1).p2m.entry(0x200 + 3), [K.MFN, 2 ** 52 - 597]);
  assert.deepEqual(store.get(0).p2m.entry(0x200 + 3), s0.p2m.entry(0x200 + 3));
});

Deno.test("checkpoints: a leaf whose runs break the leaf invariants is an InvariantError, never stored", () => {
  const s0 = initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
    resolvePolicy(POLICIES, "linux-3.16"),
  );
  for (
    const runs of [
      [0, K.MFN, 0.5],
      [0, K.MFN, 2 ** 53],
      [0, 9, 0],
      [1, K.MFN, 0],
      [0, K.MFN, 0, 0, K.INVALID, 0],
      [0, K.MFN, 0, 512, K.INVALID, 0],
      [0, K.MFN, 0, 5, K.INVALID, 0, 5, K.MFN, 3],
    ]
  ) {
    const pages = p2mPages(s0.p2m);
    pages.leaves.push(runs);
    pages.mids.push(Array.from({ length: 512 }, (_, i) => (i === 0 ? 3 : 2)));
    pages.top[0] = 3;
    const store = new CheckpointStore();
    assert.throws(
      () => store.add({ ...s0, p2m: p2mFromPages(pages) }),
      InvariantError,
      JSON.stringify(runs),
    );
  }
});
