/**
 * `lookup` output: everything a lookup of one PFN gives at one step — the raw entry, the
 * `pfn_to_mfn` result, the PTE a mapping gets (with and without `_PAGE_IOMAP`), the bus
 * address — which structure answered and why, what the PFN is (E820 entry, balloon, device
 * BAR, host bridge window), and the step that last changed it, or its whole history.
 *
 * @module
 */

import { escapeText } from "./text.ts";
import type { TraceEvent } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import { continues, increments, K } from "../p2m/leaf_runs.ts";
import { P2M_PER_PAGE, PFNS_PER_MID } from "../p2m/constants.ts";
import { lookup, type LookupResult, physToMachine } from "../p2m/lookup.ts";
import { isMmio, resourceName, resourcePfns } from "../kernel/pci_resource.ts";
import { IORESOURCE } from "../kernel/ioresource.ts";
import { E820_TYPE_NAME } from "../trace/validate.ts";
import type { Structure } from "../p2m/table.ts";
import type { PolicySource } from "../replay/replayer.ts";
import type { ModelState } from "../model/state.ts";
import type { StepPoint } from "../replay/steps.ts";
import type { PfnChange, PfnHistory } from "../replay/blame.ts";
import { describeEvent, entryText } from "./describe.ts";
import { entryClass, policySpec, stepHeading, structureBacking } from "./snapshot_report.ts";

/** What a lookup report needs. */
export interface LookupInput {
  /** Trace name as given. */
  trace: string;
  /** The step. */
  point: StepPoint;
  /** The event that ends the step. */
  event: TraceEvent | undefined;
  /** The state at the step. */
  state: ModelState;
  /** The entry at step 0: `[kind, frame]`. */
  initial: [number, number];
  /** Where the policy came from. */
  policySource: PolicySource;
  /** The PFN. */
  pfn: number;
  /** Byte offset in the page (from `--addr`), 0 otherwise. */
  offset: number;
  /** Whether the PFN was given as a byte address. */
  byAddr: boolean;
  /** The changes of the PFN up to the step. */
  history: PfnHistory;
  /** List every change (`--history`), not only the last. */
  showHistory: boolean;
}

/** The value of a changed range at `pfn`, before or after. */
function valueAt(kind: number, frame: number, start: number, pfn: number): string {
  return entryText(kind, increments(kind) ? frame + (pfn - start) : frame);
}

function changeText(c: PfnChange, pfn: number): string {
  const ch = c.change;
  return `${valueAt(ch.beforeKind, ch.beforeMfn, ch.pfn, pfn)} -> ${
    valueAt(ch.afterKind, ch.afterMfn, ch.pfn, pfn)
  }`;
}

function rawText(r: LookupResult, kind: number): string {
  if (r.raw === undefined) return "a valid machine frame (not recorded in the trace)";
  const label = kind === K.INVALID
    ? " (INVALID_P2M_ENTRY)"
    : kind === K.IDENTITY
    ? " (IDENTITY_FRAME(pfn))"
    : kind === K.FOREIGN
    ? " (FOREIGN_FRAME(mfn))"
    : kind === K.SCRATCH
    ? " (the balloon scratch page)"
    : "";
  return hex(r.raw) + label;
}

/** The PTE a `_PAGE_IOMAP` mapping (ioremap, pci mmap) gets on this kernel. */
function iomapText(s: LookupInput, r: LookupResult): string {
  const ctx = s.state.ctx;
  if (ctx.autoTranslated) return "the PFN itself (auto-translated)";
  if (ctx.pageIomap && (ctx.dom0 || s.pfn >= 0x100)) {
    return `frame ${hex(s.pfn)}: _PAGE_IOMAP bypasses the P2M on this kernel`;
  }
  const why = ctx.pageIomap ? "below 1 MiB in a domU" : "this kernel has no _PAGE_IOMAP";
  return `${r.pteZero ? "0" : "as pfn_pte"}: ${why}, the P2M is consulted`;
}

