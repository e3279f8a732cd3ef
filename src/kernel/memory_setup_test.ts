import assert from "node:assert/strict";
import { memorySetup } from "./memory_setup.ts";
import { initialState, ModelDraft } from "../model/state.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES, policyForKernel } from "../policy/policies.ts";
import { K } from "../p2m/leaf_runs.ts";
import { KONRAD_2013_DOM0_E820 } from "../../tests/support/real_maps.ts";

function konradDraft(policy: string): ModelDraft {
  const s = initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x1acb65 },
    resolvePolicy(POLICIES, policy),
  );
  const d = new ModelDraft(s);
  KONRAD_2013_DOM0_E820.forEach(([a, b, t], i) =>
    d.addE820({ start: a, size: b - a, type: t, line: i + 1 })
  );
  return d;
}

Deno.test("v3.12 boot pass reproduces the 3.8 dom0 log's printed counts and ranges", () => {
  const r = memorySetup(konradDraft("linux-3.12"), {});
  assert.equal(r.identity, 283999);
  assert.equal(r.released, 283999);
  assert.equal(r.populated, 283999);
  assert.deepEqual(
    r.identityRanges.map((x) => [x.pfn.toString(16), x.endPfn.toString(16)]),
    [
      ["9e", "100"],
      ["20000", "20200"],
      ["40000", "40200"],
      ["bad80", "badf4"],
      ["badf6", "bae7f"],
      ["bb000", "100000"],
    ],
  );
  assert.deepEqual(r.releasedRanges.map((x) => x.pages), [98, 512, 512, 116, 137, 282624]);
  assert.deepEqual(r.populatedRanges, [{ pfn: 0x1acb65, endPfn: 0x1f20c4, pages: 283999 }]);
  assert.deepEqual(r.messages.slice(-3), [
    "Released 283999 pages of unused memory",
    "Set 283999 page(s) to 1-1 mapping",
    "Populating 1acb65-1f20c4 pfn range: 283999 pages added",
  ]);
  assert.equal(r.maxPfn, 0x1f20c4);
});

Deno.test("populating back reuses all-identity leaves (early_can_reuse_p2m_middle) instead of brk pages", () => {
  const d = konradDraft("linux-3.12");
  const before = d.p2m.accounting.brkUsed;
  memorySetup(d, {});
  // 555 leaves are needed above 0x1acb65; 554 all-identity leaves exist below 4 GiB.
  const reuses = d.log.notes.filter((n) => n.type === "reuse").length;
  assert.equal(reuses, 554);
  assert.equal(d.p2m.structureAt(0xbb000), "identity-leaf");
  assert.equal(d.p2m.accounting.brkUsed - before, 2 + 1); // GiB 7's mid + mid_mfn, one leaf
});

Deno.test("v3.16 boot pass makes everything above the last E820 entry identity, at O(1) brk cost", () => {
  const d = konradDraft("linux-3.16");
  const r = memorySetup(d, {});
  assert.equal(r.aboveMap?.pfn, 0x23fe00);
  assert.equal(r.aboveMap?.count, 0x8000000 - 0x23fe00);
  assert.equal(d.p2m.entry(0x3c00000)[0], K.IDENTITY);
  assert.equal(d.p2m.structureAt(0x3c00000), "mid-identity");
  assert.equal(d.p2m.entry(0x9000000)[0], K.IDENTITY); // beyond the tree
});

Deno.test("v3.12 leaves PFNs above the last E820 entry INVALID", () => {
  const d = konradDraft("linux-3.12");
  memorySetup(d, {});
  assert.equal(d.p2m.entry(0x3c00000)[0], K.INVALID);
  assert.equal(d.p2m.entry(0x9000000)[0], K.INVALID);
});

