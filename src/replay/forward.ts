/**
 * One forward pass over a trace, step by step, in constant memory: the loop under `snapshot`,
 * `lookup`, `diff` and `bisect`. Unlike `runTrace` it hands the caller the live
 * {@link Replayer} between steps (so a caller can freeze the state at any step it wants, read
 * the live draft, or stop early) and lets the caller choose the detectors, including none.
 * A cut-off recording ends the pass cleanly; the caller reports it.
 *
 * @module
 */

import { CutOffError } from "../errors.ts";
import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import type { EventSource } from "../trace/read.ts";
import type { Policy } from "../policy/policy.ts";
import type { Detector } from "../detect/detectors.ts";
import { choosePolicy, type PolicySource, Replayer, type StepRecord } from "./replayer.ts";
import type { ModelState } from "../model/state.ts";
import { pastEndError, type StepName, type StepPoint } from "./steps.ts";

/** Options of {@link ForwardPass.open}. */
export interface ForwardOptions {
  /** `--policy` value (name with options); default as {@link choosePolicy}. */
  policy?: string;
  /** Detectors to run on each step; none by default (a pass that only needs states). */
  detectors?: readonly Detector[];
}

/** How a pass ended. */
export type PassEnding = "end-record" | "no-end-record" | "cut-off" | "stopped";

/**
 * A forward replay of one trace. Open it, read {@link ForwardPass.state} for step 0, then
 * iterate {@link ForwardPass.steps}; breaking out of the loop ends the pass as `stopped`.
 *
 * @example
 * ```ts
 * import { ForwardPass } from "./forward.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const reader = TraceReader.fromText("t", [
 *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *     '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
 *   '{"seq":1,"kind":"set_identity","pfn":"0x80000","end_pfn":"0x80001"}',
 *   '{"seq":2,"kind":"mark","text":"done"}',
 * ].join("\n") + "\n");
 * const pass = await ForwardPass.open(reader, { policy: "linux-3.12" });
 * const s0 = pass.state();
 * const seen: number[] = [];
 * for await (const rec of pass.steps()) seen.push(rec.event.seq);
 * assert.deepEqual(seen, [1, 2]);
 * assert.equal(pass.ending, "no-end-record");
 * assert.notEqual(pass.state(), s0); // step 1 changed the P2M
 * ```
 */
export class ForwardPass {
  /** The trace header. */
  readonly header: TraceHeader;
  /** The policy replayed under. */
  readonly policy: Policy;
  /** Where the policy came from. */
  readonly policySource: PolicySource;
  /** The live replayer (findings, counts, the current draft). */
  readonly replayer: Replayer;
  /** How the pass ended (`stopped` until it ends otherwise). */
  ending: PassEnding = "stopped";
  /** The cut-off, when the recording's last line was truncated. */
  cutOff: CutOffError | undefined;
  #reader: EventSource;
  #batches: AsyncGenerator<TraceEvent[]> | undefined;
  #buffer: TraceEvent[] = [];
  #pos = 0;
  #done = false;
  #last: TraceEvent | undefined;

  private constructor(
    reader: EventSource,
    header: TraceHeader,
    policy: Policy,
    source: PolicySource,
    detectors: readonly Detector[],
  ) {
    this.#reader = reader;
    this.header = header;
    this.policy = policy;
    this.policySource = source;
    this.replayer = Replayer.forHeader(header, policy, detectors);
  }

  /** Reads the header and chooses the policy. */
  static async open(reader: EventSource, opts: ForwardOptions = {}): Promise<ForwardPass> {
    const header = await reader.header();
    const { policy, source } = choosePolicy(header, opts.policy);
    return new ForwardPass(reader, header, policy, source, opts.detectors ?? []);
  }

  /** The trace name as given. */
  get name(): string {
    return this.#reader.name;
  }

  /** Events applied so far. */
  get index(): number {
    return this.replayer.steps;
  }

  /** The current state, frozen (the pass continues on a fresh draft). */
  state(): ModelState {
    return this.replayer.snapshot();
  }

  /** The event applied last (undefined before the first). */
  get lastEvent(): TraceEvent | undefined {
    return this.#last;
  }

  /** The step the pass stands at: 0, or the seq of the last event applied. */
  get point(): StepPoint {
    return { step: this.index === 0 ? 0 : this.replayer.lastSeq, index: this.index };
  }

