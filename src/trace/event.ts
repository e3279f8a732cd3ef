/**
 * Trace format v1, in memory. A trace is a header, then events in the order the guest did them,
 * then an optional `end` record. The JSON form (snake_case, hex strings) is documented in
 * `traces/README.md`; these are the validated, typed records the reader produces (camelCase,
 * plain numbers). Byte addresses and PFNs never share a field name: `start`/`end`/`size` are
 * bytes, `pfn`/`endPfn`/`pages` are 4 KiB frames. PFN ranges are half-open `[pfn, endPfn)`;
 * byte ranges of resources are inclusive `[start, end]` as the kernel's `struct resource` is.
 *
 * @module
 */

import type { Provenance } from "./provenance.ts";

/** Name in the header's `format` field. */
export const TRACE_FORMAT = "p2mtrace";
/** Current format version; bumped only on a breaking change. */
export const TRACE_VERSION = 1;

/** Every event kind of format v1, in the order the README documents them. */
export const EVENT_KINDS = [
  "e820",
  "memory_setup",
  "set_identity",
  "set_p2m",
  "balloon_init",
  "balloon_append",
  "balloon_retrieve",
  "decrease_reservation",
  "increase_reservation",
  "memory_hotplug",
  "pci_host_bridge",
  "xen_add_device",
  "xen_remove_device",
  "pci_resource_assign",
  "lookup",
  "p2m_dump",
  "mark",
] as const;

/** One of {@link EVENT_KINDS}. */
export type EventKind = typeof EVENT_KINDS[number];

/** Guest virtualisation mode. PV guests use the P2M; HVM and PVH guests are auto-translated. */
export type GuestType = "pv" | "hvm" | "pvh";

/** A guest domain: `dom0` (the initial domain) or `domU`. */
export type GuestDomain = "dom0" | "domU";

/** Facts about the guest that recorded the trace. */
export interface GuestFacts {
  /**
   * `pv`, `hvm` or `pvh`; `unknown` when the recording could not tell (an imported log). Only a
   * PV guest has a P2M: an `unknown` guest replays like an auto-translated one (no P2M, no boot
   * pass), so nothing about its P2M is judged.
   */
  type: GuestType | "unknown";
  /**
   * `dom0` (initial domain) or `domU`; `unknown` when the recording could not tell. Steps only
   * the initial domain runs (the `xen_add_device` notifier) replay only for `dom0`.
   */
  domain: GuestDomain | "unknown";
  /** Only `x86_64` is modelled. */
  arch: "x86_64";
  /** Always 4096 on x86_64. */
  pageSize: 4096;
  /** Kernel release (`3.12.0`, `6.12.21-gentoo`), when known. */
  kernel?: string;
  /** Hypervisor version, when known. */
  xen?: string;
  /** `start_info->nr_pages`: pages the domain was built with; the initial P2M covers them. */
  nrPages?: number;
}

/** Line 1 of a trace. */
export interface TraceHeader {
  /** Always {@link TRACE_FORMAT}. */
  format: typeof TRACE_FORMAT;
  /** Format version; this reader accepts {@link TRACE_VERSION}. */
  version: number;
  /** What wrote the trace (`p2mtrace 0.1.0 import dmesg`, a script name). */
  producer: string;
  /** Optional identifier of the recording. */
  id?: string;
  /** Guest facts. */
  guest: GuestFacts;
  /** Policy the producer suggests for replay (e.g. the kernel version's own). */
  policy?: string;
  /** Free-form description: what the trace shows. */
  description: string;
  /** The JSON object as read, including fields this version does not know. */
  raw: Record<string, unknown>;
  /**
   * How an importer decided the facts above (estimated, rebuilt, guessed); absent or
   * {@link PROVEN} for a hand-written trace.
   */
  provenance?: Provenance;
}

/** A half-open PFN range `[pfn, endPfn)`. */
export interface PfnRange {
  /** First PFN. */
  pfn: number;
  /** One past the last PFN. */
  endPfn: number;
}

/** A PCI or host-bridge resource as the kernel's `struct resource` holds it. */
export interface Resource {
  /** Resource index within the device (0-5 BARs, 6 ROM, 7-12 IOV, 13-16 bridge windows). */
  index: number;
  /** First byte (or port). */
  start: number;
  /** Last byte (or port), inclusive. `start == end == 0` is an empty resource. */
  end: number;
  /** IORESOURCE_* flags, numeric, exactly as the kernel has them. */
  flags: number;
  /** Optional name, e.g. `PCI Bus 0000:00`. */
  name?: string;
}

