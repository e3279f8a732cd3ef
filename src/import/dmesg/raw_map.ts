/**
 * The raw E820 map (`map: "raw"`, the map `xen_memory_setup` reads) from what a log printed.
 *
 * For dom0 the best source is the hypervisor's `(XEN) Xen-e820 RAM map:` table: that is the
 * machine map XENMEM_machine_memory_map returns. Without it, the kernel's printed map is all
 * there is, and it is the *rewritten* map: RAM clipped to nr_pages, extra (balloon) memory
 * appended as RAM, RAM beyond that marked unusable, RAM trimmed inward to page boundaries and
 * the ISA range [0xa0000, 0x100000) added as reserved. The reconstruction undoes what matters
 * to the boot pass:
 *
 * - dom0: `unusable` becomes RAM. Dom0's pass converts UNUSABLE to RAM before walking the map,
 *   and RAM beyond the extra memory was RAM in the machine map, so both readings agree; touching
 *   entries of one type are merged back into one, as the machine map had them.
 * - domU: the ISA hole between RAM ending at 0xa0000 and RAM starting at 0x100000 is merged
 *   back into one RAM entry: a toolstack-built PV map has no such hole (the kernel adds it),
 *   which is why such guests print "Set 0 page(s) to 1-1 mapping" and remap no ISA pages.
 * - Trimmed partial pages are left alone: the pass rounds chunk edges outward, so the printed
 *   edges give the same identity ranges.
 *
 * When the log printed "Set N page(s) to 1-1 mapping", the identity count of the pass over
 * each reading is compared with N and the reading that matches is used.
 *
 * A printed map cut off in the log (a partial paste) is completed elsewhere, from what the log
 * itself proves about the RAM above its last entry (`reconstruct.ts`).
 *
 * @module
 */

import { E820_TYPE } from "../../trace/event.ts";
import { MAX_E820_ENTRIES } from "../../trace/checks.ts";

/** One E820 entry (bytes), with the time of the line it came from. */
export interface MapEntry {
  /** First byte. */
  start: number;
  /** Length in bytes. */
  size: number;
  /** Numeric E820 type. */
  type: number;
  /** dmesg time of the line that printed it. */
  time?: number;
}

const PAGE = 4096;
const ISA_START = 0xa0000;
const ISA_END = 0x100000;

/**
 * Pages the v3.4+ identity pass (`xen_set_identity_and_release` / `_remap`) maps 1:1 over
 * `map`: for every RAM entry (and the last entry whatever its type) the chunk from the end of
 * the previous RAM entry to this entry's start (or the last entry's end), rounded outward.
 * Dom0 treats UNUSABLE as RAM.
 *
 * @example
 * ```ts
 * import { identityPagesOfPass } from "./raw_map.ts";
 * import assert from "node:assert/strict";
 * assert.equal(identityPagesOfPass([
 *   { start: 0, size: 0x9ec00, type: 1 },
 *   { start: 0x9ec00, size: 0x1400, type: 2 },
 *   { start: 0x100000, size: 0x100000, type: 1 },
 * ], true), 0x100 - 0x9e);
 * ```
 */
export function identityPagesOfPass(map: readonly MapEntry[], dom0: boolean): number {
  const sorted = [...map].sort((a, b) => a.start - b.start);
  let start = 0;
  let identity = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    const ram = e.type === E820_TYPE.ram || (dom0 && e.type === E820_TYPE.unusable);
    const end = e.start + e.size;
    if (ram || i === sorted.length - 1) {
      const startPfn = Math.floor(start / PAGE);
      const endPfn = Math.ceil((ram ? e.start : end) / PAGE);
      if (startPfn < endPfn) identity += endPfn - startPfn;
      start = end;
    }
  }
  return identity;
}

/**
 * Sorts a map and drops empty entries and entries overlapping an earlier one (raw entries
 * must not overlap). Returns the entries kept and how many were dropped.
 *
 * @example
 * ```ts
 * import { sanitizeRawMap } from "./raw_map.ts";
 * import assert from "node:assert/strict";
 * const r = sanitizeRawMap([
 *   { start: 0x100000, size: 0x1000, type: 1 },
 *   { start: 0, size: 0xa0000, type: 1 },
 *   { start: 0x9f000, size: 0x2000, type: 2 },
 * ]);
 * assert.deepEqual(r.entries.map((e) => e.start), [0, 0x100000]);
 * assert.equal(r.dropped, 1);
 * ```
 */
