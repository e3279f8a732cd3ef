/**
 * Hand-written tests of `table.ts`: each pins one kernel behaviour on the smallest case, with
 * the exact entries, structures, counts and page accounting the kernel code gives
 * (p2m-semantics.md sections 2.1, 3 and 3.5; v3.12 `arch/x86/xen/p2m.c`).
 *
 * @module
 */

import assert from "node:assert/strict";
import { P2m, type P2mDraft, type Structure, WriteLog, type WriteValue } from "./table.ts";
import { K } from "./leaf_runs.ts";
import { MAX_DOMAIN_PAGES, MAX_P2M_PFN, PFNS_PER_MID } from "./constants.ts";

const G = PFNS_PER_MID;
const MAX = MAX_P2M_PFN;

const IDENTITY: WriteValue = { kind: K.IDENTITY, base: 0, startPfn: 0 };
const INVALID: WriteValue = { kind: K.INVALID, base: 0, startPfn: 0 };
const mfn = (base: number, startPfn: number): WriteValue => ({ kind: K.MFN, base, startPfn });

/** Asserts `entry` and `structureAt` of every PFN in `pfns`. */
function expectAt(t: P2m, pfns: number[], kind: number, frame: number, structure: Structure) {
  for (const p of pfns) {
    assert.deepEqual(t.entry(p), [kind, frame], `entry(0x${p.toString(16)})`);
    assert.equal(t.structureAt(p), structure, `structureAt(0x${p.toString(16)})`);
  }
}

function expectPages(t: P2m, brkUsed: number, runtimePages: number) {
  assert.equal(t.accounting.brkUsed, brkUsed, "brkUsed");
  assert.equal(t.accounting.runtimePages, runtimePages, "runtimePages");
}

function runsOf(t: P2m, a: number, b: number, ignoreStructure: boolean) {
  const out: unknown[][] = [];
  t.forEachRun(
    a,
    b,
    (p, e, k, bs, s) => out.push(ignoreStructure ? [p, e, k, bs] : [p, e, k, bs, s]),
    ignoreStructure,
  );
  return out;
}

// ---- v3.12 tree ----------------------------------------------------------------------------

Deno.test("T12: an identity write into a mid-missing GiB aliases into every missing GiB", () => {
  const d = P2m.build("T12", 512).draft(); // GiB 0 has a private mid, the rest share mid-missing
  assert.equal(d.write(2 * G + 5, 2 * G + 6, IDENTITY, "set_phys_to_machine"), 0);
  // The swap happened in slot 0 of the shared mid-missing page: the whole 2 MiB leaf, in every
  // GiB that still points at that page.
  expectAt(
    d,
    [2 * G, 2 * G + 5, 2 * G + 511, G, 3 * G + 100, 511 * G + 511],
    K.IDENTITY,
    0,
    "identity-leaf",
  );
  expectAt(d, [2 * G + 512, 3 * G + 512], K.INVALID, 0, "mid-missing");
  expectAt(d, [5], K.MFN_UNKNOWN, 0, "private-leaf"); // GiB 0 has its own mid
  expectPages(d, 9, 0);
  // A private mid for GiB 7 (set_phys_to_machine of an mfn) starts all-missing: the alias is
  // gone there and only there.
  assert.equal(d.write(7 * G + 600, 7 * G + 601, mfn(42, 7 * G + 600), "set_phys_to_machine"), 0);
  expectAt(d, [7 * G + 5], K.INVALID, 0, "missing-leaf");
  expectAt(d, [7 * G + 600], K.MFN, 42, "private-leaf");
  expectAt(d, [3 * G + 5], K.IDENTITY, 0, "identity-leaf");
  expectPages(d, 9, 3); // mid + mid_mfn + leaf
});

// v3.12 p2m_top entries of every missing GiB point at the one p2m_mid_missing page, so a
// cmpxchg of one of its slots changes that slot in all of them. A step that swaps all 512 slots
// (identity over a whole GiB, as a 1 GiB BAR under the seed rule) changes every such GiB: its
// capture is one run per span of GiBs sharing the page, not 512 runs per GiB (2.6 * 10^5 runs
// each with its own change object until the diff coalesced them).
Deno.test("T12: an identity write over a whole missing GiB captures each span of GiBs sharing mid-missing once", () => {
  const d = P2m.build("T12", 512).draft(); // GiB 0 private, GiBs 1-511 share mid-missing
  d.write(5 * G + 600, 5 * G + 601, mfn(42, 5 * G + 600), "set_phys_to_machine"); // GiB 5's own mid
  d.log.clear();
  assert.equal(d.write(2 * G, 3 * G, IDENTITY, "__set_phys_to_machine"), 0);
  expectAt(d, [G, 2 * G + 7, 4 * G + 511, 511 * G + 511], K.IDENTITY, 0, "identity-leaf");
  expectAt(d, [5 * G + 3, 5 * G + 2000], K.INVALID, 0, "missing-leaf"); // its own mid: no alias
  assert.equal(d.log.capturedRuns, 2);
  assert.deepEqual(d.log.before, [G, 5 * G, K.INVALID, 0, 6 * G, MAX, K.INVALID, 0]);
  assert.equal(d.log.notes.filter((n) => n.type === "alias").length, 512);
});

