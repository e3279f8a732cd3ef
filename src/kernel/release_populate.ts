/**
 * The boot pass of v3.12-3.16 (`xen_set_identity_and_release` and `xen_populate_chunk`,
 * arch/x86/xen/setup.c): gaps and non-RAM become 1:1, the RAM frames behind them below nr_pages
 * are given back to Xen, and as many pages are populated back into E820 RAM above nr_pages.
 *
 * @module
 */

import { E820_TYPE } from "../trace/event.ts";
import { MAX_DOMAIN_PAGES } from "../p2m/constants.ts";
import { K } from "../p2m/leaf_runs.ts";
import type { BootReport, E820Entry, ModelDraft } from "../model/state.ts";
import type { BootWork } from "../model/policy.ts";
import {
  extraMemLimit,
  forEachChunk,
  growExtraPages,
  pfnDown,
  pfnUp,
  release,
} from "./memory_setup.ts";

/**
 * Runs the pass on `d`: release, populate back, then size extra memory as setup.c does:
 * `extra_pages += released - populated`, max_pfn raised to the last populated PFN, then
 * `extra_pages = min(EXTRA_MEM_RATIO * min(max_pfn, PFN_DOWN(MAXMEM)), extra_pages)`
 * ({@link extraMemLimit}): up to 10x max_pfn of balloon space on top of max_pfn.
 *
 * @example
 * ```ts
 * import { releaseAndPopulate } from "./release_populate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof releaseAndPopulate, "function");
 * ```
 */
export function releaseAndPopulate(d: ModelDraft, b: BootWork): void {
  const { map, nr, report } = b;
  forEachChunk(map, (s, e) => {
    if (s < nr) {
      const end = Math.min(e, nr);
      const freed = release(d, s, end);
      if (freed > 0) {
        report.releasedRanges.push({ pfn: s, endPfn: end, pages: freed });
        report.messages.push(
          `Freeing ${s.toString(16)}-${end.toString(16)} pfn range: ${freed} pages freed`,
        );
      }
      report.released += freed;
    }
    report.identity += b.setIdentity(s, e);
  });
  if (report.released > 0) {
    report.messages.push(`Released ${report.released} pages of unused memory`);
  }
  if (report.identity > 0) report.messages.push(`Set ${report.identity} page(s) to 1-1 mapping`);
  const [populated, lastPfn] = populate(d, map, b.maxPfn, report);
  report.populated = populated;
  if (lastPfn > b.maxPfn) b.maxPfn = Math.min(MAX_DOMAIN_PAGES, lastPfn);
  growExtraPages(b, report.released - populated, extraMemLimit(b.maxPfn));
}

/**
 * `xen_populate_chunk`: populate `credits` pages back into E820 RAM above `maxPfn`, one range
 * per RAM entry, skipping PFNs that already have an entry. Returns [populated, last_pfn].
 */
function populate(
  d: ModelDraft,
  map: readonly E820Entry[],
  maxPfn: number,
  report: BootReport,
): [number, number] {
  let credits = report.released;
  let done = 0;
  let lastPfn = maxPfn;
  for (const entry of map) {
    if (credits <= 0) break;
    if (entry.type !== E820_TYPE.ram) continue;
    const ePfn = pfnDown(entry.start + entry.size);
    if (ePfn <= maxPfn) continue;
    const sPfn = pfnUp(entry.start);
    const dest = sPfn <= maxPfn ? maxPfn : sPfn;
    const capacity = Math.min(ePfn - dest, credits);
    let pages = 0;
    const invalid: number[] = [];
    d.p2m.forEachRun(dest, dest + capacity, (p, q, k) => {
      if (k === K.INVALID) invalid.push(p, q);
    }, true);
    for (let i = 0; i < invalid.length; i += 2) {
      d.p2m.write(invalid[i], invalid[i + 1], {
        kind: K.MFN_UNKNOWN,
        base: 0,
        startPfn: invalid[i],
      }, "early_set_phys_to_machine");
      pages += invalid[i + 1] - invalid[i];
    }
    if (pages > 0) {
      report.populatedRanges.push({ pfn: dest, endPfn: dest + capacity, pages });
      report.messages.push(
        `Populating ${dest.toString(16)}-${
          (dest + capacity).toString(16)
        } pfn range: ${pages} pages added`,
      );
    }
    done += pages;
    lastPfn = dest + pages;
    if (pages < capacity) break;
    credits -= pages;
  }
  return [done, lastPfn];
}
