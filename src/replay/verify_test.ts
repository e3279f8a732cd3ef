import assert from "node:assert/strict";
import { verifyBoot, verifyP2mArea } from "./verify.ts";
import type { BootReport } from "../model/state.ts";

const report = (p2mArea?: BootReport["p2mArea"]): BootReport => ({
  identity: 0,
  released: 0,
  populated: 0,
  remapped: 0,
  identityRanges: [],
  releasedRanges: [],
  populatedRanges: [],
  extra: [],
  maxPfn: 0x9000,
  messages: [],
  ...(p2mArea ? { p2mArea } : {}),
});

Deno.test("the printed p2m virtual area agrees with the list with the policy's P2M_LIMIT or with none, nothing else", () => {
  // P2M_LIMIT is a build option the log does not name (CONFIG_XEN_MEMORY_HOTPLUG_LIMIT, 0 without
  // memory hot-plug): ALIGN(8 * xen_max_p2m_pfn, 2 MiB) and ALIGN(8 * max(.., limit), 2 MiB) both
  // come from a kernel; a third size means the model's xen_max_p2m_pfn is wrong.
  const r = report({ size: 0x40000000, maxP2mPfn: 0x9000, limitPfns: 0x8000000 });
  assert.equal(verifyP2mArea(0x40000000, r).ok, true); // hot-plug, 512 GiB
  const bare = verifyP2mArea(0x200000, r);
  assert.equal(bare.ok, true); // built without hot-plug
  assert.match(bare.model, /P2M_LIMIT 0/);
  const wrong = verifyP2mArea(0xa00000, r);
  assert.equal(wrong.ok, false);
  assert.equal(wrong.recorded, "a00000");
  // A tree era has no list: the printed line cannot agree.
  assert.equal(verifyP2mArea(0x200000, report()).ok, false);
  // verifyBoot checks it among the counts.
  assert.deepEqual(
    verifyBoot({ p2mAreaSize: 0x400000 }, r).map((v) => [v.what, v.ok]),
    [["p2m virtual area size", false]],
  );
});

Deno.test("a dom0 without a stated maximum reservation: a printed area between the capped and the uncapped list is open, not a DIFF, not a silent ok", () => {
  // xen_get_max_pages takes dom0's XENMEM_maximum_reservation; when the trace does not state it
  // the model assumes none, and the list with it capped at nr_pages is the other end.
  const r = report({
    size: 0x40000000,
    maxP2mPfn: 0x42e000,
    limitPfns: 0x8000000,
    cappedMaxP2mPfn: 0x135af2,
  });
  const v = verifyP2mArea(0xa00000, r);
  assert.equal(v.ok, true);
  assert.match(v.unverified ?? "", /xen_max_p2m_pfn in \(0x100000, 0x140000\]/);
  assert.match(v.unverified ?? "", /capped at nr_pages: xen_max_p2m_pfn 0x135af2, size a00000/);
  // Below the capped list or above the uncapped one nothing explains it.
  assert.equal(verifyP2mArea(0x800000, r).ok, false);
  assert.equal(
    verifyP2mArea(0x2400000, { ...r, p2mArea: { ...r.p2mArea!, limitPfns: 0 } }).ok,
    false,
  );
  // Exact agreement stays a plain ok; a stated reservation leaves no span.
  assert.equal(verifyP2mArea(0x40000000, r).unverified, undefined);
  const stated = report({ size: 0x40000000, maxP2mPfn: 0x42e000, limitPfns: 0x8000000 });
  assert.equal(verifyP2mArea(0xa00000, stated).ok, false);
});
