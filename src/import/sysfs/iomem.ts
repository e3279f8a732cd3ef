/**
 * `/proc/iomem` and `/proc/ioports`: the kernel's resource trees, one line per resource,
 * `"%0*llx-%0*llx : %s"` indented by two spaces per nesting level (`r_show` in
 * kernel/resource.c). From them `record` takes the PCI host bridge windows (`PCI Bus ssss:bb`
 * entries not nested in another `PCI Bus` entry), the E820 ranges as a fallback when
 * `/sys/firmware/memmap` is missing, and unpopulated-alloc (`Xen Scratch`) regions.
 *
 * Since v4.15 a reader without CAP_SYS_ADMIN sees every address as 0; {@link addressesHidden}
 * tells that case apart so it degrades to a note instead of a map of empty ranges.
 *
 * @module
 */

import type { Resource } from "../../trace/event.ts";
import { ADDR_LIMIT } from "../../trace/hex.ts";
import { quoted, SysfsFormatError } from "./format_error.ts";
import { type E820Range, e820TypeOf } from "./memmap.ts";

/** One resource of the tree. */
export interface IomemNode {
  /** First byte or port. */
  start: number;
  /** Last byte or port (inclusive). */
  end: number;
  /** The resource name (`System RAM`, `PCI Bus 0000:00`, `0000:01:00.0`). */
  name: string;
  /** Nesting depth (0 = child of the root). */
  depth: number;
  /** 1-based line in the file. */
  line: number;
  /** Nested resources, in file order. */
  children: IomemNode[];
}

