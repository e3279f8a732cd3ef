/**
 * The trace's side of the on-disk index (`trace_index.ts`), found in the one read that parses
 * the trace: each interval's event table (every event's byte offset, length, line and seq),
 * the SHA-256 of each part of it (the span from a checkpoint's first event to the end of the
 * part's last line), and the SHA-256 of the whole file. {@link IndexSide} takes the raw bytes
 * as they are read (`lines.ts`'s `onChunk`) and the events as they are parsed, on whichever
 * thread parses (`parse_worker.ts`, or the build's own); it holds one interval's table and the
 * bytes of one part at a time, so the build's memory does not grow with the trace, and the
 * trace is neither read nor hashed again after the replay.
 *
 * Where intervals and parts end is {@link IntervalCutter}'s rule, which the build's model side
 * follows too (its checkpoints), so both sides cut the same events; the build checks that each
 * interval it closes has the count and parts the table it is given says.
 *
 * @module
 */

import { CutOffError, InvariantError } from "../errors.ts";
import type { Sha256Stream } from "../trace/sha.ts";
import { SCANNED_KINDS } from "../trace/scan_event.ts";
import type { TraceEnd, TraceEvent, TraceHeader } from "../trace/event.ts";
import { type EventSource, TraceReader } from "../trace/read.ts";

/**
 * Parts an interval is split into by checkpoints: an access replays at most a quarter of an
 * interval.
 */
export const SUB_PARTS = 4;

/**
 * An interval also ends after a boot pass (the first interval would otherwise replay
 * `memory_setup` for every step in it: ~250 ms), at most once every interval's length.
 */
export const CUT_AFTER = "memory_setup";

// The parse thread's line scanner (`scan_event.ts`) hands over the events it takes without
// their kind, as none of them can end an interval early: that must stay so.
if ((SCANNED_KINDS as readonly string[]).includes(CUT_AFTER)) {
  throw new InvariantError(`index: ${CUT_AFTER} lines are scanned without their kind`);
}

/** {@link IntervalCutter.next}: the event ends nothing. */
export const CUT_NONE = 0;
/** {@link IntervalCutter.next}: the event ends a part (a checkpoint within the interval). */
export const CUT_PART = 1;
/** {@link IntervalCutter.next}: the event ends its interval (a checkpoint starts the next). */
export const CUT_INTERVAL = 2;

/**
 * Where intervals and their parts end, event by event: an interval after `k` events, or right
 * after a boot pass (`memory_setup`) at most once every `k` events; a part every `k / 4`
 * events of an interval.
 *
 * @example
 * ```ts
 * import { CUT_INTERVAL, CUT_NONE, CUT_PART, IntervalCutter } from "./index_side.ts";
 * import assert from "node:assert/strict";
 * const c = new IntervalCutter(8);
 * const got = ["a", "a", "memory_setup", "a", "a", "a", "a"].map((k) => c.next(k));
 * assert.deepEqual(got, [CUT_NONE, CUT_PART, CUT_INTERVAL, CUT_NONE, CUT_PART, CUT_NONE, CUT_PART]);
 * ```
 */
export class IntervalCutter {
  /** Events between checkpoints at most. */
  readonly k: number;
  /** Events of a part. */
  readonly part: number;
  /** Events seen. */
  n = 0;
  /** Index of the open interval's first event. */
  first = 0;
  #earlyCut = -Infinity;

  /** A cutter for intervals of `k` events. */
  constructor(k: number) {
    this.k = k;
    this.part = Math.max(1, Math.floor(k / SUB_PARTS));
  }

