/**
 * Turns the PCI lines of a boot log, in order, into the PCI events the guest did.
 *
 * The kernel reads a device's BARs, ROM and SR-IOV BARs in `pci_setup_device` /
 * `pci_init_capabilities`, and only then calls `device_add`, which runs the Xen notifier
 * (`xen_add_device`, dom0 only). The log shows the first part (`[vvvv:dddd] type ...`, then
 * `reg 0x10: [...]` / `BAR 0 [...]` lines) but not the notifier, so this tracker keeps one
 * device **open** from its header line (or first BAR line) and completes it at the first of:
 *
 * - a line naming another PCI device, bus or host bridge (the kernel moved on);
 * - any resource assignment, claim or removal line, or a `PCI bridge to [bus ...]` line;
 * - Xen's own `(XEN) PCI add device` line for it (the hypercall arrived);
 * - the end of the boot.
 *
 * Lines of the same device that are not BAR reads (quirks, PME, capabilities) and lines that
 * are not PCI at all (other drivers printing meanwhile) do not complete it. A completed device
 * becomes a `device_added` item carrying the firmware values read for it; the importer turns
 * it into `xen_add_device` for dom0 and drops it for a domU (no notifier there).
 *
 * Bridge windows are read into the device only when its child bus is scanned
 * (`pci_read_bridge_bases`), after `device_add`, so they become `pci_resource_assign` with
 * action `claimed` after the device's add (v6.7+ logs print them before the add: they are
 * queued until it). Root buses become `pci_host_bridge` with the `root bus resource` windows,
 * or the ACPI `host bridge window` lines when the kernel printed no root bus resources.
 *
 * @module
 */

import type { Resource, ResourceAction } from "../../trace/event.ts";
import { PCI_RESOURCE } from "../../kernel/ioresource.ts";
import type { PciLine } from "./pci_text.ts";
import { resourceFlags, type ResourceRole, type ResourceText } from "./resource_text.ts";

/** What the tracker produces, in log order. */
export type PciItem =
  | { kind: "host_bridge"; bus: string; resources: Resource[]; time?: number }
  | { kind: "device_added"; device: string; resources: Resource[]; time?: number }
  | {
    kind: "assign";
    device: string;
    resource: Resource;
    action: ResourceAction;
    time?: number;
  }
  | { kind: "device_removed"; device: string; time?: number }
  | { kind: "mark"; text: string; time?: number };

/** Most windows kept per root bus (the trace format accepts 64 resources per event). */
export const MAX_WINDOWS = 64;

/** Most devices whose resources are remembered (for pcifront claims and window dedupe). */
export const MAX_KNOWN_DEVICES = 4096;

interface OpenDevice {
  device: string;
  resources: Map<number, Resource>;
  queued: { resource: Resource; time?: number }[];
  time?: number;
}

interface KnownDevice {
  headerType?: number;
  iovBaseReg?: number;
  resources: Map<number, Resource>;
}

interface OpenBus {
  bus: string;
  resources: Resource[];
  fromRoot: boolean;
  time?: number;
}

/** The PCI state machine. Feed it {@link PciLine}s; it calls `emit` with {@link PciItem}s. */
export class PciTracker {
  #emit: (item: PciItem) => void;
  #open: OpenDevice | undefined;
  #bus: OpenBus | undefined;
  #hostWindows: Resource[] = [];
  #known = new Map<string, KnownDevice>();
  #iovNumbering = false;
  /** Notes about decisions (deduplicated by the caller). */
  readonly notes: string[] = [];

  /** Creates a tracker that reports to `emit`. */
  constructor(emit: (item: PciItem) => void) {
    this.#emit = emit;
  }

