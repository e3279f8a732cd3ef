/**
 * The detectors: each turns what a step did (its changes, the table's notes, verifications,
 * policy rule walks) into findings. They read the state after the step and never change it.
 * Ids are stable: scripts and `check --detector` use them.
 *
 * @module
 */

import type { LookupEvent, PfnRange, TraceEvent } from "../trace/event.ts";
import { K, type KindCode } from "../p2m/leaf_runs.ts";
import { KIND_NAME } from "../p2m/lookup.ts";
import { E820_TYPE } from "../trace/event.ts";
import { isMmio, resourceName, resourcePfns } from "../kernel/pci_resource.ts";
import { pfnDown, pfnUp } from "../kernel/memory_setup.ts";
import type { ModelDraft } from "../model/state.ts";
import type { Policy } from "../policy/policy.ts";
import type { Change, StepOutcome } from "../model/outcome.ts";
import { type Finding, fmtPfns, type Severity } from "./finding.ts";
import { hex } from "../trace/hex.ts";
import { mmioHits } from "./device_mmio.ts";
import { escapeText } from "../report/text.ts";

/** What a detector sees of one step. */
export interface DetectContext {
  /** The event. */
  event: TraceEvent;
  /** The state after the step (read only). */
  state: ModelDraft;
  /** What the step did. */
  outcome: StepOutcome;
  /** brk pages used before the step. */
  brkBefore: number;
}

/**
 * Whether a detector's findings rest on what the boot pass (`xen_memory_setup`) builds: the P2M
 * above nr_pages, extra memory, max_pfn, the shared pages' layout, the raw E820 map it reads.
 * When the pass could not run, such findings are "cannot judge" (`basis.ts`).
 */
export interface BootPassUse {
  /** True when findings under `policy` read what the pass builds. */
  reads(policy: Policy): boolean;
  /** Why, in one sentence (docs/verdicts.md). */
  why: string;
}

const ALWAYS = () => true;

/**
 * What a step did, as bits a detector can watch ({@link Detector.watches}): its outcome had
 * changes, notes, verifications, anomalies, identity-rule walks, moved or removed devices, or
 * the step used brk pages.
 */
export const STEP = {
  CHANGES: 1,
  NOTES: 2,
  VERIFICATIONS: 4,
  ANOMALIES: 8,
  RULES: 16,
  MOVED: 32,
  BRK: 64,
} as const;

/**
 * The {@link STEP} bits of a step's outcome (`brkUsed`: the brk pages used after it).
 *
 * @example
 * ```ts
 * import { STEP, stepBits } from "./detectors.ts";
 * import { emptyOutcome } from "../model/outcome.ts";
 * import assert from "node:assert/strict";
 * assert.equal(stepBits(emptyOutcome(), 20, 20), 0);
 * assert.equal(stepBits(emptyOutcome(), 20, 21), STEP.BRK);
 * ```
 */
export function stepBits(outcome: StepOutcome, brkBefore: number, brkUsed: number): number {
  let bits = 0;
  if (outcome.changes.length > 0) bits |= STEP.CHANGES;
  if (outcome.notes.length > 0) bits |= STEP.NOTES;
  if (outcome.verifications.length > 0) bits |= STEP.VERIFICATIONS;
  if (outcome.anomalies.length > 0) bits |= STEP.ANOMALIES;
  if (outcome.rules.length > 0) bits |= STEP.RULES;
  if (outcome.moved.length > 0 || outcome.removed !== undefined) bits |= STEP.MOVED;
  if (brkUsed !== brkBefore) bits |= STEP.BRK;
  return bits;
}

/**
 * The steps a detector can find something in: those whose event is of one of `kinds` or whose
 * outcome has one of the `outcome` bits ({@link STEP}).
 */
export interface Watches {
  /** Event kinds the detector looks at whatever the step did. */
  kinds: readonly TraceEvent["kind"][];
  /** {@link STEP} bits, any of which makes the detector look. */
  outcome: number;
}

/** A detector. */
export interface Detector {
  /** Stable id. */
  id: string;
  /** Severity of its findings. */
  severity: Severity;
  /** One line. */
  description: string;
  /** Whether its findings rest on the boot pass, and why. */
  bootPass: BootPassUse;
  /**
   * When set, `run` finds nothing on a step outside these, and the replayer does not call it
   * there: most steps of a long trace touch nothing a detector watches. Unset: every step.
   */
  watches?: Watches;
  /** Finds problems in one step (the shared empty {@link NONE} when there are none). */
  run(ctx: DetectContext): readonly Finding[];
}

