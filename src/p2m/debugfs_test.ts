import assert from "node:assert/strict";
import { P2m } from "./table.ts";
import { K } from "./leaf_runs.ts";
import { PFNS_PER_MID } from "./constants.ts";
import { renderDump } from "./debugfs.ts";

Deno.test("tree dump: p2m_dump_show tests p2m_top[t] == p2m_mid_missing first, so a GiB aliased through the shared mid-missing page prints 'top / missing'", () => {
  const fresh = P2m.build("T12", 0x40000);
  const d = fresh.draft();
  // v3.12 set_phys_to_machine of an identity value into a mid-missing GiB swaps the slot of the
  // shared p2m_mid_missing page: that 2 MiB reads identity in every GiB still mid-missing.
  const pfn = 5 * PFNS_PER_MID + 0x400;
  d.write(pfn, pfn + 1, { kind: K.IDENTITY, base: 0, startPfn: pfn }, "set_phys_to_machine");
  const t = d.finish();
  assert.equal(t.entry(9 * PFNS_PER_MID + 0x400)[0], K.IDENTITY); // the alias
  assert.deepEqual(renderDump(t), renderDump(fresh));
  assert.deepEqual(renderDump(t), [
    " [0x0->0x40000] pfn",
    " [0x0->0x40000] level entry",
    " [0x40000->0x7cfffff] missing",
    " [0x40000->0x7cfffff] level top",
  ]);
});