  /** The next event, without applying it; undefined at the end (or the cut-off). */
  /**
   * The seq of the event the next step will apply, or undefined at the end (or a cut-off):
   * tells a caller that the current step is the last one at or before a seq without a state
   * frozen per step.
   */
  async nextSeq(): Promise<number | undefined> {
    return (await this.#peek())?.seq;
  }

  async #peek(): Promise<TraceEvent | undefined> {
    while (this.#pos >= this.#buffer.length) {
      if (this.#done) return undefined;
      this.#batches ??= this.#reader.batches();
      let r: IteratorResult<TraceEvent[]>;
      try {
        r = await this.#batches.next();
      } catch (e) {
        if (!(e instanceof CutOffError)) throw e;
        this.cutOff = e;
        this.ending = "cut-off";
        this.#done = true;
        return undefined;
      }
      if (r.done) {
        this.ending = this.#reader.end ? "end-record" : "no-end-record";
        this.#done = true;
        return undefined;
      }
      this.#buffer = r.value;
      this.#pos = 0;
    }
    return this.#buffer[this.#pos];
  }

  /**
   * Applies the remaining events one at a time, yielding each step. With `atSeq`, stops
   * before the first event whose seq is above it (that event stays unread; a later call goes
   * on from it). Leaving the loop early leaves the pass where it is.
   */
  async *steps(atSeq?: number): AsyncGenerator<StepRecord> {
    for (;;) {
      const e = await this.#peek();
      if (e === undefined || (atSeq !== undefined && e.seq > atSeq)) return;
      this.#pos++;
      this.#last = e;
      yield this.replayer.apply(e);
    }
  }

  /**
   * Applies the remaining events (with `atSeq`, those whose seq is at most `atSeq`) and calls
   * `onStep` after each one: {@link ForwardPass.steps} without an await per event — it awaits
   * once per batch of parsed lines, the loop of a whole-trace scan. The live draft
   * (`replayer.current`) holds the state after the step during the call. `onStep` returning
   * `false` stops the pass after that step (the next event stays unread).
   *
   * @example
   * ```ts
   * import { ForwardPass } from "./forward.ts";
   * import { TraceReader } from "../trace/read.ts";
   * import assert from "node:assert/strict";
   * const reader = TraceReader.fromText("t", [
   *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
   *     '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
   *   '{"seq":1,"kind":"mark","text":"a"}',
   *   '{"seq":2,"kind":"mark","text":"b"}',
   *   '{"seq":3,"kind":"mark","text":"c"}',
   * ].join("\n") + "\n");
   * const pass = await ForwardPass.open(reader, { policy: "linux-3.12" });
   * const seen: number[] = [];
   * await pass.forEachStep((rec) => {
   *   seen.push(rec.event.seq);
   * }, 2);
   * assert.deepEqual(seen, [1, 2]);
   * await pass.forEachStep((rec) => {
   *   seen.push(rec.event.seq);
   * });
   * assert.deepEqual(seen, [1, 2, 3]);
   * assert.equal(pass.ending, "no-end-record");
   * ```
   */
  async forEachStep(
    onStep: (rec: StepRecord) => boolean | void,
    atSeq?: number,
  ): Promise<void> {
    const replayer = this.replayer;
    for (;;) {
      if (await this.#peek() === undefined) return;
      const buffer = this.#buffer;
      while (this.#pos < buffer.length) {
        const e = buffer[this.#pos];
        if (atSeq !== undefined && e.seq > atSeq) return;
        this.#pos++;
        this.#last = e;
        if (onStep(replayer.apply(e)) === false) return;
      }
    }
  }

  /**
   * Replays up to a named step (calling `onStep` for each event applied) and returns it. A
   * step past the last event is a `UsageError` (after the whole trace was read).
   */
  async walkTo(name: StepName, onStep?: (rec: StepRecord) => void): Promise<StepPoint> {
    for await (const rec of this.steps(name === "end" ? undefined : name)) onStep?.(rec);
    if (name === "end") return this.point;
    if (
      name > 0 && this.ending !== "stopped" && (this.index === 0 || this.replayer.lastSeq < name)
    ) {
      throw pastEndError(name, this.index === 0 ? undefined : this.replayer.lastSeq);
    }
    return { step: name, index: this.index };
  }
}