  /**
   * Handles one PCI line. Returns false when the line was PCI but not understood (the caller
   * reports it).
   *
   * @example
   * ```ts
   * import { PciTracker, type PciItem } from "./pci_state.ts";
   * import { classifyPciLine } from "./pci_text.ts";
   * import assert from "node:assert/strict";
   * const items: PciItem[] = [];
   * const t = new PciTracker((i) => items.push(i));
   * for (const l of [
   *   "pci 0000:01:00.0: [10de:1234] type 00 class 0x030000",
   *   "pci 0000:01:00.0: reg 0x10: [mem 0xf0000000-0xf0ffffff]",
   *   "pci 0000:01:00.0: reg 0x14: [mem 0x3c0000000-0x3cfffffff 64bit pref]",
   * ]) t.line(classifyPciLine(l)!, 0.5);
   * t.finish();
   * assert.deepEqual(items, [{ kind: "device_added", device: "0000:01:00.0", time: 0.5,
   *   resources: [
   *     { index: 0, start: 0xf0000000, end: 0xf0ffffff, flags: 0x40200 },
   *     { index: 1, start: 0x3c0000000, end: 0x3cfffffff, flags: 0x14220c },
   *   ] }]);
   * ```
   */
  line(p: PciLine, time: number | undefined): boolean {
    // A closed window (base above limit, v6.x prints it "disabled") holds no addresses.
    if ("resource" in p && p.resource.end < p.resource.start) return this.#closedWindow(p);
    switch (p.kind) {
      case "device_header": {
        this.#closeAll();
        const known = this.#knownDevice(p.device, true);
        known.headerType = p.headerType;
        known.iovBaseReg = undefined;
        known.resources.clear();
        this.#open = { device: p.device, resources: new Map(), queued: [], time };
        return true;
      }
      case "bar_read": {
        const open = this.#openFor(p.device, time);
        const known = this.#knownDevice(p.device, true);
        const index = p.index ?? barIndexFromReg(p.reg ?? -1, known);
        if (index === undefined) return false;
        const r = toResource(index, p.resource, roleOf(index));
        open.resources.set(index, r);
        known.resources.set(index, r);
        open.time = time;
        return true;
      }
      case "iov_total": {
        this.#iovNumbering = true;
        const r = toResource(p.index, p.resource, "bar");
        if (this.#open?.device === p.device) {
          this.#open.resources.set(p.index, r);
          this.#open.time = time;
        }
        this.#knownDevice(p.device, true).resources.set(p.index, r);
        return true;
      }
      case "initial_bar_invalid":
        if (this.#open && this.#open.device !== p.device) this.#closeDevice();
        this.#emit({ kind: "mark", text: `pci ${p.device}: ${p.text}`, time });
        return true;
      case "assign": {
        this.#closeAll();
        const known = this.#knownDevice(p.device, true);
        let index = p.index ?? windowIndex(p.resource);
        if (index === undefined) return false;
        index = this.#normaliseIndex(index, known);
        if (index >= PCI_RESOURCE.BRIDGE_IO) this.#iovNumbering = true;
        const r = toResource(index, p.resource, roleOf(index));
        if (p.action !== "failed" && p.action !== "released") known.resources.set(index, r);
        this.#emit({ kind: "assign", device: p.device, resource: r, action: p.action, time });
        return true;
      }
      case "bridge_to":
        this.#closeAll();
        this.#knownDevice(p.device, true).headerType ??= 1;
        return true;
      case "bridge_window":
        return this.#bridgeWindow(p.device, p.resource, p.subtractive, time);
      case "removed":
        this.#closeAll();
        this.#known.delete(p.device);
        this.#emit({ kind: "device_removed", device: p.device, time });
        return true;
      case "add_failed":
        this.#closeAll();
        this.#emit({ kind: "mark", text: `pci ${p.device}: ${p.text}`, time });
        return true;
      case "device_other":
      case "device_unparsed":
        if (this.#open?.device === p.device) this.#open.time = time;
        else this.#closeDevice();
        return p.kind === "device_other";
      case "root_resource":
        return this.#rootResource(p.bus, p.resource, time);
      case "bus_other":
        this.#closeDevice();
        if (this.#bus && this.#bus.bus !== p.bus) this.#closeBus();
        return true;
      case "host_bridge_to":
        this.#closeDevice();
        if (this.#bus?.bus === p.bus) return true;
        this.#closeBus();
        this.#bus = { bus: p.bus, resources: this.#hostWindows, fromRoot: false, time };
        this.#hostWindows = [];
        return true;
      case "host_bridge_window":
        if (!p.ignored && p.resource.type !== "bus" && this.#hostWindows.length < MAX_WINDOWS) {
          this.#hostWindows.push(toResource(0, p.resource, "root_window"));
        }
        return true;
      case "root_bridge":
        this.#closeAll();
        this.#hostWindows = [];
        return true;
      case "pcifront_bus":
        this.#closeAll();
        this.#bus = { bus: p.bus, resources: [], fromRoot: false, time };
        return true;
      case "pcifront_claim": {
        this.#closeAll();
        const r = this.#known.get(p.device)?.resources.get(p.index);
        const action = p.failed ? "failed" : "claimed";
        // A refusal ("Could not claim") after "claiming" is resolved by the importer: the
        // claim it refuses ends failed, one event (see DmesgImporter's claim book-keeping).
        if (r) this.#emit({ kind: "assign", device: p.device, resource: r, action, time });
        else {
          this.#emit({
            kind: "mark",
            text: `pcifront ${action === "failed" ? "failed to claim" : "claimed"} ` +
              `${p.device}/${p.index}, whose value the log does not show`,
            time,
          });
        }
        return true;
      }
      case "pcifront_known":
        return true;
      case "pcifront_other":
        return false;
    }
  }

  #closedWindow(p: PciLine): boolean {
    if (p.kind === "bridge_window" || p.kind === "assign") {
      if (this.#open && this.#open.device !== p.device) this.#closeAll();
      return true;
    }
    return false;
  }

  /** Xen printed `(XEN) PCI add device <device>`: the notifier ran, the device is complete. */
  xenPciAdd(device: string): void {
    if (this.#open?.device === device) this.#closeDevice();
  }

  /** Completes whatever is open (end of the boot). */
  finish(): void {
    this.#closeAll();
  }

  #bridgeWindow(
    device: string,
    res: ResourceText,
    subtractive: boolean,
    time: number | undefined,
  ): boolean {
    if (subtractive) return true;
    const index = windowIndex(res);
    if (index === undefined) return false;
    const r = toResource(index, res, "bridge_window");
    const known = this.#knownDevice(device, true);
    known.headerType ??= 1;
    if (this.#open?.device === device) {
      this.#open.queued.push({ resource: r, time });
      known.resources.set(index, r);
      return true;
    }
    this.#closeAll();
    const before = known.resources.get(index);
    if (before && before.start === r.start && before.end === r.end) return true;
    known.resources.set(index, r);
    this.#emit({ kind: "assign", device, resource: r, action: "claimed", time });
    return true;
  }

  #rootResource(bus: string, res: ResourceText, time: number | undefined): boolean {
    this.#closeDevice();
    if (this.#bus && this.#bus.bus !== bus) this.#closeBus();
    if (!this.#bus) {
      this.#bus = { bus, resources: [], fromRoot: true, time };
      this.#hostWindows = [];
    } else if (!this.#bus.fromRoot) {
      // The kernel's own list supersedes the ACPI lines printed before it.
      this.#bus.resources = [];
      this.#bus.fromRoot = true;
    }
    if (res.type !== "bus" && this.#bus.resources.length < MAX_WINDOWS) {
      this.#bus.resources.push(
        toResource(this.#bus.resources.length, res, "root_window"),
      );
    }
    return true;
  }

  /** Bridge windows of a kernel without CONFIG_PCI_IOV are 7-10; traces number them 13-16. */
  #normaliseIndex(index: number, known: KnownDevice): number {
    if (
      !this.#iovNumbering && known.headerType === 1 &&
      index >= PCI_RESOURCE.NO_IOV_BRIDGE_FIRST && index <= PCI_RESOURCE.NO_IOV_BRIDGE_FIRST + 3
    ) {
      const note = "bridge resources 7-10 (a kernel without CONFIG_PCI_IOV) were renumbered 13-16";
      if (!this.notes.includes(note)) this.notes.push(note);
      return index + (PCI_RESOURCE.BRIDGE_IO - PCI_RESOURCE.NO_IOV_BRIDGE_FIRST);
    }
    return index;
  }

  #openFor(device: string, time: number | undefined): OpenDevice {
    if (this.#open?.device === device) return this.#open;
    this.#closeAll();
    this.#open = { device, resources: new Map(), queued: [], time };
    return this.#open;
  }

  #knownDevice(device: string, create: boolean): KnownDevice {
    let k = this.#known.get(device);
    if (!k) {
      k = { resources: new Map() };
      if (create && this.#known.size < MAX_KNOWN_DEVICES) this.#known.set(device, k);
    }
    return k;
  }

  #closeAll(): void {
    this.#closeDevice();
    this.#closeBus();
  }

