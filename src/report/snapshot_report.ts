/**
 * The P2M and the guest state at one step: as text, as the snapshot JSON object (the document
 * `bisect run` hands its command; schema in docs/bisect.md), and as the kernel's debugfs dump.
 * Also the small vocabulary every time-travel report shares: step headings, entry classes
 * (mapped, identity, invalid, foreign) and whether a structure is a shared page.
 *
 * @module
 */

import type { Resource, TraceEvent } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import { K } from "../p2m/leaf_runs.ts";
import type { Structure } from "../p2m/table.ts";
import { renderDump } from "../p2m/debugfs.ts";
import { E820_TYPE_NAME } from "../trace/validate.ts";
import type { Policy } from "../policy/policy.ts";
import type { PolicySource } from "../replay/replayer.ts";
import type { ModelState } from "../model/state.ts";
import type { StepPoint } from "../replay/steps.ts";
import type { PfnSet } from "../p2m/pfn_set.ts";
import { describeEvent, entryText } from "./describe.ts";
import { fmtPfns } from "../detect/finding.ts";
import { escapeText } from "./text.ts";

/** Version of the snapshot JSON document; bumped only on a breaking change. */
export const SNAPSHOT_VERSION = 1;

/**
 * A policy as `--policy` would name it, with its options: `linux-3.12:iomap=honoured`.
 *
 * @example
 * ```ts
 * import { policySpec } from "./snapshot_report.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * assert.equal(policySpec(resolvePolicy(POLICIES, "linux-3.12")), "linux-3.12:iomap=honoured");
 * ```
 */
export function policySpec(p: Policy): string {
  const o = Object.entries(p.options).map(([k, v]) => `${k}=${v}`).join(",");
  return o ? `${p.name}:${o}` : p.name;
}

/**
 * A step and the event that ends it, for headings: `step 16 (line 17) xen_add_device ...`, or
 * `step 0 (before the first event)`.
 *
 * @example
 * ```ts
 * import { stepHeading } from "./snapshot_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(stepHeading({ step: 0, index: 0 }, undefined), "step 0 (before the first event)");
 * assert.equal(
 *   stepHeading({ step: 7, index: 3 }, { seq: 5, line: 4, kind: "mark", text: "x" }),
 *   "step 7 = step 5 (line 4) mark: x",
 * );
 * ```
 */
export function stepHeading(point: StepPoint, event: TraceEvent | undefined): string {
  if (!event) return `step ${point.step} (before the first event)`;
  const alias = event.seq !== point.step ? `step ${point.step} = ` : "";
  return `${alias}step ${event.seq} (line ${event.line}) ${describeEvent(event)}`;
}

/**
 * The class of an entry kind: `mapped` (a machine frame, recorded or not, or the balloon
 * scratch page), `identity`, `invalid` or `foreign`.
 *
 * @example
 * ```ts
 * import { entryClass } from "./snapshot_report.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(entryClass(K.MFN_UNKNOWN), "mapped");
 * assert.equal(entryClass(K.SCRATCH), "mapped");
 * assert.equal(entryClass(K.INVALID), "invalid");
 * ```
 */
export function entryClass(kind: number): "mapped" | "identity" | "invalid" | "foreign" {
  switch (kind) {
    case K.INVALID:
      return "invalid";
    case K.IDENTITY:
      return "identity";
    case K.FOREIGN:
      return "foreign";
    default:
      return "mapped";
  }
}

/**
 * Whether a structure is a page of the table's own (`private`), one of the kernel's shared
 * pages (`shared`: missing or identity leaf, mid-missing, mid-identity), or no page at all
 * (`none`: outside the tree, beyond the list, auto-translated).
 *
 * @example
 * ```ts
 * import { structureBacking } from "./snapshot_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(structureBacking("identity-leaf"), "shared");
 * assert.equal(structureBacking("outside-tree"), "none");
 * ```
 */
export function structureBacking(
  structure: Structure | "auto-translated",
): "private" | "shared" | "none" {
  switch (structure) {
    case "private-leaf":
      return "private";
    case "identity-leaf":
    case "missing-leaf":
    case "mid-missing":
    case "mid-identity":
      return "shared";
    default:
      return "none";
  }
}

/** What a snapshot report needs. */
export interface SnapshotInput {
  /** Trace name as given. */
  trace: string;
  /** The step. */
  point: StepPoint;
  /** The event that ends the step (undefined at step 0). */
  event: TraceEvent | undefined;
  /** The state. */
  state: ModelState;
  /** Where the policy came from. */
  policySource: PolicySource;
}

/** A coalesced P2M range of a snapshot. */
export interface SnapshotRange {
  /** First PFN. */
  pfn: number;
  /** One past the last. */
  endPfn: number;
  /** Entry kind ({@link K}). */
  kind: number;
  /** Frame at `pfn`. */
  frame: number;
  /** Structure that answers. */
  structure: Structure;
}