/** Fields every event has. */
export interface EventBase {
  /** Position in the trace; strictly increasing. */
  seq: number;
  /** Seconds since boot (dmesg timestamp), when recorded. */
  time?: number;
  /** 1-based line in the trace file (set by the reader; 0 for events built in memory). */
  line: number;
  /** The JSON object as read, including fields this version does not know (kept, ignored). */
  raw?: Record<string, unknown>;
  /**
   * For an event built from another file (`record`, the importers): the file and line it came
   * from, so a self-check failure names the input, not the trace being written.
   */
  origin?: { file: string; line: number };
}

/** E820 type codes as the kernel numbers them. */
export const E820_TYPE = {
  ram: 1,
  reserved: 2,
  acpi: 3,
  nvs: 4,
  unusable: 5,
  pmem: 7,
  pram: 12,
} as const;

/** Which E820 map an entry belongs to. */
export type E820Map = "raw" | "kernel" | "user";

/** One E820 entry. Entries of the `raw` map (the hypervisor's) feed the boot pass. */
export interface E820Event extends EventBase {
  /** Discriminant. */
  kind: "e820";
  /** First byte. */
  start: number;
  /** Length in bytes (> 0). */
  size: number;
  /** Numeric E820 type (1 = RAM); see {@link E820_TYPE}. */
  type: number;
  /**
   * `raw`: the map `xen_memory_setup` reads (dom0: the machine map; domU: the pseudo-physical
   * map). `kernel`: the rewritten map the kernel printed (informational). `user`: `mem=`/`memmap=`.
   */
  map: E820Map;
}

/** Counts and ranges the kernel printed for its boot pass, to verify the model against. */
export interface BootExpectations {
  /** "Set N page(s) to 1-1 mapping". */
  identity?: number;
  /** "Released N page(s)" / "Released N pages of unused memory". */
  released?: number;
  /** "Remapped N page(s)". */
  remapped?: number;
  /** Sum of "Populating X-Y pfn range: N pages added". */
  populated?: number;
  /** "p2m virtual area at %p, size is %lx" (v3.19+ `xen_vmalloc_p2m_tree`): bytes. */
  p2mAreaSize?: number;
  /** Each "1-1 mapping on X->Y". */
  identityRanges?: PfnRange[];
  /** Each "Freeing X-Y pfn range: N pages freed" (range as printed). */
  releasedRanges?: PfnRange[];
  /** Each "Populating X-Y pfn range". */
  populatedRanges?: PfnRange[];
}

/** The kernel's boot pass over the raw E820 map (`xen_memory_setup`). */
export interface MemorySetupEvent extends EventBase {
  /** Discriminant. */
  kind: "memory_setup";
  /** dom0: XENMEM_maximum_reservation in pages. Absent: MAX_DOMAIN_PAGES. */
  maxReservation?: number;
  /** What the kernel printed, when recorded. */
  expect?: BootExpectations;
}

/** An explicit `set_phys_range_identity(pfn, endPfn)` call. */
export interface SetIdentityEvent extends EventBase {
  /** Discriminant. */
  kind: "set_identity";
  /** The range. */
  range: PfnRange;
}

/** Value written by `set_p2m`. */
export type P2mWriteValue = "mfn" | "invalid" | "identity" | "foreign";

/** Write primitive used by `set_p2m`. */
export type P2mPrimitive =
  | "set_phys_to_machine"
  | "__set_phys_to_machine"
  | "early_set_phys_to_machine";

/** An explicit P2M write of one value over a range. */
export interface SetP2mEvent extends EventBase {
  /** Discriminant. */
  kind: "set_p2m";
  /** PFNs written. */
  range: PfnRange;
  /** What is written. */
  value: P2mWriteValue;
  /** First MFN for `mfn`/`foreign` (increments along the range). */
  mfn?: number;
  /** Which kernel primitive did the write. */
  primitive: P2mPrimitive;
}

/** `balloon_init`: the balloon driver starts and appends the extra-memory PFNs to its list. */
export interface BalloonInitEvent extends EventBase {
  /** Discriminant. */
  kind: "balloon_init";
}

/** Pages added to the balloon list without a P2M write (e.g. onlined hotplug pages). */
export interface BalloonAppendEvent extends EventBase {
  /** Discriminant. */
  kind: "balloon_append";
  /** Coalesced ranges, in trace order. */
  ranges: PfnRange[];
}

/** Pages taken off the balloon list; with `mfn`, the P2M gets the new frames. */
export interface BalloonRetrieveEvent extends EventBase {
  /** Discriminant. */
  kind: "balloon_retrieve" | "increase_reservation";
  /** Coalesced ranges, in trace order. */
  ranges: PfnRange[];
  /** First new MFN (increments along all ranges); absent: a valid but unrecorded MFN. */
  mfn?: number;
}

