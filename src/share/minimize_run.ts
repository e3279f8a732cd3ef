/**
 * `minimize` in bounded memory: the trace is read again for each pass instead of held.
 *
 * 1. A survey replays the whole trace (`--strict-minimal`: up to the finding) under the chosen
 *    policy and, for the default, under every policy at once, keeping no event: the finding, its
 *    signature, every policy's verdict, and the *key findings*: the finding and, per policy,
 *    the one its verdict rests on (its first error, else its first judged finding, else its
 *    first unjudged one).
 * 2. A pass holds, encoded ({@link EventStore}), only the events a candidate list can draw
 *    from. When the events before the finding number at least {@link MinimizeLimits.relevantFrom},
 *    the first list tried is the *relevant* ones: those up to the last key finding's step that
 *    touch a key finding's PFN range or device, or caused one, and the few events that shape the
 *    whole P2M (E820 map, boot pass, `balloon_init`, host bridges, memory hotplug). It is used
 *    only when it reproduces the finding (and every verdict) by itself; otherwise the events up
 *    to the finding, then the whole trace, as before — each held only when needed, and below
 *    the store's byte limit.
 * 3. Delta debugging (`ddmin.ts`) runs on indices into the store; each candidate replay decodes
 *    one chunk at a time. Replays are counted in replayed events against a budget.
 * 4. The kept lines are read once more from the input and written as they were read.
 *
 * Below `relevantFrom` events the lists are the ones the in-memory functions
 * (`minimize.ts`, `minimize_meaning.ts`) reduce, so the result is theirs, byte for byte.
 *
 * @module
 */

import { ddmin } from "./ddmin.ts";
import type { PfnRange, TraceEvent, TraceHeader } from "../trace/event.ts";
import type { EventSource } from "../trace/read.ts";
import type { Policy } from "../policy/policy.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { Replayer, selectDetectors } from "../replay/replayer.ts";
import { initialState } from "../model/state.ts";
import { DETECTORS } from "../detect/detectors.ts";
import type { Finding } from "../detect/finding.ts";
import { runVerdict, VERDICT_TAG } from "../detect/verdict.ts";
import { resourcePfns } from "../kernel/pci_resource.ts";
import { EventStore, MinimizeLimitError } from "./minimize_store.ts";
import { type FindingSignature, signatureOf } from "./minimize_meaning.ts";

/** Opens the trace again from its start (a file, or the bytes a pipe's first pass held). */
export type Reopen = () => Promise<EventSource>;

/** The bounds of one minimize run. */
export interface MinimizeLimits {
  /** Encoded bytes of events held at most ({@link EventStore}). */
  heldBytes: number;
  /** Events replayed by the candidate replays at most (each replayer counts). */
  replayedEvents: number;
  /** Candidate lists of at least this many events first try the relevant events alone. */
  relevantFrom: number;
}

/**
 * The default bounds: 192 MiB of encoded events (about 3M events of a generated trace), 500
 * million replayed events (minutes; the 100k-event bench trace needs 300,000), and the relevance
 * cut from 4,096 events.
 */
export const MINIMIZE_LIMITS: Readonly<MinimizeLimits> = {
  heldBytes: 192 * 2 ** 20,
  replayedEvents: 5e8,
  relevantFrom: 4096,
};

/** What a minimize run kept. */
export interface RunResult {
  /** The kept events as read (with `raw`), in trace order. */
  events: TraceEvent[];
  /** Events the result was reduced from (the trace, or with `strict` the prefix). */
  total: number;
  /** Candidate replays run (as the in-memory functions count them). */
  tests: number;
  /** The finding's signature in the original. */
  signature: FindingSignature;
  /** In words: what was kept besides what delta debugging needed (empty with `strict`). */
  kept: string;
  /** Which candidate list delta debugging reduced: `relevant`, `prefix` or `all`. */
  list: "relevant" | "prefix" | "all";
  /** Events in that list (besides the evidence events, which are never dropped). */
  reduced: number;
}

