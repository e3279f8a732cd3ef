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
import { HeapLimitError } from "../errors.ts";
import { type Io, processIo } from "./io.ts";
import { reportError } from "./report_error.ts";
import { bisectExitCode, bisectExitWanted } from "./main.ts";
import { cacheDir } from "../replay/index_cache.ts";

/** The young generation of a streaming command's thread, in MB. */
export const YOUNG_GENERATION_MB = 16;

// Commands whose peak the young generation decides, measured (one run each, main thread ->
// this thread): validate 190 -> 168 MB at 10M events, bisect 162 -> 143 MB and map 235 -> 180
// MB at 1M; summarize 212-233 -> 168-181 MB and compare 205-213 -> 168-169 MB at 1M, once
// their ten models stopped filling the old generation (events taken as parsed, read.ts
// forEachEvent): the main thread's young generation had reached 64 MB of their ~150 MB heap.
// Not here: replay and check (under 200 MB at 10M already, and their CPU is the floor race).
// minimize: its passes replay the whole trace under every policy (see OLD_GENERATION_MB).
const STREAMING = new Set(["validate", "bisect", "map", "summarize", "compare", "minimize"]);

// The question commands: answered from the trace's index, start-up is their cost, so they stay
// here; but where no index can be used (--no-cache, stdin, no cache directory readable: `deno
// run --allow-read` gives no environment) they replay from step 0, streaming the whole trace
// as the commands above do, and run on the thread too: `snapshot --at end` at 10M events
// peaked at 191-206 MB here (64 MB of young generation) and 166-170 MB there (load 8-10).
const QUESTIONS = new Set(["snapshot", "lookup", "diff"]);

/**
 * The old generation of a command's thread, in MB, where one is set. Under V8's own limit (about
 * 4 GB) a thread's old space grows to several times what is live between collections; V8 grows a
 * heap less eagerly under a smaller maximum. `bisect` and `map` hold state bounded by the P2M, not
 * by the trace (10-16 MB live after a collection at 10M events): 512 MB, some 32 times that. At
 * 10M events (single runs, load 2-10): `map` 209/221 MB unset, 178-206 at 1024 MB, 160-168 at
 * 512; `bisect` 237/240 unset, 167 at 1024, 137-161 at 512, for 10-30% more CPU in some runs.
 * `summarize` and `compare` hold every policy's findings until they print (38-49 MB live at
 * 1M-10M events on the bench trace), so theirs follows the trace: 2000 MB, which still cut their
 * peak (1M: 195 -> 170 and 189 -> 172 MB; 10M, under load: 196 and 183 MB against 248 and 254
 * in an idle bench without), CPU alike. A trace past its limit is a {@link HeapLimitError}
 * (exit 70) naming it. `validate` keeps V8's own (162 MB at 10M). `snapshot` and `diff` hold
 * one or two states, as `map` does: 512 MB (`snapshot` at 10M: 177 MB unset, 166-170 at 512);
 * `lookup --history` holds a PFN's every change, which follows the trace: V8's own. `minimize`
 * replays the trace under every policy at once (a model each, findings not kept) and holds the
 * events it reduces encoded in buffers outside the old generation (at most 192 MiB): 1024 MB.
 */
const OLD_GENERATION_MB: Readonly<Record<string, number>> = {
  bisect: 512,
  map: 512,
  snapshot: 512,
  diff: 512,
  summarize: 2000,
  compare: 2000,
  minimize: 1024,
};

/**
 * True when `argv` runs a command that streams a whole trace (a question command that cannot
 * use the index cache, as the environment `env` names it, replays it from step 0), and a
 * thread may load the command's modules.
 *
 * @example
 * ```ts
 * import { streams } from "./capped_heap.ts";
 * import assert from "node:assert/strict";
 * assert.equal(streams(["validate", "t.jsonl"]), true);
 * assert.equal(streams(["validate", "--help"]), false);
 * assert.equal(streams(["--version"]), false);
 * const env = (n: string) => n === "P2MTRACE_CACHE_DIR" ? "/tmp" : undefined;
 * assert.equal(streams(["snapshot", "t.jsonl"], env), false); // the index may answer
 * assert.equal(streams(["snapshot", "t.jsonl", "--no-cache"], env), true);
 * assert.equal(streams(["lookup", "-", "0x1000"], env), true);
 * assert.equal(streams(["diff", "t.jsonl", "0", "end"], () => undefined), true);
 * ```
 */
export function streams(
  argv: readonly string[],
  env: (name: string) => string | undefined = processIo().env,
): boolean {
  if (argv.includes("--help") || argv.includes("-h")) return false;
  const replays = STREAMING.has(argv[0]) ||
    QUESTIONS.has(argv[0]) &&
      (argv.includes("--no-cache") || argv.includes("-") || cacheDir(env, false).dir === undefined);
  return replays && threadModulesReadable();
}

/** How often a capped thread looks whether it ran out of heap, in ms. */
const WATCH_MS = 100;