/** The empty result, shared: a step without problems allocates nothing. */
export const NONE: readonly Finding[] = Object.freeze([]);

function finding(
  d: Pick<Detector, "id" | "severity">,
  ctx: DetectContext,
  key: string,
  message: string,
  evidence: [string, string][],
  range?: PfnRange,
): Finding {
  const f: Finding = {
    detector: d.id,
    severity: d.severity,
    seq: ctx.event.seq,
    line: ctx.event.line,
    kind: ctx.event.kind,
    message,
    evidence: [
      ["event", `${ctx.event.kind} (seq ${ctx.event.seq}, line ${ctx.event.line})`],
      ...evidence,
    ],
    key: `${d.id}:${key}`,
  };
  if (range) f.range = range;
  return f;
}

/** The kind a lookup answers, after the policy's invalid-is-identity override. */
function effective(ctx: DetectContext, kind: number): number {
  return kind === K.INVALID && ctx.state.ctx.invalidIsIdentity ? K.IDENTITY : kind;
}

/** Describes an entry for evidence. */
export function describeEntry(kind: number, mfn: number): string {
  switch (kind) {
    case K.INVALID:
      return "INVALID (raw 0xffffffffffffffff; a PTE built from it is 0)";
    case K.IDENTITY:
      return "identity (1:1, raw IDENTITY_FRAME(pfn))";
    case K.MFN_UNKNOWN:
      return "mfn (a valid frame, not recorded)";
    case K.SCRATCH:
      return mfn < 0
        ? "the balloon scratch page's mfn"
        : `the balloon scratch page's mfn ${hex(mfn)}`;
    case K.FOREIGN:
      return `foreign mfn ${hex(mfn)}`;
    default:
      return `mfn ${hex(mfn)}`;
  }
}

/** Runs of `[a, b)` whose effective kind is `kind`. */
function runsOfKind(ctx: DetectContext, a: number, b: number, kind: number): PfnRange[] {
  const out: PfnRange[] = [];
  ctx.state.p2m.forEachRun(a, b, (p, e, k) => {
    if (effective(ctx, k) !== kind) return;
    const last = out[out.length - 1];
    if (last && last.endPfn === p) last.endPfn = e;
    else out.push({ pfn: p, endPfn: e });
  }, true);
  return out;
}

/** True when a change made PFNs identity that were not (ram-identity's first test). */
function becameIdentity(c: Change): boolean {
  return c.afterKind === K.IDENTITY && c.beforeKind !== K.IDENTITY;
}

/** True when one of `changes` made PFNs identity that were not. */
function anyBecameIdentity(changes: readonly Change[]): boolean {
  for (let i = 0; i < changes.length; i++) if (becameIdentity(changes[i])) return true;
  return false;
}

/** True when `r` overlaps a raw E820 RAM entry. */
function overlapsRam(ctx: DetectContext, r: PfnRange): boolean {
  return ctx.state.e820.some((e) =>
    e.type === E820_TYPE.ram && r.pfn < pfnUp(e.start + e.size) && pfnDown(e.start) < r.endPfn
  );
}

function span(rs: PfnRange[]): PfnRange {
  return { pfn: rs[0].pfn, endPfn: rs[rs.length - 1].endPfn };
}

function pages(rs: PfnRange[]): number {
  return rs.reduce((n, r) => n + r.endPfn - r.pfn, 0);
}

function rangeList(rs: PfnRange[], max = 4): string {
  const shown = rs.slice(0, max).map(fmtPfns).join(", ");
  return rs.length > max ? `${shown}, and ${rs.length - max} more range(s)` : shown;
}

function intersect(a: PfnRange, b: PfnRange): PfnRange | undefined {
  const pfn = Math.max(a.pfn, b.pfn), endPfn = Math.min(a.endPfn, b.endPfn);
  return pfn < endPfn ? { pfn, endPfn } : undefined;
}

/**
 * True for the bulk of a long trace, pages ballooned out one at a time that do not look up
 * identity: {@link membershipAdded} then holds nothing identity, without building its list.
 */
function notIdentityPages(ctx: DetectContext): boolean {
  const e = ctx.event;
  if (e.kind !== "decrease_reservation") return false;
  const ranges = e.ranges;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    if (r.endPfn - r.pfn !== 1) return false;
    if (effective(ctx, ctx.state.p2m.kindAt(r.pfn)) === K.IDENTITY) return false;
  }
  return true;
}

