/**
 * v3.19-4.2: Juergen Gross's virtually mapped linear P2M list (p2m-semantics.md 3.5, 8). The
 * boot pass only prepares the remap of the RAM behind identity ranges and prints "Released N
 * page(s)"; extra memory is sized `extra_pages += released + remapped`, because the remapped
 * PFNs land in extra memory first. `set_phys_range_identity(end of the last E820 entry, ~0)`
 * still runs, on the initial list. Later `xen_vmalloc_p2m_tree` sizes the list
 * (max(xen_max_p2m_pfn, P2M_LIMIT)), `xen_inv_extra_mem` sets extra memory INVALID and
 * `xen_remap_memory` moves the frames, takes their PFNs out of extra memory and prints
 * "Remapped N page(s)". Entries beyond the list answer identity; hot-added memory is set INVALID
 * first; `_PAGE_IOMAP` is gone.
 *
 * @module
 */

import {
  MAX_DOMAIN_PAGES,
  P2M_AREA_ALIGN,
  P2M_ENTRY_SIZE,
  P2M_PER_PAGE,
  PFNS_PER_MID,
} from "../../p2m/constants.ts";
import { K } from "../../p2m/leaf_runs.ts";
import type { BootWork, KernelEra } from "../../model/policy.ts";
import type { ModelDraft } from "../../model/state.ts";
import { identityAndRemap, remapSizePieces } from "../remap.ts";
import { extraMemLimit, growExtraPages, rangesOf } from "../memory_setup.ts";

/**
 * `set_phys_range_identity(end of the last E820 entry, ~0)` on the initial list: only entries
 * below `xen_p2m_size` are written; nothing is printed.
 *
 * @example
 * ```ts
 * import { listIdentityAboveMap } from "./linux_3_19.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof listIdentityAboveMap, "function");
 * ```
 */
export function listIdentityAboveMap(d: ModelDraft, b: BootWork): void {
  const n = d.p2m.setIdentityRange(b.lastEndPfn, Number.MAX_SAFE_INTEGER);
  const end = Math.max(b.lastEndPfn, d.p2m.structureLimit);
  b.report.aboveMap = { pfn: b.lastEndPfn, endPfn: end, count: n };
}

/**
 * The byte size of the list's virtual area, as `xen_vmalloc_p2m_tree` (arch/x86/xen/p2m.c,
 * v3.19+) computes and prints it ("p2m virtual area at %p, size is %lx"):
 * `ALIGN(sizeof(unsigned long) * max(xen_max_p2m_pfn, p2m_limit), PMD_SIZE * PMDS_PER_MID_PAGE)`.
 * `xen_max_p2m_pfn` is the end of the last extra memory chunk `xen_memory_setup` added, else
 * `ALIGN(nr_pages, P2M_PER_PAGE)` from `xen_build_dynamic_phys_to_machine`. (v3.19 itself has
 * no p2m_limit term; it came with memory hot-plug of the list, and is 0 without
 * CONFIG_XEN_MEMORY_HOTPLUG_LIMIT.)
 *
 * @example
 * ```ts
 * import { p2mAreaSize } from "./linux_3_19.ts";
 * import assert from "node:assert/strict";
 * assert.equal(p2mAreaSize(0x9000, 0), 0x200000);            // a 144 MiB stub domain: 2 MiB
 * assert.equal(p2mAreaSize(0x9000, 512 * 0x40000), 0x40000000); // P2M_LIMIT 512 GiB: 1 GiB
 * ```
 */
export function p2mAreaSize(maxP2mPfn: number, limitPfns: number): number {
  const bytes = P2M_ENTRY_SIZE * Math.max(maxP2mPfn, limitPfns);
  return Math.ceil(bytes / P2M_AREA_ALIGN) * P2M_AREA_ALIGN;
}

/**
 * `xen_vmalloc_p2m_tree` (the list covers {@link p2mAreaSize} / 8 PFNs), `xen_inv_extra_mem`,
 * then `xen_remap_memory`.
 *
 * @example
 * ```ts
 * import { listAndRemap } from "./linux_3_19.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof listAndRemap, "function");
 * ```
 */
export function listAndRemap(d: ModelDraft, b: BootWork): void {
  const { report } = b;
  // xen_max_p2m_pfn: the end of the last extra memory region, else nr_pages to a whole leaf.
  const listEnd = (last: number) => last > 0 ? last : Math.ceil(b.nr / P2M_PER_PAGE) * P2M_PER_PAGE;
  const maxP2mPfn = listEnd(b.maxP2mPfn);
  const limitPfns = d.policy.p2mLimitGib * PFNS_PER_MID;
  const area = p2mAreaSize(maxP2mPfn, limitPfns);
  const size = area / P2M_ENTRY_SIZE;
  report.p2mArea = { size: area, maxP2mPfn, limitPfns };
  if (b.capped) {
    // The list the kernel would build under an unstated maximum reservation at nr_pages.
    report.p2mArea.cappedMaxP2mPfn = listEnd(b.capped.maxP2mPfn);
  }
  const extraFlat: number[] = [];
  for (const r of report.extra) extraFlat.push(r.pfn, r.endPfn);
  d.p2m.growList(size, extraFlat);
  report.messages.push(`p2m virtual area at (ptrval), size is ${area.toString(16)}`);
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

/** The v3.19 pass: prepare the remap, print "Released", size extra memory. */
function prepareRemap(d: ModelDraft, b: BootWork): void {
  const { report } = b;
  identityAndRemap(d, b, { identityPieces: remapSizePieces, skipEntryEndingAtCursor: false });
  report.messages.push(`Released ${report.released} page(s)`);
  growExtraPages(b, report.released + report.remapped, extraMemLimit(b.maxPfn));
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
  pagesLimit: () => MAX_DOMAIN_PAGES,
  brkReserved: 0,
  bootPass: "remap",
  identityMessages: false,
  extraMemInvalidates: false,
  runBootPass: prepareRemap,
  finishBoot: (d, b) => {
    listIdentityAboveMap(d, b);
    listAndRemap(d, b);
  },
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
