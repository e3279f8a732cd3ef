/**
 * `/sys/firmware/memmap`: the E820 map as the kernel saved it right after its memory setup
 * (`e820_saved`, one numbered directory per entry with `start`, `end` (inclusive) and `type`),
 * and the reconstruction of the map `xen_memory_setup` read from it.
 *
 * In a PV guest the saved map is **the kernel's rewritten map, not the hypervisor's**:
 * `xen_memory_setup` clips RAM at `nr_pages`, keeps RAM beyond it as extra (balloon) memory
 * while the extra budget lasts, turns the rest into `Unusable memory`, trims RAM inward to page
 * boundaries, adds the ISA hole `[0xa0000, 0x100000)` as reserved and sanitizes (merges) the
 * result. {@link reconstructRawMap} undoes what can be undone; docs/record.md explains the rules
 * and what replay loses.
 *
 * @module
 */

import type { GuestType } from "../../trace/event.ts";
import { E820_TYPE } from "../../trace/event.ts";
import { ADDR_LIMIT } from "../../trace/hex.ts";
import { quoted, SysfsFormatError } from "./format_error.ts";

/** Where the saved map lives. */
export const MEMMAP_DIR = "/sys/firmware/memmap";

/** E820_TYPE_SOFT_RESERVED (v5.5+: "Soft Reserved"). */
export const E820_SOFT_RESERVED = 0xefffffff;

/** One E820 range with an inclusive end, as the kernel's resources hold it. */
export interface E820Range {
  /** First byte. */
  start: number;
  /** Last byte (inclusive). */
  end: number;
  /** Numeric E820 type (1 = RAM). */
  type: number;
}

/** One `/sys/firmware/memmap/N` entry. */
export interface FirmwareMapEntry extends E820Range {
  /** The directory number N (entries are numbered in the order the kernel added them). */
  index: number;
  /** The type string exactly as the kernel wrote it (`System RAM`, `reserved`, ...). */
  typeName: string;
}

const TYPE_NAMES: ReadonlyMap<string, number> = new Map([
  ["system ram", E820_TYPE.ram],
  ["reserved", E820_TYPE.reserved],
  ["acpi tables", E820_TYPE.acpi],
  ["acpi non-volatile storage", E820_TYPE.nvs],
  ["unusable memory", E820_TYPE.unusable],
  ["persistent memory", E820_TYPE.pmem],
  ["persistent memory (legacy)", E820_TYPE.pram],
  ["soft reserved", E820_SOFT_RESERVED],
]);

/**
 * The E820 type behind a type string of `e820_type_to_string` (case-insensitive: v3.x prints
 * `reserved`, v4.14+ `Reserved`), or undefined for a string it never prints for a known type
 * (`Unknown E820 type`, anything else).
 *
 * @example
 * ```ts
 * import { e820TypeOf } from "./memmap.ts";
 * import assert from "node:assert/strict";
 * assert.equal(e820TypeOf("System RAM"), 1);
 * assert.equal(e820TypeOf("Reserved"), 2);
 * assert.equal(e820TypeOf("ACPI Non-volatile Storage"), 4);
 * assert.equal(e820TypeOf("Persistent Memory (legacy)"), 12);
 * assert.equal(e820TypeOf("Kernel code"), undefined);
 * ```
 */
export function e820TypeOf(typeName: string): number | undefined {
  return TYPE_NAMES.get(typeName.trim().toLowerCase());
}

/**
 * Parses a sysfs address file (`0x%llx\n`) into a byte address below 2^52.
 *
 * @example
 * ```ts
 * import { parseAddressFile } from "./memmap.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseAddressFile("0x9dfff\n", "/sys/firmware/memmap/0/end"), 0x9dfff);
 * assert.throws(() => parseAddressFile("640k\n", "end"), /end:1: expected a byte address/);
 * ```
 */
export function parseAddressFile(text: string, file: string): number {
  const t = text.trim();
  const m = /^0[xX]([0-9a-fA-F]{1,16})$/.exec(t);
  const value = m ? BigInt(t) : undefined;
  if (value === undefined || value >= BigInt(ADDR_LIMIT)) {
    throw new SysfsFormatError(
      { file, line: 1 },
      'a byte address "0x..." below 2^52',
      quoted(text),
    );
  }
  return Number(value);
}

/**
 * Builds one entry from the texts of its `start`, `end` and `type` files.
 *
 * @example
 * ```ts
 * import { parseMemmapEntry } from "./memmap.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   parseMemmapEntry(2, { start: "0x100000\n", end: "0x80061fff\n", type: "System RAM\n" }),
 *   { index: 2, start: 0x100000, end: 0x80061fff, type: 1, typeName: "System RAM" },
 * );
 * ```
 */
export function parseMemmapEntry(
  index: number,
  files: { start: string; end: string; type: string },
  dir = `${MEMMAP_DIR}/${index}`,
): FirmwareMapEntry {
  const start = parseAddressFile(files.start, `${dir}/start`);
  const end = parseAddressFile(files.end, `${dir}/end`);
  if (end < start) {
    throw new SysfsFormatError(
      { file: `${dir}/end`, line: 1 },
      `an inclusive end not below start 0x${start.toString(16)}`,
      quoted(files.end),
    );
  }
  const typeName = files.type.trim();
  return { index, start, end, type: e820TypeOf(typeName) ?? E820_TYPE.reserved, typeName };
}

