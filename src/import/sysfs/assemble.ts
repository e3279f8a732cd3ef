/**
 * `record`'s core: reads a guest's sysfs/procfs/debugfs through a {@link SysfsReader} and
 * assembles a trace of that machine — header (guest facts with their derivation), raw `e820`
 * events rebuilt from `/sys/firmware/memmap`, `memory_setup`, `pci_host_bridge` from the root
 * windows of `/proc/iomem` and `/proc/ioports`, `xen_add_device` per PCI device (dom0) followed
 * by `pci_resource_assign` (`claimed`) for bridge windows, `balloon_init`, `mark`s for facts
 * without an event, and the `p2m_dump`.
 *
 * Nothing here throws for a missing, unreadable or malformed file: each becomes a note (a `mark`
 * at the start of the trace, and a line on stderr from the CLI). The order of events follows
 * the boot: memory setup, PCI scan and notifier (ACPI's root-bus scan runs before the balloon
 * driver's initcall), bridge windows read and claimed after their devices were notified, then
 * the balloon, then what the guest shows now.
 *
 * @module
 */

import { TOOL_NAME, TOOL_VERSION } from "../../version.ts";
import type { E820Event, GuestType, Resource, TraceEvent } from "../../trace/event.ts";
import { E820_TYPE } from "../../trace/event.ts";
import { sha256Id } from "../../trace/sha.ts";
import { hex } from "../../trace/hex.ts";
import type { HeaderInit } from "../../trace/write.ts";
import { dumpLines, P2M_DUMP_PATH, parseP2mDump } from "../../p2m/debugfs_parse.ts";
import { IORESOURCE, ioresourceFlags } from "../../kernel/ioresource.ts";
import type { SysfsReader } from "./reader.ts";
import { type E820Range, MEMMAP_DIR, parseMemmapEntry, reconstructRawMap } from "./memmap.ts";
import {
  addressesHidden,
  e820FromIomem,
  hostBridgeWindows,
  type IomemNode,
  parseIomem,
  xenScratchRegions,
} from "./iomem.ts";
import {
  parseHexFile,
  parseResourceFile,
  PCI_DEVICE_NAME,
  PCI_DEVICES_DIR,
  sortDevices,
  splitResources,
} from "./pci.ts";
import { BALLOON_DIR, balloonEstimates, type BalloonState, parseDecimalFile } from "./balloon.ts";
import {
  decideDomain,
  decideGuestType,
  type HypervisorFiles,
  parseFeatures,
  xenVersion,
} from "./hypervisor.ts";

/** XEN_PCI_DEV_VIRTFN: the device is an SR-IOV virtual function. */
export const XEN_PCI_DEV_VIRTFN = 0x2;

/** What `record` produced: a header, its events, and the notes about what was missing. */
export interface Recording {
  /** Header fields (format and version are filled in by the writer). */
  header: HeaderInit;
  /** Events with `seq` from 1. */
  events: TraceEvent[];
  /** Notes, in the order they arose (each is also a `mark` in `events`). */
  notes: string[];
}

/** Reader wrapper that remembers what was read, for the recording id. */
class Source {
  readonly notes: string[] = [];
  readonly #seen: string[] = [];

  constructor(readonly reader: SysfsReader) {}

  /** Reads a file; a failure is a note unless `optional`. */
  async text(path: string, consequence?: string, optional = false): Promise<string | undefined> {
    const r = await this.reader.read(path);
    if (r.ok) {
      this.#seen.push(`${path}\0${r.value}`);
      return r.value;
    }
    if (!optional) this.note(`${path}: ${r.reason}${consequence ? `: ${consequence}` : ""}`);
    return undefined;
  }

  async list(path: string, consequence: string): Promise<string[] | undefined> {
    const r = await this.reader.list(path);
    if (r.ok) {
      this.#seen.push(`${path}/\0${r.value.join("\n")}`);
      return r.value;
    }
    this.note(`${path}: ${r.reason}: ${consequence}`);
    return undefined;
  }

