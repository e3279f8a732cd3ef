/**
 * Random access to every step of a trace without holding every snapshot. Steps are named as
 * in `steps.ts`: `0`, `N` (after every event with seq <= N), `end`.
 *
 * **Design.** {@link Timeline.build} replays the trace once, keeping an index of each event's
 * line and a frozen {@link ModelState} every `K` events (a checkpoint). When the trace is a
 * regular file (not stdin, a FIFO or gzip), the index is each event's byte offset, length and
 * line number (16 bytes an event, `src/replay/event_lines.ts`), and an access re-reads the lines
 * it needs with one positioned read; a file changed since the build (size, modification time,
 * or bytes other than the reader hashed) is an error naming it. Otherwise the index keeps each
 * event's text, deflated in blocks (about 30 bytes an event). The state at index `i` is
 * checkpoint `floor(i / K)` plus a replay of at most `K - 1` events on a copy-on-write draft of
 * it. Frozen states share every page they did not write (tables are persistent), so a
 * checkpoint costs only the leaves and mids written since the previous one, never a whole
 * table; the checkpoints are held encoded (`checkpoints.ts`: each distinct leaf once, as bytes,
 * about a seventh of its heap as arrays) and a whole state is decoded on access. When a trace
 * would need more than `maxCheckpoints` (default 512), every other checkpoint is dropped and
 * `K` doubles, so memory stays bounded for any length and access stays O(n / 256) events. The
 * last answer is cached: walking forward costs one event a step.
 *
 * | operation | time | memory |
 * | --- | --- | --- |
 * | `build` | one replay: O(n) event applications (+ one more streamed read of a file, hashed) | 16 bytes an event (a file) or its line (stdin, gzip) + at most `maxCheckpoints` checkpoints, each O(pages written in its K events) |
 * | `stateAt(i)` | one checkpoint decoded (its private leaves) and at most K - 1 event parses and applications (0 moving forward by one), from one read of their lines | one state, the lines read |
 * | `resolve(step)` | O(log n) | - |
 *
 * Measured with `tests/support/timeline_memory.ts` (Deno 2.9.6, linux-3.12, a generated trace
 * of balloon, set_p2m, device and lookup events spread over 4 GiB of PFNs — the worst case for
 * sharing, as nearly every interval writes new leaves):
 *
 * | events (trace size) | configuration | checkpoints | heap held | random access |
 * | --- | --- | --- | --- | --- |
 * | 20,006 (1.9 MB) | default: K 64 -> 128 | 157 | 18.6 MB | 0.45 ms |
 * | 20,006 | events only, no checkpoints | 1 | 3.8 MB | 19 ms |
 * | 20,006 | a snapshot per step (K = 1) | 20,007 | 277 MB | 0 ms |
 * | 100,006 (9.3 MB) | default: K 64 -> 512 | 196 | 96 MB | 2.6 ms |
 * | 100,006 | events only | 1 | 16 MB | 83 ms |
 * | 100,006 | a snapshot per step | - | out of memory at 4 GB | - |
 *
 * Keeping event lines instead of parsed events halved the "events only" heap (7.9 to 3.8 MB at
 * 20k events; 571 to about 180 MB on the 1M-event bench trace) for about twice the access time.
 * Byte offsets instead of lines, measured on 1,000,006 events (94 MB) of that generator: the
 * index with 2 checkpoints holds 15.0 MB; with the default 245 checkpoints the heap is 535 MB by
 * offsets against 672 MB with kept lines (0.80x: here checkpoints dominate). On the 1M-event
 * bench trace (`bench/random_access.ts`, 122 MB, 245 checkpoints, one run each, same machine):
 * heap 132 MB against 300 MB before (0.44x), median step 19.0 ms against 35.5 ms (0.54x), max
 * 203 ms against 206 ms (0.98x), build 15.3 s against 22.0 s (0.70x). Checkpoints encoded and
 * their bound raised from 256 to 512 (same trace and machine, two interleaved runs each, heap
 * plus typed-array buffers): the index holds 57-59 MB against 152-155 MB (489 checkpoints
 * against 245), median step 13 ms against 6-18 ms, max 45-50 ms against 60-84 ms, process CPU
 * 7.3 s both, peak RSS 230-263 MB against 304-416 MB.
 *
 * Forward-only commands (`snapshot`, `lookup`, `diff`, the `bisect` scan) never build a
 * timeline: they stream the trace once ({@link ForwardPass}), holding one state, so they work
 * on stdin for traces of any length. `bisect run` needs random access and builds one; over
 * stdin or gzip it works the same because the timeline keeps the event lines it read, never
 * seeks (about 30 MB more at 1M events, deflated).
 *
 * @module
 */