/**
 * The P2M of a state as maximal ranges of one entry kind (frames continuing) and one
 * structure, from PFN 0 to the structure's limit (MAX_P2M_PFN for the tree, the list size for
 * v3.19+); beyond it every PFN answers by the era's rule.
 *
 * @example
 * ```ts
 * import { snapshotRanges } from "./snapshot_report.ts";
 * import { P2m } from "../p2m/table.ts";
 * import assert from "node:assert/strict";
 * const rs = snapshotRanges(P2m.build("T12", 0x40000));
 * assert.deepEqual(rs.map((r) => r.structure), ["private-leaf", "mid-missing"]);
 * ```
 */
export function snapshotRanges(
  p2m: ModelState["p2m"],
): SnapshotRange[] {
  const out: SnapshotRange[] = [];
  p2m.forEachRun(0, Math.max(p2m.structureLimit, 1), (pfn, endPfn, kind, frame, structure) => {
    out.push({ pfn, endPfn, kind, frame, structure });
  });
  return out;
}

function span(pfn: number, endPfn: number): string {
  return endPfn - pfn === 1 ? hex(pfn) : `${hex(pfn)}-${hex(endPfn - 1)}`;
}

function setText(s: PfnSet, max = 4): string {
  const rs: string[] = [];
  let n = 0;
  s.forEachIn(0, Number.MAX_SAFE_INTEGER, (a, b) => {
    if (n++ < max) rs.push(fmtPfns({ pfn: a, endPfn: b }));
  });
  return rs.join(", ") + (n > max ? `, and ${n - max} more range(s)` : "");
}

function resourceText(r: Resource): string {
  return `#${r.index} [${hex(r.start)}-${hex(r.end)}] flags ${hex(r.flags)}`;
}

/**
 * The snapshot as text: a heading, the guest state, then every P2M range with its entry, class
 * and structure (shared pages marked).
 *
 * @example
 * ```ts
 * import { snapshotText } from "./snapshot_report.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const state = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const text = snapshotText({ trace: "t", point: { step: 0, index: 0 }, event: undefined,
 *   state, policySource: "option" });
 * assert.match(text, /^  0x40000-0x7ffffff +invalid +invalid +mid-missing \(shared\)$/m);
 * ```
 */
export function snapshotText(s: SnapshotInput): string {
  const st = s.state;
  const g = st.guest;
  const a = st.p2m.accounting;
  const out = [`snapshot of ${escapeText(s.trace)} at ${stepHeading(s.point, s.event)}`];
  out.push(`policy:   ${policySpec(st.policy)} (${s.policySource}): ${st.policy.summary}`);
  out.push(
    `guest:    ${g.type} ${g.domain}${g.kernel ? `, kernel ${escapeText(g.kernel)}` : ""}` +
      `${g.nrPages !== undefined ? `, nr_pages ${hex(g.nrPages)}` : ""}`,
  );
  out.push(
    `p2m:      ${st.policy.kernel.structure} structures; max_pfn ${hex(st.maxPfn)}; ` +
      (a.brkReserved ? `brk ${a.brkUsed} of ${a.brkReserved} reserved pages; ` : "") +
      `${a.runtimePages} page(s) allocated at runtime`,
  );
  out.push(
    `e820:     ${st.e820.length} raw entr${st.e820.length === 1 ? "y" : "ies"}; ` +
      (st.boot ? "boot pass done" : "boot pass not run yet"),
  );
  out.push(
    `balloon:  ${st.balloon.pages} page(s) in ${st.balloon.rangeCount} range(s)` +
      (st.balloonStarted ? "" : " (driver not started)") +
      (st.balloon.pages ? `: ${setText(st.balloon)}` : ""),
  );
  if (st.extra.pages) out.push(`extra:    ${setText(st.extra)}`);
  if (st.hotplug.pages) out.push(`hotplug:  ${setText(st.hotplug)}`);
  const devices = [...st.devices.values()].sort((x, y) => x.device < y.device ? -1 : 1);
  out.push(`devices:  ${devices.length ? "" : "none"}`.trimEnd());
  for (const d of devices) {
    out.push(
      `  ${d.device} (added at step ${d.seq})${
        d.resources.length ? ": " + d.resources.map(resourceText).join(", ") : ""
      }`,
    );
  }
  const ranges = snapshotRanges(st.p2m);
  out.push(`p2m ranges up to ${hex(Math.max(st.p2m.structureLimit, 1))} (${ranges.length}):`);
  for (const r of ranges) {
    const shared = structureBacking(r.structure) === "shared" ? " (shared)" : "";
    out.push(
      `  ${span(r.pfn, r.endPfn).padEnd(25)} ${entryText(r.kind, r.frame).padEnd(16)} ` +
        `${entryClass(r.kind).padEnd(8)} ${r.structure}${shared}`,
    );
  }
  return out.join("\n") + "\n";
}

