/**
 * Partial logs: a printed E820 map cut off (a paste that stops, a mail that elides entries) is
 * completed with the RAM other lines of the same boot prove, each added entry marked with its
 * source line. Lines that prove RAM in the kernel's own (printed) view of memory:
 *
 * - NUMA node ranges, `node   0: [mem 0x00100000-0xbfc6efff]` (v3.x+) and
 *   `    0: 0x00000100 -> 0x000bfc6f` under `early_node_map[N] active PFN ranges` (v2.6), built
 *   by memblock from the map's RAM entries;
 * - `System RAM [mem 0x90000000-0x97ffffff]` in a resource conflict message (`can't claim BAR 0
 *   [...]: address conflict with System RAM [mem ...]`): the resource tree's RAM comes from the
 *   map (`e820_reserve_resources`).
 *
 * Only RAM is added, and only where no printed entry lies: gaps stay gaps, printed entries win.
 *
 * @module
 */

import { E820_TYPE } from "../../trace/event.ts";
import type { MapEntry } from "./raw_map.ts";

/** A byte range another line proves to be RAM. */
export interface ProvenRam {
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
  /** 1-based line of the log. */
  line: number;
  /** The line's message. */
  text: string;
}

/** One rebuilt map entry, as the header's `reconstructed` lists it. */
export interface ReconstructedEntry {
  /** Always `e820`. */
  what: "e820";
  /** First byte. */
  start: number;
  /** Last byte (inclusive, as the kernel prints `[mem ...]`). */
  end: number;
  /** Always `ram`: only RAM is proven by these lines. */
  type: "ram";
  /** The source line. */
  line: number;
  /** The source line's message. */
  text: string;
}

/** Most proven ranges kept (a NUMA machine prints one per node and memory block). */
export const MAX_PROVEN_RAM = 1024;

const PAGE = 4096;

/**
 * The printed map completed with the proven RAM it lacks: pieces of proven ranges that no
 * printed (or earlier added) entry covers, page-aligned inward, become RAM entries.
 *
 * @example
 * ```ts
 * import { fillCutMap } from "./reconstruct.ts";
 * import assert from "node:assert/strict";
 * const printed = [{ start: 0, size: 0xa0000, type: 1 }, { start: 0x100000, size: 0xff00000, type: 1 }];
 * const r = fillCutMap(printed, [
 *   { start: 0x1000, end: 0xa0000, line: 9, text: "node   0: [mem 0x00001000-0x0009ffff]" },
 *   { start: 0x100000000, end: 0x140000000, line: 11, text: "node   0: [mem 0x100000000-0x13fffffff]" },
 * ]);
 * assert.equal(r.entries.length, 3);
 * assert.deepEqual(r.added, [{ what: "e820", start: 0x100000000, end: 0x13fffffff, type: "ram",
 *   line: 11, text: "node   0: [mem 0x100000000-0x13fffffff]" }]);
 * ```
 */
export function fillCutMap(
  printed: readonly MapEntry[],
  proven: readonly ProvenRam[],
): { entries: MapEntry[]; added: ReconstructedEntry[] } {
  const covered: [number, number][] = printed.map((e) => [e.start, e.start + e.size]);
  const entries: MapEntry[] = printed.map((e) => ({ ...e }));
  const added: ReconstructedEntry[] = [];
  for (const p of [...proven].sort((a, b) => a.start - b.start || a.line - b.line)) {
    for (const [start, end] of uncovered(p.start, p.end, covered)) {
      const s = Math.ceil(start / PAGE) * PAGE;
      const e = Math.floor(end / PAGE) * PAGE;
      if (e <= s) continue;
      entries.push({ start: s, size: e - s, type: E820_TYPE.ram });
      covered.push([s, e]);
      added.push({ what: "e820", start: s, end: e - 1, type: "ram", line: p.line, text: p.text });
    }
  }
  entries.sort((a, b) => a.start - b.start);
  return { entries, added };
}

/** The parts of `[start, end)` that no interval of `covered` overlaps. */
function uncovered(start: number, end: number, covered: [number, number][]): [number, number][] {
  let pieces: [number, number][] = [[start, end]];
  for (const [cs, ce] of covered) {
    const next: [number, number][] = [];
    for (const [s, e] of pieces) {
      if (ce <= s || cs >= e) {
        next.push([s, e]);
        continue;
      }
      if (s < cs) next.push([s, cs]);
      if (ce < e) next.push([ce, e]);
    }
    pieces = next;
    if (pieces.length === 0) break;
  }
  return pieces;
}

/** What a printed `last_pfn` line says about the map the log printed. */
export interface LastPfnBound {
  /** `agrees`: the map's RAM ends where the kernel's does; `map-short`: the kernel had RAM up to
   * `lastPfn` that the map lacks (cut off); `map-beyond`: the map shows RAM past it. */
  verdict: "agrees" | "map-short" | "map-beyond";
  /** The printed last_pfn. */
  lastPfn: number;
  /** The end of RAM the map gives, by the same rule. */
  mapEndPfn: number;
  /** The source line. */
  line: number;
  /** Its message. */
  text: string;
}

/**
 * Checks a printed map against `last_pfn = 0x... max_arch_pfn = 0x...`, which
 * `e820__end_of_ram_pfn` (arch/x86/kernel/e820.c `e820_end_pfn(MAX_ARCH_PFN, E820_TYPE_RAM)`,
 * 2.6.28+) prints from the kernel's own map after `xen_memory_setup` rewrote it: the highest
 * `(addr + size) >> PAGE_SHIFT` of its RAM entries, capped at max_arch_pfn. It proves RAM ends
 * exactly there; it does not say where that RAM starts, so a map that ends short of it is known
 * to be incomplete but is not filled in. Undefined when the line was capped (the cap hides the
 * end) or the map has no RAM.
 *
 * @example
 * ```ts
 * import { boundByLastPfn } from "./reconstruct.ts";
 * import assert from "node:assert/strict";
 * const map = [{ start: 0, size: 0xa0000, type: 1 }, { start: 0x100000, size: 0x3ff00000, type: 1 }];
 * const lp = { pfn: 0x80000, maxArchPfn: 2 ** 34, line: 40, text: "e820: last_pfn = 0x80000 max_arch_pfn = 0x400000000" };
 * assert.equal(boundByLastPfn(map, lp)?.verdict, "map-short"); // the map stops at 1 GiB
 * assert.equal(boundByLastPfn(map, { ...lp, pfn: 0x40000 })?.verdict, "agrees");
 * ```
 */
export function boundByLastPfn(
  map: readonly MapEntry[],
  lastPfn: { pfn: number; maxArchPfn: number; line: number; text: string },
): LastPfnBound | undefined {
  if (lastPfn.pfn >= lastPfn.maxArchPfn) return undefined;
  let end: number | undefined;
  for (const e of map) {
    if (e.type !== E820_TYPE.ram) continue;
    const pfn = Math.min(Math.floor((e.start + e.size) / PAGE), lastPfn.maxArchPfn);
    if (end === undefined || pfn > end) end = pfn;
  }
  if (end === undefined) return undefined;
  const verdict = end === lastPfn.pfn ? "agrees" : end < lastPfn.pfn ? "map-short" : "map-beyond";
  return { verdict, lastPfn: lastPfn.pfn, mapEndPfn: end, line: lastPfn.line, text: lastPfn.text };
}
