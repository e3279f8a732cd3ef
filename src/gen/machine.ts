/**
 * The generated machine both generators describe: a Xen host's firmware memory map, a dom0
 * built with part of its RAM, PCI root buses with their windows and tens of devices with BARs.
 * Everything is drawn from a {@link Prng}, so one seed is one machine. The trace generator
 * (`trace_gen.ts`) turns it into events, the dmesg generator (`dmesg_gen.ts`) into the lines a
 * kernel would print about it.
 *
 * Layout choices (so the normal mix replays without anomalies under every policy):
 * device BARs at boot sit in the 32-bit PCI hole below 4 GiB, which every policy's boot pass
 * makes identity; the 64-bit windows of the root buses start at 224 GiB, above any RAM, and
 * only the late hot-added device (the one planted finding) has a BAR there.
 *
 * @module
 */

import { E820_TYPE } from "../trace/event.ts";
import { IORESOURCE } from "../kernel/ioresource.ts";
import type { Prng } from "./prng.ts";

/** Bytes per page. */
export const PAGE = 4096;
/** Bytes per GiB. */
export const GIB = 2 ** 30;
/** Pages per memory section (hotplug granularity, 128 MiB). */
export const SECTION_PAGES = 32768;

/** One raw E820 entry, `[start, end)` in bytes (end exclusive here; the trace writes end - 1). */
export interface GenE820 {
  /** First byte. */
  start: number;
  /** One past the last byte. */
  end: number;
  /** Numeric E820 type ({@link E820_TYPE}). */
  type: number;
}

/** A PCI resource as the generators write it (`end` inclusive, as the kernel holds it). */
export interface GenResource {
  /** Resource index (0-5 BARs, 6 ROM). */
  index: number;
  /** First byte or port. */
  start: number;
  /** Last byte or port. */
  end: number;
  /** IORESOURCE_* flags. */
  flags: number;
  /** Where the BAR goes when the generator reassigns it (memory BARs only). */
  altStart?: number;
}

/** A PCI device. */
export interface GenDevice {
  /** `segment:bus:dev.fn`. */
  name: string;
  /** Vendor and device ids as the kernel prints them (`8086:10c9`). */
  ids: string;
  /** PCI class code (`0x020000`). */
  classCode: string;
  /** Driver name used in lookups and log lines. */
  driver: string;
  /** Resources as firmware assigned them. */
  resources: GenResource[];
}

/** A root bus (host bridge) with its windows. */
export interface GenBus {
  /** `segment:bus`. */
  name: string;
  /** Windows (`flags` include IORESOURCE_WINDOW). */
  windows: GenResource[];
  /** The 64-bit window: where the late device's BAR goes. */
  window64: GenResource;
}

/** The generated machine. */
export interface GenMachine {
  /** Raw (machine) E820 map, sorted, non-overlapping. */
  e820: GenE820[];
  /** Host RAM in bytes. */
  hostRamBytes: number;
  /** End of the 32-bit RAM below the PCI hole (bytes). */
  lowRamEnd: number;
  /** End of the last E820 entry (bytes). */
  mapEnd: number;
  /** dom0's `start_info->nr_pages`. */
  nrPages: number;
  /** Root buses. */
  buses: GenBus[];
  /** Devices present at boot. */
  devices: GenDevice[];
  /** The device hot-added late with a BAR above the E820 map (the planted finding). */
  lateDevice: GenDevice;
  /** PFN ranges `[pfn, endPfn)` that are dom0 RAM under every policy (balloon-out pool). */
  ramPool: [number, number][];
  /** First PFN of the memory the generator hot-adds (section aligned, above the map). */
  hotplugBasePfn: number;
  /** Kernel release in the header and log. */
  kernel: string;
  /** Hypervisor version. */
  xen: string;
}

const MIB = 2 ** 20;

const DEVICE_KINDS: readonly {
  ids: string;
  classCode: string;
  driver: string;
  bar0: number;
  bar2?: number;
  io?: number;
  rom?: number;
}[] = [
  { ids: "8086:10c9", classCode: "0x020000", driver: "igb", bar0: 0x20000, io: 0x20 },
  { ids: "8086:1521", classCode: "0x020000", driver: "igb", bar0: 0x100000, bar2: 0x4000 },
  { ids: "14e4:165f", classCode: "0x020000", driver: "tg3", bar0: 0x10000, bar2: 0x10000 },
  { ids: "15b3:1017", classCode: "0x020000", driver: "mlx5_core", bar0: 0x2000000 },
  { ids: "1000:0097", classCode: "0x010700", driver: "mpt3sas", bar0: 0x10000, io: 0x100 },
  { ids: "144d:a808", classCode: "0x010802", driver: "nvme", bar0: 0x4000 },
  { ids: "8086:0953", classCode: "0x010802", driver: "nvme", bar0: 0x4000, rom: 0x10000 },
  { ids: "8086:8c31", classCode: "0x0c0330", driver: "xhci_hcd", bar0: 0x10000 },
  { ids: "102b:0522", classCode: "0x030000", driver: "mgag200", bar0: 0x1000000, rom: 0x10000 },
  { ids: "10de:1db4", classCode: "0x030200", driver: "nvidia", bar0: 0x1000000, bar2: 0x2000000 },
];