/** The event kinds {@link membershipAdded} can return ranges for. */
const MEMBERSHIP_KINDS: readonly TraceEvent["kind"][] = [
  "balloon_append",
  "decrease_reservation",
  "memory_hotplug",
  "memory_setup",
];

/** True for the event kinds {@link membershipAdded} can return ranges for. */
function addsMembership(kind: TraceEvent["kind"]): boolean {
  return MEMBERSHIP_KINDS.includes(kind);
}

/** True when a change of the step made PFNs `kind` (as a lookup reads them) that were not. */
function madeKind(ctx: DetectContext, kind: KindCode): boolean {
  const changes = ctx.outcome.changes;
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i];
    if (effective(ctx, c.afterKind) === kind && effective(ctx, c.beforeKind) !== kind) return true;
  }
  return false;
}

/** Ranges newly put on the balloon list / in extra memory / hot-added by this event. */
function membershipAdded(ctx: DetectContext): { range: PfnRange; what: string }[] {
  const e = ctx.event;
  switch (e.kind) {
    case "balloon_append":
      return e.ranges.map((range) => ({ range, what: "appended to the balloon list" }));
    case "decrease_reservation":
      return e.ranges.map((range) => ({ range, what: "ballooned out" }));
    case "memory_hotplug": {
      const range = { pfn: pfnDown(e.start), endPfn: pfnDown(e.start + e.size) };
      return [{ range, what: "hot-added memory" }];
    }
    case "memory_setup":
      return (ctx.state.boot?.extra ?? []).map((range) => ({
        range,
        what: "extra memory (balloon space)",
      }));
    default:
      return [];
  }
}

/**
 * Which mapping paths of the replayed kernel get bus address 0 for a PFN whose entry is INVALID,
 * and which still work. Until v3.18, `_PAGE_IOMAP` PTEs (ioremap, sysfs/proc PCI mmap) skip the
 * P2M in dom0 and in a domU at or above 1 MiB; remap_pfn_range/io_remap_pfn_range and /dev/mem
 * always consult it.
 */
function mappingPaths(ctx: DetectContext, pfn: number): string {
  const c = ctx.state.ctx;
  const consulting = "remap_pfn_range/io_remap_pfn_range (driver mmap), /dev/mem";
  if (c.pageIomap && (c.dom0 || pfn >= 0x100)) {
    return `bus address 0: ${consulting}; still work: ioremap, sysfs/proc PCI mmap ` +
      "(_PAGE_IOMAP skips the P2M)";
  }
  const why = c.pageIomap ? "_PAGE_IOMAP does not skip the P2M below 1 MiB in a domU" : "this " +
    "kernel has no _PAGE_IOMAP";
  return `bus address 0: ioremap, sysfs/proc PCI mmap, ${consulting} (${why})`;
}

/**
 * Whether lookup-zero has anything to look at in this step: a device added, a resource
 * assigned, a lookup, or PFNs made INVALID while some device is known. Every other step (most
 * of a balloon-driven trace) returns before building its lists.
 */
function lookupZeroWatches(ctx: DetectContext): boolean {
  const kind = ctx.event.kind;
  if (kind === "xen_add_device" || kind === "pci_resource_assign" || kind === "lookup") {
    return true;
  }
  return ctx.state.devices.size > 0 && madeKind(ctx, K.INVALID);
}

/** True when recorded lookup `e` reads INVALID and its mapping does not bypass the P2M. */
function lookupGetsZero(ctx: DetectContext, e: LookupEvent): boolean {
  const bypass = e.iomap && ctx.state.ctx.pageIomap && (ctx.state.ctx.dom0 || e.pfn >= 0x100);
  return effective(ctx, ctx.state.p2m.kindAt(e.pfn)) === K.INVALID && !bypass;
}