/** A finding a verdict or the result rests on, with what it touches. */
interface KeyFinding {
  finding: Finding;
  /** The event that caused it, when known. */
  cause: TraceEvent | undefined;
}

interface PolicyRun {
  name: string;
  r: Replayer;
  error: Finding | undefined;
  judged: Finding | undefined;
  unjudged: Finding | undefined;
}

function policyRuns(header: TraceHeader): PolicyRun[] {
  const detectors = selectDetectors(DETECTORS.map((d) => d.id));
  return [...POLICIES.keys()].map((name) => ({
    name,
    r: Replayer.forHeader(header, resolvePolicy(POLICIES, name), detectors, false),
    error: undefined,
    judged: undefined,
    unjudged: undefined,
  }));
}

/**
 * Applies `e` under every policy; `causes` gets the event of each first finding it caused, and
 * `each` sees every finding (judged or not) with its policy's index.
 */
function applyAll(
  runs: PolicyRun[],
  e: TraceEvent,
  causes?: Map<Finding, TraceEvent>,
  each?: (run: number, f: Finding, judged: boolean) => void,
): void {
  for (let i = 0; i < runs.length; i++) {
    const p = runs[i];
    const rec = p.r.apply(e);
    if (rec.findings.length === 0 && rec.unjudged.length === 0) continue;
    for (const f of rec.findings) {
      if (p.judged === undefined) p.judged = f;
      if (f.severity === "error" && p.error === undefined) p.error = f;
      each?.(i, f, true);
    }
    if (rec.unjudged.length > 0 && p.unjudged === undefined) p.unjudged = rec.unjudged[0];
    if (each) { for (const f of rec.unjudged) each(i, f, false); }
    const k = verdictFinding(p);
    if (causes && k !== undefined && k.seq === e.seq && !causes.has(k)) causes.set(k, e);
  }
}

/** A finding that by itself changes `verdict` (`compare`'s tag) where it appears. */
function changes(verdict: string | undefined, f: Finding, judged: boolean): boolean {
  if (verdict === "clean") return true;
  if (verdict === "warn") return judged && f.severity === "error";
  if (verdict === "?") return judged;
  return false;
}

/** Findings a relevance round learns from at most, each round. */
const LEARNED_PER_ROUND = 4096;

/** The verdict `compare` prints for a run whose replayer kept no findings. */
function verdictOf(p: PolicyRun): string {
  const decides = p.error ?? p.judged;
  return VERDICT_TAG[
    runVerdict({
      ...p.r.basis(),
      findings: decides ? [decides] : [],
      unjudged: p.unjudged ? [p.unjudged] : [],
    })
  ];
}

function verdictFinding(p: PolicyRun): Finding | undefined {
  return p.error ?? p.judged ?? p.unjudged;
}

/** The PCI device `f` names: its cause event's `device`, or a `0000:03:00.0` in its message. */
function deviceOf(f: Finding, cause: TraceEvent | undefined): string | undefined {
  if (cause && "device" in cause && typeof cause.device === "string") return cause.device;
  return /\b[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\b/.exec(f.message)?.[0];
}

/** The events the finding's evidence rests on (`evidenceEvents` in minimize_meaning.ts). */
function evidence(device: string | undefined): (e: TraceEvent) => boolean {
  return (e) =>
    e.kind === "e820" || e.kind === "memory_setup" ||
    (device !== undefined && "device" in e && e.device === device);
}

/** Kinds that shape the whole P2M, few in any trace: always relevant. */
const SHAPING = new Set([
  "e820",
  "memory_setup",
  "balloon_init",
  "pci_host_bridge",
  "memory_hotplug",
]);

/** Sorted, disjoint, merged copies of `ranges`. */
function merged(ranges: readonly PfnRange[]): PfnRange[] {
  const sorted = ranges.filter((r) => r.endPfn > r.pfn).sort((a, b) => a.pfn - b.pfn);
  const out: PfnRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.pfn <= last.endPfn) last.endPfn = Math.max(last.endPfn, r.endPfn);
    else out.push({ pfn: r.pfn, endPfn: r.endPfn });
  }
  return out;
}

