/**
 * The data of an address-space map: one replay per policy, run in lockstep over the same trace,
 * and at each kept step every lane of every policy as coalesced ranges. Lane contents are
 * stored once and referenced by id, so a lane that does not change costs nothing per step.
 *
 * **What is kept, and the bound.** A trace of at most `maxFrames` events keeps every step (each
 * with its event). A longer one keeps only the steps at which some policy's state changed, and
 * when even those exceed `maxFrames` it keeps every 2nd, 4th, ... change (the stride doubles
 * as the trace grows), always with step 0, the end, and the first step of each finding (up to a
 * quarter of the frames). A lane with more than {@link MAX_LANE_RANGES} ranges is coarsened at
 * the picture's resolution: neighbours narrower than a pixel merge into one `mixed` range that
 * says what it holds. So the data is O(maxFrames x lanes x picture width) whatever the length
 * of the trace.
 *
 * @module
 */

import type { Finding } from "../detect/finding.ts";
import { type Verdict, verdictSoFar } from "../detect/verdict.ts";
import type { TraceReader } from "../trace/read.ts";
import type { TraceHeader } from "../trace/event.ts";
import { FRAME_LIMIT } from "../trace/hex.ts";
import { ForwardPass } from "../replay/forward.ts";
import { selectDetectors, type StepRecord } from "../replay/replayer.ts";
import type { ModelState } from "../model/state.ts";
import { describeEvent } from "../report/describe.ts";
import { policySpec } from "../report/snapshot_report.ts";
import type { CutOffError } from "../errors.ts";
import { pastEndError, type StepName } from "../replay/steps.ts";
import { type Axis, axisX, type CutPriority } from "./axis.ts";
import { FACT_LANES, type LaneName, type LaneRange, laneRanges, LANES } from "./lanes.ts";
import { shortLabel } from "./draw.ts";
import { LaneStore } from "./lane_store.ts";

/** Default most frames kept. */
export const DEFAULT_MAX_FRAMES = 250;

/** A lane with more ranges than this is coarsened to the picture's resolution. */
export const MAX_LANE_RANGES = 300;

/** Most findings kept per policy (the rest are counted). */
export const MAX_FINDINGS = 500;

/** One kept step. */
export interface MapFrame {
  /** Events applied. */
  index: number;
  /** Step number (0, or the seq of the last event applied). */
  step: number;
  /** Trace line of the event that ends the step (0 at step 0). */
  line: number;
  /** The event, described (empty at step 0). */
  event: string;
  /** Per policy, per lane (in {@link LANES} order): the id of the lane's ranges. */
  lanes: number[][];
  /** Per policy, the verdict so far and its line (`verdictSoFar`). */
  verdicts: [Verdict, string][];
}

/** A policy of the map, with its findings. */
export interface MapPolicy {
  /** Name as `--policy` takes it, with options. */
  spec: string;
  /** One-line summary of the policy. */
  summary: string;
  /** Findings (at most {@link MAX_FINDINGS}), in order. */
  findings: Finding[];
  /** Findings left out. */
  findingsOmitted: number;
}

/** What frames stand for. */
export type FrameSampling = "every step" | "every change" | "sampled changes";

/** Everything the map draws. */
export interface MapModel {
  /** The trace name as given. */
  trace: string;
  /** The trace header. */
  header: TraceHeader;
  /** Events in the trace (up to a cut-off). */
  events: number;
  /** The policies, in the order asked for. */
  policies: MapPolicy[];
  /** Lane contents by id (`states.ranges(id)`), held packed. */
  states: LaneStore;
  /** The kept steps, in order. */
  frames: MapFrame[];
  /** What the frames stand for. */
  sampling: FrameSampling;
  /** Steps at which some state changed. */
  changedSteps: number;
  /** The axis's end: past every lane's facts and every policy's structure limit. */
  endPfn: number;
  /** The cut-off, when the recording's last line was truncated. */
  cutOff: CutOffError | undefined;
  /** The frame of the step asked for (`at`). */
  initial: number;
}

/** Options of {@link collectMap}. */
export interface CollectOptions {
  /** Most frames (default {@link DEFAULT_MAX_FRAMES}). */
  maxFrames?: number;
  /** The step to show first (always kept; default `end`). */
  at?: StepName;
}

interface PendingFrame {
  frame: MapFrame;
  changed: boolean;
  pinned: boolean;
}

/**
 * Replays one reader per policy in lockstep and collects the map's frames. Each reader must
 * read the same trace.
 *
 * @example
 * ```ts
 * import { collectMap } from "./collect.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const text = await Deno.readTextFile("traces/pcie-bar-above-e820.jsonl");
 * const m = await collectMap(
 *   ["linux-3.12", "linux-3.16"].map((p) => ({
 *     reader: TraceReader.fromText("t", text),
 *     policy: p,
 *   })),
 * );
 * assert.equal(m.frames.length, 22); // every step, 0 to 21
 * assert.equal(m.policies[0].findings[0].detector, "lookup-zero");
 * assert.equal(m.policies[1].findings.length, 0);
 * ```
 */