import { type CutOffError, InvariantError } from "../errors.ts";
import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import { parseEventLine, type TraceReader } from "../trace/read.ts";
import type { Policy } from "../policy/policy.ts";
import type { Finding } from "../detect/finding.ts";
import { type PolicySource, Replayer, selectDetectors } from "./replayer.ts";
import type { ModelState } from "../model/state.ts";
import { ForwardPass, type PassEnding } from "./forward.ts";
import { StepIndex, type StepName, type StepPoint } from "./steps.ts";
import { type EventLines, FileEventLines, KeptEventLines } from "./event_lines.ts";
import { CheckpointStore } from "./checkpoints.ts";

/** Options of {@link Timeline.build}. */
export interface TimelineOptions {
  /** `--policy` value; default as `choosePolicy`. */
  policy?: string;
  /** Events between checkpoints (K); default {@link DEFAULT_INTERVAL}. */
  interval?: number;
  /** Detector ids whose findings to collect (all when empty or absent); see `findings`. */
  detectors?: readonly string[];
  /** Run detectors while building (default true); false makes the build cheaper. */
  findings?: boolean;
  /**
   * Most checkpoints kept (default {@link DEFAULT_MAX_CHECKPOINTS}): past it, every other one
   * is dropped and the interval doubles.
   */
  maxCheckpoints?: number;
}

/** Default checkpoint interval: a state is at most 63 event applications away. */
export const DEFAULT_INTERVAL = 64;

/** Default bound on checkpoints: the interval doubles when a trace would need more. */
export const DEFAULT_MAX_CHECKPOINTS = 512;

/**
 * Every step of one trace, by random access.
 *
 * @example
 * ```ts
 * import { Timeline } from "./timeline.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const reader = TraceReader.fromText("t", [
 *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *     '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
 *   '{"seq":1,"kind":"set_identity","pfn":"0x80000","end_pfn":"0x80001"}',
 *   '{"seq":3,"kind":"set_p2m","pfn":"0x80000","value":"invalid"}',
 * ].join("\n") + "\n");
 * const t = await Timeline.build(reader, { policy: "linux-3.12", interval: 2 });
 * assert.equal(t.at(0).state.p2m.entry(0x80000)[0], K.INVALID);
 * assert.equal(t.at(1).state.p2m.entry(0x80000)[0], K.IDENTITY);
 * assert.equal(t.at(2).state.p2m.entry(0x80000)[0], K.IDENTITY); // step 2 = after seq 1
 * assert.equal(t.at("end").point.step, 3);
 * assert.equal(t.at("end").state.p2m.entry(0x80000)[0], K.INVALID);
 * ```
 */
export class Timeline {
  /** The trace header. */
  readonly header: TraceHeader;
  /** The policy. */
  readonly policy: Policy;
  /** Where the policy came from. */
  readonly policySource: PolicySource;
  /** How the trace ended. */
  readonly ending: PassEnding;
  /** The cut-off, when the last line was truncated (the timeline ends before it). */
  readonly cutOff: CutOffError | undefined;
  /** Events between checkpoints (the requested interval, doubled for long traces). */
  readonly interval: number;
  /** Every finding of the build pass (empty when built without findings). */
  readonly findings: readonly Finding[];
  /** Step names to indices. */
  readonly index: StepIndex;
  /** The trace name as given. */
  readonly name: string;
  /**
   * How event lines are found again: `byte-offsets` into the trace file (a regular file, not
   * gzip), or `kept-lines`, their text held in memory (stdin, FIFOs, gzip, text).
   */
  readonly eventIndex: "byte-offsets" | "kept-lines";
  // The at most 2K events an access replays are parsed again from their lines.
  #events: EventLines;
  #checkpoints: CheckpointStore;
  #cache: { index: number; state: ModelState } | undefined;

  private constructor(
    pass: ForwardPass,
    interval: number,
    seqs: number[],
    events: EventLines,
    checkpoints: CheckpointStore,
  ) {
    this.header = pass.header;
    this.policy = pass.policy;
    this.policySource = pass.policySource;
    this.ending = pass.ending;
    this.cutOff = pass.cutOff;
    this.interval = interval;
    this.findings = pass.replayer.findings;
    this.name = pass.name;
    this.index = new StepIndex(seqs);
    this.#events = events;
    this.eventIndex = events instanceof FileEventLines ? "byte-offsets" : "kept-lines";
    this.#checkpoints = checkpoints;
  }