  #closeDevice(): void {
    const open = this.#open;
    if (!open) return;
    this.#open = undefined;
    const resources = [...open.resources.values()].sort((a, b) => a.index - b.index);
    this.#emit({ kind: "device_added", device: open.device, resources, time: open.time });
    for (const q of open.queued) {
      this.#emit({
        kind: "assign",
        device: open.device,
        resource: q.resource,
        action: "claimed",
        time: q.time,
      });
    }
  }

  #closeBus(): void {
    const bus = this.#bus;
    if (!bus) return;
    this.#bus = undefined;
    this.#emit({ kind: "host_bridge", bus: bus.bus, resources: bus.resources, time: bus.time });
  }
}

/**
 * The resource index of a BAR read printed by its config-space register (`reg 0x10`):
 * 0x10-0x24 are BARs 0-5, 0x30 (type 0) and 0x38 (type 1) the ROM, and registers in
 * extended config space are SR-IOV VF BARs, numbered from the first one the device printed.
 *
 * @example
 * ```ts
 * import { barIndexFromReg } from "./pci_state.ts";
 * import assert from "node:assert/strict";
 * assert.equal(barIndexFromReg(0x18, { resources: new Map() }), 2);
 * assert.equal(barIndexFromReg(0x30, { resources: new Map() }), 6);
 * const pf = { resources: new Map() };
 * assert.equal(barIndexFromReg(0x184, pf), 7);
 * assert.equal(barIndexFromReg(0x18c, pf), 9);
 * ```
 */