const lookupZero: Detector = {
  id: "lookup-zero",
  severity: "error",
  watches: { kinds: ["xen_add_device", "pci_resource_assign", "lookup"], outcome: STEP.CHANGES },
  description: "a device MMIO PFN or a recorded lookup gives bus address 0 (the entry is INVALID)",
  bootPass: {
    reads: ALWAYS,
    why: "it reads whether a BAR's or a lookup's PFNs are INVALID, and above nr_pages every PFN " +
      "is INVALID until the boot pass marks the holes (and, from v3.16, everything above the map) " +
      "identity; it skips BARs that overlap RAM by the raw E820 map",
  },
  run(ctx) {
    if (ctx.state.ctx.autoTranslated || !lookupZeroWatches(ctx)) return NONE;
    const e = ctx.event;
    // Most recorded lookups find a mapped entry: nothing to build.
    if (e.kind === "lookup" && ctx.outcome.changes.length === 0 && !lookupGetsZero(ctx, e)) {
      return NONE;
    }
    const out: Finding[] = [];
    const check = (device: string, r: import("../trace/event.ts").Resource, why: string) => {
      // Drivers map BARs, ROMs and IOV BARs; bridge windows (13-16) only route addresses.
      if (!isMmio(r) || r.index > 12) return;
      const sp = resourcePfns(r);
      // A firmware value that conflicts with E820 RAM is never claimed: no driver maps it.
      if (overlapsRam(ctx, sp)) return;
      const bad = runsOfKind(ctx, sp.pfn, sp.endPfn, K.INVALID);
      if (bad.length === 0) return;
      const where = ctx.state.p2m.structureAt(bad[0].pfn);
      out.push(finding(
        this,
        ctx,
        `${device}:${r.index}:${r.start}`,
        `${device} ${resourceName(r.index)} [mem ${hex(r.start)}-${hex(r.end)}]: ` +
          `${pages(bad)} of ${sp.endPfn - sp.pfn} PFN(s) look up INVALID, so a PTE for them is 0 ` +
          `(bus address 0)`,
        [
          ["device", device],
          [
            "resource",
            `${resourceName(r.index)} [mem ${hex(r.start)}-${hex(r.end)}] flags ${hex(r.flags)}`,
          ],
          ["INVALID PFNs", rangeList(bad)],
          ["entry", describeEntry(K.INVALID, 0)],
          ["answered by", where],
          ["mapping paths", mappingPaths(ctx, bad[0].pfn)],
          ["why", why],
        ],
        span(bad),
      ));
    };
    if (e.kind === "xen_add_device") {
      for (const r of e.resources) check(e.device, r, "checked when the device was added");
    } else if (
      e.kind === "pci_resource_assign" && e.action !== "released" && e.action !== "failed"
    ) {
      check(e.device, e.resource, `the resource was ${e.action}`);
    } else if (e.kind === "lookup") {
      if (lookupGetsZero(ctx, e)) {
        const r = { pfn: e.pfn, endPfn: e.pfn + 1 };
        const value = e.via === "pte"
          ? "a PTE of 0 (bus address 0)"
          : e.via === "phys_to_machine"
          ? "machine address 0xfffffffffffff000 | offset"
          : "INVALID_P2M_ENTRY";
        out.push(finding(
          this,
          ctx,
          `lookup:${e.pfn}:${e.via}`,
          `recorded lookup of pfn ${hex(e.pfn)} via ${e.via}${
            e.by ? ` by ${escapeText(e.by)}` : ""
          } gets ${value}`,
          [
            ["entry", describeEntry(K.INVALID, 0)],
            ["answered by", ctx.state.p2m.structureAt(e.pfn)],
          ],
          r,
        ));
      }
    }
    // A change that turns PFNs of an added device's MMIO resource INVALID.
    for (const c of ctx.outcome.changes) {
      if (effective(ctx, c.afterKind) !== K.INVALID || effective(ctx, c.beforeKind) === K.INVALID) {
        continue;
      }
      if (ctx.state.devices.size === 0) continue;
      // Devices x resources, walked through their index by PFN (many devices, many changes).
      for (const { dev, r, hit } of mmioHits(ctx.state, c)) {
        out.push(finding(
          this,
          ctx,
          `${dev.device}:${r.index}:${r.start}:${hit.pfn}`,
          `${dev.device} ${resourceName(r.index)}: PFNs ${
            fmtPfns(hit)
          } became INVALID (bus address 0)`,
          [
            ["device", dev.device],
            ["before", describeEntry(c.beforeKind, c.beforeMfn)],
            ["after", describeEntry(K.INVALID, 0)],
            ["mapping paths", mappingPaths(ctx, hit.pfn)],
          ],
          hit,
        ));
      }
    }
    return out;
  },
};

