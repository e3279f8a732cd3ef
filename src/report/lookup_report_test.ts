// runAround walks a window around the PFN instead of the whole table: the run it finds must
// be the one a walk of the whole table finds (same start, end, kind, frame and structure), at
// every PFN near run boundaries of states replayed from generated traces.
import assert from "node:assert/strict";
import { runAround } from "./lookup_report.ts";
import { generateTrace } from "../gen/trace_gen.ts";
import { TraceReader } from "../trace/read.ts";
import { ForwardPass } from "../replay/forward.ts";
import { initialState, type ModelState } from "../model/state.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { K } from "../p2m/leaf_runs.ts";
import { p2mFromLazyMids, p2mPages } from "../p2m/table.ts";

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

// Runs that cross the walk's chunk boundaries (leaf, 4096, 32768 and GiB aligned) are joined
// across them by the table's own rule: an MFN run continues only with the next frame, a
// scratch run with the same frame, and never into another structure.
Deno.test("runAround: runs joined across leaves and GiBs as the whole table joins them", () => {
  const guest = {
    type: "pv",
    domain: "dom0",
    arch: "x86_64",
    pageSize: 4096,
    nrPages: 0x100000,
  } as const;
  for (const policy of ["linux-3.12", "linux-3.16", "linux-3.19"]) {
    const s = initialState(guest, resolvePolicy(POLICIES, policy));
    const d = s.p2m.draft();
    const mfn = (a: number, b: number, base: number) =>
      d.writePrivate(a, b, { kind: K.MFN, base, startPfn: a });
    mfn(0x37e00, 0x41000, 0x200000); // over 32768-, 4096-, leaf- and GiB-aligned boundaries
    mfn(0x41000, 0x41800, 0x900000); // touching it, frames not continuing
    mfn(0x41800, 0x42000, 0x900800); // continuing that one across a 4096 boundary
    d.writePrivate(0x50100, 0x50300, { kind: K.SCRATCH, base: 0x1234, startPfn: 0x50100 });
    d.writePrivate(0x50300, 0x50500, { kind: K.SCRATCH, base: 0x1235, startPfn: 0x50300 });
    const state = { ...s, p2m: d.finish() };
    const pfns = new Set<number>();
    for (
      const b of [0x37e00, 0x38000, 0x40000, 0x41000, 0x41800, 0x42000, 0x50100, 0x50300, 0x50500]
    ) {
      for (const q of [b - 513, b - 512, b - 1, b, b + 1, b + 511, b + 512]) pfns.add(q);
    }
    for (const pfn of pfns) {
      assert.deepEqual(runAround(state, pfn), wholeTable(state, pfn), `${policy} pfn ${pfn}`);
    }
    assert.deepEqual(runAround(state, 0x40000), {
      pfn: 0x37e00,
      endPfn: 0x41000,
      kind: K.MFN,
      frame: 0x200000,
      structure: "private-leaf",
    });
  }
});

// The walk is outward in chunks that double once past a tree's GiBs: a PFN near 2^40, far
// beyond the structure, costs tens of chunks (forEachRun calls), not one per GiB (4M).
Deno.test("runAround: a PFN far beyond the structure costs a few hundred chunks at most", () => {
  const guest = {
    type: "pv",
    domain: "dom0",
    arch: "x86_64",
    pageSize: 4096,
    nrPages: 0x40000,
  } as const;
  for (const policy of ["linux-3.12", "linux-3.19"]) {
    const s = initialState(guest, resolvePolicy(POLICIES, policy));
    const t = s.p2m;
    const walk = t.forEachRun.bind(t);
    let calls = 0;
    Object.defineProperty(t, "forEachRun", {
      value: (...args: Parameters<typeof t.forEachRun>) => (calls++, walk(...args)),
    });
    const pfn = 2 ** 40 - 1;
    assert.deepEqual(runAround(s, pfn), wholeTable(s, pfn), policy);
    assert.ok(calls < 1200, `${policy}: ${calls} chunks walked`);
  }
});

// A state answered from the on-disk index reads each private leaf from the file when the walk
// first touches it: a run that ends at the edge of a chunk's first leaf must not cost the walk
// of the whole chunk (a GiB of RAM's 512 leaves next to the mid-missing run beyond it).
Deno.test("runAround: a run ending next to a GiB of private leaves reads one of them, not the GiB", () => {
  const guest = {
    type: "pv",
    domain: "dom0",
    arch: "x86_64",
    pageSize: 4096,
    nrPages: 0x100000,
  } as const;
  for (const policy of ["linux-3.12", "linux-3.16"]) {
    const s = initialState(guest, resolvePolicy(POLICIES, policy));
    const d = s.p2m.draft();
    d.writePrivate(0x180000, 0x1c0000, { kind: K.MFN, base: 0x300000, startPfn: 0x180000 });
    const t = d.finish();
    const pages = p2mPages(t);
    const mids = [...pages.mids, pages.midMissing];
    // Left of 0x100000 lie RAM's private leaves, right of 0x17ffff the ones written above.
    for (const pfn of [0x100000, 0x100200, 0x17ffff, 0x17fe00]) {
      let leaves = 0;
      const lazy = p2mFromLazyMids({
        ...pages,
        mids: mids.map((m) => () => m),
        midMissing: 3 + mids.length - 1,
        leaf: (k) => (leaves++, pages.leaves[k - 3]),
      });
      const state = { ...s, p2m: t };
      assert.deepEqual(runAround({ ...s, p2m: lazy }, pfn), wholeTable(state, pfn), `${pfn}`);
      assert.ok(leaves <= 2, `${policy} pfn ${pfn.toString(16)}: ${leaves} leaves read`);
    }
  }
});

// Above RAM, hundreds of GiBs point at the shared mid-missing page (or lie beyond the tree):
// each forEachRun call tests that page's 512 slots again, so they are walked as one chunk, not
// one call a GiB (514 calls, 40-80 ms in a fresh process, where a bench lookup mostly lands).
Deno.test("runAround: the shared GiBs above RAM are walked in a few chunks, not one a GiB", () => {
  const guest = {
    type: "pv",
    domain: "dom0",
    arch: "x86_64",
    pageSize: 4096,
    nrPages: 0x151ce6,
  } as const;
  for (const policy of ["linux-3.12", "linux-3.16", "linux-3.19"]) {
    const s = initialState(guest, resolvePolicy(POLICIES, policy));
    const t = s.p2m;
    const walk = t.forEachRun.bind(t);
    let calls = 0;
    Object.defineProperty(t, "forEachRun", {
      value: (...args: Parameters<typeof t.forEachRun>) => (calls++, walk(...args)),
    });
    for (const pfn of [0x180000, 0x812345, 0xe12345, 0x3ffffff]) {
      calls = 0;
      const got = runAround(s, pfn);
      const n = calls;
      assert.deepEqual(got, wholeTable(s, pfn), `${policy} pfn ${pfn.toString(16)}`);
      assert.ok(n <= 20, `${policy} pfn ${pfn.toString(16)}: ${n} chunks walked`);
    }
  }
});