Deno.test("T12: set_phys_range_identity returns 0 and changes nothing when pfn_e >= MAX_P2M_PFN", () => {
  const d = P2m.build("T12", 512).draft();
  assert.equal(d.setIdentityRange(MAX - 10, MAX), 0);
  expectAt(d, [MAX - 10, MAX - 1], K.INVALID, 0, "mid-missing");
  expectPages(d, 9, 0);
  // One PFN shorter is accepted: a mid for GiB 511 and a boundary leaf from brk.
  assert.equal(d.setIdentityRange(MAX - 10, MAX - 1), 9);
  expectAt(d, [MAX - 10, MAX - 2], K.IDENTITY, 0, "private-leaf");
  expectAt(d, [MAX - 11, MAX - 1], K.INVALID, 0, "private-leaf");
  expectAt(d, [MAX], K.INVALID, 0, "outside-tree");
  expectPages(d, 12, 0);
});

Deno.test("T16: set_phys_range_identity clamps pfn_e to MAX_P2M_PFN, and PFNs beyond it are identity", () => {
  const d = P2m.build("T16", 512).draft();
  assert.equal(d.setIdentityRange(MAX - 10, MAX + 10), 10);
  expectAt(d, [MAX - 10, MAX - 1], K.IDENTITY, 0, "private-leaf");
  expectAt(d, [MAX - 11], K.INVALID, 0, "private-leaf");
  expectAt(d, [MAX, MAX + 10, MAX + 1000], K.IDENTITY, 0, "outside-tree");
  expectPages(d, 9 + 2 + 3, 0); // build, then mid + mid_mfn + leaf for the unaligned start
});

Deno.test("T16: an identity write into a mid-missing GiB turns the whole GiB identity", () => {
  const d = P2m.build("T16", 512).draft();
  assert.equal(d.write(3 * G + 100, 3 * G + 101, IDENTITY, "__set_phys_to_machine"), 0);
  expectAt(d, [3 * G, 3 * G + 100, 4 * G - 1], K.IDENTITY, 0, "mid-identity");
  expectAt(d, [4 * G, 2 * G + 100], K.INVALID, 0, "mid-missing"); // no aliasing in v3.16
  expectPages(d, 11, 0);
});

for (const era of ["T12", "T16"] as const) {
  Deno.test(`${era}: a write into the shared identity leaf succeeds but lookups stay identity`, () => {
    const d = P2m.build(era, 512).draft();
    // Leaves 2 and 3 of GiB 0 (private mid) are missing: the range swaps them to identity.
    assert.equal(d.setIdentityRange(1024, 2048), 1024);
    expectAt(d, [1024, 2047], K.IDENTITY, 0, "identity-leaf");
    for (
      const prim of [
        "set_phys_to_machine",
        "early_set_phys_to_machine",
        "__set_phys_to_machine",
      ] as const
    ) {
      assert.equal(d.write(1030, 1031, mfn(77, 1030), prim), 0, prim);
      assert.equal(d.write(1031, 1032, INVALID, prim), 0, prim);
    }
    expectAt(d, [1030, 1031], K.IDENTITY, 0, "identity-leaf");
    expectPages(d, era === "T12" ? 9 : 11, 0); // nothing allocated: the store "succeeded"
  });
}

Deno.test("T12: early_set_phys_to_machine reuses the page of an all-identity leaf for a leaf-aligned PFN", () => {
  const d = P2m.build("T12", 1024).draft(); // leaves 0 and 1 hold RAM
  assert.equal(d.setIdentityRange(512, 1024), 512); // stored per PFN: a private all-identity leaf
  expectAt(d, [512, 1023], K.IDENTITY, 0, "private-leaf");
  expectPages(d, 9, 0);
  assert.equal(d.write(2 * G, 2 * G + 1, mfn(5, 2 * G), "early_set_phys_to_machine"), 0);
  expectAt(d, [512, 1023], K.IDENTITY, 0, "identity-leaf"); // replaced by the shared page
  expectAt(d, [2 * G], K.MFN, 5, "private-leaf");
  expectAt(d, [2 * G + 1, 2 * G + 511], K.INVALID, 0, "private-leaf"); // the page, re-initialised
  expectPages(d, 11, 0); // mid + mid_mfn for GiB 2, no leaf page
  // An unaligned PFN never reuses: a leaf from brk.
  assert.equal(
    d.write(2 * G + 600, 2 * G + 601, mfn(6, 2 * G + 600), "early_set_phys_to_machine"),
    0,
  );
  expectPages(d, 12, 0);
});

Deno.test("T12: early reuse takes the first all-INVALID leaf and leaves the missing page in its place", () => {
  const d = P2m.build("T12", 1024).draft();
  assert.equal(d.write(512, 1024, INVALID, "__set_phys_to_machine"), 0);
  expectAt(d, [512], K.INVALID, 0, "private-leaf");
  assert.equal(d.write(G, G + 1, mfn(9, G), "early_set_phys_to_machine"), 0);
  expectAt(d, [512, 1023], K.INVALID, 0, "missing-leaf");
  expectAt(d, [G], K.MFN, 9, "private-leaf");
  expectPages(d, 11, 0);
});

Deno.test("T12: early reuse never looks at leaves at or above MAX_DOMAIN_PAGES", () => {
  const d = P2m.build("T12", 512).draft();
  const high = MAX_DOMAIN_PAGES + 5 * 512; // GiB 500
  // A private all-INVALID leaf in GiB 500: runtime mid + leaf, then INVALID over all of it.
  assert.equal(d.write(high, high + 1, mfn(1, high), "set_phys_to_machine"), 0);
  assert.equal(d.write(high, high + 512, INVALID, "__set_phys_to_machine"), 0);
  expectAt(d, [high], K.INVALID, 0, "private-leaf");
  assert.equal(d.write(2 * G, 2 * G + 1, mfn(5, 2 * G), "early_set_phys_to_machine"), 0);
  expectAt(d, [high, high + 511], K.INVALID, 0, "private-leaf"); // not reused
  expectPages(d, 9 + 2 + 1, 3); // GiB 2 needed a mid and a leaf from brk
});