export async function collectMap(
  runs: { reader: TraceReader; policy: string | undefined }[],
  opts: CollectOptions = {},
): Promise<MapModel> {
  const maxFrames = Math.max(2, opts.maxFrames ?? DEFAULT_MAX_FRAMES);
  const passes: ForwardPass[] = [];
  for (const r of runs) {
    passes.push(
      await ForwardPass.open(r.reader, { policy: r.policy, detectors: selectDetectors([]) }),
    );
  }
  const table = new LaneStore();
  // The lanes of each policy's last captured state: a state that did not change is not walked.
  const cache: { state: ModelState; ids: number[] }[] = [];
  const capture = (states: ModelState[]): number[][] =>
    states.map((s, i) => {
      if (cache[i]?.state !== s) {
        cache[i] = {
          state: s,
          ids: LANES.map((lane) => table.id(boundRanges(laneRanges(s, lane, FRAME_LIMIT)))),
        };
      }
      return cache[i].ids;
    });
  // A state is frozen only for a frame that is kept: whether a step changed anything is read
  // from the replayers' edit counts, so a long trace does not copy its P2M pages and balloon
  // list at every step (what made map's memory grow with the trace).
  const freeze = () => passes.map((p) => p.state());
  const verdicts = () => passes.map((p) => verdictSoFar(p.replayer.basis()));
  let edits = passes.map((p) => p.replayer.edits);
  const frames: PendingFrame[] = [{
    frame: {
      index: 0,
      step: 0,
      line: 0,
      event: "",
      lanes: capture(freeze()),
      verdicts: verdicts(),
    },
    changed: true,
    pinned: true,
  }];
  let sampling: FrameSampling = "every step";
  let stride = 1;
  let changedSteps = 0;
  let pinnedCount = 0;
  let index = 0;
  const gens = passes.map((p) => p.steps());
  let lastRec: StepRecord | undefined;
  const at = opts.at ?? "end";
  // The step asked for is the state after the last event with seq <= at: the step whose next
  // event (or the end) comes after it. Step 0 when no event has seq <= at.
  let atIndex = at === 0 ? 0 : -1;
  const atStep = at !== "end" && at > 0;
  /** Keeps the state after `lastRec` as frame number `index`. */
  const pushFrame = (changed: boolean, pinned: boolean) => {
    const e = lastRec!.event;
    frames.push({
      frame: {
        index,
        step: e.seq,
        line: e.line,
        event: describeEvent(e),
        lanes: capture(freeze()),
        verdicts: verdicts(),
      },
      changed,
      pinned,
    });
  };
  const pushAt = async () => {
    if (!atStep || atIndex >= 0) return;
    const next = await passes[0].nextSeq();
    if (next !== undefined && next <= at) return;
    atIndex = index;
    const last = frames[frames.length - 1];
    // Kept already as a sampled frame: pin it, or a later thinning could drop the step asked for.
    if (last.frame.index === atIndex) {
      last.pinned = true;
      return;
    }
    pushFrame(true, true);
  };
  if (atStep && ((await passes[0].nextSeq()) ?? Infinity) > at) atIndex = 0;
  for (;;) {
    let found = false;
    let done = false;
    for (let i = 0; i < gens.length; i++) {
      const r = await gens[i].next();
      if (r.done) {
        done = true;
        break;
      }
      lastRec = r.value;
      if (r.value.findings.length) found = true;
    }
    if (done) break;
    index++;
    const now = passes.map((p) => p.replayer.edits);
    const changed = now.some((n, i) => n !== edits[i]);
    edits = now;
    if (changed) changedSteps++;
    const pinned = found && pinnedCount < maxFrames / 4;
    const keep = sampling === "every step" || pinned ||
      (changed && changedSteps % stride === 0);
    if (keep) {
      if (pinned) pinnedCount++;
      pushFrame(changed, pinned);
      if (frames.length > maxFrames) {
        if (sampling === "every step") {
          sampling = "every change";
          thin(frames, (f) => f.changed);
        }
        while (frames.length > maxFrames) {
          sampling = "sampled changes";
          stride *= 2;
          let k = 0;
          thin(frames, () => k++ % 2 === 0);
        }
        const kept = table.retain(frames.flatMap((f) => f.frame.lanes));
        for (const f of frames) f.frame.lanes = f.frame.lanes.map(() => kept.shift()!);
        cache.length = 0; // its ids were renumbered
      }
    }
    await pushAt();
  }
  if (atStep) {
    const lastSeq = lastRec?.event.seq;
    const cut = passes.some((p) => p.cutOff);
    if (!cut && (lastSeq === undefined || at > lastSeq)) throw pastEndError(at, lastSeq);
  }
  if (frames[frames.length - 1].frame.index !== index && lastRec) pushFrame(true, true);
  const states = freeze();
  let endPfn = 0;
  for (const s of states) endPfn = Math.max(endPfn, s.p2m.structureLimit);
  for (const f of frames) {
    for (const ids of f.frame.lanes) {
      LANES.forEach((lane, li) => {
        if (lane === "p2m" || lane === "structure") return;
        table.forEachBound(ids[li], (_, end) => endPfn = Math.max(endPfn, end));
      });
    }
  }
  const GIB = 0x40000;
  endPfn = Math.max(GIB, Math.ceil(endPfn / GIB) * GIB);
  const kept = frames.map((f) => f.frame);
  // The kept states, clipped to the axis, stay packed: as objects they were most of the heap
  // a long trace's map held while it drew (tens of MB at 1M events).
  const compact = table.clipped(kept.flatMap((f) => f.lanes), endPfn);
  for (const f of kept) f.lanes = f.lanes.map(() => compact.lanes.shift()!);
  return {
    trace: passes[0].name,
    header: passes[0].header,
    events: index,
    policies: passes.map((p) => ({
      spec: policySpec(p.policy),
      summary: p.policy.summary,
      findings: p.replayer.findings.slice(0, MAX_FINDINGS),
      findingsOmitted: Math.max(0, p.replayer.findings.length - MAX_FINDINGS),
    })),
    states: compact.states,
    frames: kept,
    sampling,
    changedSteps,
    endPfn,
    cutOff: passes.find((p) => p.cutOff)?.cutOff,
    initial: kept.findIndex((f) => f.index === (at === "end" ? index : atIndex)),
  };
}

