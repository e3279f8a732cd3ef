/**
 * Errors of `import dmesg` about the log itself: empty, binary, nothing usable, no such boot.
 * Each names the file and says what was expected; the CLI prints the message and exits with
 * `exitCode` 65 (data error).
 *
 * @module
 */

import { escapeText } from "../../report/text.ts";
import { EXIT } from "../../errors.ts";

/** Why a log could not be imported. */
export type DmesgProblem =
  | "empty"
  | "binary"
  | "nothing-usable"
  | "no-such-boot"
  | "no-such-domain"
  /** Too much read without one line of a kernel log (`MAX_BYTES_BEFORE_KERNEL_LINE`). */
  | "not-a-log";

/**
 * The log cannot be turned into a trace.
 *
 * @example
 * ```ts
 * import { DmesgImportError } from "./errors.ts";
 * import assert from "node:assert/strict";
 * const e = new DmesgImportError("boot.log", "empty", "the file is empty",
 *   "a Linux boot log (dmesg, journalctl -k or a serial console capture)");
 * assert.equal(e.exitCode, 65);
 * assert.equal(e.message, "boot.log: the file is empty; expected a Linux boot log " +
 *   "(dmesg, journalctl -k or a serial console capture)");
 * ```
 */
export class DmesgImportError extends SyntaxError {
  /** Exit code the CLI uses for this error (65, data error). */
  readonly exitCode: number = EXIT.dataError;
  /** The log as the user named it (`-` for stdin). */
  readonly file: string;
  /** Which problem. */
  readonly problem: DmesgProblem;
  /** 1-based line the problem was seen at, when there is one. */
  readonly line?: number;

  /** Builds `file[:line]: what; expected ...`, then `detail` (more lines) when given. */
  constructor(
    file: string,
    problem: DmesgProblem,
    what: string,
    expected: string,
    line?: number,
    detail?: string,
  ) {
    const where = line === undefined ? escapeText(file) : `${escapeText(file)}:${line}`;
    super(`${where}: ${what}; expected ${expected}${detail ? `\n${detail}` : ""}`);
    this.name = "DmesgImportError";
    this.file = file;
    this.problem = problem;
    if (line !== undefined) this.line = line;
  }
}
