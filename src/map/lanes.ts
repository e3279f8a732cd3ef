/**
 * The lanes of the address-space map: what one guest state looks like along the PFN axis, as
 * lists of classified PFN ranges. Facts of the trace (the E820 map, host bridge windows, device
 * BARs) and the policy's view of them (extra memory, the balloon list, hot-added memory, the P2M
 * entry of each PFN and the structure that answers it).
 *
 * Ranges are half-open `[pfn, endPfn)`, sorted, and coalesced: two neighbours never have the
 * same class and label (the BAR lane excepted: there each range is one resource, and `row`
 * stacks overlapping ones).
 *
 * @module
 */

import type { Resource } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import { E820_TYPE_NAME } from "../trace/validate.ts";
import { isMmio, resourceName, resourcePfns } from "../kernel/pci_resource.ts";
import { IORESOURCE } from "../kernel/ioresource.ts";
import type { ModelState } from "../model/state.ts";
import type { PfnSet } from "../p2m/pfn_set.ts";
import type { Structure } from "../p2m/table.ts";
import { entryClass } from "../report/snapshot_report.ts";

/** Lanes drawn once per trace: facts every policy shares. */
export const FACT_LANES = ["e820", "bridge", "bar"] as const;

/** Lanes drawn once per policy: what the replayed kernel made of the facts. */
export const POLICY_LANES = ["extra", "balloon", "hotplug", "p2m", "structure"] as const;

/** A lane's name. */
export type LaneName = typeof FACT_LANES[number] | typeof POLICY_LANES[number];

/** Every lane, in drawing order. */
export const LANES: readonly LaneName[] = [...FACT_LANES, ...POLICY_LANES];

/** One classified PFN range of a lane. */
export interface LaneRange {
  /** First PFN. */
  pfn: number;
  /** One past the last PFN. */
  endPfn: number;
  /** Class (colour and glyph), e.g. `ram`, `identity`, `mid-missing`. */
  cls: string;
  /** What a reader is told on hover, e.g. `0000:03:00.0 BAR 1 [mem 0x3800000000-0x3bffffffff]`. */
  label: string;
  /** Stacking row (BAR lane only; 0 elsewhere). */
  row: number;
}

/** The label of each P2M entry class. */
export const ENTRY_LABEL: Readonly<Record<string, string>> = {
  mapped: "mapped (a machine frame)",
  identity: "identity (1:1)",
  invalid: "INVALID (a PTE built from it is 0)",
  foreign: "foreign frame",
};

/** The label of each structure that answers a lookup. */
export const STRUCTURE_LABEL: Readonly<Record<Structure, string>> = {
  "private-leaf": "private leaf page",
  "identity-leaf": "shared identity leaf",
  "missing-leaf": "shared missing leaf",
  "mid-missing": "shared mid-missing page",
  "mid-identity": "shared mid-identity page",
  "outside-tree": "outside the tree (above MAX_P2M_PFN)",
  "beyond-list": "beyond the list (above its size)",
};

function memText(startAddr: number, endAddr: number): string {
  return `[mem ${hex(startAddr)}-${hex(endAddr)}]`;
}

/** Appends `r`, merging it into the last range when they touch and look the same. */
function push(out: LaneRange[], pfn: number, endPfn: number, cls: string, label: string): void {
  if (endPfn <= pfn) return;
  const last = out[out.length - 1];
  if (last && last.endPfn === pfn && last.cls === cls && last.label === label) {
    last.endPfn = endPfn;
    return;
  }
  out.push({ pfn, endPfn, cls, label, row: 0 });
}

function e820Lane(state: ModelState): LaneRange[] {
  const out: LaneRange[] = [];
  for (const e of state.e820) {
    const type = E820_TYPE_NAME.get(e.type) ?? `type ${e.type}`;
    const pfn = Math.floor(e.start / 4096);
    const endPfn = Math.ceil((e.start + e.size) / 4096);
    push(
      out,
      pfn,
      endPfn,
      E820_TYPE_NAME.has(e.type) ? type : "other",
      `E820 ${type} ${memText(e.start, e.start + e.size - 1)}`,
    );
  }
  return out.sort((a, b) => a.pfn - b.pfn);
}