const balloonIdentity: Detector = {
  id: "balloon-identity",
  severity: "error",
  watches: { kinds: MEMBERSHIP_KINDS, outcome: STEP.CHANGES },
  description:
    "a ballooned or extra-memory page is identity (its PTE would map machine frame == pfn)",
  bootPass: {
    reads: ALWAYS,
    why:
      "extra memory (balloon space) is what the boot pass leaves above max_pfn, identity comes " +
      "from its marking, and the BAR rules skip RAM by the map or the max_pfn it sets",
  },
  run(ctx) {
    if (ctx.state.ctx.autoTranslated) return NONE;
    const quiet = notIdentityPages(ctx);
    if (quiet && !anyBecameIdentity(ctx.outcome.changes)) return NONE;
    if (!addsMembership(ctx.event.kind) && !madeKind(ctx, K.IDENTITY)) return NONE;
    const out: Finding[] = [];
    for (const { range, what } of quiet ? [] : membershipAdded(ctx)) {
      if (ctx.event.kind === "memory_hotplug") continue; // identity-overlap reports hot-added memory
      const ident = runsOfKind(ctx, range.pfn, range.endPfn, K.IDENTITY);
      if (ident.length === 0) continue;
      const read = ctx.state.ctx.invalidIsIdentity ? " (INVALID read as 1:1)" : "";
      out.push(finding(
        this,
        ctx,
        `${ident[0].pfn}`,
        `${pages(ident)} PFN(s) ${what} are identity: ${rangeList(ident, 2)}`,
        [
          ["PFNs", rangeList(ident)],
          ["entry", describeEntry(K.IDENTITY, 0) + read],
          ["answered by", ctx.state.p2m.structureAt(ident[0].pfn)],
        ],
        span(ident),
      ));
    }
    const hits: PfnRange[] = [];
    let first: import("../model/outcome.ts").Change | undefined;
    for (const c of ctx.outcome.changes) {
      if (
        effective(ctx, c.afterKind) !== K.IDENTITY || effective(ctx, c.beforeKind) === K.IDENTITY
      ) continue;
      const add = (a: number, b: number) => {
        first ??= c;
        hits.push({ pfn: a, endPfn: b });
      };
      ctx.state.balloon.forEachIn(c.pfn, c.endPfn, add);
      ctx.state.extra.forEachIn(c.pfn, c.endPfn, add);
    }
    if (hits.length > 0 && first) {
      hits.sort((x, y) => x.pfn - y.pfn);
      const merged: PfnRange[] = [];
      for (const h of hits) {
        const last = merged[merged.length - 1];
        if (last && h.pfn <= last.endPfn) last.endPfn = Math.max(last.endPfn, h.endPfn);
        else merged.push({ ...h });
      }
      out.push(finding(
        this,
        ctx,
        `${merged[0].pfn}`,
        `${pages(merged)} ballooned/extra-memory PFN(s) became identity: ${rangeList(merged, 2)}`,
        [
          ["PFNs", rangeList(merged)],
          ["before", describeEntry(first.beforeKind, first.beforeMfn)],
          ["after", describeEntry(K.IDENTITY, 0)],
        ],
        span(merged),
      ));
    }
    return out;
  },
};

const identityOverlap: Detector = {
  id: "identity-overlap",
  severity: "warning",
  watches: { kinds: ["memory_hotplug"], outcome: 0 },
  description: "memory is hot-added where the P2M is identity",
  bootPass: {
    reads: ALWAYS,
    why: "the identity that hot-added memory lands on is the boot pass's identity above the map",
  },
  run(ctx) {
    if (ctx.state.ctx.autoTranslated || ctx.event.kind !== "memory_hotplug") return NONE;
    const out: Finding[] = [];
    for (const { range, what } of membershipAdded(ctx)) {
      const ident = runsOfKind(ctx, range.pfn, range.endPfn, K.IDENTITY);
      if (ident.length === 0) continue;
      out.push(finding(
        this,
        ctx,
        `${what}:${ident[0].pfn}`,
        `${pages(ident)} PFN(s) ${what} are identity: ${rangeList(ident, 2)}`,
        [["PFNs", rangeList(ident)], ["entry", describeEntry(K.IDENTITY, 0)], [
          "answered by",
          ctx.state.p2m.structureAt(ident[0].pfn),
        ]],
        span(ident),
      ));
    }
    return out;
  },
};

const ramIdentity: Detector = {
  id: "ram-identity",
  severity: "error",
  watches: { kinds: [], outcome: STEP.CHANGES },
  description: "a PFN entirely inside E820 RAM, below max_pfn, becomes identity",
  bootPass: {
    reads: ALWAYS,
    why: "it reads the raw E820 map and the max_pfn the boot pass sets",
  },
  run(ctx) {
    if (ctx.state.ctx.autoTranslated || !anyBecameIdentity(ctx.outcome.changes)) return NONE;
    const out: Finding[] = [];
    const ram = ctx.state.e820.filter((e) => e.type === E820_TYPE.ram);
    for (const c of ctx.outcome.changes) {
      if (c.afterKind !== K.IDENTITY || c.beforeKind === K.IDENTITY) continue;
      for (const e of ram) {
        const r = intersect(c, {
          pfn: pfnUp(e.start),
          endPfn: Math.min(pfnDown(e.start + e.size), ctx.state.maxPfn),
        });
        if (!r) continue;
        out.push(finding(
          this,
          ctx,
          `${r.pfn}`,
          `RAM PFNs ${fmtPfns(r)} became identity`,
          [
            [
              "E820 RAM entry",
              `[mem ${hex(e.start)}-${hex(e.start + e.size - 1)}] (line ${e.line})`,
            ],
            ["before", describeEntry(c.beforeKind, c.beforeMfn)],
            ["after", describeEntry(K.IDENTITY, 0)],
          ],
          r,
        ));
      }
    }
    return out;
  },
};

