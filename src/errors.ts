/**
 * Typed errors with user-facing messages. Every error a user can cause names where it happened
 * (file, line, field) and what was expected; the CLI prints `message` and exits with `exitCode`.
 *
 * @module
 */

import { escapeText } from "./report/text.ts";

/** Exit codes used by every command; the README's exit-code table lists each (a test checks it). */
export const EXIT = {
  /** Success: the command ran and found nothing to report (or reporting is not an error). */
  ok: 0,
  /** `check` found problems, `diff` found differences, `bisect` found nothing bad. */
  found: 1,
  /** `bisect run` stopped: the command aborted (128+ or a signal) or an endpoint was wrong. */
  bisectStopped: 2,
  /** The recording was cut off: output covers every event before the truncated last line. */
  cutOff: 3,
  /**
   * `check`: nothing was found that can be judged, but findings rest on what the trace lacks
   * (no E820 map, no nr_pages: the boot pass could not run) or the guest type is unknown.
   */
  cannotJudge: 4,
  /** `check --bisect-exit`: the trace cannot test this revision (git bisect "skip"). */
  cannotTest: 125,
  /**
   * `--bisect-exit`: the command itself failed (usage mistake, a bug in p2mtrace), so it says
   * nothing about the revision; `git bisect run` stops on 128 and above.
   */
  abortBisect: 128,
  /** The command line is wrong (unknown flag, missing argument). */
  usage: 64,
  /** The trace or log is malformed or unusable. */
  dataError: 65,
  /** An input file does not exist or cannot be read. */
  noInput: 66,
  /** A bug in p2mtrace itself. */
  internal: 70,
  /** `record`: Deno or the kernel refused every read that mattered (a flag or root is missing). */
  noPermission: 77,
  /** An output file cannot be written. */
  ioError: 74,
} as const;

/** Where in a trace or log something was found. */
export interface SourcePosition {
  /** The file name as the user gave it, or `-` for stdin. */
  file: string;
  /** 1-based line number. */
  line: number;
  /**
   * 0-based byte offset in the file as stored (compressed, for gzip), for a fault below the
   * lines (data after the gzip stream): the message names it instead of the line.
   */
  byte?: number;
}

/**
 * Base class of every error about input data: a trace line that is not JSON, a field with the
 * wrong type, an unknown event kind, a value out of range.
 *
 * @example
 * ```ts
 * import { TraceError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new TraceError({ file: "t.jsonl", line: 3 }, "seq", "an integer", "\"x\"");
 * assert.equal(e.message, 't.jsonl:3: field "seq": expected an integer, got "x"');
 * ```
 */
export class TraceError extends SyntaxError {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.dataError;
  /** File and line. */
  readonly position: SourcePosition;
  /** The field at fault (`seq`, `resources[1].flags`), or undefined for a whole-line problem. */
  readonly field?: string;
  /** What was expected, in words. */
  readonly expected: string;

  /** Builds the message `file:line: field "f": expected X, got Y`. */
  constructor(position: SourcePosition, field: string | undefined, expected: string, got?: string) {
    const where = position.byte === undefined
      ? `${escapeText(position.file)}:${position.line}: `
      : `${escapeText(position.file)}: byte ${position.byte} (compressed): `;
    const what = field === undefined ? "" : `field "${field}": `;
    const tail = got === undefined ? "" : `, got ${got}`;
    super(`${where}${what}expected ${expected}${tail}`);
    this.name = "TraceError";
    this.position = position;
    this.field = field;
    this.expected = expected;
  }
}

/**
 * The last line of a recording has no newline and is not valid JSON: the recorder was cut off.
 * Replay stops cleanly before that line and the CLI exits with {@link EXIT.cutOff}.
 *
 * @example
 * ```ts
 * import { CutOffError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new CutOffError({ file: "t.jsonl", line: 9 }, 8);
 * assert.equal(e.exitCode, 3);
 * assert.match(e.message, /cut off/);
 * ```
 */
export class CutOffError extends SyntaxError {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.cutOff;
  /** Position of the truncated line. */
  readonly position: SourcePosition;
  /** Number of complete event records read before the cut. */
  readonly eventsRead: number;

  /** Builds the message naming the truncated line. */
  constructor(position: SourcePosition, eventsRead: number) {
    super(
      `${
        escapeText(position.file)
      }:${position.line}: the recording was cut off: the last line has no ` +
        `newline and is not complete JSON; ${eventsRead} complete event(s) before it were used`,
    );
    this.name = "CutOffError";
    this.position = position;
    this.eventsRead = eventsRead;
  }
}