  /** What the next event, of `kind`, ends. */
  next(kind: string): number {
    const n = ++this.n, size = n - this.first;
    if (size === this.k || (kind === CUT_AFTER && n - this.#earlyCut >= this.k)) {
      if (size < this.k) this.#earlyCut = n;
      this.first = n;
      return CUT_INTERVAL;
    }
    return size % this.part === 0 ? CUT_PART : CUT_NONE;
  }
}

/** One interval's table and part spans, as {@link IndexSide} hands them over. */
export interface IntervalTable {
  /** Events in it. */
  count: number;
  /** Per event: f64 offset, u32 length, u32 line, f64 seq (each column in turn). */
  table: Uint8Array<ArrayBuffer>;
  /** SHA-256 of `table`. */
  tableSha256: string;
  /** Each part's span of the trace: offset, length, SHA-256. */
  parts: [number, number, string][];
}

/** Makes a new incremental SHA-256 (`sha.ts`'s, loaded once by the caller). */
export type HashMaker = () => Sha256Stream;

/**
 * The trace side of one index build. Give it every raw byte in order ({@link IndexSide.chunk},
 * then {@link IndexSide.end}), every event in order ({@link IndexSide.event}: an event's line
 * ended before it is parsed, so its bytes have been given), then {@link IndexSide.finish}. It
 * hands each interval over to `onInterval` as it closes.
 *
 * @example
 * ```ts
 * import { IndexSide, type IntervalTable } from "./index_side.ts";
 * import { createHash } from "node:crypto";
 * import assert from "node:assert/strict";
 * const text = 'header\r\n{"seq":1}\n\n{"seq":2}';
 * const out: IntervalTable[] = [];
 * const side = new IndexSide(1024, () => {
 *   const h = createHash("sha256");
 *   return { update: (b) => void h.update(b), digest: () => h.digest("hex") };
 * }, (t) => out.push(t));
 * side.chunk(new TextEncoder().encode(text));
 * side.end();
 * side.event(2, 1, "mark");
 * side.event(4, 2, "mark");
 * const whole = side.finish();
 * assert.equal(whole.bytes, text.length);
 * assert.equal(whole.sha256, createHash("sha256").update(text).digest("hex"));
 * const dv = new DataView(out[0].table.buffer);
 * assert.deepEqual([dv.getFloat64(0, true), dv.getFloat64(8, true)], [8, 19]);
 * assert.deepEqual(out[0].parts[0].slice(0, 2), [8, 20]);
 * assert.equal(out[0].parts[0][2], createHash("sha256").update('{"seq":1}\n\n{"seq":2}').digest("hex"));
 * ```
 */
export class IndexSide {
  readonly #cutter: IntervalCutter;
  readonly #hash: HashMaker;
  readonly #onInterval: (t: IntervalTable) => void;
  readonly #whole: Sha256Stream;
  // Start offsets of lines #firstLine.., those not yet passed by an event (a queue).
  #starts = new Float64Array(1024);
  #head = 0;
  #tail = 0;
  #firstLine = 1;
  /** Raw bytes seen, and whether the input has ended. */
  #pos = 0;
  #ended = false;
  // Raw chunks from the open part's first byte on (their offsets in #chunkAt).
  #chunks: Uint8Array[] = [];
  #chunkAt: number[] = [];
  // The open interval: its events' columns, and its parts' spans so far.
  #off: Float64Array;
  #len: Uint32Array;
  #line: Uint32Array;
  #seq: Float64Array;
  #count = 0;
  #partFirst = 0;
  #parts: [number, number, string][] = [];

  /**
   * A side for intervals of `k` events, hashing with `hash`, handing each closed interval to
   * `onInterval`.
   */
  constructor(k: number, hash: HashMaker, onInterval: (t: IntervalTable) => void) {
    this.#cutter = new IntervalCutter(k);
    this.#hash = hash;
    this.#onInterval = onInterval;
    this.#whole = hash();
    this.#off = new Float64Array(k);
    this.#len = new Uint32Array(k);
    this.#line = new Uint32Array(k);
    this.#seq = new Float64Array(k);
    this.#starts[this.#tail++] = 0;
  }