/** Notes of one type in one step, merged where their ranges touch. */
interface NoteGroup {
  /** The first note. */
  first: Record<string, number | string>;
  /** The last note. */
  last: Record<string, number | string>;
  /** Merged range (pfn/endPfn of the notes). */
  range: PfnRange;
  /** Merged granted range (overreach). */
  granted?: PfnRange;
  /** How many notes. */
  count: number;
}

function groupNotes(ctx: DetectContext, type: string): NoteGroup[] {
  const notes = ctx.outcome.notes
    .filter((n) => n.type === type)
    .map((n) => n as unknown as Record<string, number | string>)
    .sort((a, b) => (a.pfn as number) - (b.pfn as number));
  const out: NoteGroup[] = [];
  for (const n of notes) {
    const r = { pfn: n.pfn as number, endPfn: n.endPfn as number };
    const g = n.grantedPfn === undefined
      ? undefined
      : { pfn: n.grantedPfn as number, endPfn: n.grantedEndPfn as number };
    const last = out[out.length - 1];
    const touches = last && r.pfn <= (last.granted ?? last.range).endPfn &&
      last.first.kind === n.kind &&
      last.first.level === n.level;
    if (touches) {
      last.last = n;
      last.range.endPfn = Math.max(last.range.endPfn, r.endPfn);
      if (g && last.granted) last.granted.endPfn = Math.max(last.granted.endPfn, g.endPfn);
      last.count++;
    } else out.push({ first: n, last: n, range: r, granted: g, count: 1 });
  }
  return out;
}

/** True when `notes` hold one of `type` (most steps' notes are of other types, or none). */
function hasNote(notes: readonly { type: string }[], type: string): boolean {
  for (let i = 0; i < notes.length; i++) if (notes[i].type === type) return true;
  return false;
}

function noteDetector(
  id: string,
  severity: Severity,
  description: string,
  bootPass: BootPassUse,
  type: string,
  make: (g: NoteGroup) => { message: string; evidence: [string, string][]; range?: PfnRange },
): Detector {
  return {
    id,
    severity,
    description,
    bootPass,
    watches: { kinds: [], outcome: STEP.NOTES },
    run(ctx) {
      if (!hasNote(ctx.outcome.notes, type)) return NONE;
      return groupNotes(ctx, type).map((g) => {
        const m = make(g);
        return finding(
          this,
          ctx,
          `${g.range.pfn}:${g.range.endPfn}`,
          m.message,
          m.evidence,
          m.range,
        );
      });
    },
  };
}

const lostWrite = noteDetector(
  "lost-write",
  "error",
  "a write stored into the shared identity page: reported as success, lookups still say identity",
  {
    reads: ALWAYS,
    why: "a write is lost only in the shared identity page, which GiBs and leaves point at where " +
      "the boot pass marked identity",
  },
  "lost-write",
  (g) => ({
    message:
      `write of ${KIND_NAME[g.first.kind as number]} to ${fmtPfns(g.range)} landed in the shared ` +
      `identity page and is lost`,
    evidence: [
      ["written", KIND_NAME[g.first.kind as number]],
      ["lookups still answer", describeEntry(K.IDENTITY, 0)],
    ],
    range: g.range,
  }),
);

const alias = noteDetector(
  "alias",
  "error",
  "an identity write swapped slots of the shared mid-missing page: that 2 MiB turns identity in every missing GiB",
  {
    reads: ALWAYS,
    why: "which GiBs share the mid-missing page follows from nr_pages and the boot pass's writes",
  },
  "alias",
  (g) => {
    const slots = g.count === 1 ? `slot ${g.first.slot}` : `slots ${g.first.slot}-${g.last.slot}`;
    return {
      message:
        `identity at ${
          fmtPfns(g.range)
        } went into ${slots} of the shared mid-missing page: the same ` +
        `${g.count * 2} MiB per GiB is now identity in the ${g.last.gibs} GiB(s) that share it`,
      evidence: [
        ["slots", slots],
        ["GiBs sharing the page", String(g.last.gibs)],
        ["PFNs made identity", `${g.count * 512 * (g.last.gibs as number)} pages`],
      ],
      range: g.range,
    };
  },
);