/**
 * A data structure of the model broke one of its invariants: a bug in p2mtrace, never in the
 * user's input. `validate()` walkers throw it (`replay --paranoid` runs them after every step);
 * the CLI prints the message and exits with {@link EXIT.internal}.
 *
 * @example
 * ```ts
 * import { InvariantError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new InvariantError("P2M leaf of PFN 0x200: offsets not increasing at run 2");
 * assert.equal(e.exitCode, 70);
 * assert.match(e.message, /^internal error: P2M leaf/);
 * ```
 */
export class InvariantError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.internal;
  /** What is broken, without the "internal error" prefix. */
  readonly detail: string;
  /** Builds the message `internal error: <detail>`. */
  constructor(detail: string) {
    super(`internal error: ${detail}`);
    this.name = "InvariantError";
    this.detail = detail;
  }
}

/**
 * A command-line mistake: unknown flag, missing operand, bad option value. The arguments its
 * lines quote are the user's, so each line's control and line characters are shown escaped
 * (`--policy $'x\nFAKE'` cannot print a line of its own); the lines are the message's own.
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new UsageError("unknown flag --x").exitCode, 64);
 * assert.equal(new UsageError("unknown policy 'x\nFAKE'").message, "unknown policy 'x\\nFAKE'");
 * ```
 */
export class UsageError extends TypeError {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.usage;
  /** Builds a usage error from the lines of its message (each escaped: see the class). */
  constructor(message: string, ...more: string[]) {
    super([message, ...more].map(escapeText).join("\n"));
    this.name = "UsageError";
  }
}

/**
 * An input file cannot be opened or read.
 *
 * @example
 * ```ts
 * import { InputError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new InputError("x.jsonl", "not found").message, "x.jsonl: cannot read: not found");
 * ```
 */
export class InputError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.noInput;
  /** Builds the message `file: cannot read: reason`. */
  constructor(file: string, reason: string) {
    super(`${escapeText(file)}: cannot read: ${reason}`);
    this.name = "InputError";
  }
}

/**
 * A recording read nothing usable because Deno or the kernel refused it: the message names the
 * Deno flag (`--allow-all`) or the privilege (root) that is missing.
 *
 * @example
 * ```ts
 * import { NoPermissionError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new NoPermissionError("record: run it as root").exitCode, 77);
 * ```
 */
export class NoPermissionError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.noPermission;
  /** Builds the error with the given message. */
  constructor(message: string) {
    super(message);
    this.name = "NoPermissionError";
  }
}

/**
 * An output file cannot be written, or exists and `--force` was not given (nothing a user has
 * is overwritten silently).
 *
 * @example
 * ```ts
 * import { OutputError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new OutputError("t.jsonl", "it exists (use --force to overwrite it)");
 * assert.equal(e.exitCode, 74);
 * assert.equal(e.message, "t.jsonl: cannot write: it exists (use --force to overwrite it)");
 * ```
 */
export class OutputError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.ioError;
  /** Builds the message `file: cannot write: reason`. */
  constructor(file: string, reason: string) {
    super(`${escapeText(file)}: cannot write: ${reason}`);
    this.name = "OutputError";
  }
}

/**
 * A command's thread ran out of JavaScript heap (`src/cli/capped_heap.ts`): the trace needs more
 * memory than V8 lets that thread have. Not a finding about the trace, and not a crash: the CLI
 * prints the limit and exits 70 (128 under `--bisect-exit`, which says nothing about a revision).
 *
 * @example
 * ```ts
 * import { HeapLimitError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new HeapLimitError("map", 4096);
 * assert.equal(e.exitCode, 70);
 * assert.match(e.message, /^map: out of memory: .* 4096 MB /);
 * assert.match(new HeapLimitError("map").message, / the limit V8 allows it /);
 * ```
 */
export class HeapLimitError extends Error {
  /** Exit code the CLI uses for this error. */
  readonly exitCode: number = EXIT.internal;
  /** Builds the message naming the command and the thread's heap limit in MB, if known. */
  constructor(command: string, limitMb?: number) {
    super(
      `${escapeText(command)}: out of memory: its thread's JavaScript heap reached the ` +
        `${limitMb ? `${limitMb} MB ` : "limit "}V8 allows it (the old generation)`,
    );
    this.name = "HeapLimitError";
  }
}
