/**
 * Step names, as rr names points of a recording. Step `N` is the state after every event with
 * `seq <= N` (seqs may have gaps in a minimized trace: step 7 of a trace with events 5 and 9
 * is the state after event 5); `0` is the state before the first event (after it, if the
 * first event has seq 0, which the format allows); `end` is the state after the last event;
 * `-N` is the state N events before the end (`-1`: before the last event). A step past the last
 * event, or before the first, is an error naming the trace's bounds. Internally a step is an
 * **index**: the number of events applied to reach it.
 *
 * @module
 */

import { UsageError } from "../errors.ts";

/** A step name: a step number (a seq, or 0 for the start), `end`, or -N (N events before the end). */
export type StepName = number | "end";

/** A step resolved against a trace. */
export interface StepPoint {
  /**
   * The step number: as named (`7` may be the state after seq 5 in a trace with gaps), or for
   * `end` and points found by index, the seq of the last event applied (0 at the start).
   */
  step: number;
  /** Events applied to reach it (0 ... number of events). */
  index: number;
}

/**
 * The text of a step name: `0`, `16`, `end`.
 *
 * @example
 * ```ts
 * import { stepNameText } from "./steps.ts";
 * import assert from "node:assert/strict";
 * assert.equal(stepNameText("end"), "end");
 * assert.equal(stepNameText(16), "16");
 * ```
 */
export function stepNameText(name: StepName): string {
  return name === "end" ? "end" : String(name);
}

/**
 * The error for a step past the last event.
 *
 * @example
 * ```ts
 * import { pastEndError } from "./steps.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pastEndError(99, 21).message,
 *   "step 99 is past the end of the trace: its last event is seq 21 ('end' names the state after it)");
 * ```
 */
export function pastEndError(step: number, lastSeq: number | undefined): UsageError {
  const last = lastSeq === undefined ? "it has no events" : `its last event is seq ${lastSeq}`;
  return new UsageError(
    `step ${step} is past the end of the trace: ${last} ('end' names the state after it)`,
  );
}

/**
 * The error for `-N` beyond the first event.
 *
 * @example
 * ```ts
 * import { beforeStartError } from "./steps.ts";
 * import assert from "node:assert/strict";
 * assert.equal(beforeStartError(-30, 21).message,
 *   "step -30 is before the start of the trace: it has 21 event(s) ('0' names the state before them)");
 * ```
 */
export function beforeStartError(step: number, events: number): UsageError {
  return new UsageError(
    `step ${step} is before the start of the trace: it has ${events} event(s) ` +
      "('0' names the state before them)",
  );
}

/**
 * Resolves step names against the seqs of a trace's events, in order.
 *
 * @example
 * ```ts
 * import { StepIndex } from "./steps.ts";
 * import assert from "node:assert/strict";
 * const ix = new StepIndex([1, 2, 5, 9]);      // a minimized trace: seqs have gaps
 * assert.deepEqual(ix.resolve(0), { step: 0, index: 0 });
 * assert.deepEqual(ix.resolve(7), { step: 7, index: 3 }); // after every event with seq <= 7
 * assert.deepEqual(ix.resolve("end"), { step: 9, index: 4 });
 * assert.throws(() => ix.resolve(10), /past the end/);
 * assert.deepEqual(ix.resolve(-1), { step: 5, index: 3 }); // one event before the end
 * assert.throws(() => ix.resolve(-5), /before the start/);
 * assert.deepEqual(ix.points().map((p) => p.step), [0, 1, 2, 5, 9]);
 * ```
 */
export class StepIndex {
  #seqs: readonly number[];

  /** `seqs`: the events' seqs in trace order (strictly increasing). */
  constructor(seqs: readonly number[]) {
    this.#seqs = seqs;
  }

  /** Number of events. */
  get events(): number {
    return this.#seqs.length;
  }

  /** Seq of the last event, if any. */
  get lastSeq(): number | undefined {
    return this.#seqs.length ? this.#seqs[this.#seqs.length - 1] : undefined;
  }

  /** The point reached by applying `index` events. */
  point(index: number): StepPoint {
    if (!Number.isInteger(index) || index < 0 || index > this.#seqs.length) {
      throw new RangeError(`index ${index} is outside 0..${this.#seqs.length}`);
    }
    return { step: index === 0 ? 0 : this.#seqs[index - 1], index };
  }

  /** Resolves a step name; a step past the last event is a {@link UsageError}. */
  resolve(name: StepName): StepPoint {
    if (name === "end") return this.point(this.#seqs.length);
    if (name < 0) {
      const index = this.#seqs.length + name;
      if (index < 0) throw beforeStartError(name, this.#seqs.length);
      return this.point(index);
    }
    const last = this.lastSeq;
    if (name > 0 && (last === undefined || name > last)) throw pastEndError(name, last);
    // Events with seq <= name: binary search for the first seq > name.
    let lo = 0, hi = this.#seqs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#seqs[mid] <= name) lo = mid + 1;
      else hi = mid;
    }
    return { step: name, index: lo };
  }

  /** Every nameable step in order: 0, then one per event with a seq above 0. */
  points(): StepPoint[] {
    const first = this.resolve(0);
    const out = [first];
    for (let i = first.index + 1; i <= this.#seqs.length; i++) out.push(this.point(i));
    return out;
  }
}