// ---- brk accounting ------------------------------------------------------------------------

Deno.test("build uses 7 (T12) or 9 (T16) brk pages plus 2 per GiB of RAM; the list era none", () => {
  for (
    const [era, brk, reserved] of [["T12", 15, 1016], ["T16", 17, 1018], ["L19", 0, 0]] as const
  ) {
    const t = P2m.build(era, 3 * G + 1); // RAM in GiBs 0-3
    assert.deepEqual(
      { ...t.accounting },
      { brkUsed: brk, brkReserved: reserved, runtimePages: 0 },
      era,
    );
  }
  assert.equal(P2m.build("T12", 0).accounting.brkUsed, 7);
  assert.equal(P2m.build("T16", 0).accounting.brkUsed, 9);
});

Deno.test("build clamps nr_pages to MAX_DOMAIN_PAGES in the tree eras", () => {
  const t = P2m.build("T12", MAX_DOMAIN_PAGES + 5);
  expectAt(t, [MAX_DOMAIN_PAGES - 1], K.MFN_UNKNOWN, 0, "private-leaf");
  expectAt(t, [MAX_DOMAIN_PAGES], K.INVALID, 0, "mid-missing");
  expectPages(t, 7 + 2 * 500, 0);
});

Deno.test("build: the tail of the last RAM leaf is INVALID, the rest of its GiB missing", () => {
  const t = P2m.build("T12", 700);
  expectAt(t, [699], K.MFN_UNKNOWN, 0, "private-leaf");
  expectAt(t, [700, 1023], K.INVALID, 0, "private-leaf");
  expectAt(t, [1024, G - 1], K.INVALID, 0, "missing-leaf");
  expectAt(t, [G], K.INVALID, 0, "mid-missing");
  const l = P2m.build("L19", 700);
  expectAt(l, [700, 1023], K.INVALID, 0, "private-leaf");
  expectAt(l, [1024, G], K.IDENTITY, 0, "beyond-list"); // xen_p2m_size = 1024
});

Deno.test("T12: set_phys_range_identity takes a mid per GiB and up to two boundary leaves from brk", () => {
  const d = P2m.build("T12", 512).draft();
  assert.equal(d.setIdentityRange(5 * G + 3, 7 * G + 5), 2 * G + 2);
  expectPages(d, 9 + 3 * 2 + 2, 0);
  expectAt(d, [5 * G + 3, 7 * G + 4], K.IDENTITY, 0, "private-leaf");
  expectAt(d, [5 * G + 2, 7 * G + 5], K.INVALID, 0, "private-leaf");
  expectAt(d, [5 * G + 512, 6 * G + 100], K.IDENTITY, 0, "identity-leaf");
  // GiB-aligned ends need no leaf, but still a mid per GiB.
  const e = P2m.build("T12", 512).draft();
  assert.equal(e.setIdentityRange(G, 4 * G), 3 * G);
  expectPages(e, 9 + 3 * 2, 0);
  expectAt(e, [G, 4 * G - 1], K.IDENTITY, 0, "identity-leaf");
});

Deno.test("T16: set_phys_range_identity takes brk pages only for the ends inside a GiB or a leaf", () => {
  const d = P2m.build("T16", 512).draft();
  assert.equal(d.setIdentityRange(5 * G + 3, 7 * G + 5), 2 * G + 2);
  expectPages(d, 11 + 2 * 3, 0); // mid + mid_mfn + leaf at each end
  expectAt(d, [5 * G + 3, 7 * G + 4], K.IDENTITY, 0, "private-leaf");
  expectAt(d, [5 * G + 2, 7 * G + 5], K.INVALID, 0, "private-leaf");
  expectAt(d, [5 * G + 512], K.IDENTITY, 0, "identity-leaf");
  expectAt(d, [6 * G, 7 * G - 1], K.IDENTITY, 0, "mid-identity");
  const e = P2m.build("T16", 512).draft();
  assert.equal(e.setIdentityRange(G, 4 * G), 3 * G);
  expectPages(e, 11, 0);
  expectAt(e, [G, 4 * G - 1], K.IDENTITY, 0, "mid-identity");
});

// ---- v3.19 linear list ---------------------------------------------------------------------

Deno.test("L19: set_phys_to_machine replaces a shared identity leaf by a private identity-filled leaf", () => {
  const d = P2m.build("L19", 512).draft();
  d.growList(G, []); // leaves 1..511 of GiB 0 become the shared identity leaf
  expectAt(d, [512, 1000, G - 1], K.IDENTITY, 0, "identity-leaf");
  expectAt(d, [G], K.IDENTITY, 0, "beyond-list");
  // __set_phys_to_machine fails: only IDENTITY_FRAME(pfn) fits the shared identity page.
  assert.equal(d.write(2000, 2001, mfn(6, 2000), "__set_phys_to_machine"), 1);
  assert.equal(d.write(2000, 2010, IDENTITY, "__set_phys_to_machine"), 0);
  expectPages(d, 0, 0);
  assert.equal(d.write(1000, 1001, mfn(5, 1000), "set_phys_to_machine"), 0);
  expectAt(d, [1000], K.MFN, 5, "private-leaf");
  expectAt(d, [512, 999, 1023], K.IDENTITY, 0, "private-leaf");
  expectAt(d, [1024, 2000], K.IDENTITY, 0, "identity-leaf");
  expectPages(d, 0, 1);
});