/** Pages given back to the hypervisor: P2M write (era-specific) and balloon append. */
export interface DecreaseReservationEvent extends EventBase {
  /** Discriminant. */
  kind: "decrease_reservation";
  /** Coalesced ranges, in trace order. */
  ranges: PfnRange[];
  /** MFN of the balloon scratch page (v3.12-3.15 write it into the P2M), when recorded. */
  scratchMfn?: number;
}

/** Memory hot-added above RAM (`add_memory`). */
export interface MemoryHotplugEvent extends EventBase {
  /** Discriminant. */
  kind: "memory_hotplug";
  /** First byte. */
  start: number;
  /** Length in bytes. */
  size: number;
}

/** A PCI host bridge (root bus) with its apertures. */
export interface PciHostBridgeEvent extends EventBase {
  /** Discriminant. */
  kind: "pci_host_bridge";
  /** `segment:bus`, e.g. `0000:00`. */
  bus: string;
  /** Root bus resources (windows), in order. */
  resources: Resource[];
}

/** `xen_add_device`: the PCI notifier told Xen about a device. */
export interface XenAddDeviceEvent extends EventBase {
  /** Discriminant. */
  kind: "xen_add_device";
  /** `segment:bus:device.function`, e.g. `0000:03:00.0`. */
  device: string;
  /** The device's resources at notification time (firmware values). */
  resources: Resource[];
  /** XEN_PCI_DEV_* flags passed to PHYSDEVOP_pci_device_add. */
  xenFlags?: number;
  /** Physical function of an SR-IOV virtual function. */
  physfn?: string;
}

/** `xen_remove_device`. */
export interface XenRemoveDeviceEvent extends EventBase {
  /** Discriminant. */
  kind: "xen_remove_device";
  /** `segment:bus:device.function`. */
  device: string;
}

/** What happened to a resource in `pci_resource_assign`. */
export type ResourceAction = "assigned" | "reassigned" | "claimed" | "released" | "failed";

/** A BAR or bridge window (re)assigned after the device was added. */
export interface PciResourceAssignEvent extends EventBase {
  /** Discriminant. */
  kind: "pci_resource_assign";
  /** `segment:bus:device.function`. */
  device: string;
  /** The resource after the action. */
  resource: Resource;
  /** What the kernel did. */
  action: ResourceAction;
}

/** Which path a recorded lookup took. */
export type LookupVia = "pte" | "pfn_to_mfn" | "get_phys_to_machine" | "phys_to_machine";

/** A lookup the real guest made, with what it observed when recorded. */
export interface LookupEvent extends EventBase {
  /** Discriminant. */
  kind: "lookup";
  /** The PFN looked up. */
  pfn: number;
  /** Byte offset within the page, when the trace gave a byte address. */
  offset: number;
  /** The path: a PTE built by `pfn_pte` (default), `pfn_to_mfn`, the raw entry, or an address. */
  via: LookupVia;
  /** The PTE carried `_PAGE_IOMAP` (ioremap / pci mmap before v3.18): bypasses the P2M. */
  iomap: boolean;
  /** The value the real guest observed (frame number for pte/pfn_to_mfn, raw entry, address). */
  observed?: bigint;
  /** Who looked it up (driver, function), free text. */
  by?: string;
}

/** A recorded `/sys/kernel/debug/xen/mmu/p2m` dump. */
export interface P2mDumpEvent extends EventBase {
  /** Discriminant. */
  kind: "p2m_dump";
  /** `tree` (v3.10-3.18 format with level lines) or `list` (v3.19+). */
  format: "tree" | "list";
  /** The dump's lines, verbatim. */
  lines: string[];
}

/** A free annotation. */
export interface MarkEvent extends EventBase {
  /** Discriminant. */
  kind: "mark";
  /** The note. */
  text: string;
}

/** Any event of format v1. */
export type TraceEvent =
  | E820Event
  | MemorySetupEvent
  | SetIdentityEvent
  | SetP2mEvent
  | BalloonInitEvent
  | BalloonAppendEvent
  | BalloonRetrieveEvent
  | DecreaseReservationEvent
  | MemoryHotplugEvent
  | PciHostBridgeEvent
  | XenAddDeviceEvent
  | XenRemoveDeviceEvent
  | PciResourceAssignEvent
  | LookupEvent
  | P2mDumpEvent
  | MarkEvent;

/** The optional last record: says the recording finished, and how many events it holds. */
export interface TraceEnd {
  /** Number of event records before it. */
  events: number;
  /** 1-based line. */
  line: number;
}
