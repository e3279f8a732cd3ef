import assert from "node:assert/strict";
import fc from "fast-check";
import type { TraceEvent } from "../trace/event.ts";
import { POLICIES } from "../policy/policies.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { initialState, type ModelState } from "../model/state.ts";
import { step } from "./step.ts";
import { Replayer } from "./replayer.ts";
import type { P2m } from "../p2m/table.ts";

/** PFN space of the generated events: 4 GiB, plus a window at the 512 GiB tree limit. */
const pfn = fc.oneof(
  fc.integer({ min: 0, max: 0x100000 }),
  fc.integer({ min: 0x8000000 - 0x400, max: 0x8000000 + 0x400 }),
);
const len = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 0x1000 }));
const range = fc.tuple(pfn, len).map(([p, n]) => ({ pfn: p, endPfn: p + n }));
const small = fc.tuple(pfn, fc.integer({ min: 1, max: 8 })).map(([p, n]) => ({
  pfn: p,
  endPfn: p + n,
}));

const event: fc.Arbitrary<Omit<TraceEvent, "seq" | "line">> = fc.oneof(
  range.map((r) => ({ kind: "set_identity" as const, range: r })),
  fc.tuple(
    range,
    fc.constantFrom("mfn", "invalid", "identity", "foreign"),
    fc.integer({ min: 1, max: 2 ** 30 }),
    fc.constantFrom("set_phys_to_machine", "__set_phys_to_machine", "early_set_phys_to_machine"),
  )
    .map(([r, value, mfn, primitive]) => ({
      kind: "set_p2m" as const,
      range: r,
      value,
      mfn,
      primitive,
    })),
  small.map((r) => ({ kind: "decrease_reservation" as const, ranges: [r] })),
  small.map((r) => ({ kind: "increase_reservation" as const, ranges: [r] })),
  small.map((r) => ({ kind: "balloon_append" as const, ranges: [r] })),
  fc.tuple(pfn.map((p) => p * 4096), fc.integer({ min: 1, max: 0x800 }).map((n) => n * 4096))
    .map(([start, size]) => ({ kind: "memory_hotplug" as const, start, size })),
  fc.tuple(
    fc.integer({ min: 0, max: 3 }),
    pfn,
    fc.integer({ min: 1, max: 0x800 }),
    fc.constantFrom(0x40200, 0x14220c, 0x40101),
  )
    .map(([d, p, n, flags]) => ({
      kind: "xen_add_device" as const,
      device: `0000:0${d}:00.0`,
      resources: [{ index: 0, start: p * 4096, end: (p + n) * 4096 - 1, flags }],
    })),
  fc.tuple(fc.integer({ min: 0, max: 3 }), pfn, fc.integer({ min: 1, max: 0x800 }))
    .map(([d, p, n]) => ({
      kind: "pci_resource_assign" as const,
      device: `0000:0${d}:00.0`,
      resource: { index: 0, start: p * 4096, end: (p + n) * 4096 - 1, flags: 0x40200 },
      action: "reassigned" as const,
    })),
  fc.integer({ min: 0, max: 3 }).map((d) => ({
    kind: "xen_remove_device" as const,
    device: `0000:0${d}:00.0`,
  })),
  pfn.map((p) => ({
    kind: "lookup" as const,
    pfn: p,
    offset: 0,
    via: "pte" as const,
    iomap: false,
  })),
  fc.constant({ kind: "mark" as const, text: "m" }),
);

function runs(t: P2m): number[] {
  const out: number[] = [];
  for (const [a, b] of [[0, 0x110000], [0x8000000 - 0x800, 0x8000000 + 0x800]]) {
    t.forEachRun(a, b, (p, e, k, bs, s) => out.push(p, e, k, bs, s.length));
  }
  return out;
}

function view(s: ModelState) {
  return {
    runs: runs(s.p2m),
    balloon: s.balloon.toArray(),
    hotplug: s.hotplug.toArray(),
    devices: [...s.devices.values()].map((d) => JSON.stringify(d)).sort(),
    bridges: [...s.bridges.entries()].map((b) => JSON.stringify(b)).sort(),
    boot: s.boot === undefined,
    maxPfn: s.maxPfn,
    grants: s.grants.length,
    acct: { ...s.p2m.accounting },
  };
}

for (const name of POLICIES.keys()) {
  Deno.test(`${name}: the pure reducer and the in-place replayer agree, and old states never change`, () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 12 }),
        fc.integer({ min: 0x1000, max: 0x100000 }),
        (events, nr) => {
          const s0 = initialState(
            { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: nr },
            resolvePolicy(POLICIES, name),
          );
          const replayer = new Replayer(s0);
          let s = s0;
          const history: [ModelState, ReturnType<typeof view>][] = [[s0, view(s0)]];
          events.forEach((partial, i) => {
            const e = { ...partial, seq: i + 1, line: i + 2 } as TraceEvent;
            const r = step(s, e);
            const rec = replayer.apply(e);
            assert.deepEqual(rec.outcome.changes, r.outcome.changes);
            if (r.outcome.changes.length === 0 && r.state !== s) {
              // a state may change without P2M changes (balloon, devices); never the reverse
              assert.notDeepEqual(view(r.state), view(s));
            }
            s = r.state;
            history.push([s, view(s)]);
          });
          assert.deepEqual(view(replayer.snapshot()), view(s));
          for (const [state, seen] of history) assert.deepEqual(view(state), seen);
        },
      ),
      { seed: 20261124, numRuns: 60 },
    );
  });
}

Deno.test("step returns the same state object for an event that changes nothing", () => {
  const s0 = initialState(
    { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x1000 },
    resolvePolicy(POLICIES, "linux-3.12"),
  );
  for (
    const e of [
      { seq: 1, line: 2, kind: "mark", text: "x" },
      { seq: 2, line: 3, kind: "lookup", pfn: 5, offset: 0, via: "pte", iomap: false },
      { seq: 3, line: 4, kind: "set_identity", range: { pfn: 0x8000000, endPfn: 0x8000001 } },
    ] as TraceEvent[]
  ) {
    assert.equal(step(s0, e).state, s0, e.kind);
  }
});

// The balloon driver hands pages back top down (a `pfns` list in descending order): the step's
// changes must still come out in PFN order and coalesced, as they do for the same pages listed
// bottom up (a page per range, captured in reverse).
Deno.test("a top-down balloon batch reports the same changes, in PFN order, as a bottom-up one", () => {
  const s0 = initialState(
    { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
    resolvePolicy(POLICIES, "linux-3.12"),
  );
  const pages = [0x1000, 0x1001, 0x1002, 0x1003, 0x1005, 0x1006, 0x1007];
  const batch = (pfns: number[]) =>
    step(s0, {
      seq: 1,
      line: 2,
      kind: "decrease_reservation",
      ranges: pfns.map((p) => ({ pfn: p, endPfn: p + 1 })),
    }).outcome.changes;
  const up = batch(pages);
  const down = batch(pages.toReversed());
  assert.deepEqual(down, up);
  assert.deepEqual(down.map((c) => [c.pfn, c.endPfn]), [[0x1000, 0x1004], [0x1005, 0x1008]]);
  // Listed in no order at all: sorted the same way.
  assert.deepEqual(batch([0x1005, 0x1000, 0x1007, 0x1002, 0x1001, 0x1006, 0x1003]), up);
});
