/**
 * Patterns for the hypervisor's own `(XEN)` console lines (text after the `(XEN) ` prefix):
 * its version banner, command line (`dom0_mem=`), E820 tables, the dom0 builder's memory
 * arrangement (which gives `start_info->nr_pages`), PCI device registrations and crashes.
 *
 * @module
 */

import { type E820Text, parseXenE820Row } from "./e820_text.ts";
import { sizeValue } from "./kernel_lines.ts";

/** A recognised `(XEN)` line. */
export type XenLine =
  | { kind: "xen_version"; version: string }
  | { kind: "table_header"; name: string }
  | { kind: "e820_row"; entry: E820Text }
  | { kind: "cmdline"; dom0Pages?: number; dom0MaxPages?: number }
  | { kind: "building_dom0"; type: "pv" | "pvh" }
  | { kind: "section"; section: "physical" | "virtual" }
  | { kind: "dom0_alloc"; allocPages: number; toAllocate: number }
  | { kind: "ramdisk"; pages: number }
  | { kind: "pci_add"; device: string }
  | { kind: "pci_remove"; device: string }
  | { kind: "mark"; text: string }
  | { kind: "known" }
  | { kind: "other" };

const VERSION = /^Xen version (\d+\.\d+\S*)/;
const TABLE = /^(\S.*?) RAM map:$/;
const DOM0_ALLOC =
  /^Dom\d+ alloc\.: +([0-9a-f]{1,16})->([0-9a-f]{1,16})(?: \((\d{1,15}) pages to be allocated\))?/;
const RAMDISK = /^Init\. ramdisk: +([0-9a-f]{1,16})->([0-9a-f]{1,16})$/;
/** Xen before 4.2 printed `bus:dev.fn` without the segment. */
const PCI_DEVICE = /\b((?:[0-9a-f]{4,5}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\b/;
/** Lines that mention E820 or memory but carry nothing the trace needs. */
const KNOWN: RegExp[] = [
  /^PCI: (?:MCFG|Using MCFG|Not using MMCONFIG|Using configuration)/,
  /^(?:System RAM|Domain heap initialised|Scrubbing Free RAM)/,
  /^(?:Faking a node|No NUMA configuration)/,
  /^Initial low memory virq threshold/,
];
const MARKS: RegExp[] = [
  /unhandled page fault/,
  /domain_crash/,
  /^Domain \d+ \(vcpu#\d+\) crashed/,
  /^Panic on CPU/,
  /^FATAL /,
  /^Xen BUG at/,
  /^Assertion '.*' failed/,
  /^Pagetable walk from/,
];

/**
 * Classifies one `(XEN)` line.
 *
 * @example
 * ```ts
 * import { classifyXenLine } from "./xen_lines.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(classifyXenLine("Xen version 4.1.5-pre (konrad@dumpdata.com) (gcc)"),
 *   { kind: "xen_version", version: "4.1.5-pre" });
 * assert.deepEqual(
 *   classifyXenLine("Dom0 alloc.:   0000000220000000->0000000224000000 (1661249 pages to be allocated)"),
 *   { kind: "dom0_alloc", allocPages: 16384, toAllocate: 1661249 },
 * );
 * assert.deepEqual(classifyXenLine("Command line: dom0_mem=768M,max:1024M loglvl=all"),
 *   { kind: "cmdline", dom0Pages: 196608, dom0MaxPages: 262144 });
 * ```
 */
export function classifyXenLine(text: string): XenLine {
  let m: RegExpExecArray | null;
  const row = parseXenE820Row(text);
  if (row) return { kind: "e820_row", entry: row };
  if ((m = VERSION.exec(text)) !== null) return { kind: "xen_version", version: m[1] };
  if ((m = TABLE.exec(text)) !== null) return { kind: "table_header", name: m[1] };
  if (text.startsWith("Command line:")) return dom0Mem(text.slice(13));
  if (/^\*\*\* (?:LOADING DOMAIN 0|Building a PV Dom0) \*\*\*/.test(text)) {
    return { kind: "building_dom0", type: "pv" };
  }
  if (/^\*\*\* Building a PVH Dom0 \*\*\*/.test(text)) {
    return { kind: "building_dom0", type: "pvh" };
  }
  if (text === "PHYSICAL MEMORY ARRANGEMENT:") return { kind: "section", section: "physical" };
  if (text === "VIRTUAL MEMORY ARRANGEMENT:") return { kind: "section", section: "virtual" };
  if ((m = DOM0_ALLOC.exec(text)) !== null) {
    const start = BigInt("0x" + m[1]);
    const end = BigInt("0x" + m[2]);
    const allocPages = end > start ? Number((end - start) / 4096n) : 0;
    return { kind: "dom0_alloc", allocPages, toAllocate: m[3] === undefined ? 0 : Number(m[3]) };
  }
  if ((m = RAMDISK.exec(text)) !== null) {
    const start = BigInt("0x" + m[1]);
    const end = BigInt("0x" + m[2]);
    const pages = end > start ? Number((end - start + 4095n) / 4096n) : 0;
    return { kind: "ramdisk", pages };
  }
  if (/^PCI add (?:device|virtual function)/.test(text) && (m = PCI_DEVICE.exec(text)) !== null) {
    return { kind: "pci_add", device: withSegment(m[1]) };
  }
  if (/^PCI remove device/.test(text) && (m = PCI_DEVICE.exec(text)) !== null) {
    return { kind: "pci_remove", device: withSegment(m[1]) };
  }
  for (const re of MARKS) if (re.test(text)) return { kind: "mark", text };
  if (KNOWN.some((re) => re.test(text))) return { kind: "known" };
  return { kind: "other" };
}

function withSegment(device: string): string {
  return device.length === 7 ? `0000:${device}` : device;
}

/**
 * The dom0 memory options of a Xen command line: `dom0_mem=[min:..,][max:..,]amount`.
 * Negative amounts (`dom0_mem=-1G`, "all but") give no page count. Xen parses every
 * `dom0_mem=` on the line in order and each sets only the fields it names (`parse_dom0_mem`),
 * so `dom0_mem=min:1024M dom0_mem=max:4096M` (Qubes' default) is one option of both, and a
 * later value of a field replaces an earlier one.
 */
function dom0Mem(cmdline: string): XenLine {
  const out: XenLine = { kind: "cmdline" };
  const parts = [...cmdline.matchAll(/(?:^|\s)dom0_mem=(\S+)/g)].flatMap((m) => m[1].split(","));
  for (const part of parts) {
    const p = /^(?:(min|max):)?(-?)(\d{1,15})([KMGT]?)$/i.exec(part);
    if (!p) continue;
    const pages = p[2] === "-" ? undefined : Math.floor(sizeValue(p[3], p[4] || "K") / 4096);
    if (p[1] === undefined) out.dom0Pages = pages;
    else if (p[1].toLowerCase() === "max") out.dom0MaxPages = pages;
  }
  if (out.dom0Pages === undefined) delete out.dom0Pages;
  if (out.dom0MaxPages === undefined) delete out.dom0MaxPages;
  return out;
}
