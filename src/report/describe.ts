/**
 * Short, deterministic text for events, entries and P2M runs, shared by every report.
 *
 * @module
 */

import type { PfnRange, TraceEvent } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import { E820_TYPE_NAME } from "../trace/validate.ts";
import { K } from "../p2m/leaf_runs.ts";
import type { P2m } from "../p2m/table.ts";
import { fmtPfns } from "../detect/finding.ts";
import { escapeText } from "./text.ts";

function ranges(rs: readonly PfnRange[]): string {
  const shown = rs.slice(0, 3).map(fmtPfns).join(", ");
  return rs.length > 3 ? `${shown} +${rs.length - 3} more` : shown;
}

/**
 * One line describing an event (without seq and line).
 *
 * @example
 * ```ts
 * import { describeEvent } from "./describe.ts";
 * import assert from "node:assert/strict";
 * assert.equal(describeEvent({ seq: 1, line: 2, kind: "e820", start: 0, size: 0xa0000, type: 1, map: "raw" }),
 *   "e820 [mem 0x0-0x9ffff] ram");
 * ```
 */
export function describeEvent(e: TraceEvent): string {
  switch (e.kind) {
    case "e820": {
      const t = E820_TYPE_NAME.get(e.type) ?? `type ${e.type}`;
      return `e820 [mem ${hex(e.start)}-${hex(e.start + e.size - 1)}] ${t}${
        e.map === "raw" ? "" : ` (${e.map} map)`
      }`;
    }
    case "memory_setup":
      return "memory_setup" +
        (e.maxReservation !== undefined ? ` max_reservation ${hex(e.maxReservation)}` : "");
    case "set_identity":
      return `set_identity ${fmtPfns(e.range)}`;
    case "set_p2m":
      return `set_p2m ${fmtPfns(e.range)} ${e.value}${
        e.mfn !== undefined ? ` ${hex(e.mfn)}` : ""
      } via ${e.primitive}`;
    case "balloon_init":
      return "balloon_init";
    case "balloon_append":
    case "decrease_reservation":
      return `${e.kind} ${ranges(e.ranges)}`;
    case "balloon_retrieve":
    case "increase_reservation":
      return `${e.kind} ${ranges(e.ranges)}${e.mfn !== undefined ? ` mfn ${hex(e.mfn)}` : ""}`;
    case "memory_hotplug":
      return `memory_hotplug [mem ${hex(e.start)}-${hex(e.start + e.size - 1)}]`;
    case "pci_host_bridge":
      return `pci_host_bridge ${e.bus} ` +
        e.resources.map((r) => `[${hex(r.start)}-${hex(r.end)} flags ${hex(r.flags)}]`).join(" ");
    case "xen_add_device":
      return `xen_add_device ${e.device} (${e.resources.length} resource${
        e.resources.length === 1 ? "" : "s"
      })`;
    case "xen_remove_device":
      return `xen_remove_device ${e.device}`;
    case "pci_resource_assign":
      return `pci_resource_assign ${e.device} #${e.resource.index} ${e.action} ` +
        `[${hex(e.resource.start)}-${hex(e.resource.end)}] flags ${hex(e.resource.flags)}`;
    case "lookup":
      return `lookup pfn ${hex(e.pfn)} via ${e.via}${e.iomap ? " (iomap)" : ""}${
        e.by ? ` by ${escapeText(e.by)}` : ""
      }` +
        (e.observed !== undefined ? ` observed ${hex(e.observed)}` : "");
    case "p2m_dump":
      return `p2m_dump (${e.format} format, ${e.lines.length} lines)`;
    case "mark":
      return `mark: ${escapeText(e.text)}`;
  }
}

/**
 * An entry kind with its frame: `mfn`, `mfn 0x1234`, `identity`, `invalid`, `scratch`,
 * `foreign 0x10`.
 *
 * @example
 * ```ts
 * import { entryText } from "./describe.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(entryText(K.MFN, 0x1234), "mfn 0x1234");
 * assert.equal(entryText(K.MFN_UNKNOWN, 0), "mfn");
 * ```
 */
export function entryText(kind: number, mfn: number): string {
  switch (kind) {
    case K.INVALID:
      return "invalid";
    case K.IDENTITY:
      return "identity";
    case K.MFN_UNKNOWN:
      return "mfn";
    case K.MFN:
      return `mfn ${hex(mfn)}`;
    case K.SCRATCH:
      return mfn < 0 ? "scratch" : `scratch ${hex(mfn)}`;
    case K.FOREIGN:
      return `foreign ${hex(mfn)}`;
    default:
      return `kind ${kind}`;
  }
}

/** A coalesced run of the table, for listings. */
export interface RunRow {
  /** First PFN. */
  pfn: number;
  /** One past the last. */
  endPfn: number;
  /** Entry text. */
  entry: string;
  /** Structure that answers. */
  structure: string;
}

/**
 * The table over `[a, b)` as coalesced rows (kind and structure), at most `max` rows; returns
 * the rows and how many more there were.
 *
 * @example
 * ```ts
 * import { tableRows } from "./describe.ts";
 * import { P2m } from "../p2m/table.ts";
 * import assert from "node:assert/strict";
 * const { rows } = tableRows(P2m.build("T12", 0x40000), 0, 0x80000, 10);
 * assert.deepEqual(rows.map((r) => r.entry), ["mfn", "invalid"]);
 * ```
 */
export function tableRows(
  t: P2m,
  a: number,
  b: number,
  max: number,
): { rows: RunRow[]; more: number } {
  const rows: RunRow[] = [];
  let more = 0;
  t.forEachRun(a, b, (p, e, k, bs, s) => {
    if (rows.length < max) rows.push({ pfn: p, endPfn: e, entry: entryText(k, bs), structure: s });
    else more++;
  });
  return { rows, more };
}

/** Formats rows as aligned text lines. */
export function formatRows(rows: readonly RunRow[], indent: string): string[] {
  return rows.map((r) => {
    const span = r.endPfn - r.pfn === 1
      ? `0x${r.pfn.toString(16)}`
      : `0x${r.pfn.toString(16)}-0x${(r.endPfn - 1).toString(16)}`;
    return `${indent}${span.padEnd(25)} ${r.entry.padEnd(16)} ${r.structure}`;
  });
}
