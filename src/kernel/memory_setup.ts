/**
 * `xen_memory_setup`: the boot pass over the raw E820 map (p2m-semantics.md section 4). Two
 * variants: release-and-populate (v3.12-3.16: RAM behind a hole is given back to Xen and
 * populated back above nr_pages) and remap (v3.17+: that RAM is moved above nr_pages). Both
 * make gaps and non-RAM 1:1, turn RAM beyond the populated end into extra memory (balloon space)
 * and, per policy, make everything above the map 1:1. Messages are the kernel's printk text.
 *
 * @module
 */

import { E820_TYPE, type PfnRange } from "../trace/event.ts";
import {
  EXTRA_MEM_RATIO,
  MAX_DOMAIN_PAGES,
  MAX_P2M_PFN,
  P2M_LIMIT_GIB,
  PAGE_SIZE,
  PFNS_PER_MID,
} from "../p2m/constants.ts";
import { K } from "../p2m/leaf_runs.ts";
import type { BootReport, E820Entry, ModelDraft } from "../replay/state.ts";

/** PFN_DOWN. */
export const pfnDown = (addr: number): number => Math.floor(addr / PAGE_SIZE);
/** PFN_UP. */
export const pfnUp = (addr: number): number => Math.ceil(addr / PAGE_SIZE);

