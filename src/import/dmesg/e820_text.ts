/**
 * E820 map lines in every form kernels and Xen print them:
 *
 * | form | example | end |
 * | --- | --- | --- |
 * | kernel, v3.8+ | `BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable` | inclusive |
 * | kernel PV, v3.8+ | `Xen: [mem 0x0000000000100000-0x000000001fffffff] usable` | inclusive |
 * | kernel, before v3.8 | `BIOS-e820: 0000000000000000 - 000000000009f000 (usable)` | exclusive |
 * | kernel PV, before v3.8 | ` Xen: 0000000000000000 - 00000000000a0000 (usable)` | exclusive |
 * | user map | `user: [mem ...] usable` after `user-defined physical RAM map:` | inclusive |
 * | Xen, before 4.x | `(XEN)  0000000000000000 - 000000000009ec00 (usable)` | exclusive |
 * | Xen, newer | `(XEN)  [0000000000000000, 000000000009ebff] (usable)` | inclusive |
 *
 * The `who` word (`BIOS-e820`, `Xen`, `e820`, `user`, `modified`, `reserve setup_data`) says
 * which map the line belongs to. Type names are those of `e820_print_type` and Xen's
 * `print_e820_memory_map`.
 *
 * @module
 */

import { ADDR_LIMIT } from "../../trace/hex.ts";
import { E820_TYPE } from "../../trace/event.ts";

/** One printed E820 entry, as a byte range. */
export interface E820Text {
  /** The map's `who` word (`Xen`, `BIOS-e820`, `user`...), or `xen-table` for a `(XEN)` row. */
  who: string;
  /** First byte. */
  start: number;
  /** Length in bytes (> 0). */
  size: number;
  /** Numeric E820 type. */
  type: number;
}

/** `E820_TYPE_SOFT_RESERVED` (v5.5+), printed `soft reserved`. */
export const E820_SOFT_RESERVED = 0xefffffff;

const KERNEL_NEW =
  /^(?:e820: )?(BIOS-e820|Xen|e820|user|modified|reserve setup_data|BIOS-88|BIOS-e801|EFI): ?\[mem 0x([0-9a-f]{1,16})-0x([0-9a-f]{1,16})\] (.+)$/i;
const KERNEL_OLD =
  /^(?:e820: )?(BIOS-e820|Xen|e820|user|modified)(?::)? ([0-9a-f]{8,16}) - ([0-9a-f]{8,16}) \((.+)\)$/i;
/**
 * Xen's `print_e820_memory_map` puts the five names it knows in parentheses and prints any other
 * type bare, `type %u` (e.g. `type 9`, `type 12`), so a row's type is either form.
 */
const XEN_TYPE = String.raw`(\(.+\)|type \d{1,10})`;
const XEN_OLD = new RegExp(String.raw`^([0-9a-f]{16}) - ([0-9a-f]{16}) ${XEN_TYPE}$`, "i");
const XEN_NEW = new RegExp(String.raw`^\[([0-9a-f]{16}), ([0-9a-f]{16})\] ${XEN_TYPE}$`, "i");

/**
 * The numeric E820 type of a printed type name, or undefined when the text is not a type.
 *
 * @example
 * ```ts
 * import { e820TypeFromText } from "./e820_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(e820TypeFromText("usable"), 1);
 * assert.equal(e820TypeFromText("ACPI NVS"), 4);
 * assert.equal(e820TypeFromText("persistent (type 12)"), 12);
 * assert.equal(e820TypeFromText("available for PCI devices"), undefined);
 * ```
 */
export function e820TypeFromText(text: string): number | undefined {
  const t = text.trim().replace(/^\(|\)$/g, "");
  switch (t.toLowerCase()) {
    case "usable":
    case "ram":
      return E820_TYPE.ram;
    case "reserved":
      return E820_TYPE.reserved;
    case "acpi data":
      return E820_TYPE.acpi;
    case "acpi nvs":
      return E820_TYPE.nvs;
    case "unusable":
      return E820_TYPE.unusable;
    case "soft reserved":
      return E820_SOFT_RESERVED;
    case "persistent memory":
      return E820_TYPE.pmem;
  }
  const m = /^(?:persistent \()?type (\d{1,10})\)?$/i.exec(t);
  if (m) {
    const n = Number(m[1]);
    return n >= 1 && n <= 0xffffffff ? n : undefined;
  }
  return undefined;
}

