/**
 * p2mtrace command line: `deno run --allow-read cli.ts <command> ...`.
 *
 * @module
 */

import { main } from "./src/cli/main.ts";
import { processIo } from "./src/cli/io.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args, processIo()));
}