function align(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** A bump allocator over a list of address ranges `[start, end)`. */
class Space {
  #ranges: [number, number][];
  #i = 0;
  #next: number;
  constructor(ranges: [number, number][]) {
    this.#ranges = ranges;
    this.#next = ranges[0][0];
  }
  /** `size` bytes aligned to `alignTo`, or undefined when full. */
  take(size: number, alignTo: number): number | undefined {
    while (this.#i < this.#ranges.length) {
      const start = align(this.#next, alignTo);
      if (start + size <= this.#ranges[this.#i][1]) {
        this.#next = start + size;
        return start;
      }
      this.#i++;
      if (this.#i < this.#ranges.length) this.#next = this.#ranges[this.#i][0];
    }
    return undefined;
  }
}

const MEM32 = IORESOURCE.MEM | IORESOURCE.SIZEALIGN; // 0x40200
const MEM64_PREF = IORESOURCE.MEM | IORESOURCE.SIZEALIGN | IORESOURCE.MEM_64 |
  IORESOURCE.PREFETCH | 0x0c; // 0x14220c
const IO_BAR = IORESOURCE.IO | IORESOURCE.SIZEALIGN | 0x01; // 0x40101
const ROM = IORESOURCE.MEM | IORESOURCE.SIZEALIGN | IORESOURCE.READONLY |
  IORESOURCE.CACHEABLE | IORESOURCE.PREFETCH; // 0x4e200

/**
 * Draws a machine from `rng`.
 *
 * @example
 * ```ts
 * import { drawMachine } from "./machine.ts";
 * import { Prng } from "./prng.ts";
 * import assert from "node:assert/strict";
 * const m = drawMachine(new Prng(1));
 * assert.ok(m.devices.length >= 20 && m.devices.length <= 60);
 * assert.ok(m.e820.every((e, i) => i === 0 || m.e820[i - 1].end <= e.start));
 * ```
 */
export function drawMachine(rng: Prng): GenMachine {
  const hostGiB = rng.pick([8, 16, 24, 32, 48, 64]);
  const hostRamBytes = hostGiB * GIB;
  const lowEnd0 = rng.pick([0x9c000, 0x9d800, 0xa0000]);
  const lowRamEnd = 0xa0000000 + rng.int(0x1e0) * MIB + rng.pick([0, 0x7a000, 0x9e000]);
  const e820: GenE820[] = [{ start: 0, end: lowEnd0, type: E820_TYPE.ram }];
  if (lowEnd0 < 0xa0000) e820.push({ start: lowEnd0, end: 0xa0000, type: E820_TYPE.reserved });
  e820.push({ start: 0xe0000, end: 0x100000, type: E820_TYPE.reserved });
  e820.push({ start: 0x100000, end: lowRamEnd, type: E820_TYPE.ram });
  // Firmware tables between the end of low RAM and the PCI hole.
  let at = lowRamEnd;
  for (const type of [E820_TYPE.reserved, E820_TYPE.acpi, E820_TYPE.nvs]) {
    const end = at + (rng.range(1, 0x50)) * PAGE;
    e820.push({ start: at, end, type });
    at = end;
  }
  e820.push({ start: at, end: 0xc0000000, type: E820_TYPE.reserved });
  e820.push({ start: 0xe0000000, end: 0xf0000000, type: E820_TYPE.reserved }); // MMCONFIG
  e820.push({ start: 0xfec00000, end: 0xfec01000, type: E820_TYPE.reserved });
  e820.push({ start: 0xfee00000, end: 0xfee01000, type: E820_TYPE.reserved });
  e820.push({ start: 0xff000000, end: 0x100000000, type: E820_TYPE.reserved });
  const highEnd = 0x100000000 + hostRamBytes - lowRamEnd;
  const highRamEnd = Math.floor(highEnd / MIB) * MIB;
  e820.push({ start: 0x100000000, end: highRamEnd, type: E820_TYPE.ram });
  const mapEnd = highRamEnd;

  // dom0_mem=X,max:X: a part of the host, no extra memory, so the balloon starts empty.
  const dom0GiB = Math.min(rng.pick([2, 4, 8, 16]), hostGiB / 2);
  const nrPages = dom0GiB * (GIB / PAGE) - rng.int(4) * 256;
  const lowRamPfn = Math.floor(lowRamEnd / PAGE);
  const ramPool: [number, number][] = [[0x1000, Math.min(lowRamPfn, nrPages)]];
  if (nrPages > 0x100000) ramPool.push([0x100000, nrPages]);

  const nBuses = rng.range(1, 4);
  const hole: [number, number][] = [[0xc0000000, 0xe0000000], [0xf0000000, 0xfec00000]];
  const share = Math.floor((0xe0000000 - 0xc0000000) / nBuses / MIB) * MIB;
  const buses: GenBus[] = [];
  const spaces: Space[] = [];
  for (let b = 0; b < nBuses; b++) {
    const busNo = b * 0x40;
    const name = `0000:${busNo.toString(16).padStart(2, "0")}`;
    const ranges: [number, number][] = [[hole[0][0] + b * share, hole[0][0] + (b + 1) * share]];
    if (b === 0) ranges.push(hole[1]);
    const window64: GenResource = {
      index: 0,
      start: 0x3800000000 + b * 0x1000000000,
      end: 0x3800000000 + (b + 1) * 0x1000000000 - 1,
      flags: IORESOURCE.MEM | IORESOURCE.WINDOW | IORESOURCE.MEM_64 | IORESOURCE.PREFETCH,
    };
    const io0 = b === 0 ? 0x0 : 0x1000 * b * 4;
    const windows: GenResource[] = [
      { index: 0, start: io0, end: io0 + 0x3fff, flags: IORESOURCE.IO | IORESOURCE.WINDOW },
      ...ranges.map(([s, e], i) => ({
        index: i + 1,
        start: s,
        end: e - 1,
        flags: IORESOURCE.MEM | IORESOURCE.WINDOW,
      })),
      { ...window64, index: ranges.length + 1 },
    ];
    buses.push({ name, windows, window64 });
    spaces.push(new Space(ranges));
  }

  const nDevices = rng.range(20, 60);
  const devices: GenDevice[] = [];
  const ioNext = buses.map((_, b) => (b === 0 ? 0xc000 : 0x1000 * b * 4 + 0x1000));
  for (let j = 0; j < nDevices; j++) {
    const b = j % nBuses;
    const k = Math.floor(j / nBuses);
    const busNo = b * 0x40 + 1 + Math.floor(k / 4);
    const name = `0000:${busNo.toString(16).padStart(2, "0")}:${
      (k % 4).toString(16).padStart(2, "0")
    }.0`;
    const kind = rng.pick(DEVICE_KINDS);
    const resources: GenResource[] = [];
    const memBar = (index: number, size: number, flags: number) => {
      // Two slots per BAR: the firmware's and the one a reassignment moves it to.
      const start = spaces[b].take(2 * size, size);
      if (start === undefined) return;
      resources.push({ index, start, end: start + size - 1, flags, altStart: start + size });
    };
    memBar(0, kind.bar0, MEM32);
    if (kind.bar2 !== undefined) memBar(2, kind.bar2, MEM64_PREF);
    if (kind.io !== undefined) {
      const start = align(ioNext[b], kind.io);
      ioNext[b] = start + kind.io;
      resources.push({ index: 4, start, end: start + kind.io - 1, flags: IO_BAR });
    }
    if (kind.rom !== undefined) memBar(6, kind.rom, ROM);
    devices.push({
      name,
      ids: kind.ids,
      classCode: kind.classCode,
      driver: kind.driver,
      resources,
    });
  }

  // The late device: a GPU behind the last root bus, BAR 1 in its 64-bit window.
  const lb = buses[nBuses - 1];
  const lateBusNo = (nBuses - 1) * 0x40 + 0x30;
  const late32 = spaces[nBuses - 1].take(0x1000000, 0x1000000);
  const lateResources: GenResource[] = [];
  if (late32 !== undefined) {
    lateResources.push({ index: 0, start: late32, end: late32 + 0xffffff, flags: MEM32 });
  }
  const bar1 = lb.window64.start + rng.int(8) * 0x40000000;
  lateResources.push({ index: 1, start: bar1, end: bar1 + 0x3fffffff, flags: MEM64_PREF });
  const lateDevice: GenDevice = {
    name: `0000:${lateBusNo.toString(16)}:00.0`,
    ids: "10de:1db4",
    classCode: "0x030200",
    driver: "nvidia",
    resources: lateResources,
  };

  const hotplugBasePfn = align(mapEnd / PAGE, SECTION_PAGES);
  return {
    e820,
    hostRamBytes,
    lowRamEnd,
    mapEnd,
    nrPages,
    buses,
    devices,
    lateDevice,
    ramPool,
    hotplugBasePfn,
    kernel: "3.12.6",
    xen: "4.3.1",
  };
}