function resourceJson(r: Resource): Record<string, unknown> {
  const o: Record<string, unknown> = {
    index: r.index,
    start: hex(r.start),
    end: hex(r.end),
    flags: hex(r.flags),
  };
  if (r.name !== undefined) o.name = r.name;
  return o;
}

function setJson(s: PfnSet): { pfn: string; end_pfn: string }[] {
  const out: { pfn: string; end_pfn: string }[] = [];
  s.forEachIn(0, Number.MAX_SAFE_INTEGER, (a, b) => out.push({ pfn: hex(a), end_pfn: hex(b) }));
  return out;
}

/**
 * The snapshot JSON document (docs/bisect.md "Snapshot JSON"): everything a predicate may
 * test, with PFNs, frames and addresses as `"0x..."` strings and keys in a fixed order.
 *
 * @example
 * ```ts
 * import { snapshotJson } from "./snapshot_report.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const state = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const o = snapshotJson({ trace: "t", point: { step: 0, index: 0 }, event: undefined,
 *   state, policySource: "option" });
 * assert.equal(o.step, 0);
 * assert.deepEqual((o.p2m as unknown[])[0], { pfn: "0x0", end_pfn: "0x40000", kind: "mapped",
 *   entry: "mfn", mfn: null, structure: "private-leaf", shared: false });
 * ```
 */
export function snapshotJson(s: SnapshotInput): Record<string, unknown> {
  const st = s.state;
  const g = st.guest;
  const a = st.p2m.accounting;
  const b = st.boot;
  const e = s.event;
  return {
    format: "p2mtrace-snapshot",
    version: SNAPSHOT_VERSION,
    trace: s.trace,
    step: s.point.step,
    events_applied: s.point.index,
    event: e ? { seq: e.seq, line: e.line, kind: e.kind, text: describeEvent(e) } : null,
    policy: st.policy.name,
    policy_options: st.policy.options,
    policy_source: s.policySource,
    era: st.policy.kernel.structure,
    guest: {
      type: g.type,
      domain: g.domain,
      kernel: g.kernel ?? null,
      nr_pages: g.nrPages === undefined ? null : hex(g.nrPages),
    },
    max_pfn: hex(st.maxPfn),
    structure_limit: hex(st.p2m.structureLimit),
    p2m: snapshotRanges(st.p2m).map((r) => ({
      pfn: hex(r.pfn),
      end_pfn: hex(r.endPfn),
      kind: entryClass(r.kind),
      entry: entryText(r.kind, r.frame),
      mfn: (r.kind === K.MFN || r.kind === K.FOREIGN || r.kind === K.SCRATCH) && r.frame >= 0
        ? hex(r.frame)
        : null,
      structure: r.structure,
      shared: structureBacking(r.structure) === "shared",
    })),
    balloon: {
      started: st.balloonStarted,
      pages: st.balloon.pages,
      ranges: setJson(st.balloon),
    },
    extra: setJson(st.extra),
    hotplug: setJson(st.hotplug),
    e820: st.e820.map((x) => ({
      start: hex(x.start),
      end: hex(x.start + x.size - 1),
      type: E820_TYPE_NAME.get(x.type) ?? x.type,
      line: x.line,
    })),
    boot: b
      ? {
        identity: b.identity,
        released: b.released,
        populated: b.populated,
        remapped: b.remapped,
        max_pfn: hex(b.maxPfn),
        extra: b.extra.map((r) => ({ pfn: hex(r.pfn), end_pfn: hex(r.endPfn) })),
      }
      : null,
    devices: [...st.devices.values()].sort((x, y) => x.device < y.device ? -1 : 1).map((d) => ({
      device: d.device,
      added_at: d.seq,
      resources: d.resources.map(resourceJson),
    })),
    bridges: [...st.bridges.entries()].sort((x, y) => x[0] < y[0] ? -1 : 1).map(([bus, rs]) => ({
      bus,
      resources: rs.map(resourceJson),
    })),
    grants: st.grants.map((gr) => ({
      pfn: hex(gr.range.pfn),
      end_pfn: hex(gr.range.endPfn),
      source: gr.source,
      step: gr.seq,
    })),
    accounting: { brk_used: a.brkUsed, brk_reserved: a.brkReserved, runtime_pages: a.runtimePages },
  };
}

/**
 * The kernel's `/sys/kernel/debug/xen/mmu/p2m` text for the state's era, newline-terminated
 * lines exactly as `seq_printf` writes them (p2m-semantics.md section 7).
 *
 * @example
 * ```ts
 * import { snapshotDebugfs } from "./snapshot_report.ts";
 * import { P2m } from "../p2m/table.ts";
 * import assert from "node:assert/strict";
 * assert.equal(snapshotDebugfs(P2m.build("L19", 0x40000)), " [0x0->0x40000] pfn\n");
 * ```
 */
export function snapshotDebugfs(p2m: ModelState["p2m"]): string {
  return renderDump(p2m).map((l) => l + "\n").join("");
}