/** What the PFN is: E820 entry, max_pfn, balloon, devices, windows, identity grants. */
export function pfnContext(state: ModelState, pfn: number): string[] {
  const out: string[] = [];
  const addr = pfn * 4096;
  const e = state.e820.find((x) => addr >= x.start && addr < x.start + x.size);
  if (e) {
    out.push(
      `E820 ${E820_TYPE_NAME.get(e.type) ?? `type ${e.type}`} [mem ${hex(e.start)}-${
        hex(e.start + e.size - 1)
      }] (line ${e.line})`,
    );
  } else if (state.e820.length > 0) {
    const last = state.e820[state.e820.length - 1];
    out.push(
      addr >= last.start + last.size ? "above the last E820 entry" : "in a hole of the E820 map",
    );
  }
  if (pfn >= state.maxPfn) out.push(`at or above max_pfn ${hex(state.maxPfn)}`);
  if (state.balloon.has(pfn)) out.push("on the balloon list");
  if (state.extra.has(pfn)) out.push("extra memory (balloon space)");
  if (state.hotplug.has(pfn)) out.push("hot-added memory");
  const devices = [...state.devices.values()].sort((x, y) => x.device < y.device ? -1 : 1);
  for (const d of devices) {
    for (const r of d.resources) {
      const sp = resourcePfns(r);
      if (isMmio(r) && pfn >= sp.pfn && pfn < sp.endPfn) {
        out.push(`${d.device} ${resourceName(r.index)} [mem ${hex(r.start)}-${hex(r.end)}]`);
      }
    }
  }
  for (const [bus, rs] of [...state.bridges.entries()].sort((x, y) => x[0] < y[0] ? -1 : 1)) {
    for (const r of rs) {
      const sp = resourcePfns(r);
      if ((r.flags & IORESOURCE.MEM) !== 0 && pfn >= sp.pfn && pfn < sp.endPfn) {
        out.push(`host bridge ${bus} window [mem ${hex(r.start)}-${hex(r.end)}]`);
      }
    }
  }
  for (const g of state.grants) {
    if (pfn >= g.range.pfn && pfn < g.range.endPfn) {
      out.push(`identity granted at step ${g.seq} for ${g.source}`);
    }
  }
  return out;
}

/** GiB-sized chunks {@link runAround} walks, at most, before it doubles them: a tree's GiBs. */
const GIB_CHUNKS = 512;

/**
 * Size (PFNs) of {@link runAround}'s `c`-th chunk outward from the PFN: its leaf, then growing
 * aligned chunks, then a GiB (one mid) at a time — a run across hundreds of GiBs answered by
 * shared pages costs one step a GiB, and a run that ends near the PFN in private leaves about
 * the leaves up to its ends — and after {@link GIB_CHUNKS} of those, doubling (beyond the
 * structure, a run reaches 2^40 PFNs).
 */
function runChunk(c: number): number {
  if (c < 3) return P2M_PER_PAGE * 8 ** c;
  return c < 3 + GIB_CHUNKS ? PFNS_PER_MID : PFNS_PER_MID * 2 ** (c - 2 - GIB_CHUNKS);
}

/**
 * The maximal run (one kind, continuing frames, one structure) holding `pfn`: the table's
 * runs walked outward from it in chunks ({@link runChunk}), to the left while the last run
 * of each chunk continues the run found so far, to the right while the first does, by the
 * rule `forEachRun` joins pieces by (same structure, `continues`) — a walk of the whole table
 * costs O(leaves + runs): 250k numbers at 1M events, most of a cached lookup's report.
 *
 * @example
 * ```ts
 * import { runAround } from "./lookup_report.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const guest = { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 } as const;
 * const s = initialState(guest, resolvePolicy(POLICIES, "linux-3.16"));
 * const run = runAround(s, 0x100);
 * assert.ok(run.pfn <= 0x100 && run.endPfn > 0x100);
 * ```
 */
