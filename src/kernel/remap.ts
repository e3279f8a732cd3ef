/**
 * The remap boot pass of v3.17+ (`xen_set_identity_and_remap`, arch/x86/xen/setup.c): gaps and
 * non-RAM become 1:1 and the RAM frames behind them below nr_pages are moved (remapped) to PFNs
 * above nr_pages instead of being given back. The eras differ in how the identity calls are cut
 * (P2M_PER_PAGE-aligned blocks in v3.17-3.18, REMAP_SIZE pieces from v3.19), in when the frames
 * move (during the pass on the tree, later in `xen_remap_memory` on the list) and in one bound
 * of `xen_find_pfn_range`; each era passes its {@link RemapRules}.
 *
 * @module
 */

import { E820_TYPE, type PfnRange } from "../trace/event.ts";
import { P2M_PER_PAGE } from "../p2m/constants.ts";
import type { E820Entry, ModelDraft } from "../model/state.ts";
import type { BootWork } from "../model/policy.ts";
import { forEachChunk, pfnDown, pfnUp, release } from "./memory_setup.ts";

/** REMAP_SIZE of v3.19+: MFNs one remap buffer page holds besides its three header words. */
export const REMAP_SIZE = P2M_PER_PAGE - 3;

/** How one era runs the pass. */
export interface RemapRules {
  /**
   * The `set_phys_range_identity` calls that cover `[start, start + size)` remapped to
   * `remapPfn`, in the kernel's order.
   */
  identityPieces(start: number, size: number, remapPfn: number): PfnRange[];
  /**
   * `xen_find_pfn_range` skips a RAM entry that ends exactly at the cursor (`e_pfn <= min_pfn`,
   * v4.3+); before, such an entry answered an empty range and the chunk was released instead.
   */
  skipEntryEndingAtCursor: boolean;
}

/**
 * v3.19+: `xen_do_set_identity_and_remap_chunk` sets identity REMAP_SIZE PFNs at a time.
 *
 * @example
 * ```ts
 * import { remapSizePieces } from "./remap.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(remapSizePieces(0x100, 600, 0), [
 *   { pfn: 0x100, endPfn: 0x100 + 509 },
 *   { pfn: 0x100 + 509, endPfn: 0x100 + 600 },
 * ]);
 * ```
 */
export function remapSizePieces(start: number, size: number, _remapPfn: number): PfnRange[] {
  const out: PfnRange[] = [];
  for (let c = 0; c < size; c += REMAP_SIZE) {
    out.push({ pfn: start + c, endPfn: start + Math.min(size, c + REMAP_SIZE) });
  }
  return out;
}

/**
 * v3.17-3.18: `xen_do_set_identity_and_remap_chunk` walks P2M_PER_PAGE-aligned blocks of both
 * the identity range and the remap target together, one identity call per block; the unaligned
 * ends get one call each afterwards (head first), or the whole range one call when no block fits.
 *
 * @example
 * ```ts
 * import { leafBlockPieces } from "./remap.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(leafBlockPieces(0x1f0, 0x420, 0x1000), [
 *   { pfn: 0x200, endPfn: 0x400 },
 *   { pfn: 0x400, endPfn: 0x600 },
 *   { pfn: 0x1f0, endPfn: 0x200 },
 *   { pfn: 0x600, endPfn: 0x610 },
 * ]);
 * ```
 */
export function leafBlockPieces(start: number, size: number, remapPfn: number): PfnRange[] {
  const up = (p: number) => Math.ceil(p / P2M_PER_PAGE) * P2M_PER_PAGE;
  const down = (p: number) => Math.floor(p / P2M_PER_PAGE) * P2M_PER_PAGE;
  const identStart = up(start), identEnd = down(start + size);
  const remapStart = up(remapPfn), remapEnd = down(remapPfn + size);
  const out: PfnRange[] = [];
  let ident = identStart;
  for (let remap = remapStart; ident < identEnd && remap < remapEnd; remap += P2M_PER_PAGE) {
    out.push({ pfn: ident, endPfn: ident + P2M_PER_PAGE });
    ident += P2M_PER_PAGE;
  }
  if (identStart >= identEnd) return [{ pfn: start, endPfn: start + size }];
  if (start < identStart) out.push({ pfn: start, endPfn: identStart });
  if (start + size > ident) out.push({ pfn: ident, endPfn: start + size });
  return out;
}

/**
 * Runs the pass on `d`: identity over every chunk of gaps and non-RAM, RAM below nr_pages
 * behind it remapped from nr_pages up (recorded in `b.remapTargets`; the era moves the frames),
 * released where no RAM is left to remap to. Counts go to `b.report`; returns `last_pfn`, the
 * remap cursor after the pass.
 *
 * @example
 * ```ts
 * import { identityAndRemap } from "./remap.ts";
 * import assert from "node:assert/strict";
 * assert.equal(typeof identityAndRemap, "function");
 * ```
 */
export function identityAndRemap(d: ModelDraft, b: BootWork, rules: RemapRules): number {
  let remapPfn = b.nr;
  forEachChunk(b.map, (s, e) => {
    remapPfn = remapChunk(d, b, rules, s, e, remapPfn);
  });
  return remapPfn;
}

/** `xen_find_pfn_range`: the next RAM PFNs at or after `min`; returns [start, count]. */
function findPfnRange(
  map: readonly E820Entry[],
  min: number,
  skipEnding: boolean,
): [number, number] {
  for (const entry of map) {
    if (entry.type !== E820_TYPE.ram) continue;
    const ePfn = pfnDown(entry.start + entry.size);
    if (ePfn < min || (skipEnding && ePfn === min)) continue;
    const sPfn = pfnUp(entry.start);
    return sPfn <= min ? [min, ePfn - min] : [sPfn, ePfn - sPfn];
  }
  return [min, 0];
}

/** `xen_set_identity_and_remap_chunk`. Returns the next remap PFN. */
function remapChunk(
  d: ModelDraft,
  b: BootWork,
  rules: RemapRules,
  s: number,
  e: number,
  remapPfn: number,
): number {
  const { nr, report } = b;
  let i = 0;
  const n = e - s;
  while (i < n) {
    const cur = s + i;
    const left = n - i;
    let size = left;
    if (cur >= nr) {
      report.identity += b.setIdentity(cur, cur + size);
      break;
    }
    if (cur + size > nr) size = nr - cur;
    const [at, room] = findPfnRange(b.map, remapPfn, rules.skipEntryEndingAtCursor);
    if (room === 0) {
      report.messages.push("Unable to find available pfn range, not remapping identity pages");
      const end = Math.min(cur + left, nr);
      report.released += release(d, cur, end);
      report.identity += b.setIdentity(cur, cur + left);
      break;
    }
    remapPfn = at;
    if (size > room) size = room;
    for (const p of rules.identityPieces(cur, size, remapPfn)) b.setIdentity(p.pfn, p.endPfn);
    b.remapTargets.push({ pfn: remapPfn, endPfn: remapPfn + size });
    report.remapped += size;
    i += size;
    remapPfn += size;
    report.identity += size;
  }
  return remapPfn;
}
