/**
 * How every command reports an error: a user's mistake (an error with an `exitCode`) is one
 * line on stderr and its exit code; anything else is an internal error (exit 70), with the
 * stack only when `P2MTRACE_DEBUG=1`.
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { TOOL_NAME } from "../version.ts";
import { type Io, StdoutClosed } from "./io.ts";

/**
 * Prints an error the way every command does and returns its exit code.
 *
 * @example
 * ```ts
 * import { reportError } from "./report_error.ts";
 * import { UsageError } from "../errors.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo();
 * assert.equal(reportError(new UsageError("replay: missing TRACE"), io), 64);
 * assert.equal(reportError(new RangeError("oops"), io), 70);
 * assert.equal(io.err(), "p2mtrace: replay: missing TRACE\np2mtrace: internal error: oops\n");
 * ```
 */
export function reportError(e: unknown, io: Io): number {
  if (e instanceof StdoutClosed) return EXIT.ok;
  const code = (e as { exitCode?: unknown })?.exitCode;
  if (e instanceof Error && typeof code === "number") {
    io.stderr(`${TOOL_NAME}: ${e.message}\n`);
    return code;
  }
  const text = e instanceof Error ? e.message : String(e);
  io.stderr(`${TOOL_NAME}: internal error: ${text}\n`);
  if (io.env("P2MTRACE_DEBUG") === "1" && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
  return EXIT.internal;
}
