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
 * The text is UTF-8 unless its first bytes show UTF-16 ({@link sniffEncoding}), so lines come
 * out once 512 bytes (or the end) were read; invalid UTF-8 becomes U+FFFD.
 *
 * @example
 * ```ts
 * import { LogLineSplitter } from "./log_lines.ts";
 * import assert from "node:assert/strict";
 * const s = new LogLineSplitter();
 * const enc = new TextEncoder();
 * // Lines come out once the first 512 bytes (or the end) chose the encoding.
 * const lines = [...s.push(enc.encode("a\r\nb")), ...s.push(enc.encode("c\rd\ne")), ...s.end()];
 * assert.deepEqual(lines, ["a", "bc", "d", "e"]);
 * ```
 */
export class LogLineSplitter {
  /** Chosen from the first bytes (see {@link sniffEncoding}); until then `#head` holds them. */
  #decoder: TextDecoder | undefined;
  #head: Uint8Array | undefined;
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
    if (this.#decoder === undefined) {
      const head = this.#head === undefined ? chunk : concat(this.#head, chunk);
      if (head.length < SNIFF_BYTES) {
        this.#head = head;
        return [];
      }
      this.#head = undefined;
      this.#decoder = new TextDecoder(sniffEncoding(head));
      chunk = head;
    }
    return this.#split(this.#decoder.decode(chunk, { stream: true }));
  }

  /** Ends the stream; returns the last line, if it had no newline. */
  end(): string[] {
    const out: string[] = [];
    if (this.#decoder === undefined) {
      // A log shorter than SNIFF_BYTES: its encoding is read from what there is.
      const head = this.#head ?? new Uint8Array(0);
      this.#head = undefined;
      this.#decoder = new TextDecoder(sniffEncoding(head));
      out.push(...this.#split(this.#decoder.decode(head, { stream: true })));
    }
    out.push(...this.#split(this.#decoder.decode()));
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

/** Bytes read before the encoding is chosen (a chunk shorter than this waits for the next). */
const SNIFF_BYTES = 512;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The encoding of a log from its first bytes: UTF-16 by its byte order mark (Windows
 * PowerShell 5.1's `>` and `Out-File`, Notepad's "Unicode"), or without one when NUL bytes
 * fill one byte of most pairs (ASCII text in UTF-16); else UTF-8 (a UTF-8 BOM is dropped).
 * A binary file stays UTF-8, so its NUL bytes still mark it as garbled.
 *
 * @example
 * ```ts
 * import { sniffEncoding } from "./log_lines.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sniffEncoding(new Uint8Array([0xff, 0xfe, 0x5b, 0])), "utf-16le");
 * assert.equal(sniffEncoding(new Uint8Array([0, 0x5b, 0, 0x20, 0, 0x30, 0, 0x5d])), "utf-16be");
 * assert.equal(sniffEncoding(new TextEncoder().encode("[    0.0] Linux")), "utf-8");
 * ```
 */
export function sniffEncoding(head: Uint8Array): "utf-8" | "utf-16le" | "utf-16be" {
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return "utf-16le";
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return "utf-16be";
  const pairs = Math.floor(Math.min(head.length, SNIFF_BYTES) / 2);
  if (pairs < 4) return "utf-8";
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < pairs; i++) {
    const a = head[2 * i];
    const b = head[2 * i + 1];
    if (a === 0 && b !== 0) evenNul++;
    else if (b === 0 && a !== 0) oddNul++;
  }
  // ASCII text in UTF-16: nearly every pair is one NUL and one printable byte, always on the
  // same side; binary data has NULs on both sides or in whole runs.
  if (oddNul >= pairs * 0.9) return "utf-16le";
  if (evenNul >= pairs * 0.9) return "utf-16be";
  return "utf-8";
}