export function sanitizeRawMap(map: readonly MapEntry[]): { entries: MapEntry[]; dropped: number } {
  const sorted = [...map].filter((e) => e.size > 0).sort((a, b) => a.start - b.start);
  const entries: MapEntry[] = [];
  let dropped = map.length - sorted.length;
  let end = 0;
  for (const e of sorted) {
    if (entries.length > 0 && e.start < end) {
      dropped++;
      continue;
    }
    if (entries.length >= MAX_E820_ENTRIES) {
      dropped++;
      continue;
    }
    entries.push(e);
    end = e.start + e.size;
  }
  return { entries, dropped };
}

/** A raw map rebuilt from the kernel's printed map, and how. */
export interface Reconstruction {
  /** The entries. */
  entries: MapEntry[];
  /** What was changed, in words. */
  how: string;
}

/**
 * Rebuilds the raw map from the kernel's printed (rewritten) map, as the module doc explains.
 * `expectIdentity` is the printed "Set N page(s) to 1-1 mapping" count, when known.
 *
 * @example
 * ```ts
 * import { reconstructRawMap } from "./raw_map.ts";
 * import assert from "node:assert/strict";
 * const printed = [
 *   { start: 0, size: 0xa0000, type: 1 },
 *   { start: 0xa0000, size: 0x60000, type: 2 },
 *   { start: 0x100000, size: 0x80700000, type: 1 },
 * ];
 * const r = reconstructRawMap(printed, "domU", 0);
 * assert.deepEqual(r.entries, [{ start: 0, size: 0x80800000, type: 1 }]);
 * ```
 */
export function reconstructRawMap(
  printed: readonly MapEntry[],
  domain: "dom0" | "domU",
  expectIdentity?: number,
): Reconstruction {
  const dom0 = domain === "dom0";
  const asPrinted = mergeTouching(
    printed.map((e) =>
      dom0 && e.type === E820_TYPE.unusable ? { ...e, type: E820_TYPE.ram } : { ...e }
    ),
  );
  const converted = dom0 && printed.some((e) => e.type === E820_TYPE.unusable);
  const merged = mergeIsaHole(asPrinted);
  const base = converted ? "the kernel's printed map with unusable entries as RAM" : (
    "the kernel's printed map"
  );
  const withHole = { entries: asPrinted, how: `${base}, ISA hole kept` };
  const withoutHole = merged
    ? { entries: merged, how: `${base}, the kernel-added ISA hole merged back into RAM` }
    : withHole;
  let choice = dom0 ? withHole : withoutHole;
  let other = dom0 ? withoutHole : withHole;
  if (expectIdentity !== undefined && choice !== other) {
    const mine = identityPagesOfPass(choice.entries, dom0);
    const theirs = identityPagesOfPass(other.entries, dom0);
    if (mine !== expectIdentity && theirs === expectIdentity) [choice, other] = [other, choice];
  }
  if (expectIdentity !== undefined) {
    const got = identityPagesOfPass(choice.entries, dom0);
    const check = got === expectIdentity
      ? `its identity pass gives the printed ${expectIdentity} page(s)`
      : `its identity pass gives ${got} page(s), the log printed ${expectIdentity}`;
    return { entries: choice.entries, how: `${choice.how}; ${check}` };
  }
  return choice;
}

/** Touching entries of one type as one entry, as the machine map had them. */
function mergeTouching(map: MapEntry[]): MapEntry[] {
  const out: MapEntry[] = [];
  for (const e of [...map].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && last.type === e.type && last.start + last.size === e.start) last.size += e.size;
    else out.push({ ...e });
  }
  return out;
}