Deno.test("a domU's RAM beyond nr_pages becomes extra memory (balloon space)", () => {
  const s = initialState(
    { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
    resolvePolicy(POLICIES, "linux-3.12"),
  );
  const d = new ModelDraft(s);
  d.addE820({ start: 0, size: 0xa0000, type: 1, line: 1 });
  d.addE820({ start: 0xa0000, size: 0x60000, type: 2, line: 2 });
  d.addE820({ start: 0x100000, size: 0x80000000 - 0x100000, type: 1, line: 3 });
  const r = memorySetup(d, {});
  assert.deepEqual(r.extra, [{ pfn: 0x40060, endPfn: 0x80000 }]);
  assert.equal(d.p2m.entry(0x50000)[0], K.INVALID);
});

Deno.test("v3.19 remaps the RAM behind holes above nr_pages instead of releasing it", () => {
  const d = konradDraft("linux-3.19");
  const r = memorySetup(d, {});
  assert.equal(r.released, 0);
  assert.equal(r.remapped, 283999);
  assert.equal(r.identity, 283999);
  assert.equal(d.p2m.entry(0x1acb65)[0], K.MFN_UNKNOWN);
  assert.equal(d.p2m.entry(0x3c00000)[0], K.IDENTITY);
});

/** A domU with 256 MiB populated and 8 GiB of E820 RAM, the ISA hole reserved. */
function smallDomUDraft(policy: string, nrPages = 0x10000, ramEnd = 2 ** 33): ModelDraft {
  const s = initialState(
    { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages },
    resolvePolicy(POLICIES, policy),
  );
  const d = new ModelDraft(s);
  d.addE820({ start: 0, size: 0xa0000, type: 1, line: 1 });
  d.addE820({ start: 0xa0000, size: 0x60000, type: 2, line: 2 });
  d.addE820({ start: 0x100000, size: ramEnd - 0x100000, type: 1, line: 3 });
  return d;
}

const pagesOf = (ranges: { pfn: number; endPfn: number }[]) =>
  ranges.reduce((n, r) => n + r.endPfn - r.pfn, 0);

Deno.test("v3.12-3.16 clamp extra memory to min(EXTRA_MEM_RATIO * min(max_pfn, MAXMEM), extra_pages): 10x max_pfn", () => {
  for (const policy of ["linux-3.12", "linux-3.16"]) {
    const d = smallDomUDraft(policy);
    const r = memorySetup(d, {});
    assert.equal(r.maxPfn, 0x10060); // 0x60 ISA-hole pages populated back above nr_pages
    assert.equal(pagesOf(r.extra), 10 * 0x10060, policy);
  }
});

Deno.test("v3.19 sizes extra memory as extra_pages += released + remapped: remapped RAM does not eat the balloon space", () => {
  const d = konradDraft("linux-3.19");
  const r = memorySetup(d, { maxReservation: 0x1acb65 + 0x10000 });
  // The 283999 remapped pages land at nr_pages and leave extra memory (xen_del_extra_mem); the
  // 0x10000 pages of balloon room above them stay extra memory, INVALID.
  assert.deepEqual(r.extra, [{ pfn: 0x1f20c4, endPfn: 0x2020c4 }]);
  assert.equal(d.p2m.entry(0x1f2100)[0], K.INVALID);
  assert.equal(d.p2m.entry(0x1f20c3)[0], K.MFN_UNKNOWN);
});

Deno.test("v3.19 prints 'Released N page(s)' and later 'Remapped N page(s)', never 'Set N page(s) to 1-1 mapping'", () => {
  const r = memorySetup(konradDraft("linux-3.19"), {});
  assert.equal(r.messages.some((m) => m.startsWith("Set ")), false);
  const released = r.messages.indexOf("Released 0 page(s)");
  const remapped = r.messages.indexOf("Remapped 283999 page(s)");
  assert.ok(released >= 0 && remapped > released, r.messages.join("\n"));
});

Deno.test("v3.19 calls set_phys_range_identity(end of the last E820 entry, ~0): the initial list's tail past the map is identity", () => {
  // nr_pages 0x40010: the initial list holds ALIGN(nr, 512) = 0x40200 entries; the map ends at
  // 0x40010, so [0x40010, 0x40200) is written identity in the list.
  const d = smallDomUDraft("linux-3.19", 0x40010, 0x40010 * 4096);
  memorySetup(d, {});
  assert.equal(d.p2m.entry(0x40100)[0], K.IDENTITY);
});

Deno.test("v3.19 sizes the list as max(xen_max_p2m_pfn, P2M_LIMIT): P2M_LIMIT is 0 without memory hot-plug", () => {
  const withHotplug = smallDomUDraft("linux-3.19", 0x40000, 2 ** 31);
  memorySetup(withHotplug, {});
  assert.equal(withHotplug.p2m.structureLimit, 512 * 0x40000); // 512 GiB of PFNs
  const without = smallDomUDraft("linux-3.19:p2m_limit=0", 0x40000, 2 ** 31);
  memorySetup(without, {});
  assert.equal(without.p2m.structureLimit, 2 * 0x40000); // xen_max_p2m_pfn, up to a GiB
});

Deno.test("v3.19+ prints the list's virtual area as ALIGN(8 * max(xen_max_p2m_pfn, P2M_LIMIT), 2 MiB)", () => {
  // xen_vmalloc_p2m_tree (arch/x86/xen/p2m.c): vm.size = ALIGN(sizeof(unsigned long) *
  // max(xen_max_p2m_pfn, p2m_limit), PMD_SIZE * PMDS_PER_MID_PAGE), printed "p2m virtual area at
  // %p, size is %lx". A 144 MiB stub domain (real logs 23, 26: "size is 200000") without memory
  // hot-plug: xen_max_p2m_pfn = ALIGN(nr_pages, P2M_PER_PAGE) = 0x9000 -> 0x48000 bytes -> 2 MiB.
  const stub = smallDomUDraft("linux-4.3:p2m_limit=0", 0x9000, 0x9000 * 4096);
  const r = memorySetup(stub, {});
  assert.deepEqual(r.p2mArea, { size: 0x200000, maxP2mPfn: 0x9000, limitPfns: 0 });
  assert.ok(r.messages.includes("p2m virtual area at (ptrval), size is 200000"));
  // With the default P2M_LIMIT (512 GiB of PFNs): 1 GiB of list (real logs 20, 21).
  const big = smallDomUDraft("linux-4.3", 0x9000, 0x9000 * 4096);
  assert.equal(memorySetup(big, {}).p2mArea?.size, 0x40000000);
  // Extra memory sets xen_max_p2m_pfn to its end (xen_memory_setup's E820 loop), not nr_pages.
  const extra = smallDomUDraft("linux-4.3:p2m_limit=0", 0x40000, 0x48000 * 4096);
  const e = memorySetup(extra, {});
  assert.equal(e.p2mArea?.maxP2mPfn, 0x48000);
  assert.equal(e.p2mArea?.size, 0x400000); // 8 * 0x48000 = 0x240000, aligned up to 4 MiB
});

Deno.test("v3.18 remaps on the tree during the pass, raises max_pfn to last_pfn and prints Set / Remapped, last_pfn / Released", () => {
  const d = konradDraft("linux-3.18");
  const r = memorySetup(d, {});
  assert.equal(r.remapped, 283999);
  assert.equal(r.released, 0);
  assert.equal(r.maxPfn, 0x1acb65 + 283999);
  assert.deepEqual(r.messages.slice(0, 3), [
    "Set 283999 page(s) to 1-1 mapping",
    `Remapped 283999 page(s), last_pfn=${0x1acb65 + 283999}`,
    "Released 0 page(s)",
  ]);
  assert.equal(r.messages.some((m) => m.startsWith("1-1 mapping on")), false); // KERN_DEBUG gone
  assert.equal(d.p2m.entry(0x1acb65)[0], K.MFN_UNKNOWN); // remapped frames, written at once
  assert.equal(d.p2m.entry(0x3c00000)[0], K.IDENTITY); // identity above the map, as in v3.16
  assert.equal(d.p2m.accounting.brkReserved, 9 + 1000 + 6 + 3 + 60); // + p2m_identity_remap
});

Deno.test("v3.17 still releases and populates back, as v3.16 (3.17.0-rc4 logs print Freeing / Populating)", () => {
  const s = initialState(
    {
      type: "pv",
      domain: "dom0",
      arch: "x86_64",
      pageSize: 4096,
      nrPages: 0x1acb65,
      kernel: "3.17.0-rc4-vgt+",
    },
    resolvePolicy(POLICIES, policyForKernel("3.17.0-rc4-vgt+")!),
  );
  assert.equal(s.policy.kernel.bootPass, "release-populate");
});

/** RAM ending exactly at nr_pages, a hole, then more RAM: the remap cursor starts at an end. */
function cursorAtEntryEndDraft(policy: string): ModelDraft {
  const s = initialState(
    { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
    resolvePolicy(POLICIES, policy),
  );
  const d = new ModelDraft(s);
  d.addE820({ start: 0, size: 0x9f000, type: 1, line: 1 });
  d.addE820({ start: 0x9f000, size: 0x61000, type: 2, line: 2 });
  d.addE820({ start: 0x100000, size: 0x40000000 - 0x100000, type: 1, line: 3 });
  d.addE820({ start: 0x50000000, size: 0x30000000, type: 1, line: 4 });
  return d;
}

Deno.test("xen_find_pfn_range: before v4.3 a RAM entry ending at the cursor gives an empty range (release); v4.3 skips it (e_pfn <= min_pfn)", () => {
  const old = memorySetup(cursorAtEntryEndDraft("linux-3.19"), {});
  assert.ok(
    old.messages.includes("Unable to find available pfn range, not remapping identity pages"),
  );
  assert.equal(old.released, 0x61);
  assert.equal(old.remapped, 0);
  const d = cursorAtEntryEndDraft("linux-4.3");
  const r = memorySetup(d, {});
  assert.equal(r.released, 0);
  assert.equal(r.remapped, 0x61);
  assert.equal(d.p2m.entry(0x50000)[0], K.MFN_UNKNOWN); // remapped into the next RAM entry
});

Deno.test("v4.3 sizes extra memory before the pass: max_pages += xen_count_remap_pages(max_pfn), then min3", () => {
  const d = konradDraft("linux-4.3");
  const r = memorySetup(d, { maxReservation: 0x1acb65 + 0x10000 });
  // 283999 PFNs below nr_pages sit in holes or non-RAM: extra memory is 0x10000 + 283999 pages;
  // the remapped ones then leave it, the balloon room stays.
  assert.deepEqual(r.extra, [{ pfn: 0x1f20c4, endPfn: 0x2020c4 }]);
  assert.deepEqual(r.messages.filter((m) => /^(Released|Remapped)/.test(m)), [
    "Released 0 page(s)",
    "Remapped 283999 page(s)",
  ]);
});

Deno.test("a dom0 without a stated maximum reservation also sizes the list with it capped at nr_pages", () => {
  // xen_get_max_pages: XENMEM_maximum_reservation for dom0, else the era's limit. The capped twin
  // must be exactly the run with maxReservation = nr_pages, in both list eras.
  for (const policy of ["linux-3.19", "linux-4.3"]) {
    const open = memorySetup(konradDraft(policy), {}).p2mArea!;
    const capped = memorySetup(konradDraft(policy), { maxReservation: 0x1acb65 }).p2mArea!;
    assert.equal(open.cappedMaxP2mPfn, capped.maxP2mPfn, policy);
    assert.ok(open.maxP2mPfn > capped.maxP2mPfn, policy);
    assert.equal(capped.cappedMaxP2mPfn, undefined, policy);
  }
});