const overreach = noteDetector(
  "overreach",
  "warning",
  "identity was granted to more PFNs than asked for (a whole leaf or GiB)",
  {
    reads: ALWAYS,
    why: "whole leaves or GiBs are granted where the table has shared pages, laid out by the " +
      "boot pass",
  },
  "overreach",
  (g) => {
    const granted = g.granted ?? g.range;
    return {
      message:
        `identity asked for ${fmtPfns(g.range)}, granted to whole ${
          g.first.level === "gib" ? "GiB(s)" : "leaf page(s)"
        } ` +
        `${fmtPfns(granted)}`,
      evidence: [["asked", fmtPfns(g.range)], ["granted", fmtPfns(granted)], [
        "swaps",
        String(g.count),
      ]],
      range: granted,
    };
  },
);

const bugOutOfRange = noteDetector(
  "bug-out-of-range",
  "error",
  "a non-INVALID write at or beyond the structure's limit (MAX_P2M_PFN): a kernel BUG",
  {
    reads: (policy) => policy.kernel.structure === "L19",
    why: "the 3-level tree's limit, MAX_P2M_PFN (512 GiB), is fixed, so a write beyond it is a " +
      "BUG whatever was built; the linear list's xen_p2m_size follows the max_pfn and extra " +
      "memory of the boot pass (linux-3.19)",
  },
  "bug-out-of-range",
  (g) => ({
    message:
      `write of ${KIND_NAME[g.first.kind as number]} to ${fmtPfns(g.range)}, beyond the P2M: ` +
      `BUG_ON in __set_phys_to_machine`,
    evidence: [
      ["written", KIND_NAME[g.first.kind as number]],
      ["limit", "MAX_P2M_PFN 0x8000000 (tree) / xen_p2m_size (list)"],
    ],
    range: g.range,
  }),
);

const brkBudget: Detector = {
  id: "brk-budget",
  severity: "error",
  watches: { kinds: [], outcome: STEP.BRK },
  description: "the P2M needed more boot pages (brk) than the kernel reserves: a boot-time BUG",
  bootPass: {
    reads: ALWAYS,
    why: "it counts the brk pages of the boot P2M, allocated by the boot pass",
  },
  run(ctx) {
    const a = ctx.state.p2m.accounting;
    if (a.brkReserved === 0 || a.brkUsed <= a.brkReserved || ctx.brkBefore > a.brkReserved) {
      return NONE;
    }
    return [finding(
      this,
      ctx,
      "brk",
      `P2M boot allocations need ${a.brkUsed} brk pages, ${a.brkReserved} are reserved (extend_brk BUG)`,
      [
        ["used", String(a.brkUsed)],
        ["reserved", String(a.brkReserved)],
        ["before this step", String(ctx.brkBefore)],
        [
          "limit",
          "the P2M's own RESERVE_BRKs; extend_brk checks one limit for all of them together, so " +
          "the kernel BUGs only once every reservation's room is used",
        ],
      ],
    )];
  },
};

const staleIdentity: Detector = {
  id: "stale-identity",
  severity: "warning",
  watches: { kinds: [], outcome: STEP.MOVED },
  description:
    "identity granted for a BAR or window stays behind after it moved or the device went away",
  bootPass: {
    reads: ALWAYS,
    why: "a BAR rule grants identity only where the P2M is INVALID and not RAM (by the map or " +
      "max_pfn), so what the boot pass built decides what was granted",
  },
  run(ctx) {
    if (ctx.outcome.moved.length === 0 && !ctx.outcome.removed) return NONE;
    const out: Finding[] = [];
    // A BAR's identity is justified only by a device resource that still covers it.
    const current: PfnRange[] = [];
    for (const dev of ctx.state.devices.values()) {
      for (const r of dev.resources) if (isMmio(r)) current.push(resourcePfns(r));
    }
    const covered = (r: PfnRange) => current.some((c) => c.pfn <= r.pfn && r.endPfn <= c.endPfn);
    const stale = (device: string, index: number | undefined, why: string) => {
      for (const g of ctx.state.grants) {
        if (g.device !== device || (index !== undefined && g.index !== index) || covered(g.range)) {
          continue;
        }
        const still = runsOfKind(ctx, g.range.pfn, g.range.endPfn, K.IDENTITY);
        if (still.length === 0) continue;
        out.push(finding(
          this,
          ctx,
          `${g.source}:${g.range.pfn}`,
          `identity granted at step ${g.seq} for ${g.source} stays at ${
            rangeList(still, 1)
          } after ${why}`,
          [["granted", `${fmtPfns(g.range)} at step ${g.seq}`], [
            "still identity",
            rangeList(still),
          ]],
          span(still),
        ));
      }
    };
    for (const m of ctx.outcome.moved) {
      const where = m.action === "released" || m.action === "failed"
        ? `${resourceName(m.before.index)} was ${m.action}`
        : `${resourceName(m.before.index)} moved to [mem ${hex(m.after.start)}-${
          hex(m.after.end)
        }]`;
      stale(m.device, m.before.index, where);
    }
    if (ctx.outcome.removed) stale(ctx.outcome.removed.device, undefined, "the device was removed");
    return out;
  },
};