/** True when `a` overlaps one of `keys` (sorted, disjoint: {@link merged}). */
function overlaps(a: PfnRange, keys: readonly PfnRange[]): boolean {
  // The last key starting before a's end; it overlaps when it ends after a's start.
  let lo = 0, hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid].pfn < a.endPfn) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && keys[lo - 1].endPfn > a.pfn;
}

/** The PFN ranges an event writes, looks up or names. */
function touched(e: TraceEvent): PfnRange[] {
  switch (e.kind) {
    case "lookup":
      return [{ pfn: e.pfn, endPfn: e.pfn + 1 }];
    case "set_identity":
    case "set_p2m":
      return [e.range];
    case "balloon_append":
    case "balloon_retrieve":
    case "increase_reservation":
    case "decrease_reservation":
      return e.ranges;
    case "memory_hotplug":
    case "e820":
      return [{ pfn: Math.floor(e.start / 4096), endPfn: Math.ceil((e.start + e.size) / 4096) }];
    case "xen_add_device":
    case "pci_host_bridge":
      return e.resources.map(resourcePfns);
    case "pci_resource_assign":
      return [resourcePfns(e.resource)];
    default:
      return [];
  }
}

/**
 * The relevance rule: `e` is relevant to the key findings when it caused one, names one's
 * device, touches one's PFN range, or is of a kind that shapes the whole P2M.
 *
 * @example
 * ```ts
 * import { relevantTo } from "./minimize_run.ts";
 * import assert from "node:assert/strict";
 * const keys = { seqs: new Set([9]), devices: new Set(["0000:03:00.0"]),
 *   ranges: [{ pfn: 0x100, endPfn: 0x200 }] };
 * const lookup = (pfn: number) =>
 *   ({ seq: 2, line: 3, kind: "lookup", pfn, offset: 0, via: "pte", iomap: false }) as const;
 * assert.equal(relevantTo(keys)(lookup(0x1ff)), true);
 * assert.equal(relevantTo(keys)(lookup(0x200)), false);
 * assert.equal(relevantTo(keys)({ seq: 9, line: 10, kind: "mark", text: "x" }), true);
 * ```
 */
export function relevantTo(
  keys: { seqs: ReadonlySet<number>; devices: ReadonlySet<string>; ranges: readonly PfnRange[] },
): (e: TraceEvent) => boolean {
  const ranges = merged(keys.ranges);
  return (e) => {
    if (keys.seqs.has(e.seq) || SHAPING.has(e.kind)) return true;
    if ("device" in e && keys.devices.has(e.device)) return true;
    for (const r of touched(e)) if (overlaps(r, ranges)) return true;
    return false;
  };
}

/** What key findings touch: their causes, devices, PFN ranges and their causes' ranges. */
function keysOf(list: readonly KeyFinding[]) {
  const seqs = new Set<number>(), devices = new Set<string>();
  const ranges: PfnRange[] = [];
  for (const k of list) {
    seqs.add(k.finding.seq);
    const device = deviceOf(k.finding, k.cause);
    if (device !== undefined) devices.add(device);
    if (k.finding.range) ranges.push(k.finding.range);
    if (k.cause) ranges.push(...touched(k.cause));
  }
  return { seqs, devices, ranges };
}

/**
 * Reads `open()` from its start: `start` gets the header, `each` every event until it returns
 * true.
 */
async function pass(
  open: Reopen,
  each: (e: TraceEvent) => boolean,
  start?: (h: TraceHeader) => void,
): Promise<void> {
  const src = await open();
  try {
    start?.(await src.header());
    for await (const batch of src.batches()) {
      for (const e of batch) if (each(e)) return;
    }
  } finally {
    src.close?.();
  }
}

