/**
 * Runs one command entry in-process the way `main` does (errors become a message on stderr
 * and their exit code), without going through the command table — so the time-travel and
 * bisect tests work before the commands are registered.
 *
 * @module
 */

import type { CommandModule } from "../../src/cli/commands.ts";
import { memoryIo } from "../../src/cli/io.ts";
import { reportError } from "../../src/cli/report_error.ts";

/** What one run produced. */
export interface EntryRun {
  /** Exit code. */
  code: number;
  /** Standard output. */
  out: string;
  /** Standard error. */
  err: string;
}

/** Runs `entry` with `argv` (the arguments after the command name) and optional stdin text. */
export async function runEntry(
  entry: CommandModule,
  argv: string[],
  stdin = "",
): Promise<EntryRun> {
  const io = memoryIo(stdin);
  let code: number;
  try {
    code = await entry.run(argv, io);
  } catch (e) {
    code = reportError(e, io);
  }
  return { code, out: io.out(), err: io.err() };
}
