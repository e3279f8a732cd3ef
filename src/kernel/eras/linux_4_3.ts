/**
 * v4.3 and later: the v3.19 list with Juergen Gross's 2015 rework of `xen_memory_setup`. Extra
 * memory is sized before the pass: `max_pages += xen_count_remap_pages(max_pfn)` and
 * `extra_pages = min3(EXTRA_MEM_RATIO * min(max_pfn, PFN_DOWN(MAXMEM)), extra_pages,
 * max_pages - max_pfn)`; identity and remap run after the E820 rewrite; `xen_find_pfn_range`
 * skips a RAM entry ending exactly at the cursor (`e_pfn <= *min_pfn`); the 500 GiB
 * MAX_DOMAIN_PAGES is gone (`xen_get_pages_limit`: 512 GiB for a domU under the default
 * `xen_512gb_limit`, MAXMEM for dom0).
 *
 * @module
 */

import { E820_TYPE } from "../../trace/event.ts";
import type { BootWork, KernelEra } from "../../model/policy.ts";
import type { E820Entry, ModelDraft } from "../../model/state.ts";
import { identityAndRemap, remapSizePieces } from "../remap.ts";
import { extraMemLimit, MAXMEM_PFN, pfnDown, pfnUp } from "../memory_setup.ts";
import { LINUX_3_19, listAndRemap, listIdentityAboveMap } from "./linux_3_19.ts";

/** GB(512) / PAGE_SIZE: the default `xen_512gb_limit` of a domU. */
const DOMU_PAGES_LIMIT = 2 ** 27;

/**
 * `xen_count_remap_pages(max_pfn)`: the PFNs below max_pfn in holes or non-RAM entries, whose
 * RAM the pass will remap.
 *
 * @example
 * ```ts
 * import { countRemapPages } from "./linux_4_3.ts";
 * import assert from "node:assert/strict";
 * const map = [
 *   { start: 0, size: 0x9e000, type: 1, line: 1 },
 *   { start: 0xa0000, size: 0x60000, type: 2, line: 2 },
 *   { start: 0x100000, size: 0x7ff00000, type: 1, line: 3 },
 * ];
 * assert.equal(countRemapPages(map, 0x40000), 2 + 0x60); // a hole and the ISA range
 * ```
 */
export function countRemapPages(map: readonly E820Entry[], maxPfn: number): number {
  let extra = 0;
  let endPfn = 0;
  for (const entry of map) {
    const startPfn = pfnDown(entry.start);
    endPfn = Math.min(endPfn, startPfn);
    if (startPfn >= maxPfn) return extra + maxPfn - endPfn;
    extra += startPfn - endPfn;
    endPfn = Math.min(pfnUp(entry.start + entry.size), maxPfn);
    if (entry.type !== E820_TYPE.ram) extra += endPfn - startPfn;
  }
  return extra;
}

/** v4.3 sizing, before the E820 rewrite. */
function sizeExtraMemory(_d: ModelDraft, b: BootWork): void {
  const remap = countRemapPages(b.map, b.maxPfn);
  const size = (s: { maxPages: number; extraPages: number }) => {
    s.maxPages += remap;
    s.extraPages = s.maxPages > b.maxPfn ? s.maxPages - b.maxPfn : 0;
    s.extraPages = Math.min(extraMemLimit(b.maxPfn), s.extraPages, s.maxPages - b.maxPfn);
  };
  size(b);
  if (b.capped) size(b.capped);
}

/**
 * The v4.3 era.
 *
 * @example
 * ```ts
 * import { LINUX_4_3 } from "./linux_4_3.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LINUX_4_3.pagesLimit(false), 512 * 0x40000);
 * ```
 */
export const LINUX_4_3: KernelEra = {
  ...LINUX_3_19,
  name: "4.3",
  pagesLimit: (dom0) => dom0 ? MAXMEM_PFN : DOMU_PAGES_LIMIT,
  runBootPass: sizeExtraMemory,
  finishBoot: (d, b) => {
    listIdentityAboveMap(d, b);
    identityAndRemap(d, b, { identityPieces: remapSizePieces, skipEntryEndingAtCursor: true });
    b.report.messages.push(`Released ${b.report.released} page(s)`);
    listAndRemap(d, b);
  },
};