function bridgeLane(state: ModelState): LaneRange[] {
  const out: LaneRange[] = [];
  const buses = [...state.bridges.keys()].sort();
  for (const bus of buses) {
    for (const r of state.bridges.get(bus) ?? []) {
      // I/O windows are port numbers, not addresses: they have no place on the PFN axis.
      if ((r.flags & IORESOURCE.MEM) === 0 || r.end < r.start) continue;
      const { pfn, endPfn } = resourcePfns(r);
      out.push({
        pfn,
        endPfn,
        cls: "window",
        label: `bus ${bus} window ${memText(r.start, r.end)}`,
        row: 0,
      });
    }
  }
  return out.sort((a, b) => a.pfn - b.pfn || a.endPfn - b.endPfn);
}

/** Most stacking rows of the BAR lane; further overlapping BARs share the last row. */
export const MAX_BAR_ROWS = 4;

function barLane(state: ModelState): LaneRange[] {
  const bars: LaneRange[] = [];
  const devices = [...state.devices.values()].sort((x, y) => x.device < y.device ? -1 : 1);
  for (const d of devices) {
    for (const r of d.resources as Resource[]) {
      if (!isMmio(r) || r.end < r.start) continue;
      const { pfn, endPfn } = resourcePfns(r);
      bars.push({
        pfn,
        endPfn,
        cls: (r.flags & IORESOURCE.PREFETCH) !== 0 ? "bar-prefetch" : "bar",
        label: `${d.device} ${resourceName(r.index)} ${memText(r.start, r.end)}`,
        row: 0,
      });
    }
  }
  bars.sort((a, b) => a.pfn - b.pfn || a.endPfn - b.endPfn || (a.label < b.label ? -1 : 1));
  const rowEnds: number[] = [];
  for (const b of bars) {
    let row = rowEnds.findIndex((end) => end <= b.pfn);
    if (row < 0) row = rowEnds.length < MAX_BAR_ROWS ? rowEnds.length : MAX_BAR_ROWS - 1;
    rowEnds[row] = Math.max(rowEnds[row] ?? 0, b.endPfn);
    b.row = row;
  }
  return bars;
}

function setLane(set: PfnSet, cls: string, label: string): LaneRange[] {
  const out: LaneRange[] = [];
  set.forEachIn(0, Number.MAX_SAFE_INTEGER, (a, b) => push(out, a, b, cls, label));
  return out;
}

function p2mLane(state: ModelState, endPfn: number, byStructure: boolean): LaneRange[] {
  const out: LaneRange[] = [];
  state.p2m.forEachRun(0, endPfn, (pfn, end, kind, _base, structure) => {
    if (byStructure) push(out, pfn, end, structure, STRUCTURE_LABEL[structure]);
    else {
      const cls = entryClass(kind);
      push(out, pfn, end, cls, ENTRY_LABEL[cls]);
    }
  }, !byStructure);
  return out;
}

/**
 * The ranges of one lane of a state, up to `endPfn` for the P2M lanes (the other lanes show
 * what the state holds, wherever it lies).
 *
 * @example
 * ```ts
 * import { laneRanges } from "./lanes.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * assert.deepEqual(laneRanges(s, "p2m", 0x80000).map((r) => [r.pfn, r.endPfn, r.cls]),
 *   [[0, 0x40000, "mapped"], [0x40000, 0x80000, "invalid"]]);
 * assert.deepEqual(laneRanges(s, "e820", 0x80000), []);
 * ```
 */
export function laneRanges(state: ModelState, lane: LaneName, endPfn: number): LaneRange[] {
  switch (lane) {
    case "e820":
      return e820Lane(state);
    case "bridge":
      return bridgeLane(state);
    case "bar":
      return barLane(state);
    case "extra":
      return setLane(state.extra, "extra", "extra memory (balloon space)");
    case "balloon":
      return setLane(state.balloon, "balloon", "on the balloon list");
    case "hotplug":
      return setLane(state.hotplug, "hotplug", "hot-added memory");
    case "p2m":
      return p2mLane(state, endPfn, false);
    case "structure":
      return p2mLane(state, endPfn, true);
  }
}

/**
 * The last PFN any lane of `state` reaches, besides the P2M itself: the end of the E820 map,
 * of every window and BAR, of extra and hot-added memory.
 *
 * @example
 * ```ts
 * import { factsEnd } from "./lanes.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * assert.equal(factsEnd(s), 0);
 * ```
 */
export function factsEnd(state: ModelState): number {
  let end = 0;
  for (const lane of ["e820", "bridge", "bar", "extra", "balloon", "hotplug"] as const) {
    const rs = laneRanges(state, lane, 0);
    for (const r of rs) end = Math.max(end, r.endPfn);
  }
  return end;
}
