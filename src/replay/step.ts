/**
 * The reducer: one event applied to the replayed guest under its policy. {@link applyEvent}
 * edits a {@link ModelDraft} (the fast path replay uses); {@link step} and {@link reduce} are the
 * pure forms: `(state, event) -> state`, returning the same state object when the event
 * changed nothing. Problems are recorded in the outcome, never thrown: an event the model cannot
 * apply (a retrieve of a page that is not ballooned, a second boot pass) is an anomaly at its
 * step.
 *
 * @module
 */

import type { PfnRange, Resource, TraceEvent } from "../trace/event.ts";
import { increments, K } from "../p2m/leaf_runs.ts";
import type { P2mNote, WriteValue } from "../p2m/table.ts";
import { WriteLog } from "../p2m/table.ts";
import { memorySetup, MemorySetupError, pfnDown } from "../kernel/memory_setup.ts";
import { applyIdentityRule } from "../kernel/identity_rule.ts";
import { isMmio, isUnassigned, resourceName, resourcePfns } from "../kernel/pci_resource.ts";
import { IORESOURCE } from "../kernel/ioresource.ts";
import { POLICIES, policyForKernel } from "../policy/policies.ts";
import { type DeviceState, ModelDraft, type ModelState } from "./state.ts";
import { type Verification, verifyBoot, verifyDump, verifyLookup } from "./verify.ts";

/** A lookup-level change of a PFN range in one step. */
export interface Change {
  /** First PFN. */
  pfn: number;
  /** One past the last PFN. */
  endPfn: number;
  /** Entry kind before ({@link K}). */
  beforeKind: number;
  /** Frame before (at `pfn`; -1 unrecorded; 0 for non-mapped kinds). */
  beforeMfn: number;
  /** Entry kind after. */
  afterKind: number;
  /** Frame after (at `pfn`). */
  afterMfn: number;
}

/** Something the reducer found odd about the trace itself (not a kernel problem). */
export interface Anomaly {
  /** What is odd. */
  message: string;
  /** Affected PFNs, when any. */
  range?: PfnRange;
}

/** A resource walked by a policy's identity rule, with what it wrote. */
export interface RuleApplication {
  /** `0000:03:00.0 BAR 2`, `bus 0000:00 window`. */
  source: string;
  /** The resource. */
  resource: Resource;
  /** The PFN span walked. */
  span: PfnRange;
  /** Ranges written identity. */
  written: PfnRange[];
  /** The resource is I/O space, walked as memory (the seed patch's `==` bug). */
  ioAsMemory: boolean;
}

/** Everything one step did, besides the new state. */
export interface StepOutcome {
  /** Lookup-level changes, coalesced, in PFN order. */
  changes: Change[];
  /** What the table noticed (lost writes, aliasing, overreach, BUG, brk use, ...). */
  notes: P2mNote[];
  /** Kernel messages the modelled kernel printed. */
  messages: string[];
  /** Checks of recorded observations against the model. */
  verifications: Verification[];
  /** Trace anomalies. */
  anomalies: Anomaly[];
  /** Identity-rule walks (seed, host-bridge policies). */
  rules: RuleApplication[];
  /** A device resource that changed: the old and new values (stale-identity evidence). */
  moved: { device: string; before: Resource; after: Resource; action: string }[];
  /** A device that was removed, as it was. */
  removed?: DeviceState;
}

// Lists of an outcome start as this shared, frozen empty array; `add` allocates on first use,
// so a step that reports nothing allocates no lists.
const NONE = Object.freeze([]) as never[];

function emptyOutcome(): StepOutcome {
  return {
    changes: NONE,
    notes: NONE,
    messages: NONE,
    verifications: NONE,
    anomalies: NONE,
    rules: NONE,
    moved: NONE,
  };
}

type ListKey = "messages" | "verifications" | "anomalies" | "rules" | "moved";

/** Appends `items` to one of `out`'s lists. */
function add<Key extends ListKey>(
  out: StepOutcome,
  key: Key,
  ...items: StepOutcome[Key][number][]
): void {
  if (items.length === 0) return;
  const list = out[key] as unknown[];
  if (list === NONE) (out as unknown as Record<Key, unknown[]>)[key] = items;
  else list.push(...items);
}

const INVALID_VALUE = (pfn: number): WriteValue => ({ kind: K.INVALID, base: 0, startPfn: pfn });

/**
 * Applies `e` to the draft `d`. The draft's write log must be empty (the caller clears it
 * between steps); the outcome's `changes` are computed from it.
 */