/** Keeps step 0, pinned frames, the last frame and those `keep` accepts. */
function thin(frames: PendingFrame[], keep: (f: PendingFrame) => boolean): void {
  const out = frames.filter((f, i) => i === 0 || i === frames.length - 1 || f.pinned || keep(f));
  frames.length = 0;
  frames.push(...out);
}

/**
 * The cuts of the map's axis: every boundary of every lane of every kept frame, facts and
 * findings first, then extra and hot-added memory, then the P2M's own boundaries.
 *
 * @example
 * ```ts
 * import { axisCuts } from "./collect.ts";
 * import { LaneStore } from "./lane_store.ts";
 * import assert from "node:assert/strict";
 * const states = new LaneStore();
 * states.id([{ pfn: 5, endPfn: 9, cls: "ram", label: "", row: 0 }]);
 * const cuts = axisCuts({ states,
 *   frames: [{ index: 0, step: 0, line: 0, event: "", lanes: [[0, 0, 0, 0, 0, 0, 0, 0]] }],
 *   policies: [{ spec: "p", summary: "", findings: [], findingsOmitted: 0 }] } as never);
 * assert.deepEqual([...cuts], [[5, 3], [9, 3]]);
 * ```
 */
export function axisCuts(m: MapModel): Map<number, CutPriority> {
  const cuts = new Map<number, CutPriority>();
  const add = (pfn: number, p: CutPriority) => {
    if ((cuts.get(pfn) ?? 0) < p) cuts.set(pfn, p);
  };
  const seen = new Set<number>();
  for (const f of m.frames) {
    for (const ids of f.lanes) {
      ids.forEach((id, li) => {
        if (seen.has(id)) return;
        seen.add(id);
        const lane: LaneName = LANES[li];
        const p: CutPriority = (FACT_LANES as readonly string[]).includes(lane)
          ? 3
          : lane === "extra" || lane === "hotplug"
          ? 2
          : 1;
        m.states.forEachBound(id, (pfn, endPfn) => {
          add(pfn, p);
          add(endPfn, p);
        });
      });
    }
  }
  for (const pol of m.policies) {
    for (const f of pol.findings) {
      if (f.range) {
        add(f.range.pfn, 3);
        add(f.range.endPfn, 3);
      }
    }
  }
  return cuts;
}

/**
 * Coarsens every lane with more than {@link MAX_LANE_RANGES} ranges at the resolution of `ax`
 * (see the module header): ranges narrower than a pixel, with the gaps between them, merge
 * into groups at most two pixels wide; a group keeps its class when all its ranges share one
 * (`mixed` otherwise) and its label says how many ranges it stands for. Returns the states to
 * draw.
 *
 * @example
 * ```ts
 * import { coarsen } from "./collect.ts";
 * import { buildAxis } from "./axis.ts";
 * import assert from "node:assert/strict";
 * const ax = buildAxis(new Map(), 0x10000, { width: 10, minWidth: 1 });
 * const many = Array.from({ length: 1000 }, (_, i) =>
 *   ({ pfn: i * 3, endPfn: i * 3 + 2, cls: i % 2 ? "mapped" : "invalid", label: "", row: 0 }));
 * const [c] = coarsen([many], ax);
 * assert.ok(c.length <= 10);
 * assert.equal(c[0].cls, "mixed");
 * assert.match(c[0].label, /^\d+ ranges too small to draw one by one/);
 * ```
 */