export function runAround(
  state: ModelState,
  pfn: number,
): { pfn: number; endPfn: number; kind: number; frame: number; structure: Structure } {
  const t = state.p2m;
  const end = Math.max(t.structureLimit, pfn + 1);
  const chunk = runChunk;
  let start = pfn, kind = 0, frame = 0, structure: Structure = t.structureAt(pfn);
  // Leftward: pieces [a, cur), aligned down; the first one's last run holds pfn (cut there).
  // Whether the run goes on left of the piece [a, cur) (its last run joins what was found).
  let first = true;
  const left = (a: number, cur: number): boolean => {
    let lp = a, lk = 0, lf = 0, ls: Structure = structure;
    t.forEachRun(a, cur, (p, _e, k, f, st) => {
      lp = p, lk = k, lf = f, ls = st;
    });
    if (!first && !(ls === structure && continues(lk, lf, cur - lp, kind, frame))) return false;
    first = false;
    start = lp, kind = lk, frame = lf, structure = ls;
    return lp === a && a > 0;
  };
  // In a GiB of a private mid, each chunk's leaf next to what was found first: a run that ends
  // there spares the walk of the rest of the chunk, whose private leaves a state from the
  // on-disk index reads one by one (a run ending at a GiB next to a GiB of RAM cost a cached
  // lookup 140-270 of them). A GiB of a shared mid is walked whole (no leaf to read there).
  const privateMid = (p: number) => {
    const s = t.structureAt(p);
    return s === "private-leaf" || s === "identity-leaf" || s === "missing-leaf";
  };
  // GiBs answered by a shared mid page (or beyond the tree), next to each other, are one
  // chunk: each forEachRun call tests the mid-missing page's 512 slots again, and a PFN above
  // RAM has hundreds of such GiBs on either side (263k slot tests in a fresh process: 40-80 ms
  // of a cached lookup's report). Only GiBs with no private leaf join one, so no leaf is read.
  const sharedGib = (p: number) => !privateMid(p);
  for (let c = 0, cur = pfn + 1;; c++) {
    let a = Math.max(0, Math.floor((cur - 1) / chunk(c)) * chunk(c));
    if (chunk(c) >= PFNS_PER_MID && sharedGib(cur - 1)) {
      for (let k = 0; k < GIB_CHUNKS && a > 0 && sharedGib(a - 1); k++) a -= PFNS_PER_MID;
    }
    const p = cur - a > P2M_PER_PAGE && privateMid(cur - 1) ? cur - P2M_PER_PAGE : a;
    if (!left(p, cur) || (p > a && !left(a, p))) break;
    cur = a;
  }
  // Rightward: pieces [cur, b), aligned up; the first one's first run is the same run as above.
  let endPfn = pfn + 1;
  first = true;
  const right = (cur: number, b: number): boolean => {
    let fe = -1, fk = 0, ff = 0, fs: Structure = structure;
    t.forEachRun(cur, b, (_p, e, k, f, st) => {
      if (fe < 0) fe = e, fk = k, ff = f, fs = st;
    });
    if (!first && !(fs === structure && continues(kind, frame, cur - start, fk, ff))) return false;
    first = false;
    endPfn = fe;
    return fe === b && b < end;
  };
  for (let c = 0, cur = pfn;; c++) {
    let b = Math.min(end, (Math.floor(cur / chunk(c)) + 1) * chunk(c));
    if (chunk(c) >= PFNS_PER_MID && sharedGib(cur)) {
      for (let k = 0; k < GIB_CHUNKS && b < end && sharedGib(b); k++) {
        b = Math.min(end, b + PFNS_PER_MID);
      }
    }
    const q = b - cur > P2M_PER_PAGE && privateMid(cur) ? cur + P2M_PER_PAGE : b;
    if (!right(cur, q) || (q < b && !right(q, b))) break;
    cur = b;
  }
  return { pfn: start, endPfn, kind, frame, structure };
}

function spanText(a: number, b: number): string {
  return b - a === 1 ? hex(a) : `${hex(a)}-${hex(b - 1)}`;
}

function initialText(s: LookupInput): string {
  const nr = s.state.guest.nrPages;
  return `${entryText(s.initial[0], s.initial[1])} (as the domain was built${
    nr !== undefined ? `: nr_pages ${hex(nr)}` : ""
  })`;
}

/**
 * The lookup report as text.
 *
 * @example
 * ```ts
 * import { lookupText } from "./lookup_report.ts";
 * import { PfnHistory } from "../replay/blame.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const state = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const text = lookupText({ trace: "t", point: { step: 0, index: 0 }, event: undefined, state,
 *   initial: [K.MFN_UNKNOWN, -1], policySource: "option", pfn: 0x3800000, offset: 0,
 *   byAddr: false, history: new PfnHistory(0x3800000), showHistory: false });
 * assert.match(text, /^  pte \(pfn_pte\): +0: the whole PTE is 0/m);
 * assert.match(text, /^  answered by: +mid-missing: /m);
 * ```
 */