export function applyEvent(d: ModelDraft, e: TraceEvent): StepOutcome {
  const out = emptyOutcome();
  switch (e.kind) {
    case "e820":
      if (e.map !== "raw") break;
      if (d.boot) {
        add(out, "anomalies", {
          message: "raw E820 entry after the boot pass: it is recorded but the pass already ran",
        });
      }
      d.addE820({ start: e.start, size: e.size, type: e.type, line: e.line });
      break;
    case "memory_setup": {
      if (d.guest.type !== "pv") {
        add(
          out,
          "messages",
          "auto-translated guest: xen_memory_setup does no identity or release work",
        );
        break;
      }
      if (d.boot) {
        add(out, "anomalies", { message: "second memory_setup: the boot pass runs once; ignored" });
        break;
      }
      try {
        const report = memorySetup(d, { maxReservation: e.maxReservation });
        add(out, "messages", ...report.messages);
        if (e.expect) {
          const recorded = recordedBootPass(d.guest.kernel);
          if (recorded === undefined || recorded === d.policy.bootPass) {
            add(out, "verifications", ...verifyBoot(e.expect, report));
          } else {
            add(
              out,
              "messages",
              `boot counts not compared: the recording's kernel ${d.guest.kernel} does the ` +
                `${recorded} pass, policy ${d.policy.name} the ${d.policy.bootPass} pass`,
            );
          }
        }
      } catch (err) {
        if (!(err instanceof MemorySetupError)) throw err;
        // Not an anomaly of the trace: the pass lacks an input, and every finding that rests on
        // it says "cannot judge" (detect/basis.ts).
        add(out, "messages", `the boot pass cannot run: ${err.message}`);
      }
      break;
    }
    case "set_identity": {
      if (d.guest.type !== "pv") break;
      const n = d.p2m.setIdentityRange(e.range.pfn, e.range.endPfn);
      if (n > 0) {
        add(
          out,
          "messages",
          `1-1 mapping on ${e.range.pfn.toString(16)}->${(e.range.pfn + n).toString(16)}`,
        );
      } else {add(
          out,
          "messages",
          `set_phys_range_identity(${e.range.pfn.toString(16)}, ${
            e.range.endPfn.toString(16)
          }) returned 0`,
        );}
      break;
    }
    case "set_p2m": {
      if (d.guest.type !== "pv") break;
      const kind =
        { mfn: K.MFN, invalid: K.INVALID, identity: K.IDENTITY, foreign: K.FOREIGN }[e.value];
      const failed = d.p2m.write(e.range.pfn, e.range.endPfn, {
        kind,
        base: e.mfn ?? 0,
        startPfn: e.range.pfn,
      }, e.primitive);
      if (failed > 0) {
        add(out, "messages", `${e.primitive} failed for ${failed} PFN(s): the leaf is missing`);
      }
      break;
    }
    case "balloon_init":
      if (d.balloonStarted) {
        add(out, "anomalies", { message: "balloon driver initialised twice; ignored" });
        break;
      }
      d.startBalloon();
      d.extra.forEachIn(0, Number.MAX_SAFE_INTEGER, (a, b) => {
        d.balloonAdd(a, b);
      });
      add(
        out,
        "messages",
        `xen/balloon: Initialising balloon driver (${d.extra.pages} extra page(s) ballooned)`,
      );
      break;
    case "balloon_append":
      for (const r of e.ranges) d.balloonAdd(r.pfn, r.endPfn);
      break;
    case "balloon_retrieve":
    case "increase_reservation": {
      let offset = 0;
      for (const r of e.ranges) {
        const had = d.balloonDelete(r.pfn, r.endPfn);
        if (had < r.endPfn - r.pfn) {
          add(out, "anomalies", {
            message: `${r.endPfn - r.pfn - had} PFN(s) taken off the balloon list were not on it`,
            range: r,
          });
        }
        if (d.guest.type === "pv" && (e.mfn !== undefined || e.kind === "increase_reservation")) {
          const v: WriteValue = e.mfn === undefined
            ? { kind: K.MFN_UNKNOWN, base: 0, startPfn: r.pfn }
            : { kind: K.MFN, base: e.mfn + offset, startPfn: r.pfn };
          d.p2m.write(r.pfn, r.endPfn, v, "set_phys_to_machine");
        }
        offset += r.endPfn - r.pfn;
      }
      break;
    }
    case "decrease_reservation":
      for (const r of e.ranges) {
        if (d.guest.type === "pv") {
          const v: WriteValue = d.policy.balloonOut === "scratch"
            ? { kind: K.SCRATCH, base: e.scratchMfn ?? -1, startPfn: r.pfn }
            : INVALID_VALUE(r.pfn);
          d.p2m.write(r.pfn, r.endPfn, v, "__set_phys_to_machine");
        }
        const added = d.balloonAdd(r.pfn, r.endPfn);
        if (added < r.endPfn - r.pfn) {
          add(out, "anomalies", {
            message: `${r.endPfn - r.pfn - added} PFN(s) were already ballooned`,
            range: r,
          });
        }
      }
      break;
    case "memory_hotplug": {
      const r = { pfn: pfnDown(e.start), endPfn: pfnDown(e.start + e.size) };
      if (d.guest.type === "pv" && d.policy.hotplugInvalidate) {
        d.p2m.write(r.pfn, r.endPfn, INVALID_VALUE(r.pfn), "set_phys_to_machine");
      }
      d.hotplugAdd(r.pfn, r.endPfn);
      d.balloonAdd(r.pfn, r.endPfn);
      break;
    }
    case "pci_host_bridge":
      d.setBridge(e.bus, e.resources);
      if (d.policy.bridgeRule && d.guest.type === "pv") {
        for (const w of e.resources) {
          if ((w.flags & IORESOURCE.MEM) === 0 || (!d.policy.walkUnset && isUnassigned(w))) {
            continue;
          }
          const span = resourcePfns(w);
          const written = applyIdentityRule(d, span);
          const source = `bus ${e.bus} window [mem 0x${w.start.toString(16)}-0x${
            w.end.toString(16)
          }]`;
          add(out, "rules", { source, resource: w, span, written, ioAsMemory: false });
          for (const r of written) d.addGrant({ range: r, source, seq: e.seq });
        }
      }
      break;
    case "xen_add_device": {
      d.setDevice({ device: e.device, resources: e.resources, seq: e.seq });
      const walk = d.policy.barWalk;
      if (walk && d.guest.type === "pv" && d.guest.domain === "dom0") {
        for (const r of e.resources) {
          const io = (r.flags & IORESOURCE.TYPE_BITS) === IORESOURCE.IO;
          const skip = walk.skip === "eq"
            ? r.flags === IORESOURCE.IO
            : (r.flags & IORESOURCE.IO) !== 0;
          if (skip) continue;
          if (!d.policy.walkUnset && isUnassigned(r)) continue;
          const span = resourcePfns(r);
          const written = applyIdentityRule(d, span);
          const source = `${e.device} ${resourceName(r.index)}`;
          add(out, "rules", { source, resource: r, span, written, ioAsMemory: io });
          for (const w of written) {
            d.addGrant({ range: w, source, device: e.device, index: r.index, seq: e.seq });
          }
        }
      }
      break;
    }
    case "xen_remove_device": {
      const removed = d.removeDevice(e.device);
      if (removed) out.removed = removed;
      else {add(out, "anomalies", {
          message: `xen_remove_device of ${e.device}, which was never added`,
        });}
      break;
    }
    case "pci_resource_assign": {
      const dev = d.devices.get(e.device);
      const resources = dev ? dev.resources.slice() : [];
      const i = resources.findIndex((r) => r.index === e.resource.index);
      const before = i >= 0 ? resources[i] : undefined;
      if (e.action === "released" || e.action === "failed") {
        if (i >= 0) resources.splice(i, 1);
      } else if (i >= 0) resources[i] = e.resource;
      else resources.push(e.resource);
      d.setDevice({ device: e.device, resources, seq: dev?.seq ?? e.seq });
      if (
        before &&
        (before.start !== e.resource.start || before.end !== e.resource.end ||
          e.action === "released")
      ) {
        add(out, "moved", { device: e.device, before, after: e.resource, action: e.action });
      }
      const rule = d.policy.bridgeRule;
      if (
        rule?.windows === "all" && d.guest.type === "pv" && e.resource.index >= 13 &&
        isMmio(e.resource)
      ) {
        const span = resourcePfns(e.resource);
        const written = applyIdentityRule(d, span);
        const source = `${e.device} ${resourceName(e.resource.index)}`;
        add(out, "rules", { source, resource: e.resource, span, written, ioAsMemory: false });
        for (const w of written) {
          d.addGrant({ range: w, source, device: e.device, index: e.resource.index, seq: e.seq });
        }
      }
      break;
    }
    case "lookup":
      add(out, "verifications", ...verifyLookup(d, e));
      break;
    case "p2m_dump":
      add(out, "verifications", ...verifyDump(d, e));
      break;
    case "mark":
      break;
  }
  if (d.log.notes.length > 0) out.notes = d.log.notes.slice();
  out.changes = diffChanges(d);
  return out;
}