/** The event with `seq`, read again (a finding whose cause came before the step it fired at). */
async function eventWithSeq(open: Reopen, seq: number): Promise<TraceEvent | undefined> {
  let found: TraceEvent | undefined;
  await pass(open, (e) => {
    if (e.seq === seq) found = e;
    return e.seq >= seq;
  });
  return found;
}

/** Rounds of the relevant list at most: each adds what the findings that differed touch. */
const RELEVANT_ROUNDS = 8;

/** Counts replayed events against the budget. */
class Budget {
  used = 0;
  constructor(
    readonly file: string,
    readonly line: number,
    readonly limit: number,
  ) {}
  spend(events: number, tests: number): void {
    this.used += events;
    if (this.used > this.limit) {
      throw new MinimizeLimitError(
        this.file,
        this.line,
        `delta debugging stopped after ${tests} replay(s) of ${this.used} event(s) in all ` +
          `(at most ${this.limit}): the finding here rests on too many events to reduce; cut ` +
          "the trace before it (or use --strict-minimal) and minimize that",
      );
    }
  }
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length);
  let i = 0, j = 0, k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i] < b[j] ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

/** Reads the kept events again, as read (with `raw`), by line. */
async function keptAsRead(open: Reopen, store: EventStore, kept: number[]): Promise<TraceEvent[]> {
  const lines = new Set<number>();
  for (const e of store.select(kept)) lines.add(e.line);
  const last = Math.max(0, ...lines);
  const out: TraceEvent[] = [];
  await pass(open, (e) => {
    if (lines.has(e.line)) out.push(e);
    return e.line >= last;
  });
  return out;
}

/** One candidate list: the store holding it and the fixed events, as indices. */
interface Held {
  store: EventStore;
  fixed: number[];
  candidates: number[];
}

async function hold(
  open: Reopen,
  file: string,
  limits: MinimizeLimits,
  fixed: (e: TraceEvent) => boolean,
  candidate: (e: TraceEvent) => boolean,
  stopAfterLine: number,
): Promise<Held> {
  const store = new EventStore(file, limits.heldBytes);
  const held: Held = { store, fixed: [], candidates: [] };
  await pass(open, (e) => {
    if (fixed(e)) held.fixed.push(store.add(e));
    else if (candidate(e)) held.candidates.push(store.add(e));
    return e.line >= stopAfterLine;
  });
  store.finish();
  return held;
}

/**
 * `minimize --strict-minimal`: the fewest events up to the first `detector` finding under
 * `policy` that still make it fire. Undefined when it never fires.
 */
export async function minimizeStrict(
  open: Reopen,
  file: string,
  policy: Policy,
  detector: string,
  limits: MinimizeLimits = MINIMIZE_LIMITS,
  note: (what: string) => void = () => {},
): Promise<RunResult | undefined> {
  // Survey: the prefix up to the finding (prefixToFinding in minimize.ts), nothing held.
  let header: TraceHeader | undefined;
  let r: Replayer | undefined;
  let finding: Finding | undefined;
  let cause: TraceEvent | undefined;
  let count = 0, stepLine = 0;
  await pass(open, (e) => {
    count++;
    const found = r!.apply(e).findings;
    if (found.length === 0) return false;
    finding = found[0];
    stepLine = e.line;
    if (e.seq === finding.seq) cause = e;
    return true;
  }, (h) => {
    header = h;
    r = new Replayer(initialState(h.guest, policy), selectDetectors([detector]));
  });
  if (finding === undefined || header === undefined) return undefined;
  note(`survey: the finding at line ${stepLine}, after ${count} event(s)`);
  const f: Finding = finding;
  cause ??= await eventWithSeq(open, f.seq);
  const h: TraceHeader = header;
  const budget = new Budget(file, stepLine, limits.replayedEvents);
  let tests = 0;
  const fires = (held: Held, list: readonly number[]) => {
    tests++;
    const rr = new Replayer(initialState(h.guest, policy), selectDetectors([detector]));
    let n = 0;
    try {
      for (const e of held.store.select(list)) {
        n++;
        if (rr.apply(e).findings.length > 0) return true;
      }
      return false;
    } finally {
      budget.spend(n, tests);
    }
  };
  const relevant = relevantTo(keysOf([{ finding: f, cause }]));
  let held: Held | undefined;
  let list: RunResult["list"] = "prefix";
  if (count >= limits.relevantFrom) {
    held = await hold(open, file, limits, () => false, relevant, stepLine);
    if (fires(held, held.candidates)) list = "relevant";
    else held = undefined;
  }
  held ??= await hold(open, file, limits, () => false, () => true, stepLine);
  const h2 = held;
  note(`delta debugging over ${h2.candidates.length} event(s) (${list})`);
  const kept = ddmin(h2.candidates, (c) => fires(h2, c), 1);
  note(`${tests} replay(s) of ${budget.used} event(s) in all`);
  tests++; // the in-memory function replays the result once more for its message
  return {
    events: await keptAsRead(open, h2.store, kept),
    total: count,
    tests,
    signature: signatureOf(f),
    kept: "",
    list,
    reduced: h2.candidates.length,
  };
}