/** RAM [a, 0xa0000) + reserved [0xa0000, 0x100000) + RAM [0x100000, b) as one RAM entry. */
function mergeIsaHole(map: MapEntry[]): MapEntry[] | undefined {
  const sorted = [...map].sort((a, b) => a.start - b.start);
  for (let i = 1; i + 1 < sorted.length; i++) {
    const [before, hole, after] = [sorted[i - 1], sorted[i], sorted[i + 1]];
    if (
      hole.start === ISA_START && hole.start + hole.size === ISA_END &&
      hole.type === E820_TYPE.reserved && before.type === E820_TYPE.ram &&
      before.start + before.size === ISA_START && after.type === E820_TYPE.ram &&
      after.start === ISA_END
    ) {
      const joined: MapEntry = {
        start: before.start,
        size: after.start + after.size - before.start,
        type: E820_TYPE.ram,
      };
      if (before.time !== undefined) joined.time = before.time;
      return [...sorted.slice(0, i - 1), joined, ...sorted.slice(i + 2)];
    }
  }
  return undefined;
}

/** A byte range `[start, end)`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The machine map dom0 read, from the hypervisor's printed table and the kernel's printed map.
 *
 * Xen prints its table (`Xen-e820`, `EFI RAM map`) while it boots, and may reserve RAM of it for
 * itself afterwards (e.g. low memory for its trampoline on an EFI boot): XENMEM_machine_memory_map
 * then gives dom0 that range as reserved, and only the kernel's printed map shows it. The kernel
 * itself marks reserved only the ISA range [0xa0000, 0x100000) (`xen_memory_setup`); the RAM it
 * cannot use it prints as `unusable`. So every whole page that the table has as RAM and the
 * kernel's map has in a reserved (or ACPI, NVS...) entry outside the ISA range was withheld by
 * Xen, and is not RAM in the map dom0's pass walked: it becomes a reserved entry here.
 *
 * @example
 * ```ts
 * import { withheldFromDom0 } from "./raw_map.ts";
 * import assert from "node:assert/strict";
 * const r = withheldFromDom0(
 *   [{ start: 0, size: 0xa0000, type: 1 }, { start: 0x100000, size: 0x100000, type: 1 }],
 *   [
 *     { start: 0, size: 0x80000, type: 1 },
 *     { start: 0x80000, size: 0x80000, type: 2 },
 *     { start: 0x100000, size: 0x100000, type: 1 },
 *   ],
 * );
 * assert.deepEqual(r.withheld, [{ start: 0x80000, end: 0xa0000 }]);
 * assert.deepEqual(r.entries.map((e) => [e.start, e.size, e.type]),
 *   [[0, 0x80000, 1], [0x80000, 0x20000, 2], [0x100000, 0x100000, 1]]);
 * ```
 */
export function withheldFromDom0(
  table: readonly MapEntry[],
  printed: readonly MapEntry[],
): { entries: MapEntry[]; withheld: ByteRange[] } {
  const reserved: ByteRange[] = [];
  for (const p of printed) {
    if (p.type === E820_TYPE.ram || p.type === E820_TYPE.unusable) continue;
    const start = Math.ceil(p.start / PAGE) * PAGE;
    const end = Math.floor((p.start + p.size) / PAGE) * PAGE;
    // The ISA range is the kernel's own reservation.
    for (
      const r of [{ start, end: Math.min(end, ISA_START) }, {
        start: Math.max(start, ISA_END),
        end,
      }]
    ) {
      if (r.start < r.end) reserved.push(r);
    }
  }
  const withheld: ByteRange[] = [];
  const entries: MapEntry[] = [];
  for (const t of [...table].sort((a, b) => a.start - b.start)) {
    if (t.type !== E820_TYPE.ram) {
      entries.push(t);
      continue;
    }
    const ramStart = Math.ceil(t.start / PAGE) * PAGE;
    const ramEnd = Math.floor((t.start + t.size) / PAGE) * PAGE;
    const cuts = reserved
      .map((r) => ({ start: Math.max(r.start, ramStart), end: Math.min(r.end, ramEnd) }))
      .filter((r) => r.start < r.end)
      .sort((a, b) => a.start - b.start);
    let at = t.start;
    for (const cut of cuts) {
      if (cut.start < at) continue;
      if (cut.start > at) entries.push({ ...t, start: at, size: cut.start - at });
      entries.push({ ...t, start: cut.start, size: cut.end - cut.start, type: E820_TYPE.reserved });
      withheld.push(cut);
      at = cut.end;
    }
    if (at < t.start + t.size) entries.push({ ...t, start: at, size: t.start + t.size - at });
  }
  return { entries, withheld };
}
