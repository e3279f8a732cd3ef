/**
 * The thread a trace-streaming command runs on ({@link runOnCappedHeap}): a V8 heap whose young
 * generation is capped, so a pass over ten million events does not grow it to the main
 * thread's 64 MB. Runs `main()` with the process's streams and posts the exit code, or
 * `{ outOfHeap: true }` when {@link watchHeap} sees the heap limit reached.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { main } from "./main.ts";
import { processIo } from "./io.ts";
import { watchHeap } from "./capped_heap.ts";

const { argv, mark } = workerData as { argv: string[]; mark: SharedArrayBuffer };
const stop = await watchHeap(mark, (m) => parentPort!.postMessage(m));
const code = await main(argv, processIo());
stop();
parentPort!.postMessage(code);
