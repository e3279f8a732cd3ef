import assert from "node:assert/strict";
import { memorySetup } from "./memory_setup.ts";
import { initialState, ModelDraft } from "../model/state.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
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
