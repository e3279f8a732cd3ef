/**
 * v3.18: v3.17 with three differences. `_PAGE_IOMAP` is gone, so ioremap and PCI mmap consult
 * the P2M like every other mapping; `reserve_additional_memory` sets hot-added PFNs INVALID
 * before `add_memory` (on this tree such a write into a shared identity leaf is lost);
 * `set_phys_range_identity` no longer prints its KERN_DEBUG "1-1 mapping on" line.
 *
 * @module
 */

import { K } from "../../p2m/leaf_runs.ts";
import type { KernelEra } from "../../model/policy.ts";
import { LINUX_3_17 } from "./linux_3_17.ts";

/**
 * The v3.18 era.
 *
 * @example
 * ```ts
 * import { LINUX_3_18 } from "./linux_3_18.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LINUX_3_18.pageIomap, false);
 * ```
 */
export const LINUX_3_18: KernelEra = {
  ...LINUX_3_17,
  name: "3.18",
  pageIomap: false,
  identityMessages: false,
  hotplug: (d, r) => {
    d.p2m.write(
      r.pfn,
      r.endPfn,
      { kind: K.INVALID, base: 0, startPfn: r.pfn },
      "set_phys_to_machine",
    );
  },
};
