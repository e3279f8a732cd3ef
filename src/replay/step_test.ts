import assert from "node:assert/strict";
import fc from "fast-check";
import type { TraceEvent } from "../trace/event.ts";
import { POLICIES } from "../policy/policies.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { initialState, type ModelState } from "../model/state.ts";
import { applyEvents, step } from "./step.ts";
import { Replayer } from "./replayer.ts";
import type { P2m, P2mNote } from "../p2m/table.ts";
import { K } from "../p2m/leaf_runs.ts";
import type { Change } from "../model/outcome.ts";

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

// A cached answer replays an index interval with applyEvents (one draft, its write log cleared
// between steps): each step's outcome must be the one step() gives for that event alone, so a
// PFN's change is blamed on the step that made it, and the state after the last the same.
Deno.test("applyEvents: each step's outcome, and the state after the last, are step()'s", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...POLICIES.keys()),
      fc.array(event, { maxLength: 12 }),
      fc.integer({ min: 0x1000, max: 0x100000 }),
      (name, partials, nr) => {
        const s0 = initialState(
          { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: nr },
          resolvePolicy(POLICIES, name),
        );
        const events = partials.map((e, i) => ({ ...e, seq: i + 1, line: i + 2 }) as TraceEvent);
        let s = s0;
        const want = events.map((e) => {
          const r = step(s, e);
          s = r.state;
          return JSON.stringify(r.outcome);
        });
        const got: string[] = [];
        const after = applyEvents(s0, events, (_, outcome) => got.push(JSON.stringify(outcome)));
        assert.deepEqual(got, want);
        assert.deepEqual(view(after), view(s));
      },
    ),
    { seed: 20261207, numRuns: 80 },
  );
});

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

/** Changes of consecutive steps, in PFN order, merged where one continues the other. */
function merged(changes: Change[]): Change[] {
  const out: Change[] = [];
  const inc = (k: number) => k === K.MFN || k === K.FOREIGN;
  for (const c of [...changes].sort((a, b) => a.pfn - b.pfn)) {
    const l = out[out.length - 1];
    const n = l === undefined ? 0 : l.endPfn - l.pfn;
    if (
      l !== undefined && l.endPfn === c.pfn && l.beforeKind === c.beforeKind &&
      l.afterKind === c.afterKind &&
      (!inc(c.beforeKind) || c.beforeMfn === l.beforeMfn + n) &&
      (!inc(c.afterKind) || c.afterMfn === l.afterMfn + n) &&
      (c.beforeKind !== K.SCRATCH || c.beforeMfn === l.beforeMfn) &&
      (c.afterKind !== K.SCRATCH || c.afterMfn === l.afterMfn)
    ) out[out.length - 1] = { ...l, endPfn: c.endPfn };
    else out.push({ ...c });
  }
  return out;
}

// The kernel stores a decrease_reservation's pages one by one, in the order listed (top down
// from the balloon driver); the model stores a run of them inside one private leaf at once
// (balloon.ts). The same pages, each its own step in the same order, must give the same state,
// notes and anomalies, and changes that merge into the event's, whatever came before.
for (const name of POLICIES.keys()) {
  Deno.test(`${name}: pages ballooned out top down in one step give what they give one step each`, () => {
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 8 }),
        fc.integer({ min: 0x1000, max: 0x100000 }),
        fc.oneof(fc.integer({ min: 0, max: 0x100000 }), fc.integer({ min: 0xff0, max: 0x1010 })),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
        fc.option(fc.integer({ min: 0, max: 0x3fffff }), { nil: undefined }),
        fc.constantFrom("none", "identity", "ballooned", "both"),
        (events, nr, top, gaps, scratchMfn, around) => {
          let s = initialState(
            { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: nr },
            resolvePolicy(POLICIES, name),
          );
          // Pages made identity (shared identity leaves, lost writes) or already ballooned.
          const before: object[] = [...events];
          if (around === "identity" || around === "both") {
            before.push({
              kind: "set_identity",
              // whole leaves: above nr_pages they become the shared identity leaf
              range: {
                pfn: Math.max(0, Math.floor(top / 512) * 512 - 512),
                endPfn: Math.ceil((top + 1) / 512) * 512,
              },
            });
          }
          if (around === "ballooned" || around === "both") {
            before.push({
              kind: "balloon_append",
              ranges: [{ pfn: Math.max(0, top - 3), endPfn: Math.max(1, top - 2) }],
            });
          }
          before.forEach((partial, i) => {
            s = step(s, { ...partial, seq: i + 1, line: i + 2 } as TraceEvent).state;
          });
          // Runs of pages going down from `top`, a page skipped between runs.
          const pages: number[] = [];
          let p = top;
          for (const n of gaps) {
            for (let k = 0; k < n && p >= 0; k++) pages.push(p--);
            p--;
          }
          const decrease = (pfns: number[], seq: number) =>
            ({
              seq,
              line: seq + 1,
              kind: "decrease_reservation",
              ranges: pfns.map((q) => ({ pfn: q, endPfn: q + 1 })),
              ...(scratchMfn === undefined ? {} : { scratchMfn }),
            }) as TraceEvent;
          const one = step(s, decrease(pages, 99));
          let t = s;
          const each = {
            changes: [] as Change[],
            notes: [] as P2mNote[],
            anomalies: [] as unknown[],
          };
          for (const q of pages) {
            const r = step(t, decrease([q], 99));
            t = r.state;
            each.changes.push(...r.outcome.changes);
            each.notes.push(...r.outcome.notes);
            each.anomalies.push(...r.outcome.anomalies);
          }
          assert.deepEqual(view(one.state), view(t));
          assert.deepEqual(one.outcome.changes, merged(each.changes));
          assert.deepEqual(one.outcome.notes, each.notes);
          assert.deepEqual(one.outcome.anomalies, each.anomalies);
        },
      ),
      { seed: 16, numRuns: 80 },
    );
  });
}