/** The boot pass the kernel that made a recording does, from its release string. */
function recordedBootPass(kernel: string | undefined): string | undefined {
  const name = kernel === undefined ? undefined : policyForKernel(kernel);
  return name === undefined ? undefined : POLICIES.get(name)?.base.bootPass;
}

/** True when two entries (kind, frame at the same PFN) read the same to a lookup. */
function sameEntry(k0: number, b0: number, k1: number, b1: number): boolean {
  return k1 === k0 && (k0 === K.INVALID || k0 === K.IDENTITY || k0 === K.MFN_UNKNOWN || b1 === b0);
}

/** Lookup-level changes of the step, from the write log's before-captures. */
function diffChanges(d: ModelDraft): Change[] {
  const bf = d.log.before;
  if (bf.length === 0) return NONE;
  const af = d.log.after;
  const raw: Change[] = [];
  for (let i = 0, j = 0; i < bf.length; i += 4, j += 2) {
    const p = bf[i], e = bf[i + 1], k0 = bf[i + 2], b0 = bf[i + 3];
    const k1 = af[j];
    if (k1 >= 0) {
      // one store wrote all of it: the after-value is known without reading the table
      const b1 = af[j + 1];
      if (!sameEntry(k0, b0, k1, b1)) {
        raw.push({ pfn: p, endPfn: e, beforeKind: k0, beforeMfn: b0, afterKind: k1, afterMfn: b1 });
      }
      continue;
    }
    d.p2m.forEachRun(p, e, (ap, ae, k1, b1) => {
      const before0 = increments(k0) ? b0 + (ap - p) : b0;
      if (
        k1 === k0 &&
        (k0 === K.INVALID || k0 === K.IDENTITY || k0 === K.MFN_UNKNOWN || b1 === before0)
      ) return;
      raw.push({
        pfn: ap,
        endPfn: ae,
        beforeKind: k0,
        beforeMfn: before0,
        afterKind: k1,
        afterMfn: b1,
      });
    }, true);
  }
  if (raw.length < 2) return raw;
  raw.sort((x, y) => x.pfn - y.pfn);
  const out: Change[] = [];
  for (const c of raw) {
    const last = out[out.length - 1];
    if (
      last && last.endPfn === c.pfn && last.beforeKind === c.beforeKind &&
      last.afterKind === c.afterKind &&
      (!increments(c.beforeKind) || c.beforeMfn === last.beforeMfn + (last.endPfn - last.pfn)) &&
      (!increments(c.afterKind) || c.afterMfn === last.afterMfn + (last.endPfn - last.pfn)) &&
      (c.beforeKind !== K.SCRATCH || c.beforeMfn === last.beforeMfn) &&
      (c.afterKind !== K.SCRATCH || c.afterMfn === last.afterMfn)
    ) {
      last.endPfn = c.endPfn;
    } else out.push({ ...c });
  }
  return out;
}