  /** Replays `reader` once, keeping the event lines and a checkpoint every `interval` events. */
  static async build(reader: TraceReader, opts: TimelineOptions = {}): Promise<Timeline> {
    const interval = opts.interval ?? DEFAULT_INTERVAL;
    if (!Number.isSafeInteger(interval) || interval < 1) {
      throw new RangeError(`checkpoint interval must be a positive integer, got ${interval}`);
    }
    const detectors = opts.findings === false ? [] : selectDetectors(opts.detectors ?? []);
    const pass = await ForwardPass.open(reader, { policy: opts.policy, detectors });
    const max = opts.maxCheckpoints ?? DEFAULT_MAX_CHECKPOINTS;
    if (!Number.isSafeInteger(max) || max < 2) {
      throw new RangeError(`maxCheckpoints must be an integer of at least 2, got ${max}`);
    }
    let k = interval;
    const checkpoints = new CheckpointStore();
    checkpoints.add(pass.state());
    const seqs: number[] = [];
    const path = seekable(reader.path) ? reader.path : undefined;
    const kept = new KeptEventLines();
    if (path === undefined) reader.keepEventText((text) => kept.keep(text));
    for await (const rec of pass.steps()) {
      seqs.push(rec.event.seq);
      kept.addLine(rec.event.line);
      if (seqs.length % k !== 0) continue;
      checkpoints.add(pass.state());
      if (checkpoints.count > max) {
        // Thin out: keep every other checkpoint and double the interval, so the count stays
        // bounded however long the trace is (access then replays at most 2K - 1 more events).
        checkpoints.thin();
        k *= 2;
      }
    }
    let events: EventLines = kept;
    if (path !== undefined) {
      events = await FileEventLines.index(
        path,
        reader.name,
        kept.lineNumbers(),
        kept.count,
        await reader.sha256(),
      );
    } else if (kept.kept !== seqs.length) {
      throw new InvariantError(`timeline kept ${kept.kept} event lines for ${seqs.length} steps`);
    }
    return new Timeline(pass, k, seqs, events, checkpoints);
  }

  /** Number of events. */
  get events(): number {
    return this.#events.count;
  }

  /** Number of checkpoints held (including step 0). */
  get checkpoints(): number {
    return this.#checkpoints.count;
  }

  /** The event applied last to reach `index` (undefined at index 0). */
  eventAt(index: number): TraceEvent | undefined {
    return index > 0 ? this.#event(index - 1) : undefined;
  }

  /** Resolves a step name ({@link StepIndex.resolve}). */
  resolve(name: StepName): StepPoint {
    return this.index.resolve(name);
  }

  /** The state after `index` events. */
  stateAt(index: number): ModelState {
    this.index.point(index); // range check
    const k = Math.floor(index / this.interval);
    let from = k * this.interval;
    let state: ModelState | undefined;
    const c = this.#cache;
    if (c && c.index <= index && c.index > from) {
      from = c.index;
      state = c.state;
    }
    state ??= this.#checkpoints.get(k);
    if (from === index) return state;
    const r = new Replayer(state, []);
    const texts = this.#events.texts(from, index);
    for (let i = from; i < index; i++) {
      r.apply(parseEventLine(this.name, this.#events.line(i), texts[i - from]));
    }
    state = r.snapshot();
    this.#cache = { index, state };
    return state;
  }

  /** The `i`-th event (0-based), parsed again from its line. */
  #event(i: number): TraceEvent {
    return parseEventLine(this.name, this.#events.line(i), this.#events.texts(i, i + 1)[0]);
  }

  /** The state at a named step, with the resolved point and the event that ends it. */
  at(name: StepName): { point: StepPoint; state: ModelState; event: TraceEvent | undefined } {
    const point = this.resolve(name);
    return { point, state: this.stateAt(point.index), event: this.eventAt(point.index) };
  }
}

/** Whether `path` is a regular file that is not gzip, so its lines can be read again by offset. */
function seekable(path: string | undefined): path is string {
  if (path === undefined) return false;
  try {
    if (!Deno.statSync(path).isFile) return false;
    const file = Deno.openSync(path, { read: true });
    try {
      const magic = new Uint8Array(2);
      const n = file.readSync(magic);
      return !(n === 2 && magic[0] === 0x1f && magic[1] === 0x8b);
    } finally {
      file.close();
    }
  } catch {
    return false; // the reader reports what is wrong with the file
  }
}