/** PFN_DOWN(MAXMEM) on x86_64 of that era (MAX_PHYSMEM_BITS 46). */
const MAXMEM_PFN = 2 ** 34;
/** REMAP_SIZE of v3.17+: entries of one remap buffer page. */
const REMAP_SIZE = 512 - 3;

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
 * import { initialState, ModelDraft } from "../replay/state.ts";
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
  const policy = d.policy;
  const dom0 = d.guest.domain === "dom0";
  let maxPfn = Math.min(MAX_DOMAIN_PAGES, nr);
  let memEnd = maxPfn * PAGE_SIZE;
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
    map = [{ start: 0, size: memEnd + 8 * 2 ** 20, type: E820_TYPE.ram, line: 0 }];
    messages.push("(no E820 map in the trace: using one RAM entry [0, mem_end + 8 MiB))");
  }
  if (dom0) { for (const e of map) if (e.type === E820_TYPE.unusable) e.type = E820_TYPE.ram; }

  const maxPages = Math.min(
    dom0 && input.maxReservation !== undefined ? input.maxReservation : MAX_DOMAIN_PAGES,
    MAX_DOMAIN_PAGES,
  );
  let extraPages = maxPages > maxPfn ? maxPages - maxPfn : 0;

  const setIdentity = (s: number, e: number): number => {
    const n = d.p2m.setIdentityRange(s, e);
    const prev = report.identityRanges[report.identityRanges.length - 1];
    if (n > 0 && policy.bootPass === "remap" && prev?.endPfn === s) {
      prev.endPfn = s + n; // one chunk, done in REMAP_SIZE pieces
    } else if (n > 0) {
      report.identityRanges.push({ pfn: s, endPfn: s + n });
      if (policy.era !== "L19") {
        messages.push(`1-1 mapping on ${s.toString(16)}->${(s + n).toString(16)}`);
      }
    }
    if (n < e - s && n > 0) {
      messages.push(`Identity mapping failed. We are ${e - s - n} short of 1-1 mappings!`);
    }
    return n;
  };

  const remapTargets: PfnRange[] = [];
  if (policy.bootPass === "release-populate") {
    forEachChunk(map, (s, e) => {
      if (s < nr) {
        const end = Math.min(e, nr);
        const freed = release(d, s, end);
        if (freed > 0) {
          report.releasedRanges.push({ pfn: s, endPfn: end, pages: freed });
          messages.push(
            `Freeing ${s.toString(16)}-${end.toString(16)} pfn range: ${freed} pages freed`,
          );
        }
        report.released += freed;
      }
      report.identity += setIdentity(s, e);
    });
    if (report.released > 0) messages.push(`Released ${report.released} pages of unused memory`);
    if (report.identity > 0) messages.push(`Set ${report.identity} page(s) to 1-1 mapping`);
    const [populated, lastPfn] = populate(d, map, maxPfn, report);
    report.populated = populated;
    extraPages += report.released - populated;
    if (lastPfn > maxPfn) {
      maxPfn = Math.min(MAX_DOMAIN_PAGES, lastPfn);
      memEnd = maxPfn * PAGE_SIZE;
    }
    const extraLimit = Math.min(
      EXTRA_MEM_RATIO * Math.min(maxPfn, MAXMEM_PFN),
      maxPfn + extraPages,
    );
    extraPages = extraLimit >= maxPfn ? extraLimit - maxPfn : 0;
  } else {
    let remapPfn = nr;
    forEachChunk(map, (s, e) => {
      remapPfn = remapChunk(d, map, s, e, nr, remapPfn, report, remapTargets, setIdentity);
    });
    messages.push(`Set ${report.identity} page(s) to 1-1 mapping`);
    messages.push(`Released ${report.released} page(s)`);
    extraPages += report.released;
    extraPages = Math.min(EXTRA_MEM_RATIO * Math.min(maxPfn, MAXMEM_PFN), extraPages);
  }

  // Rewrite loop: RAM below mem_end stays, RAM beyond becomes extra memory while extra_pages
  // lasts, the rest unusable.
  let maxP2mPfn = 0;
  for (const entry of map) {
    if (entry.type !== E820_TYPE.ram) continue;
    let addr = entry.start;
    let size = entry.size;
    while (size > 0) {
      let chunk = size;
      if (addr < memEnd) {
        chunk = Math.min(size, memEnd - addr);
      } else if (extraPages > 0) {
        chunk = Math.min(size, extraPages * PAGE_SIZE);
        extraPages -= Math.floor(chunk / PAGE_SIZE);
        addExtraMem(d, addr, chunk, report);
        maxP2mPfn = pfnDown(addr + chunk);
      }
      addr += chunk;
      size -= chunk;
    }
  }

  const last = map[map.length - 1];
  const lastEndPfn = last ? pfnDown(last.start + last.size) : 0;
  if (policy.aboveMapIdentity && policy.era === "T16") {
    const n = d.p2m.setIdentityRange(lastEndPfn, Number.MAX_SAFE_INTEGER);
    report.aboveMap = { pfn: lastEndPfn, endPfn: MAX_P2M_PFN, count: n };
    if (n > 0) {
      messages.push(`1-1 mapping on ${lastEndPfn.toString(16)}->${(lastEndPfn + n).toString(16)}`);
    }
  }
  if (policy.beyondE820) beyondE820(d, lastEndPfn, report);

  if (policy.era === "L19") {
    // xen_vmalloc_p2m_tree: the list covers xen_max_p2m_pfn and the hotplug space.
    const size = Math.max(maxP2mPfn, nr, P2M_LIMIT_GIB * PFNS_PER_MID);
    const extraFlat: number[] = [];
    for (const r of report.extra) extraFlat.push(r.pfn, r.endPfn);
    d.p2m.growList(size, extraFlat);
    messages.push(
      `p2m virtual area: ${(size * 8).toString(16)} bytes for ${size.toString(16)} PFNs`,
    );
    // xen_inv_extra_mem, then xen_remap_memory.
    for (const r of report.extra) {
      d.p2m.write(
        r.pfn,
        r.endPfn,
        { kind: K.INVALID, base: 0, startPfn: r.pfn },
        "set_phys_to_machine",
      );
    }
    for (const t of remapTargets) {
      d.p2m.write(
        t.pfn,
        t.endPfn,
        { kind: K.MFN_UNKNOWN, base: 0, startPfn: t.pfn },
        "set_phys_to_machine",
      );
      d.extraDelete(t.pfn, t.endPfn);
    }
    messages.push(`Remapped ${report.remapped} page(s)`);
    report.extra = rangesOf(d.extra);
  }

  report.maxPfn = maxPfn;
  d.setMaxPfn(maxPfn);
  d.setBoot(report);
  return report;
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
function release(d: ModelDraft, s: number, e: number): number {
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

/** `xen_add_extra_mem`: record the region; tree eras also set its entries INVALID. */
function addExtraMem(d: ModelDraft, addr: number, size: number, report: BootReport): void {
  const s = pfnDown(addr);
  const e = pfnDown(addr + size);
  if (s >= e) return;
  d.extraAdd(s, e);
  report.extra = rangesOf(d.extra);
  if (d.policy.era === "L19") return;
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
function rangesOf(set: { toArray(): number[] }): PfnRange[] {
  const flat = set.toArray();
  const out: PfnRange[] = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ pfn: flat[i], endPfn: flat[i + 1] });
  return out;
}
