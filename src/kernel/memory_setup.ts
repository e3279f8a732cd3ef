/**
 * `xen_memory_setup`: the boot pass over the raw E820 map (p2m-semantics.md section 4). The
 * skeleton shared by every era lives here: the map, the E820 rewrite that turns RAM beyond the
 * populated end into extra memory (balloon space), and the helpers of the passes. The kernel
 * era supplies the pass proper (release_populate.ts, remap.ts) and its last boot-time writes
 * (identity above the map, the v3.19 list). Messages are the kernel's printk text.
 *
 * @module
 */

import { E820_TYPE, type PfnRange } from "../trace/event.ts";
import { EXTRA_MEM_RATIO, MAX_P2M_PFN, PAGE_SIZE } from "../p2m/constants.ts";
import { K } from "../p2m/leaf_runs.ts";
import type { BootReport, E820Entry, ModelDraft } from "../model/state.ts";
import type { BootWork } from "../model/policy.ts";

/** PFN_DOWN. */
export const pfnDown = (addr: number): number => Math.floor(addr / PAGE_SIZE);
/** PFN_UP. */
export const pfnUp = (addr: number): number => Math.ceil(addr / PAGE_SIZE);

/** PFN_DOWN(MAXMEM) on x86_64 with 4-level paging (MAX_PHYSMEM_BITS 46). */
export const MAXMEM_PFN = 2 ** 34;

/** Inputs of the pass that are not in the state. */
export interface MemorySetupInput {
  /** XENMEM_maximum_reservation (dom0), when recorded. */
  maxReservation?: number;
}

/** Why the pass could not run. */
export class MemorySetupError extends Error {
  /** Builds the error. */
  constructor(message: string) {
    super(message);
    this.name = "MemorySetupError";
  }
}

/**
 * Runs the boot pass on `d` under its policy and returns what the kernel would have printed
 * and counted. Requires the header's `nr_pages` for a PV guest.
 *
 * @example
 * ```ts
 * import { memorySetup } from "./memory_setup.ts";
 * import { initialState, ModelDraft } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s = initialState(
 *   { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x80000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const d = new ModelDraft(s);
 * d.addE820({ start: 0, size: 0xa0000, type: 1, line: 2 });
 * d.addE820({ start: 0xa0000, size: 0x60000, type: 2, line: 3 });
 * d.addE820({ start: 0x100000, size: 0x80000000 - 0x100000, type: 1, line: 4 });
 * const r = memorySetup(d, {});
 * assert.equal(r.identity, 0x60);           // the ISA hole, pfn 0xa0-0xff
 * assert.equal(r.released, 0x60);
 * ```
 */
