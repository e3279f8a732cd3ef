/**
 * v3.12-3.15: the 3-level P2M tree without a shared identity middle page, the
 * release-and-populate boot pass, ballooned-out pages pointing at the balloon scratch page, and
 * `_PAGE_IOMAP` (p2m-semantics.md 3.1-3.4, 4.1-4.2).
 *
 * @module
 */

import { BRK_RESERVED, MAX_DOMAIN_PAGES } from "../../p2m/constants.ts";
import { K } from "../../p2m/leaf_runs.ts";
import type { KernelEra } from "../../model/policy.ts";
import { releaseAndPopulate } from "../release_populate.ts";

/**
 * The v3.12 era.
 *
 * @example
 * ```ts
 * import { LINUX_3_12 } from "./linux_3_12.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LINUX_3_12.balloonOutEntry(5, 0x1234).base, 0x1234); // the scratch page
 * ```
 */
export const LINUX_3_12: KernelEra = {
  name: "3.12",
  structure: "T12",
  pageIomap: true,
  pagesLimit: () => MAX_DOMAIN_PAGES,
  brkReserved: BRK_RESERVED.T12,
  bootPass: "release-populate",
  identityMessages: true,
  extraMemInvalidates: true,
  runBootPass: releaseAndPopulate,
  finishBoot: () => {},
  balloonOutEntry: (pfn, scratchMfn) => ({
    kind: K.SCRATCH,
    base: scratchMfn ?? -1,
    startPfn: pfn,
  }),
  hotplug: () => {},
};
