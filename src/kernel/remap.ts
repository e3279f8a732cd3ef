/**
 * The boot pass of v3.17+ (`xen_set_identity_and_remap`, arch/x86/xen/setup.c): gaps and
 * non-RAM become 1:1 and the RAM frames behind them below nr_pages are moved (remapped) to PFNs
 * above nr_pages, in REMAP_SIZE pieces, instead of being given back.
 *
 * @module
 */

import { E820_TYPE, type PfnRange } from "../trace/event.ts";
import type { BootReport, E820Entry, ModelDraft } from "../model/state.ts";
import type { BootWork } from "../model/policy.ts";
import { extraMemLimit, forEachChunk, pfnDown, pfnUp, release } from "./memory_setup.ts";

/** REMAP_SIZE of v3.17+: entries of one remap buffer page. */
const REMAP_SIZE = 512 - 3;

/**
 * Runs the pass on `d`; records where RAM went in `b.remapTargets` and sizes extra memory
 * (`extra_pages += released`, clamped to {@link extraMemLimit}).
 *
 * @example
 * ```ts
 * import { identityAndRemap } from "./remap.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof identityAndRemap, "function");
 * ```
 */
export function identityAndRemap(d: ModelDraft, b: BootWork): void {
  const { map, nr, report } = b;
  let remapPfn = nr;
  forEachChunk(map, (s, e) => {
    remapPfn = remapChunk(d, map, s, e, nr, remapPfn, report, b.remapTargets, b.setIdentity);
  });
  report.messages.push(`Set ${report.identity} page(s) to 1-1 mapping`);
  report.messages.push(`Released ${report.released} page(s)`);
  b.extraPages += report.released;
  b.extraPages = Math.min(extraMemLimit(b.maxPfn), b.extraPages);
}

/** `xen_find_pfn_range`: the next RAM PFNs at or after `min`; returns [start, count]. */
function findPfnRange(map: readonly E820Entry[], min: number): [number, number] {
  for (const entry of map) {
    if (entry.type !== E820_TYPE.ram) continue;
    const ePfn = pfnDown(entry.start + entry.size);
    if (ePfn < min) continue;
    const sPfn = pfnUp(entry.start);
    return sPfn <= min ? [min, ePfn - min] : [sPfn, ePfn - sPfn];
  }
  return [min, 0];
}

/** `xen_set_identity_and_remap_chunk` (v3.17+). Returns the next remap PFN. */
function remapChunk(
  d: ModelDraft,
  map: readonly E820Entry[],
  s: number,
  e: number,
  nr: number,
  remapPfn: number,
  report: BootReport,
  targets: PfnRange[],
  setIdentity: (s: number, e: number) => number,
): number {
  let i = 0;
  const n = e - s;
  while (i < n) {
    const cur = s + i;
    const left = n - i;
    let size = left;
    if (cur >= nr) {
      report.identity += setIdentity(cur, cur + size);
      break;
    }
    if (cur + size > nr) size = nr - cur;
    const [at, room] = findPfnRange(map, remapPfn);
    if (room === 0) {
      report.messages.push("Unable to find available pfn range, not remapping identity pages");
      const end = Math.min(cur + left, nr);
      report.released += release(d, cur, end);
      report.identity += setIdentity(cur, cur + left);
      break;
    }
    remapPfn = at;
    if (size > room) size = room;
    for (let c = 0; c < size; c += REMAP_SIZE) {
      setIdentity(cur + c, cur + Math.min(size, c + REMAP_SIZE));
    }
    targets.push({ pfn: remapPfn, endPfn: remapPfn + size });
    report.remapped += size;
    i += size;
    remapPfn += size;
    report.identity += size;
  }
  return remapPfn;
}
