/**
 * Patterns for the PCI lines of a boot log: device enumeration (`pci 0000:00:01.0: [8086:1234]
 * type 00 class 0x...`), BAR reads in the three wordings kernels used (`reg 10:` before v3.13,
 * `reg 0x10:` up to v6.6, `BAR 0 [...]` / `ROM [...]` from v6.7), BAR and window assignment
 * (`BAR 0: assigned [...]` before v6.7, `BAR 0 [...]: assigned` after), bridge windows, root
 * bus resources and ACPI host bridge windows, pcifront's claims in a PV domU, and removals.
 *
 * @module
 */

import { findResourceText, parseResourceText, type ResourceText } from "./resource_text.ts";

/** What happened to a resource, in the trace's words. */
export type AssignAction = "assigned" | "reassigned" | "released" | "failed";

/** A recognised PCI line. `device` is `segment:bus:dev.fn`, `bus` is `segment:bus`. */
export type PciLine =
  | { kind: "device_header"; device: string; headerType: number }
  | { kind: "bar_read"; device: string; index?: number; reg?: number; resource: ResourceText }
  | { kind: "iov_total"; device: string; index: number; resource: ResourceText }
  | { kind: "initial_bar_invalid"; device: string; text: string }
  | {
    kind: "assign";
    device: string;
    /** Resource index; undefined for a v6.7+ `bridge window [...]` line (index from type). */
    index?: number;
    resource: ResourceText;
    action: AssignAction;
  }
  | { kind: "bridge_to"; device: string }
  | { kind: "bridge_window"; device: string; resource: ResourceText; subtractive: boolean }
  | { kind: "removed"; device: string }
  | { kind: "add_failed"; device: string; text: string }
  | { kind: "device_other"; device: string }
  | { kind: "device_unparsed"; device: string }
  | { kind: "root_resource"; bus: string; resource: ResourceText }
  | { kind: "bus_other"; bus: string }
  | { kind: "host_bridge_to"; bus: string }
  | { kind: "host_bridge_window"; resource: ResourceText; ignored: boolean }
  | { kind: "root_bridge"; bus: string }
  | { kind: "pcifront_bus"; bus: string }
  | { kind: "pcifront_claim"; device: string; index: number; failed: boolean }
  | { kind: "pcifront_known" }
  | { kind: "pcifront_other" };

