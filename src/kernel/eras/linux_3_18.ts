/**
 * v3.18: the v3.16 tree with a new boot pass. `xen_set_identity_and_remap` moves the RAM behind
 * identity ranges above nr_pages during the pass (`xen_do_set_identity_and_remap_chunk`, one
 * P2M_PER_PAGE-aligned block at a time, frames moved with `early_set_phys_to_machine`) instead
 * of releasing and populating it back; `last_pfn` raises max_pfn and only released pages add to
 * extra memory. It prints "Set N page(s) to 1-1 mapping", "Remapped N page(s), last_pfn=M",
 * "Released N page(s)", and no longer the KERN_DEBUG "1-1 mapping on" line. `_PAGE_IOMAP` is
 * gone, so ioremap and PCI mmap consult the P2M like every other mapping;
 * `reserve_additional_memory` sets hot-added PFNs INVALID before `add_memory` (on this tree such
 * a write into a shared identity leaf or GiB is lost). brk adds `p2m_identity_remap`.
 *
 * @module
 */

import { BRK_IDENTITY_REMAP, BRK_RESERVED, MAX_DOMAIN_PAGES } from "../../p2m/constants.ts";
import { K } from "../../p2m/leaf_runs.ts";
import type { BootWork, KernelEra } from "../../model/policy.ts";
import type { ModelDraft } from "../../model/state.ts";
import { identityAndRemap, leafBlockPieces } from "../remap.ts";
import { extraMemLimit, growExtraPages } from "../memory_setup.ts";
import { identityAboveMap } from "./linux_3_16.ts";

/**
 * The pass of v3.18: identity and remap on the tree, then the sizing of setup.c:
 * `extra_pages += released`, max_pfn raised to `last_pfn`, the EXTRA_MEM_RATIO clamp.
 *
 * @example
 * ```ts
 * import { remapOnTree } from "./linux_3_18.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof remapOnTree, "function");
 * ```
 */
export function remapOnTree(d: ModelDraft, b: BootWork): void {
  const { report } = b;
  const lastPfn = identityAndRemap(d, b, {
    identityPieces: leafBlockPieces,
    skipEntryEndingAtCursor: false,
  });
  // xen_update_mem_tables: the saved frames go to the remap target with
  // early_set_phys_to_machine (brk leaves, or leaves freed by the identity calls).
  for (const t of b.remapTargets) {
    d.p2m.write(
      t.pfn,
      t.endPfn,
      { kind: K.MFN_UNKNOWN, base: 0, startPfn: t.pfn },
      "early_set_phys_to_machine",
    );
  }
  report.messages.push(`Set ${report.identity} page(s) to 1-1 mapping`);
  report.messages.push(`Remapped ${report.remapped} page(s), last_pfn=${lastPfn}`);
  report.messages.push(`Released ${report.released} page(s)`);
  if (lastPfn > b.maxPfn) b.maxPfn = Math.min(MAX_DOMAIN_PAGES, lastPfn);
  growExtraPages(b, report.released, extraMemLimit(b.maxPfn));
}

/**
 * The v3.18 era.
 *
 * @example
 * ```ts
 * import { LINUX_3_18 } from "./linux_3_18.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LINUX_3_18.bootPass, "remap");
 * assert.equal(LINUX_3_18.pageIomap, false);
 * ```
 */
export const LINUX_3_18: KernelEra = {
  name: "3.18",
  structure: "T16",
  pageIomap: false,
  pagesLimit: () => MAX_DOMAIN_PAGES,
  brkReserved: BRK_RESERVED.T16 + BRK_IDENTITY_REMAP,
  bootPass: "remap",
  identityMessages: false,
  extraMemInvalidates: true,
  runBootPass: remapOnTree,
  finishBoot: identityAboveMap,
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
