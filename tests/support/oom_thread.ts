/**
 * A capped thread that allocates until its heap is full (tests/capped_heap_test.ts): `yielding`
 * awaits a file system op between allocations, as a streaming command awaits its reads (Deno
 * then reports nothing: the continuation is dropped and no event comes); `busy` never yields
 * (Deno reports ERR_WORKER_OUT_OF_MEMORY), nor does `unwatched`, which leaves Deno's report alone
 * to tell. The others watch their heap as `src/cli/heap_thread.ts` does.
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { watchHeap } from "../../src/cli/capped_heap.ts";

const { argv, mark } = workerData as { argv: string[]; mark: SharedArrayBuffer };
if (argv[1] !== "unwatched") await watchHeap(mark, (m) => parentPort!.postMessage(m));
const kept: string[] = [];
const bytes = new Uint8Array(1 << 18).fill(0x61);
const text = new TextDecoder();
for (let i = 0;; i++) {
  kept.push(text.decode(bytes)); // 256 KiB, made by a Rust op, kept
  if (argv[1] === "yielding") await Deno.stat(new URL(import.meta.url));
}