  /** The next raw bytes of the input. */
  chunk(bytes: Uint8Array): void {
    this.#whole.update(bytes);
    if (bytes.length === 0) return;
    this.#chunks.push(bytes);
    this.#chunkAt.push(this.#pos);
    const base = this.#pos + 1;
    for (let p = bytes.indexOf(10); p >= 0; p = bytes.indexOf(10, p + 1)) {
      if (this.#tail === this.#starts.length) this.#grow();
      this.#starts[this.#tail++] = base + p;
    }
    this.#pos += bytes.length;
  }

  /** The input has ended. */
  end(): void {
    this.#ended = true;
  }

  #grow(): void {
    // Lines passed are dropped; the queue doubles only when over half of it is waiting.
    const live = this.#tail - this.#head;
    if (live * 2 > this.#starts.length) {
      const to = new Float64Array(this.#starts.length * 2);
      to.set(this.#starts.subarray(this.#head, this.#tail));
      this.#starts = to;
    } else this.#starts.copyWithin(0, this.#head, this.#tail);
    this.#head = 0;
    this.#tail = live;
  }

  /** The next event: at 1-based `line`, with `seq`, of `kind`. */
  event(line: number, seq: number, kind: string): void {
    const i = line - this.#firstLine + this.#head;
    if (!(i >= this.#head && i < this.#tail)) {
      throw new InvariantError(`index: line ${line} was not read before its event`);
    }
    const offset = this.#starts[i];
    let end: number;
    if (i + 1 < this.#tail) end = this.#starts[i + 1] - 1;
    else if (this.#ended) end = this.#pos;
    else throw new InvariantError(`index: line ${line} had not ended when its event came`);
    // Lines before this one are passed.
    this.#firstLine = line;
    this.#head = i;
    const c = this.#count++;
    this.#off[c] = offset;
    this.#len[c] = end - offset;
    this.#line[c] = line;
    this.#seq[c] = seq;
    const cut = this.#cutter.next(kind);
    if (cut !== CUT_NONE) this.#closePart();
    if (cut === CUT_INTERVAL) this.#closeInterval();
  }

  /** Hashes the open part's span (its events so far) and opens the next at the next event. */
  #closePart(): void {
    const a = this.#partFirst, b = this.#count - 1;
    const from = this.#off[a], to = this.#off[b] + this.#len[b];
    const h = this.#hash();
    const chunks = this.#chunks, at = this.#chunkAt;
    let keep = 0;
    for (let c = 0; c < chunks.length; c++) {
      const s = at[c], e = s + chunks[c].length;
      if (e <= to) keep = c + 1;
      if (e <= from || s >= to) continue;
      h.update(chunks[c].subarray(Math.max(from, s) - s, Math.min(to, e) - s));
    }
    // Chunks wholly before the part's end are not needed again.
    if (keep > 0) {
      chunks.splice(0, keep);
      at.splice(0, keep);
    }
    this.#parts.push([from, to - from, h.digest()]);
    this.#partFirst = this.#count;
  }

  #closeInterval(): void {
    const m = this.#count;
    const table = new Uint8Array(24 * m);
    const dv = new DataView(table.buffer);
    for (let i = 0; i < m; i++) {
      dv.setFloat64(i * 8, this.#off[i], true);
      dv.setUint32(m * 8 + i * 4, this.#len[i], true);
      dv.setUint32(m * 12 + i * 4, this.#line[i], true);
      dv.setFloat64(m * 16 + i * 8, this.#seq[i], true);
    }
    const h = this.#hash();
    h.update(table);
    this.#onInterval({ count: m, table, tableSha256: h.digest(), parts: this.#parts });
    this.#count = 0;
    this.#partFirst = 0;
    this.#parts = [];
  }

  /**
   * After the last event (the input read to its end): closes the open interval, if it has
   * events, and returns the SHA-256 and size of every byte read.
   */
  finish(): { sha256: string; bytes: number } {
    if (!this.#ended) throw new InvariantError("index: the trace was not read to its end");
    if (this.#count > 0) {
      this.#closePart();
      this.#closeInterval();
    }
    return { sha256: this.#whole.digest(), bytes: this.#pos };
  }
}

/** What an index build reads besides the events: {@link IndexSide}'s output, in order. */
export interface IndexFeed {
  /** The next interval closed and not yet taken (undefined: none is waiting). */
  takeInterval(): IntervalTable | undefined;
  /** The SHA-256 and size of every byte read, once the events have been read to the end. */
  readonly indexed: { sha256: string; bytes: number } | undefined;
}

/** A new incremental SHA-256 maker (`node:crypto`, loaded once). */
export async function hashMaker(): Promise<HashMaker> {
  const { createHash } = await import("node:crypto");
  return () => {
    const h = createHash("sha256");
    return { update: (b) => void h.update(b), digest: () => h.digest("hex") };
  };
}

/**
 * A trace file read on this thread for an index build: the trace reader's events, with
 * {@link IndexSide} fed from the same read (the build's choice where a second thread would
 * not pay, and the parse thread's fallback).
 *
 * @example
 * ```ts
 * import { LocalIndexedReader } from "./index_side.ts";
 * import { sha256File } from "../trace/sha.ts";
 * import assert from "node:assert/strict";
 * const trace = "traces/pcie-bar-above-e820.jsonl";
 * const r = await LocalIndexedReader.open(trace, 1024);
 * await r.header();
 * let events = 0;
 * for await (const b of r.batches()) events += b.length;
 * let indexed = 0; // in intervals: one ends after the boot pass
 * for (let t; (t = r.takeInterval()) !== undefined;) indexed += t.count;
 * assert.equal(indexed, events);
 * assert.equal(r.indexed?.sha256, await sha256File(trace));
 * ```
 */
export class LocalIndexedReader implements EventSource, IndexFeed {
  /** The file name as given. */
  readonly name: string;
  #reader: TraceReader;
  #side: IndexSide;
  #queue: IntervalTable[];
  /** The SHA-256 and size of the file, once read. */
  indexed: { sha256: string; bytes: number } | undefined;

  private constructor(name: string, reader: TraceReader, side: IndexSide, queue: IntervalTable[]) {
    this.name = name;
    this.#reader = reader;
    this.#side = side;
    this.#queue = queue;
  }

  /** Opens `path` for a build whose intervals are `k` events at most. */
  static async open(path: string, k: number): Promise<LocalIndexedReader> {
    const queue: IntervalTable[] = [];
    const side = new IndexSide(k, await hashMaker(), (t) => queue.push(t));
    const reader = await TraceReader.open(path, undefined, {
      hash: false,
      onChunk: (b) => side.chunk(b),
      onEnd: () => side.end(),
    });
    return new LocalIndexedReader(path, reader, side, queue);
  }

  /** The header. */
  header(): Promise<TraceHeader> {
    return this.#reader.header();
  }

  /** The `end` record, once read. */
  get end(): TraceEnd | undefined {
    return this.#reader.end;
  }

  /** The reader's batches, each event given to the side before its batch is yielded. */
  async *batches(): AsyncGenerator<TraceEvent[]> {
    try {
      for await (const batch of this.#reader.batches()) {
        for (let i = 0; i < batch.length; i++) {
          const e = batch[i];
          this.#side.event(e.line, e.seq, e.kind);
        }
        yield batch;
      }
    } catch (e) {
      // A cut-off last line ends the events read so far: they are indexed.
      if (e instanceof CutOffError) this.indexed = this.#side.finish();
      throw e;
    }
    this.indexed = this.#side.finish();
  }

  /** The next closed interval. */
  takeInterval(): IntervalTable | undefined {
    return this.#queue.shift();
  }

  /** Nothing to stop: the reader reads on this thread. */
  close(): void {}
}