const LINE = /^( *)([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) : (.*)$/;

/**
 * Parses `/proc/iomem` (or `/proc/ioports`) into its top-level resources.
 *
 * @example
 * ```ts
 * import { parseIomem } from "./iomem.ts";
 * import assert from "node:assert/strict";
 * const roots = parseIomem([
 *   "00000000-00000fff : Reserved",
 *   "c0000000-febfffff : PCI Bus 0000:00",
 *   "  f6000000-f70fffff : PCI Bus 0000:01",
 *   "    f6000000-f6ffffff : 0000:01:00.0",
 * ].join("\n") + "\n", "/proc/iomem");
 * assert.equal(roots.length, 2);
 * assert.equal(roots[1].children[0].children[0].name, "0000:01:00.0");
 * ```
 */
export function parseIomem(text: string, file: string): IomemNode[] {
  const roots: IomemNode[] = [];
  const stack: IomemNode[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    if (raw.trim() === "") continue;
    const pos = { file, line: i + 1 };
    const m = LINE.exec(raw);
    if (!m) {
      throw new SysfsFormatError(pos, 'a resource line "<start>-<end> : <name>"', quoted(raw));
    }
    const [, indent, startHex, endHex, name] = m;
    if (indent.length % 2 !== 0 || indent.length / 2 > stack.length) {
      throw new SysfsFormatError(
        pos,
        `an indentation of two spaces per level, at most ${stack.length * 2} spaces here`,
        `${indent.length} spaces`,
      );
    }
    const start = Number(BigInt("0x" + startHex));
    const end = Number(BigInt("0x" + endHex));
    if (end >= ADDR_LIMIT || start > end) {
      throw new SysfsFormatError(pos, "a range with start <= end below 2^52", quoted(raw));
    }
    const depth = indent.length / 2;
    const node: IomemNode = { start, end, name, depth, line: i + 1, children: [] };
    stack.length = depth;
    if (depth === 0) roots.push(node);
    else stack[depth - 1].children.push(node);
    stack.push(node);
  }
  return roots;
}

/** Every node, depth first, with its ancestors. */
function* walk(
  nodes: readonly IomemNode[],
  ancestors: IomemNode[] = [],
): Generator<[IomemNode, IomemNode[]]> {
  for (const n of nodes) {
    yield [n, ancestors];
    yield* walk(n.children, [...ancestors, n]);
  }
}

/**
 * True when every resource reads `0-0`: the file was read without CAP_SYS_ADMIN (v4.15+ hides
 * the addresses from unprivileged readers).
 *
 * @example
 * ```ts
 * import { addressesHidden, parseIomem } from "./iomem.ts";
 * import assert from "node:assert/strict";
 * const text = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n";
 * assert.equal(addressesHidden(parseIomem(text, "/proc/iomem")), true);
 * ```
 */
export function addressesHidden(roots: readonly IomemNode[]): boolean {
  if (roots.length === 0) return false;
  for (const [n] of walk(roots)) if (n.start !== 0 || n.end !== 0) return false;
  return true;
}

const PCI_BUS = /^PCI Bus ([0-9a-f]{4}:[0-9a-f]{2})$/;

/**
 * The root-bus windows: `PCI Bus ssss:bb` resources with no `PCI Bus` ancestor (nested ones are
 * bridge windows of child buses), grouped by bus in file order. `flags` is what the file cannot
 * show: IORESOURCE_MEM|WINDOW for iomem, IORESOURCE_IO|WINDOW for ioports (prefetch and 64-bit
 * bits are unknown).
 *
 * @example
 * ```ts
 * import { hostBridgeWindows, parseIomem } from "./iomem.ts";
 * import assert from "node:assert/strict";
 * const roots = parseIomem([
 *   "c0000000-febfffff : PCI Bus 0000:00",
 *   "  f6000000-f70fffff : PCI Bus 0000:01",
 *   "240000000-fffffffff : PCI Bus 0000:00",
 * ].join("\n"), "/proc/iomem");
 * assert.deepEqual(hostBridgeWindows(roots, 0x200200), new Map([["0000:00", [
 *   { index: 0, start: 0xc0000000, end: 0xfebfffff, flags: 0x200200, name: "PCI Bus 0000:00" },
 *   { index: 1, start: 0x240000000, end: 0xfffffffff, flags: 0x200200, name: "PCI Bus 0000:00" },
 * ]]]));
 * ```
 */
export function hostBridgeWindows(
  roots: readonly IomemNode[],
  flags: number,
): Map<string, Resource[]> {
  const out = new Map<string, Resource[]>();
  for (const [n, ancestors] of walk(roots)) {
    const m = PCI_BUS.exec(n.name);
    if (!m || ancestors.some((a) => PCI_BUS.test(a.name))) continue;
    const list = out.get(m[1]) ?? [];
    list.push({ index: list.length, start: n.start, end: n.end, flags, name: n.name });
    out.set(m[1], list);
  }
  return out;
}

/**
 * The E820 ranges the kernel registered as top-level iomem resources (by their type names), a
 * fallback for a missing `/sys/firmware/memmap`. Reserved ranges that the kernel nested under a
 * PCI window are not top-level and become gaps, which replay treats like reserved (non-RAM).
 *
 * @example
 * ```ts
 * import { e820FromIomem, parseIomem } from "./iomem.ts";
 * import assert from "node:assert/strict";
 * const roots = parseIomem([
 *   "00000000-0009dfff : System RAM",
 *   "000a0000-000bffff : PCI Bus 0000:00",
 *   "00100000-7fffffff : System RAM",
 *   "  01000000-0175ffff : Kernel code",
 * ].join("\n"), "/proc/iomem");
 * assert.deepEqual(e820FromIomem(roots), [
 *   { start: 0, end: 0x9dfff, type: 1 },
 *   { start: 0x100000, end: 0x7fffffff, type: 1 },
 * ]);
 * ```
 */
export function e820FromIomem(roots: readonly IomemNode[]): E820Range[] {
  const out: E820Range[] = [];
  for (const n of roots) {
    const type = e820TypeOf(n.name);
    if (type !== undefined) out.push({ start: n.start, end: n.end, type });
  }
  return out;
}

/**
 * Top-level regions whose name starts with `Xen Scratch` (case-insensitive): address space the
 * v5.9+ unpopulated-alloc driver took for foreign mappings (it sets their PFNs in the P2M).
 *
 * @example
 * ```ts
 * import { parseIomem, xenScratchRegions } from "./iomem.ts";
 * import assert from "node:assert/strict";
 * const roots = parseIomem("1000000000-103fffffff : Xen Scratch\n", "/proc/iomem");
 * assert.deepEqual(xenScratchRegions(roots).map((n) => n.start), [0x1000000000]);
 * ```
 */
export function xenScratchRegions(roots: readonly IomemNode[]): IomemNode[] {
  return roots.filter((n) => /^xen scratch/i.test(n.name));
}