export function memorySetup(d: ModelDraft, input: MemorySetupInput): BootReport {
  const nr = d.guest.nrPages;
  if (nr === undefined) {
    throw new MemorySetupError(
      "memory_setup needs the header's guest.nr_pages (start_info->nr_pages) for a PV guest",
    );
  }
  const era = d.policy.kernel;
  const dom0 = d.guest.domain === "dom0";
  const limit = era.pagesLimit(dom0);
  const maxPfn = Math.min(limit, nr);
  const messages: string[] = [];
  const report: BootReport = {
    identity: 0,
    released: 0,
    populated: 0,
    remapped: 0,
    identityRanges: [],
    releasedRanges: [],
    populatedRanges: [],
    extra: [],
    maxPfn,
    messages,
  };

  // The map: dom0 treats UNUSABLE as RAM (Xen refuses 1:1 mappings of it); domU without a map
  // gets one RAM entry with 8 MiB of slack.
  let map: E820Entry[] = d.e820.map((e) => ({ ...e }));
  if (map.length === 0 && !dom0) {
    map = [{ start: 0, size: maxPfn * PAGE_SIZE + 8 * 2 ** 20, type: E820_TYPE.ram, line: 0 }];
    messages.push("(no E820 map in the trace: using one RAM entry [0, mem_end + 8 MiB))");
  }
  if (dom0) { for (const e of map) if (e.type === E820_TYPE.unusable) e.type = E820_TYPE.ram; }

  // xen_get_max_pages: dom0's maximum reservation, else the era's limit.
  const maxPages = Math.min(
    dom0 && input.maxReservation !== undefined ? input.maxReservation : limit,
    limit,
  );
  const last = map[map.length - 1];
  const cappedPages = Math.min(nr, limit);
  const b: BootWork = {
    map,
    nr,
    maxPfn,
    maxPages,
    extraPages: maxPages > maxPfn ? maxPages - maxPfn : 0,
    maxP2mPfn: 0,
    ...(dom0 && input.maxReservation === undefined && maxPages > cappedPages
      ? {
        capped: {
          maxPages: cappedPages,
          extraPages: cappedPages > maxPfn ? cappedPages - maxPfn : 0,
          maxP2mPfn: 0,
        },
      }
      : {}),
    lastEndPfn: last ? pfnDown(last.start + last.size) : 0,
    remapTargets: [],
    report,
    setIdentity: (s, e) => {
      const n = d.p2m.setIdentityRange(s, e);
      const prev = report.identityRanges[report.identityRanges.length - 1];
      if (n > 0 && era.identityMessages) {
        // one KERN_DEBUG line, one recorded range, per call
        report.identityRanges.push({ pfn: s, endPfn: s + n });
        messages.push(`1-1 mapping on ${s.toString(16)}->${(s + n).toString(16)}`);
      } else if (n > 0 && prev?.endPfn === s) {
        prev.endPfn = s + n; // one chunk, done in pieces
      } else if (n > 0) {
        report.identityRanges.push({ pfn: s, endPfn: s + n });
      }
      // A v3.16+ call can also overshoot (its skip-ahead runs past pfn_e): the kernel prints a
      // negative shortfall then.
      if (n !== e - s && n > 0) {
        messages.push(`Identity mapping failed. We are ${e - s - n} short of 1-1 mappings!`);
      }
      return n;
    },
  };

  era.runBootPass(d, b);
  extraMemoryFromE820(d, b);
  if (d.policy.beyondE820) beyondE820(d, b.lastEndPfn, report);
  era.finishBoot(d, b);

  report.maxPfn = b.maxPfn;
  d.setMaxPfn(b.maxPfn);
  d.setBoot(report);
  return report;
}

/**
 * The E820 rewrite loop of `xen_memory_setup`: RAM below mem_end stays, RAM beyond becomes
 * extra memory while extra_pages lasts, the rest unusable.
 */
function extraMemoryFromE820(d: ModelDraft, b: BootWork): void {
  for (const c of extraChunks(b.map, b.maxPfn, b.extraPages)) {
    addExtraMem(d, c.start, c.size, b.report);
    b.maxP2mPfn = pfnDown(c.start + c.size);
    b.extraPages -= Math.floor(c.size / PAGE_SIZE);
  }
  if (b.capped) {
    const chunks = extraChunks(b.map, b.maxPfn, b.capped.extraPages);
    const c = chunks[chunks.length - 1];
    b.capped.maxP2mPfn = c ? pfnDown(c.start + c.size) : 0;
  }
}

/** The chunks of RAM beyond max_pfn the rewrite loop turns into extra memory, `pages` at most. */
function extraChunks(
  map: readonly E820Entry[],
  maxPfn: number,
  pages: number,
): { start: number; size: number }[] {
  const memEnd = maxPfn * PAGE_SIZE;
  const out: { start: number; size: number }[] = [];
  for (const entry of map) {
    if (entry.type !== E820_TYPE.ram) continue;
    let addr = entry.start;
    let size = entry.size;
    while (size > 0) {
      let chunk = size;
      if (addr < memEnd) {
        chunk = Math.min(size, memEnd - addr);
      } else if (pages > 0) {
        chunk = Math.min(size, pages * PAGE_SIZE);
        pages -= Math.floor(chunk / PAGE_SIZE);
        out.push({ start: addr, size: chunk });
      }
      addr += chunk;
      size -= chunk;
    }
  }
  return out;
}

/**
 * `extra_pages += n; extra_pages = min(extra_pages, limit)` as an era's pass does it, applied
 * to the pass's budget and to its {@link BootWork.capped} twin alike.
 *
 * @example
 * ```ts
 * import { growExtraPages } from "./memory_setup.ts";
 * import assert from "node:assert/strict";
 * const b = { extraPages: 10, capped: { maxPages: 0, extraPages: 0, maxP2mPfn: 0 } };
 * growExtraPages(b, 5, 12);
 * assert.deepEqual([b.extraPages, b.capped.extraPages], [12, 5]);
 * ```
 */
