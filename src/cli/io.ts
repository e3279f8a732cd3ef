/**
 * The I/O a command may use, injected so tests run commands in-process without permissions.
 * Data goes to `stdout`, diagnostics to `stderr`.
 *
 * @module
 */

import { OutputError } from "../errors.ts";
import { escapeControls } from "../report/text.ts";

/** Where a command reads and writes. */
export interface Io {
  /** Writes data (already formatted, including newlines). */
  stdout(text: string): void;
  /** Writes diagnostics. */
  stderr(text: string): void;
  /** Standard input as bytes (used for `-`). */
  stdin: ReadableStream<Uint8Array>;
  /** Environment lookup (NO_COLOR, etc.); tests pass a fixed map. */
  env(name: string): string | undefined;
}

/**
 * Standard output was closed by the reader (`p2mtrace replay ... | head`): not an error. The
 * command stops where it is and the process exits 0 without a message, as `git log | head`.
 *
 * @example
 * ```ts
 * import { StdoutClosed } from "./io.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new StdoutClosed().exitCode, 0);
 * ```
 */
export class StdoutClosed extends Error {
  /** Exit code: the reader wanted no more, which is success. */
  readonly exitCode: number = 0;
  /** Builds the error. */
  constructor() {
    super("standard output was closed");
    this.name = "StdoutClosed";
  }
}

/** A command: parses its own arguments, returns an exit code. */
export type Command = (args: string[], io: Io) => Promise<number>;

/**
 * I/O bound to the real process. Writes are synchronous so output order is deterministic and
 * nothing is lost on exit. Control characters other than LF and TAB are escaped on the way out
 * (src/report/text.ts), so nothing read from a trace can drive the terminal; a closed stdout is
 * {@link StdoutClosed}, a full one an OutputError (74).
 *
 * @example
 * ```ts ignore
 * import { processIo } from "./io.ts";
 * processIo().stdout("hello\n");
 * ```
 */
export function processIo(): Io {
  const enc = new TextEncoder();
  const writeAll = (fd: typeof Deno.stdout, text: string) => {
    const bytes = enc.encode(text);
    let off = 0;
    while (off < bytes.length) off += fd.writeSync(bytes.subarray(off));
  };
  let stdoutClosed = false;
  return {
    stdout: (t) => {
      if (stdoutClosed) throw new StdoutClosed();
      try {
        writeAll(Deno.stdout, escapeControls(t));
      } catch (e) {
        if (e instanceof Deno.errors.BrokenPipe || (e as { code?: string })?.code === "EPIPE") {
          stdoutClosed = true;
          throw new StdoutClosed();
        }
        throw new OutputError("standard output", stdoutReason(e));
      }
    },
    stderr: (t) => {
      try {
        writeAll(Deno.stderr, escapeControls(t));
      } catch { /* nowhere left to report a failure to report */ }
    },
    // Read on first use: creating the stream loads Deno's web streams (~30 ms of startup),
    // which a command answered from the index cache never needs.
    get stdin() {
      return Deno.stdin.readable;
    },
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // no --allow-env: behave as if unset
      }
    },
  };
}

function stdoutReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/no space left/i.test(message) || (e as { code?: string })?.code === "ENOSPC") {
    return "no space left on device";
  }
  return message;
}

/**
 * I/O that collects output in memory, for tests and for the library API.
 *
 * @example
 * ```ts
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo();
 * io.stdout("a\n");
 * assert.equal(io.out(), "a\n");
 * ```
 */
export function memoryIo(
  stdinText = "",
  env: Record<string, string> = {},
): Io & { out(): string; err(): string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    stdin: ReadableStream.from([new TextEncoder().encode(stdinText)]),
    env: (name) => env[name],
    out: () => out.join(""),
    err: () => err.join(""),
  };
}