Deno.test("L19: a write into a shared identity GiB allocates a PTE page and a leaf", () => {
  const d = P2m.build("L19", 512).draft();
  d.growList(2 * G, []);
  expectAt(d, [G, 2 * G - 1], K.IDENTITY, 0, "mid-identity");
  assert.equal(d.write(G + 5, G + 6, INVALID, "set_phys_to_machine"), 0);
  expectAt(d, [G + 5], K.INVALID, 0, "private-leaf");
  expectAt(d, [G + 4, G + 511], K.IDENTITY, 0, "private-leaf");
  expectAt(d, [G + 512, 2 * G - 1], K.IDENTITY, 0, "identity-leaf");
  expectPages(d, 0, 2);
});

Deno.test("L19: the rebuild maps an all-INVALID leaf to the shared missing leaf, which only takes INVALID", () => {
  const d = P2m.build("L19", 1024).draft();
  assert.equal(d.write(512, 1024, INVALID, "__set_phys_to_machine"), 0);
  d.growList(G, []);
  expectAt(d, [512, 1023], K.INVALID, 0, "missing-leaf");
  expectAt(d, [0], K.MFN_UNKNOWN, 0, "private-leaf");
  assert.equal(d.write(600, 610, mfn(1, 600), "__set_phys_to_machine"), 10);
  assert.equal(d.write(600, 610, INVALID, "__set_phys_to_machine"), 0);
  assert.equal(d.write(600, 601, mfn(1, 600), "set_phys_to_machine"), 0);
  expectAt(d, [600], K.MFN, 1, "private-leaf");
  expectAt(d, [601], K.INVALID, 0, "private-leaf");
  expectPages(d, 0, 1);
});

// ---- runs and persistence ------------------------------------------------------------------

Deno.test("forEachRun coalesces continuing frames across leaves and splits on structure unless told not to", () => {
  const t = P2m.build("T12", 1024);
  assert.deepEqual(runsOf(t, 0, 2048, true), [[0, 1024, K.MFN_UNKNOWN, 0], [
    1024,
    2048,
    K.INVALID,
    0,
  ]]);
  assert.deepEqual(runsOf(t, 1024, G + 10, true), [[1024, G + 10, K.INVALID, 0]]);
  assert.deepEqual(runsOf(t, 1024, G + 10, false), [
    [1024, G, K.INVALID, 0, "missing-leaf"],
    [G, G + 10, K.INVALID, 0, "mid-missing"],
  ]);
  const d = t.draft();
  d.write(500, 520, mfn(100, 500), "__set_phys_to_machine");
  d.write(520, 530, mfn(120, 520), "__set_phys_to_machine"); // continues 100..119 across the leaf edge
  d.write(530, 531, mfn(131, 530), "__set_phys_to_machine"); // does not continue (130 expected)
  d.write(540, 542, { kind: K.SCRATCH, base: 7, startPfn: 540 }, "__set_phys_to_machine");
  d.write(542, 543, { kind: K.SCRATCH, base: 7, startPfn: 542 }, "__set_phys_to_machine");
  d.write(543, 544, { kind: K.SCRATCH, base: 8, startPfn: 543 }, "__set_phys_to_machine");
  assert.deepEqual(runsOf(d, 490, 550, true), [
    [490, 500, K.MFN_UNKNOWN, 0],
    [500, 530, K.MFN, 100],
    [530, 531, K.MFN, 131],
    [531, 540, K.MFN_UNKNOWN, 0],
    [540, 543, K.SCRATCH, 7],
    [543, 544, K.SCRATCH, 8],
    [544, 550, K.MFN_UNKNOWN, 0],
  ]);
  // A window starting inside a run reports the frame of its own first PFN.
  assert.deepEqual(runsOf(d, 510, 515, false), [[510, 515, K.MFN, 110, "private-leaf"]]);
});

Deno.test("a draft does not change its origin, and finish() returns the origin when nothing was written", () => {
  const t = P2m.build("T12", 512);
  assert.equal(t.draft().finish(), t);
  const d: P2mDraft = t.draft();
  d.setIdentityRange(600, 700);
  d.write(3, 4, mfn(1, 3), "__set_phys_to_machine");
  d.write(2 * G + 5, 2 * G + 6, IDENTITY, "__set_phys_to_machine"); // writes the shared mid-missing page
  expectAt(t, [650], K.INVALID, 0, "missing-leaf");
  expectAt(t, [3], K.MFN_UNKNOWN, 0, "private-leaf");
  expectAt(t, [3 * G + 5], K.INVALID, 0, "mid-missing");
  expectPages(t, 9, 0);
  const t2 = d.finish();
  assert.notEqual(t2, t);
  expectAt(t2, [650], K.IDENTITY, 0, "private-leaf");
  expectAt(t2, [3], K.MFN, 1, "private-leaf");
  expectAt(t2, [3 * G + 5], K.IDENTITY, 0, "identity-leaf");
  expectPages(t2, 10, 0);
  assert.throws(() => d.write(0, 1, INVALID, "__set_phys_to_machine"));
  // Two drafts of one table do not see each other.
  const a = t2.draft(), b = t2.draft();
  a.write(3, 4, mfn(50, 3), "__set_phys_to_machine");
  a.write(4 * G + 600, 4 * G + 601, mfn(51, 4 * G + 600), "set_phys_to_machine"); // GiB 4 mid
  expectAt(a, [3], K.MFN, 50, "private-leaf");
  expectAt(a, [4 * G + 5], K.INVALID, 0, "missing-leaf"); // the alias is gone in a's GiB 4
  expectAt(b, [3], K.MFN, 1, "private-leaf");
  expectAt(b, [4 * G + 5], K.IDENTITY, 0, "identity-leaf");
  expectAt(b, [4 * G + 600], K.INVALID, 0, "mid-missing");
  expectAt(t2, [4 * G + 5], K.IDENTITY, 0, "identity-leaf");
});

