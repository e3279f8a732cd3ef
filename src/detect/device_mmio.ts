/**
 * The MMIO resources of the known PCI devices, indexed by PFN, for detectors that ask which
 * device ranges a change hit. `lookup-zero` asks it for every change that makes PFNs INVALID —
 * from linux-3.16 every page the balloon driver hands back — and a walk over every device and
 * resource per change cost as much as the rest of the replay on a machine of hundreds of
 * devices. The index is built once per map of devices and kept up with its edits
 * ({@link DeviceSource.devicesEdits}, {@link DeviceSource.devicesEditedSince}): a device added,
 * replaced or removed moves the index's entries after it instead of sorting them all again.
 *
 * @module
 */

import type { PfnRange, Resource } from "../trace/event.ts";
import type { DeviceEdit, DeviceState } from "../model/state.ts";
import { isMmio, resourcePfns } from "../kernel/pci_resource.ts";

/** One device MMIO resource a driver maps, with its PFN span. */
export interface DeviceMmio {
  /** The device. */
  dev: DeviceState;
  /** The resource. */
  r: Resource;
  /** The PFNs it spans. */
  span: PfnRange;
}

/** A device MMIO resource's PFNs a range overlaps. */
export interface DeviceMmioHit extends DeviceMmio {
  /** The PFNs both hold. */
  hit: PfnRange;
}

/** Where the devices come from: a model draft (`ModelDraft`). */
export interface DeviceSource {
  /** The devices, by name, in the order they were added. */
  readonly devices: ReadonlyMap<string, DeviceState>;
  /** How many device edits its holder made to {@link devices} so far (it only grows). */
  readonly devicesEdits: number;
  /**
   * The edits from edit `since` on, in order, when its holder still has them
   * (`ModelDraft.devicesEditedSince`); without them an index is built again.
   */
  devicesEditedSince?(since: number): readonly DeviceEdit[] | undefined;
}

/** A resource in the index, with its place in the walk: its device's, then its own. */
interface Entry {
  m: DeviceMmio;
  rank: number;
  pos: number;
}

/**
 * Resources by first PFN, ties in walk order. A device's rank is its place in the devices'
 * order: a device added gets a rank above every other, one replaced keeps its rank (a `Map`
 * keeps a replaced key where it was), so ranks order devices as a walk over the map does.
 */
interface Index {
  /** The value of {@link DeviceSource.devicesEdits} it was last brought up to. */
  edits: number;
  /** Resources by first PFN, then rank, then position in the device's resources. */
  byPfn: Entry[];
  /** `maxEnd[i]`: the largest end PFN of `byPfn[0..i]`. */
  maxEnd: number[];
  /** Each indexed device's rank and entries. */
  devices: Map<string, { rank: number; entries: Entry[] }>;
  /** The rank the next device added gets. */
  nextRank: number;
}

const INDEXES = new WeakMap<ReadonlyMap<string, DeviceState>, Index>();

function before(a: Entry, b: Entry): number {
  return a.m.span.pfn - b.m.span.pfn || a.rank - b.rank || a.pos - b.pos;
}