/** Result of a pure {@link step}. */
export interface StepResult {
  /** The new state (the same object when nothing changed). */
  state: ModelState;
  /** What the step did. */
  outcome: StepOutcome;
}

/**
 * The pure reducer step: applies `e` to a copy-on-write draft of `s`.
 *
 * @example
 * ```ts
 * import { step } from "./step.ts";
 * import { initialState } from "./state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s0 = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const mark = step(s0, { seq: 1, line: 2, kind: "mark", text: "hello" });
 * assert.equal(mark.state, s0);                       // nothing changed: same object
 * const r = step(s0, { seq: 2, line: 3, kind: "set_identity", range: { pfn: 0x80000, endPfn: 0x80001 } });
 * assert.notEqual(r.state, s0);
 * assert.equal(r.outcome.changes.length, 1);
 * ```
 */
export function step(s: ModelState, e: TraceEvent): StepResult {
  const d = new ModelDraft(s, new WriteLog());
  const outcome = applyEvent(d, e);
  return { state: d.finish(), outcome };
}

/**
 * `reduce(state, event) -> state`, pure and total.
 *
 * @example
 * ```ts
 * import { reduce } from "./step.ts";
 * import { initialState } from "./state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s0 = initialState(
 *   { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.16"),
 * );
 * const s1 = reduce(s0, { seq: 1, line: 2, kind: "balloon_append", ranges: [{ pfn: 5, endPfn: 6 }] });
 * assert.equal(s1.balloon.has(5), true);
 * assert.equal(s0.balloon.has(5), false);
 * ```
 */
export function reduce(s: ModelState, e: TraceEvent): ModelState {
  return step(s, e).state;
}
