/**
 * The I/O a command may use, injected so tests run commands in-process without permissions.
 * Data goes to `stdout`, diagnostics to `stderr`.
 *
 * @module
 */

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

/** A command: parses its own arguments, returns an exit code. */
export type Command = (args: string[], io: Io) => Promise<number>;

/**
 * I/O bound to the real process. Writes are synchronous so output order is deterministic and
 * nothing is lost on exit.
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
  return {
    stdout: (t) => writeAll(Deno.stdout, t),
    stderr: (t) => writeAll(Deno.stderr, t),
    stdin: Deno.stdin.readable,
    env: (name) => {
      try {
        return Deno.env.get(name);
      } catch {
        return undefined; // no --allow-env: behave as if unset
      }
    },
  };
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