  async link(path: string): Promise<string | undefined> {
    const r = await this.reader.link(path);
    if (!r.ok) return undefined;
    this.#seen.push(`${path}@\0${r.value}`);
    return r.value;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  /** Parses with `parse`; a format error becomes a note and `undefined`. */
  parse<T>(parse: () => T, consequence: string): T | undefined {
    try {
      return parse();
    } catch (e) {
      if (e instanceof SyntaxError) {
        this.note(`${e.message}: ${consequence}`);
        return undefined;
      }
      throw e;
    }
  }

  id(): Promise<string> {
    return sha256Id(this.#seen.join("\0\0"));
  }
}

async function readHypervisor(src: Source): Promise<HypervisorFiles & { xen?: string }> {
  const f: HypervisorFiles & { xen?: string } = {};
  f.type = (await src.text("/sys/hypervisor/type", "guest facts may be guessed"))?.trim();
  f.guestType = (await src.text("/sys/hypervisor/guest_type", undefined, true))?.trim();
  const features = await src.text(
    "/sys/hypervisor/properties/features",
    "the guest type is decided from other files",
  );
  if (features !== undefined) {
    f.features = src.parse(
      () => parseFeatures(features, "/sys/hypervisor/properties/features"),
      "ignored",
    );
  }
  f.capabilities = (await src.text(
    "/proc/xen/capabilities",
    "xenfs not mounted? dom0/domU is decided from other files",
  ))?.trim();
  f.initdomain = (await src.text("/sys/hypervisor/start_flags/initdomain", undefined, true))
    ?.trim();
  f.uuid = (await src.text("/sys/hypervisor/uuid", undefined, true))?.trim();
  f.xen = xenVersion(
    await src.text("/sys/hypervisor/version/major", "no Xen version in the header"),
    await src.text("/sys/hypervisor/version/minor", "no Xen version in the header"),
    await src.text("/sys/hypervisor/version/extra", undefined, true),
  );
  return f;
}

async function readMemmap(src: Source): Promise<E820Range[] | undefined> {
  const names = await src.list(MEMMAP_DIR, "the E820 map is taken from /proc/iomem if possible");
  if (names === undefined) return undefined;
  const indices = names.filter((n) => /^\d+$/.test(n)).map(Number).sort((a, b) => a - b);
  const out: E820Range[] = [];
  for (const index of indices) {
    const dir = `${MEMMAP_DIR}/${index}`;
    const skip = "entry skipped";
    const start = await src.text(`${dir}/start`, skip);
    const end = await src.text(`${dir}/end`, skip);
    const type = await src.text(`${dir}/type`, skip);
    if (start === undefined || end === undefined || type === undefined) continue;
    const e = src.parse(() => parseMemmapEntry(index, { start, end, type }, dir), skip);
    if (e === undefined) continue;
    if (e.typeName !== "" && e.type === E820_TYPE.reserved && !/^reserved$/i.test(e.typeName)) {
      src.note(`${dir}/type: unknown type ${JSON.stringify(e.typeName)}: taken as reserved`);
    }
    out.push({ start: e.start, end: e.end, type: e.type });
  }
  if (out.length === 0) {
    src.note(`${MEMMAP_DIR}: no entries: the E820 map is taken from /proc/iomem if possible`);
    return undefined;
  }
  return out;
}

async function readTree(src: Source, path: string, use: string): Promise<IomemNode[] | undefined> {
  const text = await src.text(path, `no ${use}`);
  if (text === undefined) return undefined;
  const roots = src.parse(() => parseIomem(text, path), `no ${use}`);
  if (roots === undefined) return undefined;
  if (addressesHidden(roots)) {
    src.note(`${path}: every address reads 0 (read without CAP_SYS_ADMIN): no ${use}`);
    return undefined;
  }
  return roots;
}

interface PciDevice {
  name: string;
  bars: Resource[];
  windows: Resource[];
  renumbered: boolean;
  cls?: number;
  vendor?: number;
  device?: number;
  physfn?: string;
}

async function readPci(src: Source): Promise<PciDevice[]> {
  const names = await src.list(PCI_DEVICES_DIR, "no PCI devices recorded");
  if (names === undefined) return [];
  const out: PciDevice[] = [];
  for (const name of sortDevices(names.filter((n) => PCI_DEVICE_NAME.test(n)))) {
    const dir = `${PCI_DEVICES_DIR}/${name}`;
    const text = await src.text(`${dir}/resource`, "device skipped");
    if (text === undefined) continue;
    const lines = src.parse(() => parseResourceFile(text, `${dir}/resource`), "device skipped");
    if (lines === undefined) continue;
    const dev: PciDevice = { name, ...splitResources(lines) };
    const num = async (file: string): Promise<number | undefined> => {
      const t = await src.text(`${dir}/${file}`, "not shown");
      return t === undefined
        ? undefined
        : src.parse(() => parseHexFile(t, `${dir}/${file}`), "not shown");
    };
    dev.cls = await num("class");
    dev.vendor = await num("vendor");
    dev.device = await num("device");
    const physfn = await src.link(`${dir}/physfn`);
    if (physfn !== undefined) {
      const base = physfn.split("/").pop() ?? "";
      if (PCI_DEVICE_NAME.test(base)) dev.physfn = base;
    }
    out.push(dev);
  }
  return out;
}

async function readBalloon(src: Source): Promise<BalloonState | undefined> {
  const state: BalloonState = {};
  let any = false;
  const read = async (file: string): Promise<number | undefined> => {
    const path = `${BALLOON_DIR}/${file}`;
    const t = await src.text(path, "not shown");
    if (t === undefined) return undefined;
    any = true;
    return src.parse(() => parseDecimalFile(t, path), "not shown");
  };
  state.targetKb = await read("target_kb");
  state.targetBytes = await read("target");
  state.currentKb = await read("info/current_kb");
  state.lowKb = await read("info/low_kb");
  state.highKb = await read("info/high_kb");
  return any ? state : undefined;
}

async function readDump(
  src: Source,
): Promise<{ format: "tree" | "list"; lines: string[] } | undefined> {
  const text = await src.text(
    P2M_DUMP_PATH,
    "no p2m_dump event (needs root, debugfs mounted and CONFIG_XEN_DEBUG_FS)",
  );
  if (text === undefined) return undefined;
  const lines = dumpLines(text);
  const dump = src.parse(
    () => parseP2mDump(lines, { file: P2M_DUMP_PATH }),
    "no p2m_dump event",
  );
  if (dump === undefined) return undefined;
  if (dump.ranges.length === 0) {
    src.note(`${P2M_DUMP_PATH}: empty (auto-translated guest?): no p2m_dump event`);
    return undefined;
  }
  return { format: dump.format, lines };
}

function ramPages(map: readonly E820Range[]): number {
  let pages = 0;
  for (const e of map) {
    if (e.type !== E820_TYPE.ram) continue;
    const first = Math.ceil(e.start / 4096);
    const end = Math.floor((e.end + 1) / 4096);
    if (end > first) pages += end - first;
  }
  return pages;
}

function pad(n: number | undefined, digits: number): string {
  return n === undefined ? "?".repeat(digits) : n.toString(16).padStart(digits, "0");
}

function kb(n: number | undefined): string {
  return n === undefined ? "?" : `${n} kB`;
}

function sameMap(a: readonly E820Range[], b: readonly E820Range[]): boolean {
  return a.length === b.length &&
    a.every((e, i) => e.start === b[i].start && e.end === b[i].end && e.type === b[i].type);
}

/** The line of the first resource named `name` in a resource tree, depth first. */
function firstLine(roots: readonly IomemNode[], name: string): number | undefined {
  const stack = [...roots].reverse();
  for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
    if (n.name === name) return n.line;
    stack.push(...[...n.children].reverse());
  }
  return undefined;
}

function e820Event(e: E820Range, map: "raw" | "kernel", from: string): E820Event {
  return {
    seq: 0,
    line: 0,
    origin: { file: from, line: 1 },
    kind: "e820",
    start: e.start,
    size: e.end - e.start + 1,
    type: e.type,
    map,
  };
}

/**
 * Reads the guest through `reader` and assembles its trace. Never throws for missing,
 * unreadable or malformed guest files: they become {@link Recording.notes}.
 *
 * @example
 * ```ts
 * import { recordGuest } from "./assemble.ts";
 * import { memoryReader } from "./reader.ts";
 * import assert from "node:assert/strict";
 * const rec = await recordGuest(memoryReader({
 *   "/sys/hypervisor/type": "xen\n",
 *   "/sys/hypervisor/guest_type": "PV\n",
 *   "/proc/xen/capabilities": "\n",
 *   "/sys/firmware/memmap/0/start": "0x0\n",
 *   "/sys/firmware/memmap/0/end": "0x3fffffff\n",
 *   "/sys/firmware/memmap/0/type": "System RAM\n",
 * }));
 * assert.equal(rec.header.guest.domain, "domU");
 * assert.deepEqual(rec.events.filter((e) => e.kind === "e820").length, 1);
 * assert.ok(rec.notes.some((n) => n.startsWith("/proc/iomem: no such file")));
 * ```
 */
export async function recordGuest(reader: SysfsReader): Promise<Recording> {
  const src = new Source(reader);
  const hv = await readHypervisor(src);
  const guestType = decideGuestType(hv);
  const domain = decideDomain(hv);
  const osrelease = (await src.text("/proc/sys/kernel/osrelease", "no kernel release in header"))
    ?.trim();

  const memmap = await readMemmap(src);
  const iomem = await readTree(src, "/proc/iomem", "PCI host bridge memory windows");
  const ioports = await readTree(src, "/proc/ioports", "PCI host bridge I/O windows");
  let saved = memmap;
  let e820From = `${MEMMAP_DIR} (the map the kernel saved after its memory setup)`;
  if (saved === undefined && iomem !== undefined) {
    const fromIomem = e820FromIomem(iomem);
    if (fromIomem.length > 0) {
      saved = fromIomem;
      e820From = "/proc/iomem top-level E820 resources (fallback: reserved ranges nested " +
        "under PCI windows read as gaps)";
      src.note(`e820: taken from ${e820From}`);
    }
  }
  if (saved === undefined) {
    src.note("e820: no map could be read: no e820 or memory_setup events");
  }
  const raw = saved === undefined
    ? undefined
    : reconstructRawMap(saved, { type: guestType.value, domain: domain.value });
  for (const n of raw?.notes ?? []) src.note(n);

  const devices = await readPci(src);
  const balloon = await readBalloon(src);
  if (balloon === undefined) {
    src.note(`${BALLOON_DIR}: unreadable: no balloon_init event (balloon driver not loaded?)`);
  }
  const dump = await readDump(src);

  // Header facts and how they were derived.
  const est = balloon === undefined ? {} : balloonEstimates(balloon);
  let nrPages: number | undefined;
  let nrPagesFrom: string;
  if (est.currentPages !== undefined) {
    nrPages = est.currentPages;
    nrPagesFrom = `balloon info/current_kb ${balloon?.currentKb} / 4: the pages the domain ` +
      "holds now; equals start_info->nr_pages when the boot pass released no pages net and " +
      `the balloon has not moved since boot (target_kb ${balloon?.targetKb ?? "unknown"})`;
  } else if (saved !== undefined) {
    nrPages = ramPages(saved);
    nrPagesFrom = "System RAM pages of the saved E820 map (an upper bound: includes extra " +
      "memory)";
    src.note(`nr_pages: estimated from the E820 map as ${hex(nrPages)} (no balloon state)`);
  } else {
    nrPagesFrom = "unknown";
    src.note("nr_pages: unknown (no balloon state, no E820 map)");
  }
  const derived: Record<string, string> = {
    type: guestType.from,
    domain: domain.from,
    nr_pages: nrPagesFrom,
  };
  if (raw !== undefined) {
    derived.e820 = `${e820From}${raw.notes.length > 0 ? ", rewritten back to the raw map" : ""}`;
  }
  let maxReservation: number | undefined;
  if (guestType.value === "pv" && domain.value === "dom0" && est.ceiling !== undefined) {
    maxReservation = est.ceiling;
    derived.max_reservation = "balloon (current_kb + low_kb + high_kb) / 4: pages held plus " +
      "pages on the balloon list, which the boot pass sized from XENMEM_maximum_reservation";
  }
  if (guestType.assumed) src.note(`guest type: ${guestType.from}`);
  if (domain.assumed) src.note(`domain: ${domain.from}`);

  // Events.
  const events: TraceEvent[] = [];
  const push = (e: TraceEvent) => events.push(e);
  for (const n of src.notes) push({ seq: 0, line: 0, kind: "mark", text: `record: ${n}` });
  if (raw !== undefined && saved !== undefined) {
    const from = memmap === undefined ? "/proc/iomem" : MEMMAP_DIR;
    for (const e of raw.entries) push(e820Event(e, "raw", from));
    const sortedSaved = [...saved].sort((a, b) => a.start - b.start);
    if (!sameMap(raw.entries, sortedSaved)) {
      for (const e of sortedSaved) push(e820Event(e, "kernel", from));
    }
    const setup: TraceEvent = { seq: 0, line: 0, kind: "memory_setup" };
    if (maxReservation !== undefined) setup.maxReservation = maxReservation;
    push(setup);
  }

  const io = ioports === undefined
    ? new Map<string, Resource[]>()
    : hostBridgeWindows(ioports, ioresourceFlags(IORESOURCE.IO, IORESOURCE.WINDOW));
  const mem = iomem === undefined
    ? new Map<string, Resource[]>()
    : hostBridgeWindows(iomem, ioresourceFlags(IORESOURCE.MEM, IORESOURCE.WINDOW));
  for (const bus of [...new Set([...io.keys(), ...mem.keys()])].sort()) {
    const resources = [...(io.get(bus) ?? []), ...(mem.get(bus) ?? [])]
      .map((r, index) => ({ ...r, index }));
    // The bus's first window line, in /proc/iomem (or /proc/ioports for I/O windows only).
    const name = `PCI Bus ${bus}`;
    const at = firstLine(iomem ?? [], name);
    const origin = at === undefined
      ? { file: "/proc/ioports", line: firstLine(ioports ?? [], name) ?? 1 }
      : { file: "/proc/iomem", line: at };
    push({ seq: 0, line: 0, origin, kind: "pci_host_bridge", bus, resources });
  }

  if (devices.length > 0) {
    push({
      seq: 0,
      line: 0,
      origin: { file: PCI_DEVICES_DIR, line: 1 },
      kind: "mark",
      text: "record: PCI devices [class] vendor:device: " +
        devices.map((d) => `${d.name} [${pad(d.cls, 6)}] ${pad(d.vendor, 4)}:${pad(d.device, 4)}`)
          .join(", "),
    });
  }
  if (domain.value === "dom0") {
    for (const d of devices) {
      const e: TraceEvent = {
        seq: 0,
        line: 0,
        origin: { file: `${PCI_DEVICES_DIR}/${d.name}/resource`, line: 1 },
        kind: "xen_add_device",
        device: d.name,
        resources: d.bars,
      };
      if (d.physfn !== undefined) {
        e.physfn = d.physfn;
        e.xenFlags = XEN_PCI_DEV_VIRTFN;
      }
      push(e);
    }
    for (const d of devices) {
      for (const w of d.windows) {
        push({
          seq: 0,
          line: 0,
          // The resource file has a line per index.
          origin: { file: `${PCI_DEVICES_DIR}/${d.name}/resource`, line: w.index + 1 },
          kind: "pci_resource_assign",
          device: d.name,
          resource: w,
          action: "claimed",
        });
      }
    }
    if (devices.some((d) => d.renumbered)) {
      push({
        seq: 0,
        line: 0,
        kind: "mark",
        text: "record: the kernel has no CONFIG_PCI_IOV: bridge windows 7-10 renumbered 13-16",
      });
    }
  } else if (devices.length > 0) {
    push({
      seq: 0,
      line: 0,
      kind: "mark",
      text: `record: ${devices.length} PCI device(s) in a domU: not reported to Xen ` +
        "(the xen_add_device notifier runs in dom0 only)",
    });
  }

  if (balloon !== undefined) {
    push({ seq: 0, line: 0, kind: "balloon_init" });
    push({
      seq: 0,
      line: 0,
      kind: "mark",
      text: `balloon now: current ${kb(balloon.currentKb)}` +
        (est.currentPages === undefined ? "" : ` (${hex(est.currentPages)} pages)`) +
        `, target ${kb(balloon.targetKb)}` +
        (est.targetPages === undefined ? "" : ` (${hex(est.targetPages)} pages)`) +
        `, ballooned out low ${kb(balloon.lowKb)} + high ${kb(balloon.highKb)}` +
        (balloon.targetBytes === undefined ? "" : `, target ${balloon.targetBytes} bytes`),
    });
  }
  for (const s of iomem === undefined ? [] : xenScratchRegions(iomem)) {
    push({
      seq: 0,
      line: 0,
      kind: "mark",
      text: `record: /proc/iomem ${JSON.stringify(s.name)} [mem ${hex(s.start)}-${hex(s.end)}]: ` +
        "unpopulated-alloc address space (foreign mappings), not modelled",
    });
  }
  if (dump !== undefined) {
    push({ seq: 0, line: 0, origin: { file: P2M_DUMP_PATH, line: 1 }, kind: "p2m_dump", ...dump });
  }
  events.forEach((e, i) => e.seq = i + 1);

  const kernelText = osrelease ? `Linux ${osrelease}` : "unknown kernel";
  const xenText = hv.xen ? `Xen ${hv.xen}` : "unknown Xen";
  const header: HeaderInit = {
    producer: `${TOOL_NAME} ${TOOL_VERSION} record`,
    id: await src.id(),
    guest: {
      type: guestType.value as GuestType,
      domain: domain.value,
      arch: "x86_64",
      pageSize: 4096,
    },
    description: `state of a running ${guestType.value.toUpperCase()} ${domain.value} ` +
      `(${kernelText}, ${xenText}) as p2mtrace record read it from sysfs, procfs and debugfs`,
    extra: { derived },
  };
  if (osrelease) header.guest.kernel = osrelease;
  if (hv.xen) header.guest.xen = hv.xen;
  if (nrPages !== undefined) header.guest.nrPages = nrPages;
  return { header, events, notes: src.notes };
}
