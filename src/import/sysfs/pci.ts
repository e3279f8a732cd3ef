/**
 * `/sys/bus/pci/devices/<ssss:bb:dd.f>/`: a device's resources as the kernel holds them now
 * (`resource`: one line per resource index, `0x%016llx 0x%016llx 0x%016llx` start, end, flags;
 * all zero for an empty slot; `flags` are exactly the kernel's IORESOURCE_* bits) and its
 * identity (`class`, `vendor`, `device`: `0x%06x` / `0x%04x`).
 *
 * `resource_show` prints PCI_BRIDGE_RESOURCES lines for a device without a child bus (13 with
 * CONFIG_PCI_IOV: BARs 0-5, ROM 6, VF BARs 7-12; 7 without) and PCI_NUM_RESOURCES for a bridge
 * (17 or 11): the last four are its windows. Traces number windows 13-16 whatever the kernel
 * configuration, so {@link splitResources} renumbers the windows of a kernel without IOV.
 *
 * @module
 */

import type { Resource } from "../../trace/event.ts";
import { PCI_RESOURCE } from "../../kernel/ioresource.ts";
import { ADDR_LIMIT } from "../../trace/hex.ts";
import { quoted, SysfsFormatError } from "./format_error.ts";

/** Where the devices are listed (symlinks into /sys/devices). */
export const PCI_DEVICES_DIR = "/sys/bus/pci/devices";

/** A device name as sysfs and the trace format spell it. */
export const PCI_DEVICE_NAME = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;

/** First window index in a trace (PCI_BRIDGE_RESOURCES with CONFIG_PCI_IOV). */
export const FIRST_WINDOW_INDEX: number = PCI_RESOURCE.BRIDGE_IO;

/** One line of a `resource` file. */
export interface ResourceLine {
  /** The resource index (the line number, from 0). */
  index: number;
  /** First byte or port. */
  start: number;
  /** Last byte or port (inclusive). */
  end: number;
  /** IORESOURCE_* flags. */
  flags: number;
}

const RESOURCE_LINE = /^0x([0-9a-fA-F]{16}) 0x([0-9a-fA-F]{16}) 0x([0-9a-fA-F]{16})$/;

/**
 * Parses a device's `resource` file; every line is kept (empty slots too), indexed by position.
 *
 * @example
 * ```ts
 * import { parseResourceFile } from "./pci.ts";
 * import assert from "node:assert/strict";
 * const text = "0x0000000380000000 0x000000038fffffff 0x000000000014220c\n" +
 *   "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
 * assert.deepEqual(parseResourceFile(text, "resource"), [
 *   { index: 0, start: 0x380000000, end: 0x38fffffff, flags: 0x14220c },
 *   { index: 1, start: 0, end: 0, flags: 0 },
 * ]);
 * ```
 */
export function parseResourceFile(text: string, file: string): ResourceLine[] {
  const out: ResourceLine[] = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const pos = { file, line: i + 1 };
    const m = RESOURCE_LINE.exec(lines[i].trimEnd());
    if (!m) {
      throw new SysfsFormatError(
        pos,
        'a resource line "0x<start> 0x<end> 0x<flags>" (16 hex digits each)',
        quoted(lines[i]),
      );
    }
    const start = BigInt("0x" + m[1]);
    const end = BigInt("0x" + m[2]);
    const flags = BigInt("0x" + m[3]);
    if (start >= BigInt(ADDR_LIMIT) || end >= BigInt(ADDR_LIMIT)) {
      throw new SysfsFormatError(pos, "addresses below 2^52", quoted(lines[i]));
    }
    if (flags >= 2n ** 32n) {
      throw new SysfsFormatError(pos, "IORESOURCE_* flags below 2^32", quoted(lines[i]));
    }
    if (end < start) {
      throw new SysfsFormatError(pos, "an inclusive end not below the start", quoted(lines[i]));
    }
    out.push({ index: i, start: Number(start), end: Number(end), flags: Number(flags) });
  }
  if (out.length === 0) throw new SysfsFormatError({ file, line: 1 }, "resource lines", "nothing");
  return out;
}

/**
 * Parses a one-number sysfs file such as `class` (`0x060400`) or `vendor` (`0x10de`).
 *
 * @example
 * ```ts
 * import { parseHexFile } from "./pci.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseHexFile("0x030000\n", "class"), 0x030000);
 * ```
 */
export function parseHexFile(text: string, file: string): number {
  const t = text.trim();
  if (!/^0[xX][0-9a-fA-F]{1,8}$/.test(t)) {
    throw new SysfsFormatError({ file, line: 1 }, 'a number "0x..."', quoted(text));
  }
  return parseInt(t.slice(2), 16);
}

/** A device's resources split the way the trace records them. */
export interface DeviceResources {
  /** BARs, ROM and VF BARs (indices below the windows), non-empty ones only. */
  bars: Resource[];
  /** Bridge windows (trace indices 13-16), non-empty ones only. */
  windows: Resource[];
  /** True when the kernel numbered windows 7-10 (no CONFIG_PCI_IOV) and they were renumbered. */
  renumbered: boolean;
}

function isEmpty(r: ResourceLine): boolean {
  return r.start === 0 && r.end === 0 && r.flags === 0;
}

/**
 * Splits a `resource` file into BARs and windows, dropping all-zero (empty) slots. A file of 17
 * or 11 lines is a bridge's: its last four lines are windows, numbered 13-16 in the trace.
 *
 * @example
 * ```ts
 * import { splitResources } from "./pci.ts";
 * import assert from "node:assert/strict";
 * const lines = Array.from({ length: 11 }, (_, index) => ({ index, start: 0, end: 0, flags: 0 }));
 * lines[8] = { index: 8, start: 0xf6000000, end: 0xf70fffff, flags: 0x200 };
 * const r = splitResources(lines);
 * assert.deepEqual(r.windows, [{ index: 14, start: 0xf6000000, end: 0xf70fffff, flags: 0x200 }]);
 * assert.equal(r.renumbered, true);
 * ```
 */
export function splitResources(lines: readonly ResourceLine[]): DeviceResources {
  const bridge = lines.length === 17 || lines.length === 11;
  const firstWindow = bridge ? lines.length - 4 : Infinity;
  const out: DeviceResources = { bars: [], windows: [], renumbered: false };
  for (const l of lines) {
    if (isEmpty(l)) continue;
    const r: Resource = { index: l.index, start: l.start, end: l.end, flags: l.flags };
    if (l.index >= firstWindow) {
      r.index = FIRST_WINDOW_INDEX + (l.index - firstWindow);
      if (r.index !== l.index) out.renumbered = true;
      out.windows.push(r);
    } else {
      out.bars.push(r);
    }
  }
  return out;
}

/**
 * Orders device names the way a depth-first bus scan notifies them: segment, bus, device,
 * function (all fixed-width lower-case hex, so a code-point sort is that order).
 *
 * @example
 * ```ts
 * import { sortDevices } from "./pci.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(sortDevices(["0000:01:00.0", "0000:00:1f.2", "0000:00:01.0"]),
 *   ["0000:00:01.0", "0000:00:1f.2", "0000:01:00.0"]);
 * ```
 */
export function sortDevices(names: readonly string[]): string[] {
  return [...names].sort();
}