// ---- writePrivate (the table's idealised write) ----------------------------------------------

Deno.test("writePrivate gives the range a private leaf and keeps every other lookup", () => {
  const d = P2m.build("T16", 512).draft();
  d.write(3 * G + 100, 3 * G + 101, IDENTITY, "__set_phys_to_machine"); // GiB 3: mid-identity
  d.writePrivate(3 * G + 700, 3 * G + 710, mfn(5, 3 * G + 700));
  expectAt(d, [3 * G + 700], K.MFN, 5, "private-leaf");
  expectAt(d, [3 * G + 709], K.MFN, 14, "private-leaf");
  expectAt(d, [3 * G + 699, 3 * G + 710], K.IDENTITY, 0, "private-leaf");
  expectAt(d, [3 * G, 3 * G + 1024], K.IDENTITY, 0, "identity-leaf");
  expectPages(d, 11, 3);
});

// ---- kernel rules and table.ts contracts the table once broke (each fixed; kept as regressions)

Deno.test({
  name: "L19: growList makes the list as long as xen_vmalloc_p2m_tree does (a whole GiB of PFNs)",
  // growList once rounded the new xen_p2m_size up to a leaf (512 PFNs) only.
  // xen_vmalloc_p2m_tree sets xen_p2m_size = vm.size / sizeof(unsigned long) with vm.size =
  // ALIGN(sizeof(unsigned long) * xen_max_p2m_pfn, PMD_SIZE * PMDS_PER_MID_PAGE), i.e. a whole
  // GiB of PFNs (and at least P2M_LIMIT, 512 GiB, where CONFIG_XEN_BALLOON_MEMORY_HOTPLUG_LIMIT
  // exists). PFNs in between are inside the list (shared identity pages) in the kernel, so a
  // write of INVALID there allocates a leaf and sticks; the table treated them as beyond the list
  // and dropped the write.
  fn() {
    const d = P2m.build("L19", 512).draft();
    d.growList(1024, []); // xen_max_p2m_pfn = 1024
    assert.equal(d.structureLimit, G);
    expectAt(d, [1024, G - 1], K.IDENTITY, 0, "identity-leaf");
    expectAt(d, [G], K.IDENTITY, 0, "beyond-list");
    assert.equal(d.write(2000, 2001, INVALID, "set_phys_to_machine"), 0);
    expectAt(d, [2000], K.INVALID, 0, "private-leaf");
    expectPages(d, 0, 1);
  },
});

Deno.test({
  name: "L19: the list holds every page the guest was started with, even above MAX_DOMAIN_PAGES",
  // P2m.build once clamped nr_pages to MAX_DOMAIN_PAGES for the linear list too.
  // v3.19+ xen_build_dynamic_phys_to_machine sets xen_p2m_size = ALIGN(nr_pages, P2M_PER_PAGE)
  // with no clamp; min(MAX_DOMAIN_PAGES, nr_pages) is the tree eras' rule.
  fn() {
    const t = P2m.build("L19", MAX_DOMAIN_PAGES + 5);
    assert.equal(t.structureLimit, MAX_DOMAIN_PAGES + 512);
    expectAt(t, [MAX_DOMAIN_PAGES + 4], K.MFN_UNKNOWN, 0, "private-leaf");
    expectAt(t, [MAX_DOMAIN_PAGES + 5], K.INVALID, 0, "private-leaf");
  },
});

Deno.test({
  name: "T12: writePrivate keeps identity slots aliased through the shared mid-missing page",
  // #allocPrivate once gave a GiB served by the shared mid-missing page a fresh
  // all-missing mid (#newMid(g, MID_MISSING)), so identity slots aliased into that page (v3.12)
  // turned INVALID in that GiB, outside the written range; writePrivate's contract is that nothing
  // outside the range changes, so it copies the current slots of the mid-missing page.
  fn() {
    const d = P2m.build("T12", 512).draft();
    d.write(2 * G + 5, 2 * G + 6, IDENTITY, "__set_phys_to_machine"); // slot 0 aliased everywhere
    d.writePrivate(3 * G + 600, 3 * G + 601, mfn(9, 3 * G + 600));
    expectAt(d, [3 * G + 600], K.MFN, 9, "private-leaf");
    expectAt(d, [3 * G + 5, 3 * G + 511], K.IDENTITY, 0, "identity-leaf"); // was INVALID
  },
});

Deno.test({
  name: "writePrivate of an empty range changes nothing",
  // writePrivate's allocation loop once ran from the leaf holding `a` while
  // l * 512 < min(b, limit), so for a >= b with `a` inside a leaf that starts below `b` it made
  // that mid and leaf private (and counted 3 runtime pages) although no PFN was written.
  fn() {
    const d = P2m.build("T16", 512).draft();
    d.writePrivate(G + 600, G + 600, mfn(1, G + 600));
    d.writePrivate(G + 700, G + 650, mfn(1, G + 700));
    expectAt(d, [G + 600, G + 650], K.INVALID, 0, "mid-missing");
    expectPages(d, 11, 0);
  },
});

/** The table's pages, reached through the protected fields (a test corrupts them on purpose). */
interface Pages {
  top: { slots: { runs: number[] }[]; shared: number }[];
  midMissing: { slots: unknown[] };
}

Deno.test("validate passes on built and written tables of every era", () => {
  for (const era of ["T12", "T16", "L19"] as const) {
    const d = P2m.build(era, 0x140123).draft();
    d.setIdentityRange(0x9f, 0x100);
    d.setIdentityRange(0x150000, 0x1c0000);
    d.write(0x1000, 0x1010, { kind: K.MFN, base: 0x500, startPfn: 0x1000 }, "set_phys_to_machine");
    if (era === "L19") d.growList(0x200000, [0x140123, 0x180000]);
    d.validate();
    d.finish().validate();
  }
});

