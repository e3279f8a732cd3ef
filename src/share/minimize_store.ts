/**
 * Where `minimize` holds the events it reduces: the binary form the parse thread hands batches
 * over in (`src/trace/event_codec.ts`), in chunks of {@link CHUNK_EVENTS} events, decoded again
 * chunk by chunk for each candidate replay. A 1M-event trace holds in about 50 MB this way,
 * where the reader's event objects (with the JSON object each was read from) took 1.7 GB. The
 * decoded events lack `raw`: the lines a minimized trace keeps are read again from the input.
 *
 * @module
 */

import { decodeBatches, EventEncoder } from "../trace/event_codec.ts";
import type { TraceEvent } from "../trace/event.ts";
import { EXIT } from "../errors.ts";
import { escapeText } from "../report/text.ts";

/** Events per encoded chunk: one chunk is decoded at a time. */
export const CHUNK_EVENTS = 1024;

/**
 * `minimize` would need more than its bounds allow: more held events than
 * {@link EventStore}'s byte limit, or more replays than its budget. Exit 65 (the input is
 * unusable for this command as it stands), with the file and the line reached.
 *
 * @example
 * ```ts
 * import { MinimizeLimitError } from "./minimize_store.ts";
 * import assert from "node:assert/strict";
 * const e = new MinimizeLimitError("t.jsonl", 7, "too many events");
 * assert.equal(e.message, "minimize: t.jsonl:7: too many events");
 * assert.equal(e.exitCode, 65);
 * ```
 */
export class MinimizeLimitError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.dataError;
  /** Builds the message `minimize: file:line: what`. */
  constructor(file: string, line: number, what: string) {
    super(`minimize: ${escapeText(file)}:${line}: ${what}`);
    this.name = "MinimizeLimitError";
  }
}

function sizeText(bytes: number): string {
  return bytes >= 2 ** 20
    ? `${+(bytes / 2 ** 20).toFixed(1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;
}

/**
 * Events held encoded, addressed by the order they were added (0, 1, ...).
 *
 * @example
 * ```ts
 * import { EventStore } from "./minimize_store.ts";
 * import assert from "node:assert/strict";
 * const s = new EventStore("t.jsonl", 1 << 20);
 * for (let i = 1; i <= 3000; i++) s.add({ seq: i, line: i + 1, kind: "mark", text: `m${i}` });
 * s.finish();
 * assert.equal(s.length, 3000);
 * assert.deepEqual([...s.select([0, 2999])].map((e) => e.seq), [1, 3000]);
 * ```
 */
export class EventStore {
  readonly #file: string;
  readonly #limit: number;
  #encoder = new EventEncoder();
  #chunks: ArrayBuffer[] = [];
  #open = 0;
  #length = 0;
  #bytes = 0;
  #lastLine = 0;

  /** A store for events of `file` that holds at most `limitBytes` encoded. */
  constructor(file: string, limitBytes: number) {
    this.#file = file;
    this.#limit = limitBytes;
  }

  /** Events held. */
  get length(): number {
    return this.#length;
  }

  /** Encoded bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds `e`; throws {@link MinimizeLimitError} past the byte limit. */
  add(e: TraceEvent): number {
    this.#encoder.event(e);
    this.#open++;
    this.#lastLine = e.line;
    if (this.#open === CHUNK_EVENTS) this.#seal();
    return this.#length++;
  }

  /** Seals the last chunk: call it once every event is added. */
  finish(): void {
    if (this.#open > 0) this.#seal();
  }

  #seal(): void {
    this.#encoder.endBatch();
    const buf = new ArrayBuffer(this.#encoder.byteLength);
    this.#encoder.writeTo(buf);
    this.#chunks.push(buf);
    this.#bytes += buf.byteLength;
    this.#open = 0;
    if (this.#bytes > this.#limit) {
      throw new MinimizeLimitError(
        this.#file,
        this.#lastLine,
        `the events to reduce (${this.#length + 1} so far) need more than ` +
          `${sizeText(this.#limit)} held: cut the trace before its finding ` +
          "(or use --strict-minimal) and minimize that",
      );
    }
  }

  /** The events at `indices` (ascending), decoded one chunk at a time. */
  *select(indices: readonly number[]): Generator<TraceEvent> {
    let chunk = -1;
    let events: TraceEvent[] = [];
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k];
      const c = Math.floor(i / CHUNK_EVENTS);
      if (c !== chunk) {
        chunk = c;
        events = decodeBatches(this.#chunks[c]).next().value ?? [];
      }
      yield events[i - c * CHUNK_EVENTS];
    }
  }
}
