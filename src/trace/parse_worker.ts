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

import { parentPort } from "node:worker_threads";
import { TraceReader } from "./read.ts";
import { EventEncoder } from "./event_codec.ts";
import { LineEncoder } from "./scan_event.ts";
import { errorData, type FromWorker, GROUP_BYTES, SLOTS, type ToWorker } from "./threaded_read.ts";

/** Posts to the reading thread (a `node:worker_threads` Worker: see threaded_read.ts). */
function post(m: FromWorker): void {
  parentPort?.postMessage(m);
}

const slots: SharedArrayBuffer[] = [];
const free: number[] = Array.from({ length: SLOTS }, (_, i) => i);
let wake: (() => void) | undefined;

parentPort?.on("message", (d: ToWorker) => {
  if (typeof d === "number") {
    free.push(d);
    const w = wake;
    wake = undefined;
    w?.();
  } else read(d.path, d.stdin);
});

async function read(path: string, stdin: ReadableStream<Uint8Array> | undefined): Promise<void> {
  const encoder = new EventEncoder();
  try {
    // Nobody asks a replay for the trace's digest: no hashing (a sixteenth of the parse).
    const reader = await TraceReader.open(path, stdin, { hash: false });
    await reader.header();
    const source = reader.headerSource!;
    post({ type: "header", text: source.text, line: source.line });
    // The lines of the hot kinds go straight into the encoder; the reader parses the rest.
    for await (const _ of reader.batchesInto(new LineEncoder(encoder))) {
      if (encoder.byteLength >= GROUP_BYTES) await send(encoder);
    }
    if (encoder.batches > 0) await send(encoder);
    post({ type: "done", end: reader.end });
  } catch (e) {
    // The batches read before the error are delivered first, as the reader yielded them.
    if (encoder.batches > 0) await send(encoder);
    post({ type: "error", error: errorData(e) });
  }
}

/** Writes the encoder's batches into a free slot (growing it if needed) and posts it. */
async function send(encoder: EventEncoder): Promise<void> {
  while (free.length === 0) await new Promise<void>((resolve) => wake = resolve);
  const slot = free.shift()!;
  const size = encoder.byteLength;
  let grown: SharedArrayBuffer | undefined;
  if (slots[slot] === undefined || slots[slot].byteLength < size) {
    grown = new SharedArrayBuffer(
      Math.max(size, 2 * GROUP_BYTES, 2 * (slots[slot]?.byteLength ?? 0)),
    );
    slots[slot] = grown;
  }
  encoder.writeTo(slots[slot]);
  post(
    grown === undefined ? { type: "group", slot } : { type: "group", slot, buf: grown },
  );
}