/**
 * Watches this thread's heap for {@link runOnCappedHeap}, which passes `mark` in `workerData`:
 * stores the old generation's limit in MB in `mark[1]` (as V8 resolved it; the launching
 * thread sees only what it asked for) and, if the thread reaches its heap limit while its event
 * loop still turns, stores 1 in `mark[0]`
 * and posts `{ outOfHeap: true }` (which can arrive after the thread's 'exit': the mark cannot).
 * V8 then calls Deno's near-heap-limit callback, which raises the limit to let the thread
 * unwind and stops the JavaScript that was running; reached in a callback (after an awaited
 * read), that code's continuation is dropped and no 'error' event is sent (Deno 2.9.6): the
 * command waited forever, or its thread ended with code 1 and no message. A raised
 * `heap_size_limit` is the sign: V8 changes it for nothing else. Looks every {@link WATCH_MS}
 * ms, never keeps the thread alive, and stops with the returned function.
 *
 * @example
 * ```ts
 * import { watchHeap } from "./capped_heap.ts";
 * import assert from "node:assert/strict";
 * const mark = new SharedArrayBuffer(8);
 * const stop = await watchHeap(mark, () => {});
 * await new Promise((r) => setTimeout(r, 250));
 * stop();
 * assert.equal(new Int32Array(mark)[0], 0);
 * assert.equal(new Int32Array(mark)[1], 0); // the main thread has no resourceLimits
 * ```
 */
export async function watchHeap(
  mark: SharedArrayBuffer,
  post: (message: { outOfHeap: true }) => void,
): Promise<() => void> {
  const { getHeapStatistics } = await import("node:v8");
  const { resourceLimits } = await import("node:worker_threads");
  const view = new Int32Array(mark);
  Atomics.store(view, 1, resourceLimits.maxOldGenerationSizeMb ?? 0);
  const limit = getHeapStatistics().heap_size_limit;
  const id = setInterval(() => {
    if (getHeapStatistics().heap_size_limit <= limit) return;
    clearInterval(id);
    Atomics.store(view, 0, 1);
    post({ outOfHeap: true });
  }, WATCH_MS);
  Deno.unrefTimer(id);
  return () => clearInterval(id);
}

/** What {@link runOnCappedHeap} runs; tests replace the thread. */
export interface CappedHeapOptions {
  /**
   * The thread's module (default `heap_thread.ts`): it posts its exit code, or
   * `{ outOfHeap: true }` when {@link watchHeap} says so.
   */
  thread?: URL;
  /**
   * An old-generation limit in MB (default: the command's in {@link OLD_GENERATION_MB}, else
   * none set: V8's own, about 4 GB).
   */
  oldGenerationMb?: number;
  /** Where an out-of-memory verdict is printed (default the process's streams). */
  io?: Io;
}

/**
 * Runs `main(argv)` on a worker thread with a capped young generation; resolves with its exit
 * code (posted by `main`, or given to `Deno.exit` there), rejects when the thread fails with an
 * error nothing caught. A thread that reaches its heap limit is a {@link HeapLimitError}
 * (printed, exit 70): Deno reports one that never yielded (`ERR_WORKER_OUT_OF_MEMORY`), the
 * thread's {@link watchHeap} one that did.
 *
 * @example
 * ```ts ignore
 * import { runOnCappedHeap } from "./capped_heap.ts";
 * Deno.exit(await runOnCappedHeap(["validate", "t.jsonl"]));
 * ```
 */
export async function runOnCappedHeap(
  argv: string[],
  options: CappedHeapOptions = {},
): Promise<number> {
  const { Worker } = await import("node:worker_threads");
  const oldGenerationMb = options.oldGenerationMb ?? OLD_GENERATION_MB[argv[0]];
  const mark = new SharedArrayBuffer(8);
  const view = new Int32Array(mark);
  const outOfHeap = () => Atomics.load(view, 0) === 1;
  const code = await new Promise<number | undefined>((resolve, reject) => {
    const w = new Worker(options.thread ?? new URL("./heap_thread.ts", import.meta.url), {
      workerData: { argv, mark },
      resourceLimits: {
        maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
        ...(oldGenerationMb ? { maxOldGenerationSizeMb: oldGenerationMb } : {}),
      },
    });
    w.once("message", (m: number | { outOfHeap: true }) => {
      if (!outOfHeap()) return resolve(m as number);
      // The thread's continuation is gone: it may never end by itself.
      void w.terminate();
      resolve(undefined);
    });
    w.once(
      "error",
      (e: Error & { code?: string }) =>
        e?.code === "ERR_WORKER_OUT_OF_MEMORY" || outOfHeap() ? resolve(undefined) : reject(e),
    );
    // `Deno.exit(n)` on the thread (an interrupt's cleanup exits 128 + signal) ends the thread
    // with n, which is the process's exit code.
    w.once("exit", (code: number) => resolve(outOfHeap() ? undefined : code));
  });
  if (code !== undefined) return code;
  const io = options.io ?? processIo();
  const limitMb = Atomics.load(view, 1) || oldGenerationMb;
  const exit = reportError(new HeapLimitError(argv[0], limitMb), io);
  return bisectExitWanted(argv) ? bisectExitCode(argv, exit, io) : exit;
}