Deno.test("validate names the leaf whose runs are broken, and catches written shared pages", () => {
  const d = P2m.build("T12", 0x40000).draft();
  d.write(0x1000, 0x1010, { kind: K.MFN, base: 0x500, startPfn: 0x1000 }, "set_phys_to_machine");
  const pages = d as unknown as Pages;
  const runs = pages.top[0].slots[8].runs;
  const saved = runs.slice();
  runs.splice(3, 0, 4, K.MFN, 0x504); // splits a run that continues: not coalesced
  assert.throws(
    () => d.validate(),
    (e: Error) =>
      e.name === "InvariantError" &&
      /^internal error: P2M \(T12\) leaf of PFN 0x1000 \(GiB 0 slot 8\): run 1 \(offset 4\): continues/
        .test(e.message),
  );
  runs.splice(0, runs.length, ...saved);
  d.validate();

  // The shared missing leaf is one page for every table: a write into it breaks them all.
  const missing = P2m.build("T16", 0x40000) as unknown as Pages;
  const shared = missing.midMissing.slots[0] as { runs: number[] };
  shared.runs[1] = K.MFN;
  try {
    assert.throws(() => P2m.build("L19", 0x10).validate(), /shared missing leaf page: was written/);
  } finally {
    shared.runs[1] = K.INVALID;
  }
});

Deno.test("validate rejects a v3.12 table pointing at the mid-identity page", () => {
  const t16 = P2m.build("T16", 0x40000).draft();
  t16.setIdentityRange(0x80000, 0xc0000); // GiB 2 becomes the shared mid-identity page
  const t12 = P2m.build("T12", 0x40000).draft();
  const top = (t12 as unknown as Pages).top;
  top[2] = (t16 as unknown as Pages).top[2];
  assert.throws(() => t12.validate(), /GiB 2 \(PFN 0x80000\): points to the mid-identity page/);
});

Deno.test("v3.16 early_split_p2m never splits a mid-identity GiB or an identity leaf: it WARNs, and the skip-ahead overshoots pfn_e", () => {
  const d = P2m.build("T16", 0x40000).draft();
  assert.equal(d.setIdentityRange(3 * G, 4 * G), G); // GiB 3 becomes the shared mid-identity
  const brk = d.accounting.brkUsed;
  d.log.notes.length = 0;
  // Inside it: early_alloc_p2m_middle leaves p2m_mid_identity alone, early_alloc_p2m WARNs
  // "P2M[3][0] == IDENTITY, should be MISSING (or alloced)!" and allocates nothing; the loop sets
  // one PFN, sees p2m_top[3] == p2m_mid_identity and skips to the next GiB: 4 * G - (3 * G + 0x100).
  assert.equal(d.setIdentityRange(3 * G + 0x100, 3 * G + 0x180), G - 0x100);
  assert.equal(d.accounting.brkUsed, brk);
  assert.equal(d.structureAt(3 * G + 0x100), "mid-identity");
  assert.ok(d.log.notes.some((n) => n.type === "identity-leaf-warn"));
  // An identity leaf in a private mid: no split either; the skip-ahead goes to the leaf's end.
  assert.equal(d.setIdentityRange(0x80010, 0x80400), 0x3f0); // [0x80200, 0x80400) a shared leaf
  assert.equal(d.structureAt(0x80220), "identity-leaf");
  const brk2 = d.accounting.brkUsed;
  assert.equal(d.setIdentityRange(0x80220, 0x80230), 0x80400 - 0x80220);
  assert.equal(d.accounting.brkUsed, brk2);
  assert.equal(d.structureAt(0x80220), "identity-leaf");
});

// Issue 14: a valid but extreme write (set_p2m over every PFN of the tree, 2^18 leaves) must
// keep its change capture and notes in O(runs), not O(leaves): compare holds eight policies at
// once and went past 800 MB when each step kept one captured run and one note per leaf.
Deno.test("a write over all 2^18 leaves captures its change as coalesced runs and a few notes", () => {
  const d = P2m.build("T12", 0x40000).draft();
  // Missing leaves: set_phys_to_machine allocates a mid per GiB and a leaf per 2 MiB.
  d.write(G, MAX, mfn(0x100, G), "set_phys_to_machine");
  const runs = d.log.before.length / 4;
  assert.ok(runs <= 4, `${runs} captured runs`);
  assert.deepEqual(d.log.before.slice(0, 4), [G, MAX, K.INVALID, 0]);
  const allocs = d.log.notes.filter((n) => n.type === "alloc");
  assert.ok(d.log.notes.length <= 1100, `${d.log.notes.length} notes`);
  const pages = allocs.reduce((s, n) => s + (n.type === "alloc" ? n.pages : 0), 0);
  assert.equal(pages, d.accounting.runtimePages); // the folded notes still add up
  assert.equal(pages, 511 * 2 + 511 * 512);

  // The same leaves again, now private: one store per leaf, each with a known after-value.
  d.log.clear();
  d.write(G, MAX, mfn(0x200, G), "set_phys_to_machine");
  assert.equal(d.log.before.length, 4, "one captured run");
  assert.deepEqual(d.log.before, [G, MAX, K.MFN, 0x100]);
  assert.deepEqual(d.log.after, [K.MFN, 0x200]);
  assert.equal(d.log.notes.length, 0);
});

