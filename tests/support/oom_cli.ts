/**
 * `cli.ts`'s streaming path with the thread replaced by `oom_thread.ts` under an old-generation
 * limit: `deno run oom_cli.ts MODE LIMIT_MB [--bisect-exit]` (tests/capped_heap_test.ts).
 *
 * @module
 */

import { runOnCappedHeap } from "../../src/cli/capped_heap.ts";

const [mode, limitMb, ...rest] = Deno.args;
Deno.exit(
  await runOnCappedHeap(["map", mode, ...rest], {
    thread: new URL("./oom_thread.ts", import.meta.url),
    oldGenerationMb: Number(limitMb),
  }),
);