export function barIndexFromReg(
  reg: number,
  device: { iovBaseReg?: number; resources: Map<number, Resource> },
): number | undefined {
  if (reg >= 0x10 && reg <= 0x24 && reg % 4 === 0) return (reg - 0x10) / 4;
  if (reg === 0x30 || reg === 0x38) return PCI_RESOURCE.ROM;
  if (reg >= 0x100 && reg % 4 === 0) {
    device.iovBaseReg ??= reg;
    const index = PCI_RESOURCE.IOV_FIRST + (reg - device.iovBaseReg) / 4;
    if (index >= PCI_RESOURCE.IOV_FIRST && index <= PCI_RESOURCE.IOV_LAST) return index;
  }
  return undefined;
}

/** Bridge window index by type: I/O 13, memory 14, prefetchable memory 15. */
function windowIndex(r: ResourceText): number | undefined {
  if (r.type === "io") return PCI_RESOURCE.BRIDGE_IO;
  if (r.type === "mem") return r.pref ? PCI_RESOURCE.BRIDGE_PREF_MEM : PCI_RESOURCE.BRIDGE_MEM;
  return undefined;
}

function roleOf(index: number): ResourceRole {
  if (index === PCI_RESOURCE.ROM) return "rom";
  if (index >= PCI_RESOURCE.BRIDGE_IO) return "bridge_window";
  return "bar";
}

function toResource(index: number, r: ResourceText, role: ResourceRole): Resource {
  return { index, start: r.start, end: r.end, flags: resourceFlags(r, role) };
}