const MAY_BE_PCI = /^(?:\S+ [0-9a-f]{4,5}:[0-9a-f]{2}|pci|PCI host bridge)|host bridge|Root Bridge/;
const DEV = "([0-9a-f]{4,5}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7])";
const BUS = "([0-9a-f]{4,5}:[0-9a-f]{2})";
const DEV_PREFIX = new RegExp(`^(\\S+) ${DEV}: (.*)$`);
const BUS_PREFIX = new RegExp(`^pci_bus ${BUS}: (.*)$`);
const PCIFRONT = /^pcifront (\S+): (.*)$/;
const HOST_BRIDGE_TO = new RegExp(`PCI host bridge to bus ${BUS}`);
const HOST_WINDOW = /^(?:\S+ \S+: )?host bridge window (\[[^\]]*\])(.*)$/;
const ROOT_BRIDGE =
  /^(?:ACPI: )?PCI:? Root Bridge \[[^\]]*\] \(domain ([0-9a-f]{4,5}) \[bus ([0-9a-f]{2})/;
const HEADER = /^\[([0-9a-f]{4}):([0-9a-f]{4})\] type ([0-9a-f]{1,2}) class 0x[0-9a-f]{4,6}/;
const INITIAL = /^(?:reg (?:0x)?[0-9a-f]{1,4}|BAR \d{1,2}|ROM|VF BAR \d): initial BAR value/;
const REG = /^reg (?:0x)?([0-9a-f]{1,4}): (\[[^\]]*\])\s*$/;
const REG_2629 = /^reg ([0-9a-f]{1,4}) (32bit mmio|64bit mmio|io port)( pref)?: (\[[^\]]*\])\s*$/;
const NEW_RES = /^(?:BAR (\d)|ROM|VF BAR (\d)|bridge window) (\[[^\]]*\])(.*)$/;
const OLD_VF = /^VF\(n\) BAR(\d) space: (\[[^\]]*\])/;
const OLD_ASSIGN = /^BAR (\d{1,2}): (assigned|reassigned) (\[[^\]]*\])/;
const OLD_FAIL = /^BAR (\d{1,2}): (failed to assign|can't assign|releasing) (.*)$/;
/** "no space for" / "can't assign; no space" precede a retry at the firmware address. */
const OLD_NO_SPACE = /^BAR \d{1,2}: no space for /;
const OLD_CLAIM_FAIL = /^can't claim BAR (\d{1,2}) (\[[^\]]*\])/;
const SIZE_ONLY = /^(mem|io|mem pref) \(size (0x[0-9a-f]{1,16})\)/;
const BRIDGE_TO = /^PCI bridge to \[bus /;
const WINDOW = /^bridge window (\[[^\]]*\])(.*)$/;
const REMOVED = /^(?:removing\b|removed\b|Removing from iommu group|hot-?remove)/i;
const ADD_FAILED = /Failed to add - passthrough or MSI\/MSI-X might fail/;

/**
 * True when the line may be a PCI line (cheap test before {@link classifyPciLine}).
 *
 * @example
 * ```ts
 * import { mayBePci } from "./pci_text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mayBePci("pci 0000:00:02.0: reg 0x10: [mem 0xf7800000-0xf7bfffff 64bit]"), true);
 * assert.equal(mayBePci("Linux version 3.12.0"), false);
 * ```
 */
export function mayBePci(text: string): boolean {
  return MAY_BE_PCI.test(text);
}

/**
 * Classifies one PCI line (prefixes stripped). Returns undefined when it is not a PCI line.
 *
 * @example
 * ```ts
 * import { classifyPciLine } from "./pci_text.ts";
 * import assert from "node:assert/strict";
 * const bar = classifyPciLine("pci 0000:01:00.0: reg 0x10: [mem 0xf0000000-0xf0003fff 64bit]");
 * assert.equal(bar?.kind, "bar_read");
 * assert.equal(bar?.kind === "bar_read" && bar.reg, 0x10);
 * const assigned = classifyPciLine("pci 0000:00:04.0: BAR 0 [mem 0xf1800000-0xf1803fff]: assigned");
 * assert.equal(assigned?.kind === "assign" && assigned.action, "assigned");
 * assert.deepEqual(classifyPciLine("pcifront pci-0: claiming resource 0000:83:00.0/6"),
 *   { kind: "pcifront_claim", device: "0000:83:00.0", index: 6, failed: false });
 * ```
 */
export function classifyPciLine(text: string): PciLine | undefined {
  let m: RegExpExecArray | null;
  if ((m = HOST_BRIDGE_TO.exec(text)) !== null) return { kind: "host_bridge_to", bus: m[1] };
  if ((m = BUS_PREFIX.exec(text)) !== null) return busLine(m[1], m[2]);
  if ((m = PCIFRONT.exec(text)) !== null) return pcifrontLine(m[2]);
  if ((m = DEV_PREFIX.exec(text)) !== null) return deviceLine(m[2], m[3].trim());
  if ((m = HOST_WINDOW.exec(text)) !== null) {
    const resource = parseResourceText(m[1]);
    if (resource) {
      return { kind: "host_bridge_window", resource, ignored: /^ \(ignored/.test(m[2]) };
    }
    return undefined;
  }
  if ((m = ROOT_BRIDGE.exec(text)) !== null) {
    return { kind: "root_bridge", bus: `${m[1].padStart(4, "0")}:${m[2]}` };
  }
  return undefined;
}

function busLine(bus: string, rest: string): PciLine {
  const m = /^root bus resource (\[[^\]]*\])/.exec(rest);
  if (m) {
    const resource = parseResourceText(m[1]);
    if (resource) return { kind: "root_resource", bus, resource };
  }
  return { kind: "bus_other", bus };
}

function pcifrontLine(rest: string): PciLine {
  let m = /^(?:Creating|Rescanning) PCI Frontend Bus ([0-9a-f]{4,5}:[0-9a-f]{2})/.exec(rest);
  if (m) return { kind: "pcifront_bus", bus: m[1] };
  m = new RegExp(`^(claiming|Could not claim) resource ${DEV}/(\\d{1,2})`).exec(rest);
  if (m) {
    return {
      kind: "pcifront_claim",
      device: m[2],
      index: Number(m[3]),
      failed: m[1] !== "claiming",
    };
  }
  if (
    /^(?:Installing PCI frontend|PCI host bridge to bus|Allocated pdev|Connecting PCI Frontend|Disconnecting PCI Frontend)/
      .test(rest)
  ) {
    return { kind: "pcifront_known" };
  }
  return { kind: "pcifront_other" };
}

function deviceLine(device: string, rest: string): PciLine {
  let m: RegExpExecArray | null;
  if ((m = HEADER.exec(rest)) !== null) {
    return { kind: "device_header", device, headerType: parseInt(m[3], 16) };
  }
  if (INITIAL.test(rest)) return { kind: "initial_bar_invalid", device, text: rest };
  if ((m = REG.exec(rest)) !== null) {
    const resource = parseResourceText(m[2]);
    if (resource) return { kind: "bar_read", device, reg: parseInt(m[1], 16), resource };
  }
  if ((m = REG_2629.exec(rest)) !== null) {
    const resource = parseResourceText(m[4]);
    if (resource) {
      // v2.6.29-2.6.30 printed the BAR type in words and a %pR without the type word.
      resource.type = m[2] === "io port" ? "io" : "mem";
      resource.mem64 = m[2] === "64bit mmio";
      resource.pref = m[3] !== undefined;
      return { kind: "bar_read", device, reg: parseInt(m[1], 16), resource };
    }
  }
  if ((m = NEW_RES.exec(rest)) !== null) return newResourceLine(device, m);
  if ((m = OLD_VF.exec(rest)) !== null) {
    const resource = parseResourceText(m[2]);
    if (resource) return { kind: "iov_total", device, index: 7 + Number(m[1]), resource };
  }
  if ((m = OLD_ASSIGN.exec(rest)) !== null) {
    const resource = parseResourceText(m[3]);
    if (resource) {
      return {
        kind: "assign",
        device,
        index: Number(m[1]),
        resource,
        action: m[2] as "assigned" | "reassigned",
      };
    }
  }
  if ((m = OLD_FAIL.exec(rest)) !== null) {
    const resource = findResourceText(m[3])?.resource ?? sizeOnly(m[3]);
    if (resource) {
      return {
        kind: "assign",
        device,
        index: Number(m[1]),
        resource,
        action: m[2] === "releasing" ? "released" : "failed",
      };
    }
  }
  if (OLD_NO_SPACE.test(rest)) return { kind: "device_other", device };
  if ((m = OLD_CLAIM_FAIL.exec(rest)) !== null) {
    const resource = parseResourceText(m[2]);
    if (resource) {
      return { kind: "assign", device, index: Number(m[1]), resource, action: "failed" };
    }
  }
  if (BRIDGE_TO.test(rest)) return { kind: "bridge_to", device };
  if ((m = WINDOW.exec(rest)) !== null) {
    const resource = parseResourceText(m[1]);
    if (resource) {
      return {
        kind: "bridge_window",
        device,
        resource,
        subtractive: m[2].includes("subtractive"),
      };
    }
  }
  if (REMOVED.test(rest)) return { kind: "removed", device };
  if (ADD_FAILED.test(rest)) return { kind: "add_failed", device, text: rest };
  if (/^BAR \d+: assigned to efifb/.test(rest)) return { kind: "device_other", device };
  // A resource line whose resource did not parse (wrapped, garbled, an unknown register).
  if (/^(?:reg |BAR |ROM |VF BAR |bridge window |VF\(n\) )/.test(rest)) {
    return { kind: "device_unparsed", device };
  }
  return { kind: "device_other", device };
}

/** v6.7+ `BAR 0 [...]`, `ROM [...]`, `VF BAR 0 [...]`, `bridge window [...]`, with a verb. */
function newResourceLine(device: string, m: RegExpExecArray): PciLine {
  const resource = parseResourceText(m[3]);
  if (!resource) {
    // Old kernels print a closed window as "[mem pref disabled]": nothing to record.
    const closed = /^\[(?:io|mem|mem pref) disabled\]$/.test(m[3]);
    return { kind: closed ? "device_other" : "device_unparsed", device };
  }
  const index = m[1] !== undefined
    ? Number(m[1])
    : m[2] !== undefined
    ? 7 + Number(m[2])
    : m[0].startsWith("ROM")
    ? 6
    : undefined;
  const verb = m[4].trim();
  const isWindow = index === undefined;
  if (verb === "" || (isWindow && verb === "(subtractive decode)")) {
    if (isWindow) return { kind: "bridge_window", device, resource, subtractive: verb !== "" };
    return { kind: "bar_read", device, index, resource };
  }
  if (/^: contains BAR \d+ for \d+ VFs/.test(verb) && index !== undefined && index >= 7) {
    return { kind: "iov_total", device, index, resource };
  }
  let action: AssignAction | undefined;
  if (/^: assigned\b/.test(verb)) action = "assigned";
  else if (/^: reassigned\b/.test(verb)) action = "reassigned";
  else if (/^: releasing\b/.test(verb)) action = "released";
  else if (/^: (?:failed to assign|can't claim)/.test(verb)) action = "failed";
  if (action === undefined) return { kind: "device_other", device };
  return { kind: "assign", device, index, resource, action };
}

/** The oldest failure wording: `can't assign mem (size 0x200000)`. */
function sizeOnly(text: string): ResourceText | undefined {
  const m = SIZE_ONLY.exec(text);
  if (!m) return undefined;
  const type = m[1] === "io" ? "io" : "mem";
  return parseResourceText(`[${type} size ${m[2]}${m[1] === "mem pref" ? " pref" : ""}]`);
}
