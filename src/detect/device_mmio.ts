/**
 * The MMIO resources of the known PCI devices, indexed by PFN, for detectors that ask which
 * device ranges a change hit. `lookup-zero` asks it for every change that makes PFNs INVALID —
 * from linux-3.16 every page the balloon driver hands back — and a walk over every device and
 * resource per change cost as much as the rest of the replay on a machine of hundreds of
 * devices. The index is built once per set of devices and reused while the devices stay the
 * same: the same map, edited no further ({@link DeviceSource.devicesEdits}).
 *
 * @module
 */

import type { PfnRange, Resource } from "../trace/event.ts";
import type { DeviceState } from "../model/state.ts";
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
}

interface Index {
  /** The value of {@link DeviceSource.devicesEdits} it was built at. */
  edits: number;
  /** Resources by first PFN (ties in walk order). */
  byPfn: DeviceMmio[];
  /** Position of each in the walk over devices, then resources. */
  order: number[];
  /** `maxEnd[i]`: the largest end PFN of `byPfn[0..i]`. */
  maxEnd: number[];
}

const INDEXES = new WeakMap<ReadonlyMap<string, DeviceState>, Index>();

function build(devices: ReadonlyMap<string, DeviceState>, edits: number): Index {
  const all: { m: DeviceMmio; order: number }[] = [];
  let order = 0;
  for (const dev of devices.values()) {
    for (const r of dev.resources) {
      // Drivers map BARs, ROMs and IOV BARs; bridge windows (13-16) only route addresses.
      if (isMmio(r) && r.index <= 12) all.push({ m: { dev, r, span: resourcePfns(r) }, order });
      order++;
    }
  }
  all.sort((a, b) => a.m.span.pfn - b.m.span.pfn || a.order - b.order);
  const maxEnd: number[] = [];
  for (let i = 0; i < all.length; i++) {
    maxEnd.push(Math.max(i > 0 ? maxEnd[i - 1] : 0, all[i].m.span.endPfn));
  }
  return {
    edits,
    byPfn: all.map((x) => x.m),
    order: all.map((x) => x.order),
    maxEnd,
  };
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
  if (ix === undefined || ix.edits !== source.devicesEdits) {
    ix = build(devices, source.devicesEdits);
    INDEXES.set(devices, ix);
  }
  const { byPfn, order, maxEnd } = ix;
  // The first resource whose span, or an earlier one's, ends past range.pfn.
  let lo = 0, hi = byPfn.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (maxEnd[mid] > range.pfn) hi = mid;
    else lo = mid + 1;
  }
  const found: { h: DeviceMmioHit; order: number }[] = [];
  for (let i = lo; i < byPfn.length && byPfn[i].span.pfn < range.endPfn; i++) {
    const m = byPfn[i];
    const pfn = Math.max(m.span.pfn, range.pfn), endPfn = Math.min(m.span.endPfn, range.endPfn);
    if (pfn < endPfn) found.push({ h: { ...m, hit: { pfn, endPfn } }, order: order[i] });
  }
  if (found.length > 1) found.sort((a, b) => a.order - b.order);
  return found.map((f) => f.h);
}
