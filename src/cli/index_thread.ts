/**
 * The thread an index build runs on ({@link buildIndexOnCappedHeap}): a V8 heap whose young and
 * old generations are capped. Runs `buildTraceIndex` with the arguments it is given and posts
 * the built index, or its error as data (`threaded_read.ts`'s `errorData`), or
 * `{ outOfHeap: true }` when {@link watchHeap} sees the heap limit reached.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { buildTraceIndex } from "../replay/trace_index.ts";
import { errorData } from "../trace/threaded_read.ts";
import { watchHeap } from "./capped_heap.ts";
import type { buildIndexOnCappedHeap, IndexThreadResult } from "./cached_trace.ts";

const { args, mark } = workerData as {
  args: Parameters<typeof buildIndexOnCappedHeap>;
  mark: SharedArrayBuffer;
};
const stop = await watchHeap(mark, (m) => parentPort!.postMessage(m));
let result: IndexThreadResult;
try {
  result = { built: await buildTraceIndex(...args) };
} catch (e) {
  result = { error: errorData(e) };
}
stop();
parentPort!.postMessage(result);
