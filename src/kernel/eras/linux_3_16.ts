/**
 * v3.16-3.17: the P2M tree gains a shared mid-identity page; at boot everything from the end of
 * the last E820 entry to MAX_P2M_PFN is set 1:1, lookups beyond the tree answer identity, and
 * ballooned-out pages are INVALID again (p2m-semantics.md 3.3-3.4, 8). The boot pass still
 * releases and populates back.
 *
 * @module
 */

import { BRK_RESERVED, MAX_DOMAIN_PAGES, MAX_P2M_PFN } from "../../p2m/constants.ts";
import { K } from "../../p2m/leaf_runs.ts";
import type { BootWork, KernelEra } from "../../model/policy.ts";
import type { ModelDraft } from "../../model/state.ts";
import { releaseAndPopulate } from "../release_populate.ts";

/**
 * `set_phys_range_identity(PFN_DOWN(end of the last E820 entry), ~0)` after the E820 rewrite
 * (v3.16-3.18): PCI BARs above RAM read 1:1; the tree clamps the end to MAX_P2M_PFN.
 *
 * @example
 * ```ts
 * import { identityAboveMap } from "./linux_3_16.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof identityAboveMap, "function");
 * ```
 */
export function identityAboveMap(d: ModelDraft, b: BootWork): void {
  const from = b.lastEndPfn;
  const n = d.p2m.setIdentityRange(from, Number.MAX_SAFE_INTEGER);
  b.report.aboveMap = { pfn: from, endPfn: MAX_P2M_PFN, count: n };
  if (n > 0 && d.policy.kernel.identityMessages) {
    b.report.messages.push(`1-1 mapping on ${from.toString(16)}->${(from + n).toString(16)}`);
  }
}

/**
 * The v3.16 era.
 *
 * @example
 * ```ts
 * import { LINUX_3_16 } from "./linux_3_16.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LINUX_3_16.structure, "T16");
 * ```
 */
export const LINUX_3_16: KernelEra = {
  name: "3.16",
  structure: "T16",
  pageIomap: true,
  pagesLimit: () => MAX_DOMAIN_PAGES,
  brkReserved: BRK_RESERVED.T16,
  bootPass: "release-populate",
  identityMessages: true,
  extraMemInvalidates: true,
  runBootPass: releaseAndPopulate,
  finishBoot: identityAboveMap,
  balloonOutEntry: (pfn) => ({ kind: K.INVALID, base: 0, startPfn: pfn }),
  hotplug: () => {},
};
