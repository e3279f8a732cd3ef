/**
 * v3.19+: Juergen Gross's virtually mapped linear P2M list (p2m-semantics.md 3.5, 8). The boot
 * pass remaps RAM behind identity ranges above nr_pages; `xen_vmalloc_p2m_tree` sizes the list,
 * `xen_inv_extra_mem` sets extra memory INVALID, `xen_remap_memory` moves the frames. Entries
 * beyond the list answer identity; hot-added memory is set INVALID first; `_PAGE_IOMAP` is gone.
 *
 * @module
 */

import { P2M_LIMIT_GIB, PFNS_PER_MID } from "../../p2m/constants.ts";
import { K } from "../../p2m/leaf_runs.ts";
import type { KernelEra } from "../../model/policy.ts";
import type { ModelDraft } from "../../model/state.ts";
import type { BootWork } from "../../model/policy.ts";
import { identityAndRemap } from "../remap.ts";
import { rangesOf } from "../memory_setup.ts";

/** `xen_vmalloc_p2m_tree`, `xen_inv_extra_mem`, then `xen_remap_memory`. */
function listAndRemap(d: ModelDraft, b: BootWork): void {
  const { report } = b;
  // the list covers xen_max_p2m_pfn and the hotplug space
  const size = Math.max(b.maxP2mPfn, b.nr, P2M_LIMIT_GIB * PFNS_PER_MID);
  const extraFlat: number[] = [];
  for (const r of report.extra) extraFlat.push(r.pfn, r.endPfn);
  d.p2m.growList(size, extraFlat);
  report.messages.push(
    `p2m virtual area: ${(size * 8).toString(16)} bytes for ${size.toString(16)} PFNs`,
  );
  for (const r of report.extra) {
    d.p2m.write(
      r.pfn,
      r.endPfn,
      { kind: K.INVALID, base: 0, startPfn: r.pfn },
      "set_phys_to_machine",
    );
  }
  for (const t of b.remapTargets) {
    d.p2m.write(
      t.pfn,
      t.endPfn,
      { kind: K.MFN_UNKNOWN, base: 0, startPfn: t.pfn },
      "set_phys_to_machine",
    );
    d.extraDelete(t.pfn, t.endPfn);
  }
  report.messages.push(`Remapped ${report.remapped} page(s)`);
  report.extra = rangesOf(d.extra);
}

/**
 * The v3.19 era.
 *
 * @example
 * ```ts
 * import { LINUX_3_19 } from "./linux_3_19.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LINUX_3_19.pageIomap, false);
 * ```
 */
export const LINUX_3_19: KernelEra = {
  name: "3.19",
  structure: "L19",
  pageIomap: false,
  bootPass: "remap",
  identityMessages: false,
  extraMemInvalidates: false,
  runBootPass: identityAndRemap,
  finishBoot: listAndRemap,
  balloonOutEntry: (pfn) => ({ kind: K.INVALID, base: 0, startPfn: pfn }),
  hotplug: (d, r) => {
    d.p2m.write(
      r.pfn,
      r.endPfn,
      { kind: K.INVALID, base: 0, startPfn: r.pfn },
      "set_phys_to_machine",
    );
  },
};