const divergence: Detector = {
  id: "divergence",
  severity: "error",
  watches: { kinds: [], outcome: STEP.VERIFICATIONS },
  description:
    "a recorded lookup, p2m dump or boot count disagrees with the model (replaying vs recorded)",
  bootPass: {
    reads: ALWAYS,
    why: "it compares what the guest recorded with the modelled P2M and boot counts, which the " +
      "boot pass builds",
  },
  run(ctx) {
    if (ctx.outcome.verifications.length === 0) return NONE;
    return ctx.outcome.verifications.filter((v) => !v.ok).map((v) =>
      finding(
        this,
        ctx,
        `${ctx.event.seq}:${v.what}`,
        `${v.what}: replaying gives ${v.model}, recorded ${v.recorded}`,
        [["recorded", v.recorded], ["replaying", v.model]],
        v.range,
      )
    );
  },
};

const ioAsMemory: Detector = {
  id: "io-as-memory",
  severity: "warning",
  watches: { kinds: [], outcome: STEP.RULES },
  description:
    "an I/O port resource was walked as a memory range (flags == IORESOURCE_IO misses 0x40101)",
  bootPass: {
    reads: () => false,
    why: "only the resource's flags and the policy's skip test (== or &) decide whether an I/O " +
      "resource is walked as memory; nothing the boot pass builds",
  },
  run(ctx) {
    if (ctx.outcome.rules.length === 0) return NONE;
    return ctx.outcome.rules.filter((r) => r.ioAsMemory).map((r) =>
      finding(
        this,
        ctx,
        r.source,
        `${r.source} [io ${hex(r.resource.start)}-${hex(r.resource.end)}] flags ${
          hex(r.resource.flags)
        } was walked ` +
          `as memory: port numbers read as addresses, PFNs ${fmtPfns(r.span)}` +
          (r.written.length > 0 ? `; ${pages(r.written)} PFN(s) written identity` : ""),
        [
          ["flags", `${hex(r.resource.flags)} != IORESOURCE_IO 0x100`],
          ["PFNs walked", fmtPfns(r.span)],
          [
            "written identity",
            r.written.length > 0 ? rangeList(r.written) : "none (RAM or already mapped)",
          ],
        ],
        r.span,
      )
    );
  },
};

const traceAnomaly: Detector = {
  id: "trace-anomaly",
  severity: "warning",
  watches: { kinds: [], outcome: STEP.ANOMALIES },
  description:
    "the trace asks for something the modelled kernel would not do (a retrieve of a page not ballooned, a second boot pass)",
  bootPass: {
    reads: ALWAYS,
    why: "the balloon list it checks retrieves against starts as the extra memory the boot pass " +
      "leaves, and it reports boot passes that could not run",
  },
  run(ctx) {
    if (ctx.outcome.anomalies.length === 0) return NONE;
    return ctx.outcome.anomalies.map((a, i) =>
      finding(this, ctx, `${ctx.event.seq}:${i}`, a.message, [], a.range)
    );
  },
};

/** Every detector, in report order. */
export const DETECTORS: readonly Detector[] = [
  lookupZero,
  balloonIdentity,
  ramIdentity,
  identityOverlap,
  lostWrite,
  alias,
  overreach,
  bugOutOfRange,
  brkBudget,
  staleIdentity,
  divergence,
  ioAsMemory,
  traceAnomaly,
];

/** Detector ids. */
export const DETECTOR_IDS: readonly string[] = DETECTORS.map((d) => d.id);