Deno.test("lost writes into identity leaves next to each other are one note over their range", () => {
  const d = P2m.build("T12", 0x40000).draft();
  d.rawSet(0x80000, 0xc0000, IDENTITY); // GiB 2: 512 missing leaf slots swapped to identity
  d.log.clear();
  assert.equal(d.write(0x80000, 0xc0000, mfn(1, 0x80000), "__set_phys_to_machine"), 0);
  assert.deepEqual(d.log.notes, [
    { type: "lost-write", pfn: 0x80000, endPfn: 0xc0000, kind: K.MFN },
  ]);
  assert.equal(d.log.before.length, 0); // nothing changed
});

// The write log reuses its lists from step to step (clear() resets counts, not arrays): what a
// step captured must never show through in the next one's runs.
Deno.test("after clear() the log holds only the next step's captures, not the last step's tail", () => {
  const d = P2m.build("T12", 0x40000).draft();
  // Step 1: ten single pages, top down as the balloon driver walks them: one captured run,
  // extended downwards by each store (before and after both continue it).
  for (let p = 0x1009; p >= 0x1000; p--) {
    d.write(p, p + 1, mfn(0x500 + p, p), "set_phys_to_machine");
  }
  assert.equal(d.log.capturedRuns, 1);
  assert.deepEqual(d.log.after, [K.MFN, 0x1500]);
  // The same pages again in the same step: each PFN's before-value is captured once, so the
  // run still holds what the step started from (the hypervisor's unrecorded frames).
  d.write(0x1000, 0x100a, INVALID, "set_phys_to_machine");
  assert.deepEqual(d.log.before, [0x1000, 0x100a, K.MFN_UNKNOWN, 0]);
  assert.equal(d.log.after[0], -1);
  // Ten pages top down whose after-values do not continue (every other frame): ten runs.
  d.log.clear();
  for (let p = 0x1109; p >= 0x1100; p--) {
    d.write(p, p + 1, mfn(0x500 + 2 * p, p), "set_phys_to_machine");
  }
  assert.equal(d.log.capturedRuns, 10);
  d.log.clear();
  assert.deepEqual([d.log.capturedRuns, d.log.before, d.log.after], [0, [], []]);
  // Step 2: one page, over one written in step 1.
  d.write(0x1005, 0x1006, mfn(0x2000, 0x1005), "set_phys_to_machine");
  assert.deepEqual(d.log.before, [0x1005, 0x1006, K.INVALID, 0]);
  assert.deepEqual(d.log.after, [K.MFN, 0x2000]);
  // A second write over the same page in the same step: the after-value is now unknown (-1)
  // and the before-value stays what the step started from.
  d.write(0x1005, 0x1006, mfn(0x900, 0x1005), "set_phys_to_machine");
  assert.deepEqual(d.log.before, [0x1005, 0x1006, K.INVALID, 0]);
  assert.equal(d.log.after[0], -1);
});

Deno.test("kindAt(pfn) is entry(pfn)[0] in private, identity and missing leaves and past the limit", () => {
  for (const era of ["T12", "T16", "L19"] as const) {
    const d = P2m.build(era, 0x40000).draft();
    d.write(0x100, 0x180, IDENTITY, "early_set_phys_to_machine");
    d.write(0x3fff0, 0x40000, mfn(7, 0x3fff0), "set_phys_to_machine");
    d.write(0x80000, 0x80400, IDENTITY, "early_set_phys_to_machine"); // whole leaves: shared pages
    const t = d.finish();
    const pfns = [0, 0x100, 0x17f, 0x180, 0x3ffef, 0x3fff5, 0x40000, 0x80000, 0x80300, G * 3, MAX];
    const shared = ["identity-leaf", "mid-identity"];
    if (era !== "L19") assert.ok(pfns.some((p) => shared.includes(t.structureAt(p))), era);
    for (const pfn of pfns) {
      assert.equal(t.kindAt(pfn), t.entry(pfn)[0], `${era} pfn ${pfn.toString(16)}`);
    }
  }
});

// A store over two leaves continues the first leaf's captured run into the second only when the
// second's before-value continues it: here the first leaf ends in unrecorded frames, the
// second was INVALID, and both become unrecorded frames; the second's change must stay.
Deno.test("a store over two leaves keeps the second leaf's own before-value in the capture", () => {
  const d = P2m.build("T12", 0x40000).draft();
  d.write(0x1000, 0x1100, mfn(0x500, 0x1000), "set_phys_to_machine");
  d.write(0x1200, 0x1400, INVALID, "set_phys_to_machine");
  d.log.clear();
  const unknown: WriteValue = { kind: K.MFN_UNKNOWN, base: 0, startPfn: 0x1000 };
  d.write(0x1000, 0x1400, unknown, "set_phys_to_machine");
  assert.deepEqual(d.log.before, [
    0x1000,
    0x1100,
    K.MFN,
    0x500,
    0x1100,
    0x1200,
    K.MFN_UNKNOWN,
    0,
    0x1200,
    0x1400,
    K.INVALID,
    0,
  ]);
});

Deno.test("WriteLog: after a step that captured thousands of runs, the next step's diff is exact", () => {
  // The log drops lists a rare step made long (memory: a boot pass keeps no megabytes for the
  // rest of the trace); the step after it must still see only its own runs.
  const log = new WriteLog();
  const d = P2m.build("T12", 0x40000).draft(log);
  for (let i = 0; i < 2000; i++) {
    d.write(
      0x1000 + 2 * i,
      0x1001 + 2 * i,
      mfn(0x500 + i, 0x1000 + 2 * i),
      "__set_phys_to_machine",
    );
  }
  assert.equal(log.capturedRuns, 2000);
  log.clear();
  assert.deepEqual(log.before, []);
  d.write(0x1001, 0x1003, mfn(0x9000, 0x1001), "__set_phys_to_machine");
  // 0x1001 held an unrecorded frame; 0x1002 the frame stored in the step before.
  assert.deepEqual(log.before, [0x1001, 0x1002, K.MFN_UNKNOWN, 0, 0x1002, 0x1003, K.MFN, 0x501]);
  assert.deepEqual(log.after.length, 4);
  log.clear();
  d.write(0x3000, 0x3001, mfn(0x9100, 0x3000), "__set_phys_to_machine");
  assert.deepEqual(log.before, [0x3000, 0x3001, K.MFN_UNKNOWN, 0]);
  assert.deepEqual(log.after, [K.MFN, 0x9100]);
});

