/**
 * The kernel's `%pR` / `%pr` resource text (lib/vsprintf.c `resource_string`) back to numbers.
 *
 * `%pR` prints `[<type> <start>-<end><attributes>]`: the type word is `io  `, `mem `, `irq `,
 * `dma `, `bus ` or `??? `; a resource without an address (`IORESOURCE_UNSET`) prints
 * `size <n>` instead of the range; `start == end` prints one number; the attributes are
 * ` 64bit`, ` pref`, ` window`, ` disabled` in that order, or ` flags 0x...` for an unknown
 * type and for `%pr`. Older kernels print the same words; the oldest print no type word.
 *
 * The text does not carry every bit the kernel holds (SIZEALIGN, the BAR's own low type bits,
 * ROM READONLY/CACHEABLE, 16- versus 32-bit bridge I/O decode), so {@link resourceFlags}
 * rebuilds them from what the resource is (a BAR, a ROM, a bridge window, a host window), the
 * way `decode_bar`, `__pci_read_base` and `pci_read_bridge_*` set them.
 *
 * @module
 */

import { ADDR_LIMIT } from "../../trace/hex.ts";
import {
  IORESOURCE,
  ioresourceFlags,
  type IoresourceType,
  PCI_BAR_BITS,
  TYPICAL_FLAGS,
} from "../../kernel/ioresource.ts";

/** One `%pR` text, decoded. Addresses are bytes (or ports, bus numbers, IRQs for those types). */
export interface ResourceText {
  /** The type word. */
  type: IoresourceType;
  /** First byte/port (0 when printed as `size`). */
  start: number;
  /** Last byte/port, inclusive (`size - 1` when printed as `size`). */
  end: number;
  /** Printed as `size N`: no address assigned (IORESOURCE_UNSET). */
  unset: boolean;
  /** ` 64bit`. */
  mem64: boolean;
  /** ` pref`. */
  pref: boolean;
  /** ` window`. */
  window: boolean;
  /** ` disabled`. */
  disabled: boolean;
  /** The numeric flags when printed (` flags 0x...`: `%pr` or an unknown type). */
  flags?: number;
  /** The end was above the x86_64 address limit and was clamped to 2^52 - 1. */
  clamped: boolean;
}

const TYPE_WORDS: Record<string, IoresourceType> = {
  io: "io",
  mem: "mem",
  irq: "irq",
  dma: "dma",
  bus: "bus",
  "???": "unknown",
};

const NUMBER = /^(0x[0-9a-f]+|[0-9a-f]+)$/i;

function parseNumber(text: string, type: IoresourceType): bigint | undefined {
  if (!NUMBER.test(text) || text.length > 20) return undefined;
  if (text.startsWith("0x") || text.startsWith("0X")) return BigInt(text);
  // `bus` numbers are bare hex; irq/dma are decimal; the oldest kernels print bare hex ranges.
  if (type === "irq" || type === "dma") return /^\d+$/.test(text) ? BigInt(text) : undefined;
  return BigInt("0x" + text);
}

const LIMIT = BigInt(ADDR_LIMIT);

/**
 * Decodes the `%pR` text of one resource, with or without its brackets. Returns undefined
 * when the text is not a resource with a range or a size (e.g. `[mem pref disabled]`).
 *
 * @example
 * ```ts
 * import { parseResourceText } from "./resource_text.ts";
 * import assert from "node:assert/strict";
 * const r = parseResourceText("[mem 0xd0000000-0xdfffffff 64bit pref]");
 * assert.equal(r?.type, "mem");
 * assert.equal(r?.start, 0xd0000000);
 * assert.equal(r?.end, 0xdfffffff);
 * assert.equal(r?.mem64 && r?.pref, true);
 * assert.equal(parseResourceText("[mem size 0x00200000]")?.end, 0x1fffff);
 * assert.equal(parseResourceText("[io  0x0000-0x0cf7 window]")?.window, true);
 * assert.equal(parseResourceText("[mem pref disabled]"), undefined);
 * ```
 */
export function parseResourceText(text: string): ResourceText | undefined {
  let body = text.trim();
  if (body.startsWith("[")) {
    if (!body.endsWith("]")) return undefined;
    body = body.slice(1, -1);
  }
  const words = body.split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return undefined;
  let type: IoresourceType = "unknown";
  let i = 0;
  const typed = TYPE_WORDS[words[0]];
  if (typed !== undefined) {
    type = typed;
    i = 1;
  }
  if (i >= words.length) return undefined;
  let start: bigint | undefined;
  let end: bigint | undefined;
  let unset = false;
  if (words[i] === "size") {
    const size = words[i + 1] === undefined ? undefined : parseNumber(words[i + 1], type);
    if (size === undefined || size === 0n) return undefined;
    start = 0n;
    end = size - 1n;
    unset = true;
    i += 2;
  } else {
    const dash = words[i].indexOf("-");
    if (dash < 0) {
      start = parseNumber(words[i], type);
      end = start;
    } else {
      start = parseNumber(words[i].slice(0, dash), type);
      end = parseNumber(words[i].slice(dash + 1), type);
    }
    i += 1;
  }
  if (start === undefined || end === undefined) return undefined;
  const r: ResourceText = {
    type,
    start: 0,
    end: 0,
    unset,
    mem64: false,
    pref: false,
    window: false,
    disabled: false,
    clamped: false,
  };
  for (; i < words.length; i++) {
    const w = words[i];
    if (w === "64bit") r.mem64 = true;
    else if (w === "pref") r.pref = true;
    else if (w === "window") r.window = true;
    else if (w === "disabled") r.disabled = true;
    else if (w === "flags" && i + 1 < words.length) {
      const f = parseNumber(words[++i], "mem");
      if (f === undefined || f > 0xffffffffn) return undefined;
      r.flags = Number(f);
    } else return undefined;
  }
  if (start >= LIMIT) return undefined;
  if (end >= LIMIT) {
    end = LIMIT - 1n;
    r.clamped = true;
  }
  r.start = Number(start);
  r.end = Number(end);
  return r;
}