export function coarsen(states: LaneRange[][], ax: Axis): LaneRange[][] {
  return states.map((rs) =>
    rs.length <= MAX_LANE_RANGES ? rs : mergeSmall(
      rs,
      (r) => axisX(ax, r.endPfn) - axisX(ax, r.pfn) >= 1,
      (first, r) => axisX(ax, r.endPfn) - axisX(ax, first.pfn) > 2,
    )
  );
}

/**
 * Merges runs of ranges that are not `wide` into groups; a group ends when `full(first, r)`.
 * A group keeps its class when all its ranges share one (`mixed` otherwise) and its label
 * says how many ranges it stands for.
 */
function mergeSmall(
  rs: LaneRange[],
  wide: (r: LaneRange) => boolean,
  full: (first: LaneRange, r: LaneRange) => boolean,
): LaneRange[] {
  const out: LaneRange[] = [];
  let group: LaneRange[] = [];
  const flush = () => {
    if (group.length === 1) out.push(group[0]);
    else if (group.length > 1) {
      const classes = [...new Set(group.map((r) => r.cls))].sort();
      const labels = [...new Set(group.map((r) => shortLabel(r.label)))].sort();
      out.push({
        pfn: group[0].pfn,
        endPfn: group[group.length - 1].endPfn,
        cls: classes.length === 1 ? classes[0] : "mixed",
        label: `${group.length} ranges too small to draw one by one (${labels.join(", ")})`,
        row: group[0].row,
      });
    }
    group = [];
  };
  for (const r of rs) {
    const w = wide(r);
    const first = group[0];
    if (w || (first && (first.row !== r.row || full(first, r)))) flush();
    if (w) out.push(r);
    else group.push(r);
  }
  flush();
  return out;
}

/** Most ranges a lane keeps when captured (before the picture's resolution is known). */
export const CAPTURE_RANGES = 2048;

/**
 * Bounds a lane as it is captured: past {@link CAPTURE_RANGES} ranges, ranges shorter than
 * `g` pages merge with their neighbours in the same `g`-aligned block of PFNs, for the
 * smallest power of two `g` that brings the lane under the bound. A picture a few thousand
 * pixels wide loses nothing it could show; what the groups hide, `snapshot --at` prints.
 *
 * @example
 * ```ts
 * import { boundRanges } from "./collect.ts";
 * import assert from "node:assert/strict";
 * const holes = Array.from({ length: 10000 }, (_, i) =>
 *   ({ pfn: i * 2, endPfn: i * 2 + 1, cls: "balloon", label: "on the balloon list", row: 0 }));
 * const b = boundRanges(holes);
 * assert.ok(b.length <= 2048);
 * assert.equal(b[0].cls, "balloon");
 * assert.equal(b[b.length - 1].endPfn, 19999);
 * ```
 */
export function boundRanges(rs: LaneRange[]): LaneRange[] {
  if (rs.length <= CAPTURE_RANGES) return rs;
  // The smallest g is found by counting, so only the lane that is kept is built.
  let g = 2;
  while (mergedCount(rs, g) > CAPTURE_RANGES && g <= 2 ** 40) g *= 2;
  return mergeSmall(
    rs,
    (r) => r.endPfn - r.pfn >= g,
    (first, r) => Math.floor(first.pfn / g) !== Math.floor((r.endPfn - 1) / g),
  );
}

/**
 * How many ranges {@link boundRanges}'s merge with block size `g` gives, without building them:
 * the grouping of `mergeSmall`, counted.
 *
 * @example
 * ```ts
 * import { mergedCount } from "./collect.ts";
 * import assert from "node:assert/strict";
 * const r = (pfn: number, endPfn: number) => ({ pfn, endPfn, cls: "c", label: "l", row: 0 });
 * assert.equal(mergedCount([r(0, 1), r(2, 3), r(4, 12), r(13, 14)], 8), 3);
 * ```
 */
export function mergedCount(rs: readonly LaneRange[], g: number): number {
  let n = 0;
  let first: LaneRange | undefined;
  for (const r of rs) {
    const wide = r.endPfn - r.pfn >= g;
    if (
      first !== undefined &&
      (wide || first.row !== r.row ||
        Math.floor(first.pfn / g) !== Math.floor((r.endPfn - 1) / g))
    ) {
      n++;
      first = undefined;
    }
    if (wide) n++;
    else first ??= r;
  }
  return first === undefined ? n : n + 1;
}
