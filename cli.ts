/**
 * p2mtrace command line: `deno run --allow-read cli.ts <command> ...` (or `p2mtrace`, as
 * `sh tools/install.sh` installs it; docs/install.md).
 *
 * @module
 */

import { main } from "./src/cli/main.ts";
import { processIo } from "./src/cli/io.ts";
import { EXIT } from "./src/errors.ts";
import { bisectExitWanted } from "./src/cli/main.ts";
import { runOnCappedHeap, streams } from "./src/cli/capped_heap.ts";

if (import.meta.main) {
  // Deno exits 1 on an error nothing caught, which `git bisect run` would count as "bad":
  // report it as the internal error it is (70, or 128 under --bisect-exit).
  const crash = (e: unknown) => {
    const text = e instanceof Error ? e.message : String(e);
    console.error(`p2mtrace: internal error: ${text}`);
    Deno.exit(bisectExitWanted(Deno.args) ? EXIT.abortBisect : EXIT.internal);
  };
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    crash(e.reason);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    crash(e.error);
  });
  Deno.exit(
    streams(Deno.args) ? await runOnCappedHeap(Deno.args) : await main(Deno.args, processIo()),
  );
}
