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
 * Splits a stream of byte chunks into lines. A line ends at `\n`, at `\r\n`, or at a lone
 * `\r` (old Mac files, serial consoles captured raw): a run of CRs directly before an LF is one
 * line end (a serial console that adds CR to a CRLF gives `\r\r\n`), a CR followed by anything
 * else ends a line by itself, so a log with CR-only ends reads as the same lines as with LF.
 * Invalid UTF-8 becomes U+FFFD.
 *
 * @example
 * ```ts
 * import { LogLineSplitter } from "./log_lines.ts";
 * import assert from "node:assert/strict";
 * const s = new LogLineSplitter();
 * const enc = new TextEncoder();
 * assert.deepEqual(s.push(enc.encode("a\r\nb")), ["a"]);
 * assert.deepEqual(s.push(enc.encode("c\rd\ne")), ["bc", "d"]);
 * assert.deepEqual(s.end(), ["e"]);
 * ```
 */
export class LogLineSplitter {
  #decoder = new TextDecoder();
  #carry = "";
  #overlong = false;
  /** CRs seen since the last line end, not yet known to end lines of their own or to precede an LF. */
  #pendingCr = 0;
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
    // CRs at the very end: the first ended a line already, each further one an empty line.
    for (let i = 1; i < this.#pendingCr; i++) out.push("");
    if (this.#pendingCr === 0 && this.#carry.length > 0) out.push(this.#carry);
    this.#carry = "";
    this.#pendingCr = 0;
    return out;
  }

  #split(text: string): string[] {
    const out: string[] = [];
    let from = 0;
    const n = text.length;
    while (from < n) {
      if (this.#pendingCr > 0) {
        // The line before these CRs was emitted at the first CR.
        const c = text.charCodeAt(from);
        if (c === 13) {
          this.#pendingCr++;
          from++;
          continue;
        }
        if (c === 10) from++; // CR...CR LF: one line end
        else for (let i = 1; i < this.#pendingCr; i++) out.push(""); // each further lone CR
        this.#pendingCr = 0;
        continue;
      }
      const end = lineEnd(text, from);
      if (end < 0) break;
      this.#emit(out, text.slice(from, end));
      if (text.charCodeAt(end) === 13) this.#pendingCr = 1;
      from = end + 1;
    }
    if (from < n && !this.#overlong) {
      this.#carry += text.slice(from);
      if (this.#carry.length > this.#maxLine) {
        this.#carry = this.#carry.slice(0, this.#maxLine);
        this.#overlong = true;
      }
    }
    return out;
  }

  #emit(out: string[], piece: string): void {
    if (this.#overlong) {
      this.#overlong = false;
      out.push(this.#carry);
    } else {
      const line = this.#carry + piece;
      out.push(line.length > this.#maxLine ? line.slice(0, this.#maxLine) : line);
    }
    this.#carry = "";
  }
}

/** Index of the first CR or LF at or after `from`, or -1. */
function lineEnd(text: string, from: number): number {
  const lf = text.indexOf("\n", from);
  const cr = text.indexOf("\r", from);
  if (cr < 0) return lf;
  if (lf < 0) return cr;
  return cr < lf ? cr : lf;
}
