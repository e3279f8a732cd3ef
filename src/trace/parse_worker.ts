/**
 * The worker side of `threaded_read.ts`: reads one trace with {@link TraceReader} (the same
 * bounded input path, the same parse and validation) and posts its header line, then its
 * batches encoded (`event_codec.ts`) into shared slots, a group of batches per message, then the
 * end record or the error. Lines of the hot kinds are scanned straight into the encoding
 * (`scan_event.ts`); the reader parses and validates the rest, and checks every line across
 * lines, as always. It fills a slot only once the reading thread has handed it back, so
 * at most `SLOTS` groups wait between the threads.
 *
 * It needs no permission the command does not have: it reads the one file the command names
 * (a worker inherits the command's permissions), or standard input handed over as a stream.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { type BatchSink, TraceReader } from "./read.ts";
import type { TraceEvent } from "./event.ts";
import { CutOffError } from "../errors.ts";
import type { IndexSide } from "../replay/index_side.ts";
import { EventEncoder } from "./event_codec.ts";
import { LineEncoder } from "./scan_event.ts";
import {
  errorData,
  type FromWorker,
  GROUP_BYTES,
  type ParseWorkerData,
  SLOTS,
  type ToWorker,
} from "./threaded_read.ts";

/** Posts to the reading thread (a `node:worker_threads` Worker: see threaded_read.ts). */
function post(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  // deno-lint-ignore no-explicit-any
  parentPort?.postMessage(m, transfer as any);
}

const slots: SharedArrayBuffer[] = [];
const data = workerData as ParseWorkerData;
/** 1 while the reading thread holds a slot (threaded_read.ts's ParseWorkerData). */
const owned = new Int32Array(data.owned);
/** The slot filled next: the reading thread takes them in the order posted, so in turn. */
let nextSlot = 0;

/**
 * A sink that also hands each event's line and seq to an index build's side
 * (`index_side.ts`): the events the line scanner takes are never of the kind that ends an
 * interval early, so their kind is not needed.
 */
class IndexedSink implements BatchSink {
  #inner: BatchSink;
  #side: IndexSide;
  constructor(inner: BatchSink, side: IndexSide) {
    this.#inner = inner;
    this.#side = side;
  }
  take(text: string, line: number): number {
    const seq = this.#inner.take(text, line);
    if (seq >= 0) this.#side.event(line, seq, "");
    return seq;
  }
  add(e: TraceEvent): void {
    this.#inner.add(e);
    this.#side.event(e.line, e.seq, e.kind);
  }
  endBatch(): void {
    this.#inner.endBatch();
  }
  dropBatch(): void {
    this.#inner.dropBatch();
  }
}

async function read(
  path: string,
  stdin: ReadableStream<Uint8Array> | undefined,
  index: number | undefined,
): Promise<void> {
  const encoder = new EventEncoder();
  let side: IndexSide | undefined;
  try {
    let sink: BatchSink = new LineEncoder(encoder);
    let reader: TraceReader;
    if (index === undefined) {
      // Nobody asks a replay for the trace's digest: no hashing (a sixteenth of the parse).
      reader = await TraceReader.open(path, stdin, { hash: false });
    } else {
      // An index build: its trace side comes from this read (loaded only for one).
      const { IndexSide, hashMaker } = await import("../replay/index_side.ts");
      const s = side = new IndexSide(index, await hashMaker(), (interval) => {
        post({ type: "interval", interval }, [interval.table.buffer]);
      });
      reader = await TraceReader.open(path, stdin, {
        hash: false,
        onChunk: (b) => s.chunk(b),
        onEnd: () => s.end(),
      });
      sink = new IndexedSink(sink, s);
    }
    await reader.header();
    const source = reader.headerSource!;
    post({ type: "header", text: source.text, line: source.line });
    // The lines of the hot kinds go straight into the encoder; the reader parses the rest.
    for await (const _ of reader.batchesInto(sink)) {
      if (encoder.byteLength >= GROUP_BYTES) await send(encoder);
    }
    if (encoder.batches > 0) await send(encoder);
    if (side !== undefined) post({ type: "indexed", ...side.finish() });
    post({ type: "done", end: reader.end });
  } catch (e) {
    // The batches read before the error are delivered first, as the reader yielded them.
    if (encoder.batches > 0) await send(encoder);
    // A cut-off last line ends the events an index build indexes.
    if (side !== undefined && e instanceof CutOffError) {
      try {
        post({ type: "indexed", ...side.finish() });
      } catch (f) {
        post({ type: "error", error: errorData(f) });
        return;
      }
    }
    post({ type: "error", error: errorData(e) });
  }
}

/**
 * Writes the encoder's batches into the next slot once the reading thread has handed it back
 * (growing it if needed) and posts it.
 */
async function send(encoder: EventEncoder): Promise<void> {
  const slot = nextSlot;
  nextSlot = (slot + 1) % SLOTS;
  while (Atomics.load(owned, slot) !== 0) {
    const wait = Atomics.waitAsync(owned, slot, 1);
    if (wait.async) await wait.value;
  }
  const size = encoder.byteLength;
  let grown: SharedArrayBuffer | undefined;
  if (slots[slot] === undefined || slots[slot].byteLength < size) {
    grown = new SharedArrayBuffer(
      Math.max(size, 2 * GROUP_BYTES, 2 * (slots[slot]?.byteLength ?? 0)),
    );
    slots[slot] = grown;
  }
  encoder.writeTo(slots[slot]);
  Atomics.store(owned, slot, 1);
  post(
    grown === undefined ? { type: "group", slot } : { type: "group", slot, buf: grown },
  );
}

// The listener also keeps this thread's event loop alive while `send` waits for a slot: a
// pending `Atomics.waitAsync` does not (the thread would end there, its reader waiting forever).
parentPort?.on("message", (d: ToWorker) => read("-", d.stdin, data.index));
if (data.path !== "-") read(data.path, undefined, data.index);