function hexValue(text: string): number | undefined {
  const n = BigInt("0x" + text);
  return n <= BigInt(ADDR_LIMIT) ? Number(n) : undefined;
}

function entry(
  who: string,
  startText: string,
  endText: string,
  inclusive: boolean,
  typeText: string,
): E820Text | undefined {
  const type = e820TypeFromText(typeText);
  const start = hexValue(startText);
  let end = hexValue(endText);
  if (type === undefined || start === undefined || end === undefined) return undefined;
  if (inclusive) end += 1;
  if (end > ADDR_LIMIT || end <= start) return undefined;
  return { who, start, size: end - start, type };
}

/**
 * Parses a kernel E820 line (the message text, prefixes stripped).
 *
 * @example
 * ```ts
 * import { parseKernelE820 } from "./e820_text.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   parseKernelE820("Xen: [mem 0x0000000000100000-0x000000001fffffff] usable"),
 *   { who: "Xen", start: 0x100000, size: 0x1ff00000, type: 1 },
 * );
 * assert.deepEqual(
 *   parseKernelE820("Xen: 00000000000a0000 - 0000000000100000 (reserved)"),
 *   { who: "Xen", start: 0xa0000, size: 0x60000, type: 2 },
 * );
 * assert.equal(parseKernelE820("e820: [mem 0xc0000000-0xfebfffff] available for PCI devices"),
 *   undefined);
 * ```
 */
export function parseKernelE820(text: string): E820Text | undefined {
  let m = KERNEL_NEW.exec(text);
  if (m) return entry(canonicalWho(m[1]), m[2], m[3], true, m[4]);
  m = KERNEL_OLD.exec(text);
  if (m) return entry(canonicalWho(m[1]), m[2], m[3], false, m[4]);
  return undefined;
}

/**
 * Parses one row of a `(XEN)` E820 table (the text after `(XEN)`, trimmed).
 *
 * @example
 * ```ts
 * import { parseXenE820Row } from "./e820_text.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseXenE820Row("0000000000000000 - 000000000009ec00 (usable)"),
 *   { who: "xen-table", start: 0, size: 0x9ec00, type: 1 });
 * assert.deepEqual(parseXenE820Row("[00000000bad80000, 00000000badc8fff] (ACPI NVS)"),
 *   { who: "xen-table", start: 0xbad80000, size: 0x49000, type: 4 });
 * assert.deepEqual(parseXenE820Row("00000000dfe9e000 - 00000000dfea0000 type 9"),
 *   { who: "xen-table", start: 0xdfe9e000, size: 0x2000, type: 9 });
 * ```
 */
export function parseXenE820Row(text: string): E820Text | undefined {
  let m = XEN_OLD.exec(text);
  if (m) return entry("xen-table", m[1], m[2], false, m[3]);
  m = XEN_NEW.exec(text);
  if (m) return entry("xen-table", m[1], m[2], true, m[3]);
  return undefined;
}

/**
 * True when `text` looks like the start of an E820 entry line (for lines that did not parse:
 * truncated or garbled entries are reported instead of silently dropped).
 *
 * @example
 * ```ts
 * import { looksLikeE820 } from "./e820_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(looksLikeE820("Xen: [mem 0x0000000000100000-0x00000"), true);
 * assert.equal(looksLikeE820("Linux version 3.12.0"), false);
 * ```
 */
export function looksLikeE820(text: string): boolean {
  return /^(?:e820: )?(?:BIOS-e820|Xen|user|modified|e820):? ?(?:\[mem|[0-9a-f]{4})/i.test(text);
}

function canonicalWho(who: string): string {
  const lower = who.toLowerCase();
  if (lower === "bios-e820") return "BIOS-e820";
  if (lower === "xen") return "Xen";
  return lower;
}
