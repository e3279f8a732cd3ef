/**
 * What one step did besides changing the state: lookup-level changes, kernel messages, checks
 * of recorded observations, trace anomalies, identity-rule walks. Kernel handlers append to an
 * outcome; replay reads it.
 *
 * @module
 */

import type { PfnRange, Resource } from "../trace/event.ts";
import type { P2mNote } from "../p2m/table.ts";
import type { DeviceState } from "./state.ts";

/** One check of a recorded observation against the model. */
export interface Verification {
  /** What was checked, e.g. `Set N page(s) to 1-1 mapping`. */
  what: string;
  /** What the real guest printed or observed. */
  recorded: string;
  /** What the model computed. */
  model: string;
  /** True when they agree, or when only an input the trace does not state can explain why not. */
  ok: boolean;
  /**
   * Set when `ok` is only "consistent": the values differ, but an input the trace does not
   * state (and the model assumed) explains the difference; says which, and what it implies.
   */
  unverified?: string;
  /** The PFNs concerned, when any. */
  range?: PfnRange;
}

/** A lookup-level change of a PFN range in one step. */
export interface Change {
  /** First PFN. */
  pfn: number;
  /** One past the last PFN. */
  endPfn: number;
  /** Entry kind before (a `K` code of p2m/leaf_runs.ts). */
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
/** The shared, frozen empty list every outcome list starts as. */
export const NO_ITEMS = Object.freeze([]) as never[];

/**
 * An outcome that reports nothing yet.
 *
 * @example
 * ```ts
 * import { emptyOutcome } from "./outcome.ts";
 * import assert from "node:assert/strict";
 * assert.equal(emptyOutcome().messages.length, 0);
 * ```
 */
export function emptyOutcome(): StepOutcome {
  return {
    changes: NO_ITEMS,
    notes: NO_ITEMS,
    messages: NO_ITEMS,
    verifications: NO_ITEMS,
    anomalies: NO_ITEMS,
    rules: NO_ITEMS,
    moved: NO_ITEMS,
  };
}

/** The lists of an outcome that handlers append to. */
export type OutcomeList = "messages" | "verifications" | "anomalies" | "rules" | "moved";

/**
 * Appends `items` to one of `out`'s lists.
 *
 * @example
 * ```ts
 * import { add, emptyOutcome } from "./outcome.ts";
 * import assert from "node:assert/strict";
 * const out = emptyOutcome();
 * add(out, "messages", "xen/balloon: Initialising balloon driver");
 * assert.deepEqual(out.messages, ["xen/balloon: Initialising balloon driver"]);
 * ```
 */
export function add<Key extends OutcomeList>(
  out: StepOutcome,
  key: Key,
  ...items: StepOutcome[Key][number][]
): void {
  if (items.length === 0) return;
  const list = out[key] as unknown[];
  if (list === NO_ITEMS) (out as unknown as Record<Key, unknown[]>)[key] = items;
  else list.push(...items);
}