/** Where `x` is in `byPfn`, or would go (every entry's place is distinct). */
function place(byPfn: readonly Entry[], x: Entry): number {
  let lo = 0, hi = byPfn.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(byPfn[mid], x) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function entries(dev: DeviceState, rank: number): Entry[] {
  const out: Entry[] = [];
  dev.resources.forEach((r, pos) => {
    // Drivers map BARs, ROMs and IOV BARs; bridge windows (13-16) only route addresses.
    if (isMmio(r) && r.index <= 12) out.push({ m: { dev, r, span: resourcePfns(r) }, rank, pos });
  });
  return out;
}

function fillMaxEnd(ix: Index, from: number): void {
  const { byPfn, maxEnd } = ix;
  maxEnd.length = byPfn.length;
  for (let i = from; i < byPfn.length; i++) {
    maxEnd[i] = Math.max(i > 0 ? maxEnd[i - 1] : 0, byPfn[i].m.span.endPfn);
  }
}

function build(devices: ReadonlyMap<string, DeviceState>, edits: number): Index {
  const ix: Index = { edits, byPfn: [], maxEnd: [], devices: new Map(), nextRank: 0 };
  for (const dev of devices.values()) {
    const rank = ix.nextRank++;
    const mine = entries(dev, rank);
    ix.devices.set(dev.device, { rank, entries: mine });
    ix.byPfn.push(...mine);
  }
  ix.byPfn.sort(before);
  fillMaxEnd(ix, 0);
  return ix;
}

/**
 * Brings `ix` up to `devices` after `edits`: each device edited loses its entries and, when
 * still there, gets its current ones, each found or placed by binary search, so an edit moves
 * the entries after it instead of sorting them all again (a trace that adds thousands of
 * devices between changes that make PFNs INVALID rebuilt the index once per device).
 */
function catchUp(
  ix: Index,
  devices: ReadonlyMap<string, DeviceState>,
  edits: readonly DeviceEdit[],
): void {
  const touched = new Set<string>();
  const stale: Entry[] = [];
  for (const e of edits) {
    if (!touched.has(e.device)) {
      touched.add(e.device);
      stale.push(...ix.devices.get(e.device)?.entries ?? []);
    }
    if (e.removed) ix.devices.delete(e.device);
    else if (!ix.devices.has(e.device)) {
      ix.devices.set(e.device, { rank: ix.nextRank++, entries: [] });
    }
  }
  const byPfn = ix.byPfn;
  let from = byPfn.length;
  for (const x of stale) {
    const i = place(byPfn, x);
    byPfn.splice(i, 1);
    from = Math.min(from, i);
  }
  for (const name of touched) {
    const dev = devices.get(name);
    const held = ix.devices.get(name);
    if (dev === undefined || held === undefined) continue;
    held.entries = entries(dev, held.rank);
    for (const x of held.entries) {
      const i = place(byPfn, x);
      byPfn.splice(i, 0, x);
      from = Math.min(from, i);
    }
  }
  fillMaxEnd(ix, from);
}

/**
 * The MMIO resources (BARs, ROM, IOV BARs; assigned, memory) of `devices` that `range`
 * overlaps, in the order of a walk over the devices, then each device's resources — the order
 * that walk would find them in.
 *
 * @example
 * ```ts
 * import { mmioHits } from "./device_mmio.ts";
 * import assert from "node:assert/strict";
 * const gpu = { device: "0000:01:00.0", seq: 1, resources: [
 *   { index: 0, start: 0xc0000000, end: 0xc0ffffff, flags: 0x40200 },
 *   { index: 4, start: 0xe000, end: 0xe0ff, flags: 0x40101 }, // I/O ports: not MMIO
 * ] };
 * const source = { devices: new Map([[gpu.device, gpu]]), devicesEdits: 1 };
 * const hits = mmioHits(source, { pfn: 0xc0010, endPfn: 0xd0000 });
 * assert.deepEqual(hits.map((h) => h.hit), [{ pfn: 0xc0010, endPfn: 0xc1000 }]);
 * assert.deepEqual(mmioHits(source, { pfn: 0, endPfn: 0x100 }), []);
 * ```
 */
export function mmioHits(source: DeviceSource, range: PfnRange): DeviceMmioHit[] {
  const devices = source.devices;
  let ix = INDEXES.get(devices);
  if (ix !== undefined && ix.edits !== source.devicesEdits) {
    const edits = source.devicesEditedSince?.(ix.edits);
    if (edits === undefined) ix = undefined;
    else {
      catchUp(ix, devices, edits);
      ix.edits = source.devicesEdits;
    }
  }
  if (ix === undefined) {
    ix = build(devices, source.devicesEdits);
    INDEXES.set(devices, ix);
  }
  const { byPfn, maxEnd } = ix;
  // The first resource whose span, or an earlier one's, ends past range.pfn.
  let lo = 0, hi = byPfn.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (maxEnd[mid] > range.pfn) hi = mid;
    else lo = mid + 1;
  }
  const found: { h: DeviceMmioHit; x: Entry }[] = [];
  for (let i = lo; i < byPfn.length && byPfn[i].m.span.pfn < range.endPfn; i++) {
    const x = byPfn[i], m = x.m;
    const pfn = Math.max(m.span.pfn, range.pfn), endPfn = Math.min(m.span.endPfn, range.endPfn);
    if (pfn < endPfn) found.push({ h: { ...m, hit: { pfn, endPfn } }, x });
  }
  if (found.length > 1) found.sort((a, b) => a.x.rank - b.x.rank || a.x.pos - b.x.pos);
  return found.map((f) => f.h);
}
