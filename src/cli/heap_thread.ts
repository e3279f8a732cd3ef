/**
 * The thread a trace-streaming command runs on ({@link runOnCappedHeap}): a V8 heap whose young
 * generation is capped, so a pass over ten million events does not grow it to the main
 * thread's 64 MB. Runs `main()` with the process's streams and posts the exit code.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { main } from "./main.ts";
import { processIo } from "./io.ts";

parentPort!.postMessage(await main(workerData as string[], processIo()));
