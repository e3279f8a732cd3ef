// The seed patch's per-PFN rule (p2m-semantics.md 9b-9d) and the PCI resource facts it walks
// (section 6), both sides of each boundary.
import assert from "node:assert/strict";
import { applyIdentityRule } from "./identity_rule.ts";
import { isMmio, isUnassigned, resourcePfns } from "./pci_resource.ts";
import { initialState, ModelDraft } from "../model/state.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { MAX_P2M_PFN } from "../p2m/constants.ts";

function draft(policy: string, nrPages = 0x40000): ModelDraft {
  return new ModelDraft(initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages },
    resolvePolicy(POLICIES, policy),
  ));
}

Deno.test("the rule never makes a PFN on the balloon list identity", () => {
  const d = draft("seed-v1:primitive=ideal");
  d.balloonAdd(0x80000, 0x80002);
  assert.deepEqual(applyIdentityRule(d, { pfn: 0x80000, endPfn: 0x80004 }), [
    { pfn: 0x80002, endPfn: 0x80004 },
  ]);
});

Deno.test("ram=e820: a PFN holding any byte of an E820 RAM entry is RAM, the next one is not", () => {
  const d = draft("seed-v1:primitive=ideal,ram=e820");
  // RAM ends 0x800 bytes into PFN 0x80000
  d.addE820({ start: 0, size: 0x80000800, type: 1, line: 2 });
  assert.deepEqual(applyIdentityRule(d, { pfn: 0x7fffe, endPfn: 0x80003 }), [
    { pfn: 0x80001, endPfn: 0x80003 },
  ]);
});

Deno.test("ram=max_pfn: PFNs below max_pfn are RAM whatever the map says", () => {
  const d = draft("seed-v1:primitive=ideal", 0x40000);
  assert.deepEqual(applyIdentityRule(d, { pfn: 0x3fffe, endPfn: 0x40002 }), [
    { pfn: 0x40000, endPfn: 0x40002 },
  ]);
});

Deno.test("guard=max_p2m_pfn stops the walk at MAX_P2M_PFN; without it the walk goes past (the BUG_ON path)", () => {
  const guarded = draft("seed-v1:primitive=ideal,guard=max_p2m_pfn");
  assert.deepEqual(applyIdentityRule(guarded, { pfn: MAX_P2M_PFN - 2, endPfn: MAX_P2M_PFN + 2 }), [
    { pfn: MAX_P2M_PFN - 2, endPfn: MAX_P2M_PFN },
  ]);
  assert.deepEqual(applyIdentityRule(guarded, { pfn: MAX_P2M_PFN, endPfn: MAX_P2M_PFN + 2 }), []);
  const bare = draft("seed-v1:primitive=ideal");
  const written = applyIdentityRule(bare, { pfn: MAX_P2M_PFN - 2, endPfn: MAX_P2M_PFN + 2 });
  assert.equal(written[written.length - 1].endPfn, MAX_P2M_PFN + 2);
});

Deno.test("a resource spans [start >> 12, (end >> 12) + 1): its end is inclusive", () => {
  assert.deepEqual(resourcePfns({ start: 0x1000, end: 0x1000 }), { pfn: 1, endPfn: 2 });
  assert.deepEqual(resourcePfns({ start: 0x1000, end: 0x1fff }), { pfn: 1, endPfn: 2 });
  assert.deepEqual(resourcePfns({ start: 0x1000, end: 0x2000 }), { pfn: 1, endPfn: 3 });
  assert.deepEqual(resourcePfns({ start: 0x1800, end: 0x27ff }), { pfn: 1, endPfn: 3 });
});

Deno.test("a resource is unassigned when empty, flagged 0, UNSET or DISABLED; only an assigned MEM resource is MMIO", () => {
  const mem = { index: 0, start: 0xf0000000, end: 0xf0003fff, flags: 0x40200 };
  assert.equal(isUnassigned(mem), false);
  assert.equal(isMmio(mem), true);
  assert.equal(isUnassigned({ ...mem, start: 0, end: 0 }), true);
  assert.equal(isUnassigned({ ...mem, flags: 0 }), true);
  assert.equal(isUnassigned({ ...mem, flags: 0x40200 | 0x20000000 }), true); // IORESOURCE_UNSET
  assert.equal(isUnassigned({ ...mem, flags: 0x40200 | 0x10000000 }), true); // IORESOURCE_DISABLED
  assert.equal(isMmio({ ...mem, flags: 0x40200 | 0x20000000 }), false);
  assert.equal(isMmio({ ...mem, flags: 0x40101 }), false); // I/O ports
});
