/**
 * Where a command runs. V8 sizes the main thread's young generation up to 64 MB and grows it as
 * objects keep surviving scavenges, which on a long trace they always eventually do: a pass over
 * 10M events peaks at 190-260 MB of RSS with 6-14 MB of live heap (`validate`), and Deno takes
 * V8's heap flags at start-up only (`v8.setFlagsFromString` does not resize a heap that exists).
 * A worker thread takes heap limits when it is made, so the commands that stream a whole trace
 * run `main()` on one whose young generation is {@link YOUNG_GENERATION_MB}; the others run
 * here, without the thread's start-up (the command's modules are loaded again on the thread).
 * So do the streaming commands when the thread could not load its modules
 * ({@link threadModulesReadable}: `--allow-read=TRACE` alone).
 *
 * @module
 */

import { threadModulesReadable } from "../thread_access.ts";

/** The young generation of a streaming command's thread, in MB. */
export const YOUNG_GENERATION_MB = 16;

// Commands whose peak the young generation decides, measured (one run each, main thread ->
// this thread): validate 190 -> 168 MB at 10M events, bisect 162 -> 143 MB and map 235 -> 180
// MB at 1M; summarize 212-233 -> 168-181 MB and compare 205-213 -> 168-169 MB at 1M, once
// their ten models stopped filling the old generation (events taken as parsed, read.ts
// forEachEvent): the main thread's young generation had reached 64 MB of their ~150 MB heap.
// Not here: replay and check (under 200 MB at 10M already, and their CPU is the floor race),
// and the cached question commands (start-up is their cost).
const STREAMING = new Set(["validate", "bisect", "map", "summarize", "compare"]);

/**
 * True when `argv` runs a command that streams a whole trace, and a thread may load the
 * command's modules.
 *
 * @example
 * ```ts
 * import { streams } from "./capped_heap.ts";
 * import assert from "node:assert/strict";
 * assert.equal(streams(["validate", "t.jsonl"]), true);
 * assert.equal(streams(["validate", "--help"]), false);
 * assert.equal(streams(["--version"]), false);
 * ```
 */
export function streams(argv: readonly string[]): boolean {
  return STREAMING.has(argv[0]) && !argv.includes("--help") && !argv.includes("-h") &&
    threadModulesReadable();
}

/**
 * Runs `main(argv)` on a worker thread with a capped young generation; resolves with its exit
 * code (posted by `main`, or given to `Deno.exit` there), rejects when the thread fails with an
 * error nothing caught.
 */
export async function runOnCappedHeap(argv: string[]): Promise<number> {
  const { Worker } = await import("node:worker_threads");
  return await new Promise((resolve, reject) => {
    const w = new Worker(new URL("./heap_thread.ts", import.meta.url), {
      workerData: argv,
      resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    });
    w.once("message", (code: number) => resolve(code));
    w.once("error", reject);
    // `Deno.exit(n)` on the thread (an interrupt's cleanup exits 128 + signal) ends the thread
    // with n, which is the process's exit code.
    w.once("exit", (code: number) => resolve(code));
  });
}