Deno.test("a table whose leaves are read on first use answers, and is written, as the one built whole", async () => {
  const { p2mFromLazyPages, p2mFromPages, p2mPages } = await import("./table.ts");
  for (const era of ["T12", "T16", "L19"] as const) {
    const d = P2m.build(era, 0x100000).draft();
    for (let i = 0; i < 40; i++) {
      d.rawSet(i * 3001 + 7, i * 3001 + 7 + (i % 5) * 300 + 1, mfn(i * 100_000, i * 3001 + 7));
    }
    d.setIdentityRange(0x90000, 0x90400);
    const pages = p2mPages(d.finish());
    const eager = p2mFromPages(pages);
    const read = new Set<number>();
    const reads = new Array<number>(pages.leaves.length).fill(0);
    const lazy = p2mFromLazyPages({
      ...pages,
      leaves: pages.leaves.map((runs, i) => () => (read.add(i), reads[i]++, runs.slice())),
    });
    assert.equal(read.size, 0, `${era}: a leaf was read before the table was`);
    assert.deepEqual(lazy.entry(7), eager.entry(7));
    assert.equal(read.size, 1, `${era}: one lookup reads one leaf`);
    // Written on a draft, then read everywhere: the same entries, and the same pages again.
    const [de, dl] = [eager.draft(), lazy.draft()];
    for (const t of [de, dl]) {
      t.rawSet(3001 * 5, 3001 * 5 + 900, INVALID);
      t.rawSet(0x50000, 0x50003, mfn(42, 0x50000));
    }
    const [fe, fl] = [de.finish(), dl.finish()];
    assert.ok(read.size <= 4, `${era}: two writes read ${read.size} leaves`);
    for (let pfn = 0; pfn < 0x100000; pfn += 97) assert.deepEqual(fl.entry(pfn), fe.entry(pfn));
    assert.deepEqual(p2mPages(fl), p2mPages(fe));
    // Every leaf read again and again above (each PFN, the pages): each reader called once.
    for (let pfn = 0; pfn < 0x100000; pfn += 89) {
      assert.deepEqual(lazy.entry(pfn), eager.entry(pfn));
    }
    const again = reads.flatMap((n, i) => n > 1 ? [`leaf ${i}: ${n} reads`] : []);
    assert.deepEqual(again, [], `${era}: a leaf's runs were read more than once`);
  }
});

Deno.test("a table whose mids and leaves are read on first use answers, and is written, as the one built whole, reading each page once", async () => {
  const { p2mFromLazyMids, p2mFromPages, p2mPages } = await import("./table.ts");
  for (const era of ["T12", "T16", "L19"] as const) {
    const d = P2m.build(era, 0x400000).draft();
    for (let i = 0; i < 60; i++) {
      const at = i * 60_001 + 7;
      d.rawSet(at, at + (i % 5) * 300 + 1, mfn(i * 100_000, at));
    }
    d.setIdentityRange(0x90000, 0x90400);
    const pages = p2mPages(d.finish());
    const eager = p2mFromPages(pages);
    const midReads = new Array<number>(pages.mids.length + 1).fill(0);
    const leafReads = new Map<number, number>();
    // The mid-missing page's slots as one more mid; leaves keyed 3 + i (the pages' own ids).
    const mids = [...pages.mids, pages.midMissing];
    const lazy = p2mFromLazyMids({
      ...pages,
      mids: mids.map((s, i) => () => (midReads[i]++, s.slice())),
      midMissing: 3 + mids.length - 1,
      leaf: (k) => (leafReads.set(k, (leafReads.get(k) ?? 0) + 1), pages.leaves[k - 3].slice()),
    });
    assert.equal(midReads.reduce((a, b) => a + b) + leafReads.size, 0, `${era}: read too early`);
    assert.deepEqual(lazy.entry(7), eager.entry(7));
    assert.ok(midReads.filter((n) => n > 0).length <= 1, `${era}: one lookup reads one mid`);
    assert.ok(leafReads.size <= 1, `${era}: one lookup reads one leaf`);
    const [de, dl] = [eager.draft(), lazy.draft()];
    for (const t of [de, dl]) {
      t.rawSet(60_001 * 5, 60_001 * 5 + 900, INVALID);
      t.rawSet(0x250000, 0x250003, mfn(42, 0x250000));
    }
    const [fe, fl] = [de.finish(), dl.finish()];
    for (let pfn = 0; pfn < 0x400000; pfn += 97) assert.deepEqual(fl.entry(pfn), fe.entry(pfn));
    assert.deepEqual(p2mPages(fl), p2mPages(fe));
    for (let pfn = 0; pfn < 0x400000; pfn += 89) {
      assert.deepEqual(lazy.entry(pfn), eager.entry(pfn));
    }
    assert.deepEqual(p2mPages(lazy), pages, `${era}: the pages differ read lazily`);
    assert.ok(midReads.every((n) => n <= 1), `${era}: a mid was read more than once`);
    const again = [...leafReads].filter(([, n]) => n > 1);
    assert.deepEqual(again, [], `${era}: a leaf's runs were read more than once`);
  }
});