/**
 * `minimize` (the default): the fewest events that keep the first `detector` finding's
 * signature under `policy`, every policy's verdict and the evidence events (E820 map, boot
 * pass, the finding's device). Undefined when `detector` never fires.
 */
export async function minimizeMeaning(
  open: Reopen,
  file: string,
  policy: Policy,
  detector: string,
  limits: MinimizeLimits = MINIMIZE_LIMITS,
  note: (what: string) => void = () => {},
): Promise<RunResult | undefined> {
  // Survey: the whole trace under the chosen policy and under every policy at once.
  let header: TraceHeader | undefined;
  let target: Replayer | undefined;
  let runs: PolicyRun[] = [];
  let finding: Finding | undefined;
  let cause: TraceEvent | undefined;
  let stepLine = 0, count = 0, prefixCount = 0;
  const keyCause = new Map<Finding, TraceEvent>();
  await pass(open, (e) => {
    count++;
    if (finding === undefined) {
      const found = target!.apply(e).findings;
      if (found.length > 0) {
        finding = found[0];
        stepLine = e.line;
        prefixCount = count;
        if (e.seq === finding.seq) cause = e;
      }
    }
    applyAll(runs, e, keyCause);
    return false;
  }, (h) => {
    header = h;
    target = new Replayer(initialState(h.guest, policy), selectDetectors([detector]));
    runs = policyRuns(h);
  });
  if (finding === undefined || header === undefined) return undefined;
  note(`survey: ${count} event(s), the finding at line ${stepLine}`);
  const f: Finding = finding;
  const h: TraceHeader = header;
  cause ??= await eventWithSeq(open, f.seq);
  const signature = signatureOf(f);
  const verdicts = new Map(runs.map((p) => [p.name, verdictOf(p)]));
  const device = deviceOf(f, cause);
  const fixed = evidence(device);
  const kept = `the E820 map, the boot pass${device ? `, device ${device}` : ""}`;

  const budget = new Budget(file, stepLine, limits.replayedEvents);
  let tests = 0;
  // True when `candidate` (with the fixed events) keeps the meaning; else the findings that
  // differ: the one found in place of the finding, or each policy's that decides another
  // verdict and, with `learn`, every finding that changes a verdict by appearing.
  const check = (
    held: Held,
    candidate: readonly number[],
    learn = false,
  ): true | KeyFinding[] => {
    tests++;
    const merged = mergeSorted(held.fixed, candidate);
    let n = 0;
    try {
      const rr = new Replayer(initialState(h.guest, policy), selectDetectors([detector]));
      for (const e of held.store.select(merged)) {
        n++;
        const found = rr.apply(e).findings;
        if (found.length === 0) continue;
        const got = found[0];
        if (!sameSignature(signatureOf(got), signature)) {
          return [{ finding: got, cause: got.seq === e.seq ? e : undefined }];
        }
        const again = policyRuns(h);
        const expected = again.map((p) => verdicts.get(p.name));
        const causes = new Map<Finding, TraceEvent>();
        const appeared: { run: number; k: KeyFinding }[] = [];
        for (const e of held.store.select(merged)) {
          n += again.length;
          applyAll(
            again,
            e,
            causes,
            learn
              ? (run, f, judged) => {
                if (appeared.length < LEARNED_PER_ROUND && changes(expected[run], f, judged)) {
                  appeared.push({ run, k: { finding: f, cause: f.seq === e.seq ? e : undefined } });
                }
              }
              : undefined,
          );
        }
        const differ = again.filter((p, i) => expected[i] !== verdictOf(p));
        if (differ.length === 0) return true;
        const out: KeyFinding[] = differ.flatMap((p) => {
          const k = verdictFinding(p);
          return k ? [{ finding: k, cause: causes.get(k) }] : [];
        });
        for (const a of appeared) if (differ.includes(again[a.run])) out.push(a.k);
        return out;
      }
      return [];
    } finally {
      budget.spend(n, tests);
    }
  };
  const test = (held: Held, candidate: readonly number[]) => check(held, candidate) === true;

  const upTo = (e: TraceEvent) => e.seq <= f.seq;
  let held: Held | undefined;
  let list: RunResult["list"] = "prefix";
  if (prefixCount >= limits.relevantFrom) {
    // The relevant events; a finding that differs without some left out adds what it touches.
    const keyList: KeyFinding[] = [{ finding: f, cause }];
    for (const p of runs) {
      const k = verdictFinding(p);
      if (k) keyList.push({ finding: k, cause: keyCause.get(k) });
    }
    for (let round = 0; round < RELEVANT_ROUNDS && held === undefined; round++) {
      const relevant = relevantTo(keysOf(keyList));
      const lastSeq = Math.max(...keyList.map((k) => k.finding.seq));
      const candidate = await hold(
        open,
        file,
        limits,
        fixed,
        (e) => e.seq <= lastSeq && relevant(e),
        Infinity,
      );
      const r = check(candidate, candidate.candidates, true);
      note(
        `relevant events, round ${round + 1}: ${candidate.candidates.length} ` +
          `(${candidate.store.bytes} bytes held with the evidence): ` +
          (r === true ? "they keep the meaning" : `${r.length} finding(s) differ, the first: ` +
            r.slice(0, 3).map((k) =>
              `${k.finding.detector} at step ${k.finding.seq} (${k.finding.message})`
            ).join("; ")),
      );
      if (r === true) {
        held = candidate;
        list = "relevant";
        break;
      }
      const seen = new Set(keyList.map((k) => k.finding.key));
      const more = r.filter((k) => !seen.has(k.finding.key));
      if (more.length === 0) break;
      keyList.push(...more);
    }
  }
  if (held === undefined) {
    held = await hold(open, file, limits, fixed, upTo, Infinity);
    if (!test(held, held.candidates)) {
      held = await hold(open, file, limits, fixed, () => true, Infinity);
      list = "all";
    }
  }
  const h2 = held;
  note(`delta debugging over ${h2.candidates.length} event(s) (${list})`);
  const reduced = ddmin(h2.candidates, (c) => test(h2, c), 0);
  note(`${tests} replay(s) of ${budget.used} event(s) in all`);
  return {
    events: await keptAsRead(open, h2.store, mergeSorted(h2.fixed, reduced)),
    total: count,
    tests,
    signature,
    kept,
    list,
    reduced: h2.candidates.length,
  };
}

function sameSignature(a: FindingSignature, b: FindingSignature): boolean {
  return a.detector === b.detector && a.pfn === b.pfn && a.endPfn === b.endPfn &&
    a.kind === b.kind;
}