export function lookupText(s: LookupInput): string {
  const r = lookup(s.state.p2m, s.pfn, s.state.ctx);
  const [rawKind] = s.state.ctx.autoTranslated ? [K.IDENTITY] : s.state.p2m.entry(s.pfn);
  const addr = s.pfn * 4096 + s.offset;
  const out = [
    `${s.byAddr ? `addr ${hex(addr)}: ` : ""}pfn ${hex(s.pfn)} in ${escapeText(s.trace)} at ${
      stepHeading(s.point, s.event)
    }`,
  ];
  const row = (k: string, v: string) => out.push(`  ${(k + ":").padEnd(22)} ${v}`);
  row("policy", `${policySpec(s.state.policy)} (${s.policySource})`);
  const entry = entryText(r.kind, r.mfn);
  row("entry", entry === entryClass(r.kind) ? entry : `${entry} (${entryClass(r.kind)})`);
  row("get_phys_to_machine", rawText(r, rawKind));
  row(
    "pfn_to_mfn",
    r.pfnToMfn === undefined
      ? "a valid machine frame (not recorded in the trace)"
      : hex(r.pfnToMfn) + (r.kind === K.INVALID ? " (INVALID_P2M_ENTRY: no frame)" : ""),
  );
  row(
    "pte (pfn_pte)",
    r.pteZero
      ? "0: the whole PTE is 0 (not present, frame 0): bus address 0"
      : r.pte === undefined
      ? "a valid frame (not recorded in the trace)"
      : `frame ${hex(r.pte)}`,
  );
  row("pte (_PAGE_IOMAP)", iomapText(s, r));
  row(
    "bus address",
    r.pfnToMfn === undefined
      ? "not recorded (the frame is not in the trace)"
      : `${hex(physToMachine(r.pfnToMfn, s.offset))} (phys_to_machine(${hex(addr)}))`,
  );
  row("answered by", `${r.structure}: ${r.reason}`);
  const run = runAround(s.state, s.pfn);
  if (!s.state.ctx.autoTranslated) {
    const shared = structureBacking(run.structure) === "shared" ? " (shared)" : "";
    row(
      "range",
      `${spanText(run.pfn, run.endPfn)} ${
        entryText(run.kind, run.frame)
      } ${run.structure}${shared}`,
    );
  }
  const ctx = pfnContext(s.state, s.pfn);
  if (ctx.length) row("what it is", ctx.join("; "));
  const last = s.history.last;
  row(
    "last changed",
    last
      ? `step ${last.event.seq} (line ${last.event.line}) ${describeEvent(last.event)}: ${
        changeText(last, s.pfn)
      }`
      : `never: ${initialText(s)}`,
  );
  if (s.showHistory) {
    out.push(`history (every step that changed pfn ${hex(s.pfn)}, up to step ${s.point.step}):`);
    out.push(`  step 0 (before the first event): ${initialText(s)}`);
    for (const c of s.history.changes) {
      out.push(
        `  step ${c.event.seq} (line ${c.event.line}) ${describeEvent(c.event)}: ${
          changeText(c, s.pfn)
        }`,
      );
    }
  }
  return out.join("\n") + "\n";
}

function big(v: bigint | undefined): string | null {
  return v === undefined ? null : hex(v);
}

function changeJson(c: PfnChange, pfn: number): Record<string, unknown> {
  const ch = c.change;
  return {
    step: c.event.seq,
    line: c.event.line,
    kind: c.event.kind,
    event: describeEvent(c.event),
    range: { pfn: hex(ch.pfn), end_pfn: hex(ch.endPfn) },
    before: valueAt(ch.beforeKind, ch.beforeMfn, ch.pfn, pfn),
    after: valueAt(ch.afterKind, ch.afterMfn, ch.pfn, pfn),
  };
}

/**
 * The lookup report as one JSON object (schema in docs/bisect.md).
 *
 * @example
 * ```ts
 * import { lookupJson } from "./lookup_report.ts";
 * import { PfnHistory } from "../replay/blame.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const state = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const o = lookupJson({ trace: "t", point: { step: 0, index: 0 }, event: undefined, state,
 *   initial: [K.INVALID, 0], policySource: "option", pfn: 0x3800000, offset: 0,
 *   byAddr: false, history: new PfnHistory(0x3800000), showHistory: false });
 * assert.equal(o.pte, "0x0");
 * assert.equal(o.pte_zero, true);
 * assert.equal(o.last_change, null);
 * ```
 */
export function lookupJson(s: LookupInput): Record<string, unknown> {
  const r = lookup(s.state.p2m, s.pfn, s.state.ctx);
  const ctx = s.state.ctx;
  const bypass = !ctx.autoTranslated && ctx.pageIomap && (ctx.dom0 || s.pfn >= 0x100);
  const run = runAround(s.state, s.pfn);
  const last = s.history.last;
  const o: Record<string, unknown> = {
    trace: s.trace,
    step: s.point.step,
    event: s.event
      ? { seq: s.event.seq, line: s.event.line, kind: s.event.kind, text: describeEvent(s.event) }
      : null,
    policy: policySpec(s.state.policy),
    pfn: hex(s.pfn),
    addr: s.byAddr ? hex(s.pfn * 4096 + s.offset) : null,
    entry: entryText(r.kind, r.mfn),
    kind: entryClass(r.kind),
    raw: big(r.raw),
    pfn_to_mfn: big(r.pfnToMfn),
    pte: big(r.pte),
    pte_zero: r.pteZero,
    pte_iomap: bypass ? hex(s.pfn) : big(r.pte),
    bus_address: r.pfnToMfn === undefined ? null : hex(physToMachine(r.pfnToMfn, s.offset)),
    structure: r.structure,
    reason: r.reason,
    range: {
      pfn: hex(run.pfn),
      end_pfn: hex(run.endPfn),
      entry: entryText(run.kind, run.frame),
      structure: run.structure,
    },
    context: pfnContext(s.state, s.pfn),
    initial: entryText(s.initial[0], s.initial[1]),
    last_change: last ? changeJson(last, s.pfn) : null,
  };
  if (s.showHistory) o.history = s.history.changes.map((c) => changeJson(c, s.pfn));
  return o;
}
