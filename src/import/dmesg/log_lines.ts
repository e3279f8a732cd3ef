/**
 * Bytes of a log to lines, in constant memory. Unlike trace files, a log may be a binary file
 * or hold a runaway line without newlines: a line longer than {@link MAX_LOG_LINE} characters
 * is cut (the kernel's own lines are under 1 KiB), never accumulated.
 *
 * @module
 */

/** Longest line kept; the rest of a longer line is dropped. */
export const MAX_LOG_LINE = 4096;

/**
 * Splits a stream of byte chunks into lines (`\n`, `\r\n` or a lone `\r` at the end of a
 * line). Invalid UTF-8 becomes U+FFFD.
 *
 * @example
 * ```ts
 * import { LogLineSplitter } from "./log_lines.ts";
 * import assert from "node:assert/strict";
 * const s = new LogLineSplitter();
 * const enc = new TextEncoder();
 * assert.deepEqual(s.push(enc.encode("a\r\nb")), ["a"]);
 * assert.deepEqual(s.push(enc.encode("c\nd")), ["bc"]);
 * assert.deepEqual(s.end(), ["d"]);
 * ```
 */
export class LogLineSplitter {
  #decoder = new TextDecoder();
  #carry = "";
  #overlong = false;
  #maxLine: number;

  /** A splitter that cuts lines at `maxLine` characters. */
  constructor(maxLine = MAX_LOG_LINE) {
    this.#maxLine = maxLine;
  }

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: Uint8Array): string[] {
    return this.#split(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Ends the stream; returns the last line, if it had no newline. */
  end(): string[] {
    const out = this.#split(this.#decoder.decode());
    if (this.#carry.length > 0) out.push(trimCr(this.#carry));
    this.#carry = "";
    return out;
  }

  #split(text: string): string[] {
    const out: string[] = [];
    let from = 0;
    for (;;) {
      const nl = text.indexOf("\n", from);
      if (nl < 0) break;
      const piece = text.slice(from, nl);
      if (this.#overlong) {
        this.#overlong = false;
        out.push(trimCr(this.#carry));
      } else {
        const line = this.#carry + piece;
        out.push(trimCr(line.length > this.#maxLine ? line.slice(0, this.#maxLine) : line));
      }
      this.#carry = "";
      from = nl + 1;
    }
    if (from < text.length && !this.#overlong) {
      this.#carry += text.slice(from);
      if (this.#carry.length > this.#maxLine) {
        this.#carry = this.#carry.slice(0, this.#maxLine);
        this.#overlong = true;
      }
    }
    return out;
  }
}

function trimCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