/** The raw map rebuilt from the saved one, and what was changed to get it. */
export interface RawMapResult {
  /** Sorted, non-overlapping, adjacent equal types merged. */
  entries: E820Range[];
  /** One sentence per rule applied (empty when the saved map was taken as is). */
  notes: string[];
}

const ISA_START = 0xa0000;
const ISA_LAST = 0xfffff;

function hexRange(r: E820Range): string {
  return `[0x${r.start.toString(16)}-0x${r.end.toString(16)}]`;
}

/**
 * Rebuilds the E820 map the guest's `xen_memory_setup` read (the `raw` map of a trace) from the
 * saved map in `/sys/firmware/memmap`. For PV guests:
 *
 * 1. `Unusable memory` becomes RAM again: in dom0 all of it (the kernel turns RAM beyond
 *    `nr_pages` plus the extra budget into unusable, and dom0 kernels convert firmware-unusable
 *    ranges to RAM before their boot pass anyway); in a domU only the unusable ranges above the
 *    last `System RAM` entry, because the kernel rewrites RAM in address order while a host-like
 *    domU map can carry genuine unusable ranges below.
 * 2. domU: the ISA hole `[0xa0000, 0xfffff]` that the kernel itself adds between RAM at
 *    `0x9ffff` and RAM at `0x100000` is removed (the toolstack's domU map is RAM there).
 * 3. Overlaps are clipped (the later entry loses) and adjacent entries of one type merged.
 *
 * HVM and PVH guests' saved maps are their (virtual) firmware's: only step 3 applies.
 *
 * @example
 * ```ts
 * import { reconstructRawMap } from "./memmap.ts";
 * import assert from "node:assert/strict";
 * const saved = [
 *   { start: 0x0, end: 0x9dfff, type: 1 },
 *   { start: 0x9e000, end: 0xfffff, type: 2 },
 *   { start: 0x100000, end: 0x80061fff, type: 1 },
 *   { start: 0x80062000, end: 0xbf77ffff, type: 5 },
 * ];
 * const raw = reconstructRawMap(saved, { type: "pv", domain: "dom0" });
 * assert.deepEqual(raw.entries, [
 *   { start: 0x0, end: 0x9dfff, type: 1 },
 *   { start: 0x9e000, end: 0xfffff, type: 2 },
 *   { start: 0x100000, end: 0xbf77ffff, type: 1 },
 * ]);
 * assert.equal(raw.notes.length, 1);
 * ```
 */
export function reconstructRawMap(
  saved: readonly E820Range[],
  guest: { type: GuestType; domain: "dom0" | "domU" },
): RawMapResult {
  const notes: string[] = [];
  let list = saved.map((e) => ({ start: e.start, end: e.end, type: e.type }))
    .sort((a, b) => a.start - b.start || a.end - b.end);

  if (guest.type === "pv") {
    const lastRamEnd = list.filter((e) => e.type === E820_TYPE.ram)
      .reduce((m, e) => Math.max(m, e.end), -1);
    const converted: E820Range[] = [];
    for (const e of list) {
      if (e.type !== E820_TYPE.unusable) continue;
      if (guest.domain === "dom0" || e.start > lastRamEnd) {
        e.type = E820_TYPE.ram;
        converted.push(e);
      }
    }
    if (converted.length > 0) {
      notes.push(
        `e820: ${converted.length} "Unusable memory" range(s) taken as RAM of the raw map ` +
          `(${converted.map(hexRange).join(", ")}): the PV kernel marks RAM beyond nr_pages ` +
          `and its extra-memory budget unusable`,
      );
    }
    if (guest.domain === "domU") {
      const i = list.findIndex((e) =>
        e.start === ISA_START && e.end === ISA_LAST && e.type === E820_TYPE.reserved
      );
      const before = list[i - 1];
      const after = list[i + 1];
      if (
        i > 0 && before.type === E820_TYPE.ram && before.end === ISA_START - 1 &&
        after !== undefined && after.type === E820_TYPE.ram && after.start === ISA_LAST + 1
      ) {
        list[i].type = E820_TYPE.ram;
        notes.push(
          "e820: the reserved ISA hole [0xa0000-0xfffff] between RAM is the domU kernel's own " +
            "addition; taken as RAM of the raw map",
        );
      }
    }
  }

  const out: E820Range[] = [];
  for (const e of list) {
    const last = out[out.length - 1];
    if (last !== undefined && e.start <= last.end) {
      if (e.type === last.type) {
        last.end = Math.max(last.end, e.end);
        continue;
      }
      if (e.end <= last.end) {
        notes.push(`e820: ${hexRange(e)} lies inside ${hexRange(last)}; dropped`);
        continue;
      }
      notes.push(`e820: ${hexRange(e)} overlaps ${hexRange(last)}; clipped`);
      e.start = last.end + 1;
    }
    if (last !== undefined && last.type === e.type && last.end + 1 === e.start) last.end = e.end;
    else out.push(e);
  }
  list = out;
  return { entries: list, notes };
}