/**
 * Finds the first `[...]` resource text in `line` at or after `from`.
 *
 * @example
 * ```ts
 * import { findResourceText } from "./resource_text.ts";
 * import assert from "node:assert/strict";
 * const found = findResourceText("BAR 0: assigned [mem 0xf1800000-0xf1803fff 64bit]");
 * assert.equal(found?.resource.start, 0xf1800000);
 * assert.equal(found?.rest, "");
 * ```
 */
export function findResourceText(
  line: string,
  from = 0,
): { resource: ResourceText; before: string; rest: string } | undefined {
  const open = line.indexOf("[", from);
  if (open < 0) return undefined;
  const close = line.indexOf("]", open);
  if (close < 0) return undefined;
  const resource = parseResourceText(line.slice(open, close + 1));
  if (!resource) return undefined;
  return { resource, before: line.slice(0, open), rest: line.slice(close + 1) };
}

/** What a resource is, which decides the bits `%pR` does not print. */
export type ResourceRole =
  | "bar"
  | "rom"
  | "bridge_window"
  | "root_window";

/**
 * The numeric flags the kernel holds for a resource of `role` printed as `r`, as
 * `decode_bar` / `__pci_read_base` (BARs, ROMs), `pci_read_bridge_*` (bridge windows) and the
 * host bridge code (root windows) set them. Flags printed by `%pr` are returned as printed.
 * Limit: a bridge I/O window's 16- or 32-bit decode is not printed; a window ending at or
 * below 0xffff is taken as 16-bit (`0x100`), above it as 32-bit (`0x101`).
 *
 * @example
 * ```ts
 * import { parseResourceText, resourceFlags } from "./resource_text.ts";
 * import assert from "node:assert/strict";
 * const flags = (t: string, role: Parameters<typeof resourceFlags>[1]) =>
 *   resourceFlags(parseResourceText(t)!, role);
 * assert.equal(flags("[io  0xf000-0xf0ff]", "bar"), 0x40101);
 * assert.equal(flags("[mem 0xf7800000-0xf7bfffff]", "bar"), 0x40200);
 * assert.equal(flags("[mem 0xd0000000-0xdfffffff 64bit pref]", "bar"), 0x14220c);
 * assert.equal(flags("[mem 0xfb900000-0xfb9fffff pref]", "rom"), 0x4e200);
 * assert.equal(flags("[io  0xe000-0xefff]", "bridge_window"), 0x100);
 * assert.equal(flags("[mem 0xf7d00000-0xf7dfffff]", "bridge_window"), 0x200);
 * assert.equal(flags("[mem 0xc0000000-0xcfffffff 64bit pref]", "bridge_window"), 0x102201);
 * assert.equal(flags("[mem 0x000a0000-0x000bffff window]", "root_window"), 0x200200);
 * assert.equal(flags("[mem size 0x00200000 64bit]", "bar"), 0x20140204);
 * ```
 */
export function resourceFlags(r: ResourceText, role: ResourceRole): number {
  if (r.flags !== undefined) return r.flags;
  const extra: number[] = [];
  if (r.unset) extra.push(IORESOURCE.UNSET);
  if (r.disabled) extra.push(IORESOURCE.DISABLED);
  const type = r.type === "io"
    ? IORESOURCE.IO
    : r.type === "mem"
    ? IORESOURCE.MEM
    : r.type === "irq"
    ? IORESOURCE.IRQ
    : r.type === "dma"
    ? IORESOURCE.DMA
    : r.type === "bus"
    ? IORESOURCE.BUS
    : 0;
  switch (role) {
    case "bar":
      if (r.type === "io") return ioresourceFlags(TYPICAL_FLAGS.IO_BAR, ...extra);
      if (r.type !== "mem") return ioresourceFlags(type, ...extra);
      return ioresourceFlags(
        TYPICAL_FLAGS.MEM32_BAR,
        r.mem64 ? IORESOURCE.MEM_64 | PCI_BAR_BITS.MEM_TYPE_64 : 0,
        r.pref ? IORESOURCE.PREFETCH | PCI_BAR_BITS.MEM_PREFETCH : 0,
        ...extra,
      );
    case "rom":
      return ioresourceFlags(TYPICAL_FLAGS.ROM, ...extra);
    case "bridge_window":
      if (r.type === "io") {
        const decode = r.end > 0xffff ? TYPICAL_FLAGS.BRIDGE_IO32 : TYPICAL_FLAGS.BRIDGE_IO16;
        return ioresourceFlags(decode, ...extra);
      }
      if (r.type === "mem" && r.pref) {
        return ioresourceFlags(
          IORESOURCE.MEM | IORESOURCE.PREFETCH,
          r.mem64 ? IORESOURCE.MEM_64 | PCI_BAR_BITS.PREF_RANGE_TYPE_64 : 0,
          ...extra,
        );
      }
      return ioresourceFlags(type, r.mem64 ? IORESOURCE.MEM_64 : 0, ...extra);
    case "root_window":
      return ioresourceFlags(
        type,
        r.window ? IORESOURCE.WINDOW : 0,
        r.pref ? IORESOURCE.PREFETCH : 0,
        r.mem64 ? IORESOURCE.MEM_64 : 0,
        ...extra,
      );
  }
}