export function growExtraPages(
  b: Pick<BootWork, "extraPages" | "capped">,
  n: number,
  limit: number,
): void {
  b.extraPages = Math.min(limit, b.extraPages + n);
  if (b.capped) b.capped.extraPages = Math.min(limit, b.capped.extraPages + n);
}

/** `EXTRA_MEM_RATIO * min(max_pfn, PFN_DOWN(MAXMEM))`: the most extra memory setup.c allows. */
export function extraMemLimit(maxPfn: number): number {
  return EXTRA_MEM_RATIO * Math.min(maxPfn, MAXMEM_PFN);
}

/** Calls `cb(start_pfn, end_pfn)` for each run of gaps and non-RAM, as the kernel forms them. */
export function forEachChunk(map: readonly E820Entry[], cb: (s: number, e: number) => void): void {
  let start = 0;
  for (let i = 0; i < map.length; i++) {
    const entry = map[i];
    const end = entry.start + entry.size;
    if (entry.type === E820_TYPE.ram || i === map.length - 1) {
      const s = pfnDown(start);
      const e = entry.type === E820_TYPE.ram ? pfnUp(entry.start) : pfnUp(end);
      if (s < e) cb(s, e);
      start = end;
    }
  }
}

/** `xen_release_chunk`: give back every PFN of [s, e) holding a real frame; set it INVALID. */
export function release(d: ModelDraft, s: number, e: number): number {
  const real: number[] = [];
  d.p2m.forEachRun(s, e, (p, q, k) => {
    if (k === K.MFN || k === K.MFN_UNKNOWN) real.push(p, q);
  }, true);
  let freed = 0;
  for (let i = 0; i < real.length; i += 2) {
    d.p2m.write(
      real[i],
      real[i + 1],
      { kind: K.INVALID, base: 0, startPfn: real[i] },
      "early_set_phys_to_machine",
    );
    freed += real[i + 1] - real[i];
  }
  return freed;
}

/** `xen_add_extra_mem`: record the region; tree eras also set its entries INVALID. */
function addExtraMem(d: ModelDraft, addr: number, size: number, report: BootReport): void {
  const s = pfnDown(addr);
  const e = pfnDown(addr + size);
  if (s >= e) return;
  d.extraAdd(s, e);
  report.extra = rangesOf(d.extra);
  if (!d.policy.kernel.extraMemInvalidates) return;
  let warned = false;
  const mapped: number[] = [];
  d.p2m.forEachRun(s, e, (p, q, k) => {
    if (k === K.IDENTITY) {
      if (!warned) {
        report.messages.push(`Trying to over-write 1-1 mapping (pfn: ${p.toString(16)})`);
      }
      warned = true;
    } else if (k !== K.INVALID) {
      mapped.push(p, q);
    }
  }, true);
  for (let i = 0; i < mapped.length; i += 2) {
    report.messages.push(`Trying to remove ${mapped[i].toString(16)} which has a valid mfn!`);
    d.p2m.write(
      mapped[i],
      mapped[i + 1],
      { kind: K.INVALID, base: 0, startPfn: mapped[i] },
      "__set_phys_to_machine",
    );
  }
}

/** Policy beyond-e820 (9e): identity above the map minus extra memory and balloon pages. */
function beyondE820(d: ModelDraft, lastEndPfn: number, report: BootReport): void {
  const end = MAX_P2M_PFN - 1; // v3.12 rejects ranges whose end reaches MAX_P2M_PFN
  let count = 0;
  let from = lastEndPfn;
  const holes: PfnRange[] = [];
  d.extra.forEachIn(lastEndPfn, end, (a, b) => holes.push({ pfn: a, endPfn: b }));
  d.balloon.forEachIn(lastEndPfn, end, (a, b) => holes.push({ pfn: a, endPfn: b }));
  holes.sort((x, y) => x.pfn - y.pfn);
  for (const h of [...holes, { pfn: end, endPfn: end }]) {
    if (h.pfn > from) count += d.p2m.setIdentityRange(from, h.pfn);
    from = Math.max(from, h.endPfn);
  }
  report.aboveMap = { pfn: lastEndPfn, endPfn: end, count };
  if (count > 0) report.messages.push(`Set ${count} page(s) above the E820 map to 1-1 mapping`);
}

/** The ranges of a PFN set as a list. */
export function rangesOf(set: { toArray(): number[] }): PfnRange[] {
  const flat = set.toArray();
  const out: PfnRange[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ pfn: flat[i], endPfn: flat[i + 1] });
  return out;
}
