/**
 * Undoes quoted-printable (RFC 2045 section 6.7) in a log saved from a mail: an attachment in a
 * list archive's raw message (lore, marc, the xen-devel mbox) keeps its transfer encoding, so
 * `console=3Dhvc0` stands for `console=hvc0`, `=20` for a trailing blank, and a line ending in `=`
 * is a soft break: the line goes on, without a blank, on the next one (`(32890764 pages to=` +
 * ` be allocated)`). Undecoded, such a log loses every line cut that way (a `Dom0 alloc.:` line,
 * a banner, the `Xen-e820 RAM map:` header) and every value after an `=`.
 *
 * Decoding starts at the first line that proves the encoding, and stays on:
 * - a `Content-Transfer-Encoding: quoted-printable` header (the whole mail was saved), or
 * - the escape of an `=` sign, `=3D`: the commonest in kernel lines (`console=3Dhvc0`), and one a
 *   kernel line does not print by itself. An `=20` ending a line is not taken as proof: a plain
 *   command line may end in `maxcpus=20`.
 *
 * Up to {@link QP_LOOKAHEAD} lines before the proof are held back, so that a soft break on the first
 * line (a `Xen version` banner cut by the encoder) is joined too; a log without proof in that many
 * lines passes its head through unchanged and is decoded only from the proof on. Plain logs are
 * never changed: none of their lines proves the encoding (an `=` or `=20` ending a line is not
 * proof).
 *
 * Decoding is lenient, as RFC 2045 asks: an `=` not followed by two hex digits stays as written.
 * Line numbers are kept: a joined line takes its first line's number and each continuation becomes
 * an empty line after it (the importer counts and skips empty lines). A run of soft breaks is
 * joined up to `maxLine` characters, then cut.
 *
 * @module
 */

import { MAX_LOG_LINE } from "./log_lines.ts";

/** Lines held back while no line has proven the encoding yet. */
export const QP_LOOKAHEAD = 64;

/** A header of a saved mail (or MIME part) that names the encoding. */
const QP_HEADER = /^\s*Content-Transfer-Encoding:\s*quoted-printable\s*$/i;
/** The escape only the encoder writes: an encoded `=` sign. */
const QP_PROOF = /=3D/;
const ESCAPE = /=([0-9A-F]{2})/g;

/**
 * Decodes the escapes of one line (no soft break): `=XX` bytes, UTF-8 sequences among them.
 *
 * @example
 * ```ts
 * import { decodeQuotedPrintable } from "./quoted_printable.ts";
 * import assert from "node:assert/strict";
 * assert.equal(decodeQuotedPrintable("console=3Dhvc0 M=C3=A9=20"), "console=hvc0 Mé ");
 * assert.equal(decodeQuotedPrintable("a=b =ZZ"), "a=b =ZZ");
 * ```
 */
export function decodeQuotedPrintable(line: string): string {
  if (!line.includes("=")) return line;
  // Runs of escapes are decoded together so that a multi-byte UTF-8 character comes out whole.
  return line.replace(/(?:=[0-9A-F]{2})+/g, (run) => {
    const bytes = new Uint8Array(run.length / 3);
    let i = 0;
    for (const m of run.matchAll(ESCAPE)) bytes[i++] = parseInt(m[1], 16);
    return new TextDecoder().decode(bytes);
  });
}

/**
 * Line-at-a-time decoder: `push` each line, then `end`; both return the lines to pass on, in
 * order (the same number of lines as came in).
 *
 * @example
 * ```ts
 * import { QuotedPrintableDecoder } from "./quoted_printable.ts";
 * import assert from "node:assert/strict";
 * const d = new QuotedPrintableDecoder();
 * const out = [
 *   ...d.push("(XEN)  Dom0 alloc.:   0000001074000000->0000001078000000 (32890764 pages to="),
 *   ...d.push(" be allocated)"),
 *   ...d.push("[    0.000000] e820: last_pfn =3D 0x2080000"),
 *   ...d.end(),
 * ];
 * assert.deepEqual(out, [
 *   "(XEN)  Dom0 alloc.:   0000001074000000->0000001078000000 (32890764 pages to be allocated)",
 *   "",
 *   "[    0.000000] e820: last_pfn = 0x2080000",
 * ]);
 * ```
 */
export class QuotedPrintableDecoder {
  #maxLine: number;
  /** Lines waiting for the proof (before it) or for the end of a soft-broken run (after it). */
  #held: string[] = [];
  #heldChars = 0;
  #on = false;
  /** Whether the lookahead ran out without proof: lines then pass until one proves it. */
  #gaveUp = false;

  /** A decoder that cuts a joined line at `maxLine` characters. */
  constructor(maxLine = MAX_LOG_LINE) {
    this.#maxLine = maxLine;
  }

  /** Whether the input has proven to be quoted-printable (decoding is on). */
  get decoding(): boolean {
    return this.#on;
  }

  /** Takes the next line (without terminator); returns the lines ready to import. */
  push(line: string): string[] {
    if (!this.#on) {
      if (QP_HEADER.test(line)) {
        this.#on = true;
        return [...this.#flushPlain(), line];
      }
      if (!QP_PROOF.test(line)) {
        if (this.#gaveUp) return [line];
        this.#held.push(line);
        if (this.#held.length < QP_LOOKAHEAD) return [];
        this.#gaveUp = true;
        return this.#flushPlain();
      }
      this.#on = true;
      // The held head is decoded with this line: a soft break may join them.
      const head = this.#gaveUp ? [] : this.#held;
      this.#held = [];
      const out: string[] = [];
      for (const l of head) out.push(...this.#decode(l));
      out.push(...this.#decode(line));
      return out;
    }
    return this.#decode(line);
  }

  /** Ends the input; returns the lines still held. */
  end(): string[] {
    if (!this.#on) return this.#flushPlain();
    const run = this.#held;
    this.#held = [];
    this.#heldChars = 0;
    return run.length ? this.#join(run) : [];
  }

  #flushPlain(): string[] {
    const out = this.#held;
    this.#held = [];
    return out;
  }

  /** Adds a line to the current soft-broken run; returns the run's lines once it ends. */
  #decode(line: string): string[] {
    // RFC 2045 6.7: blanks at the end of an encoded line were added in transport (a copy, a
    // paste) and are deleted, so "=  " is still a soft break.
    if (line.endsWith(" ") || line.endsWith("\t")) line = line.replace(/[ \t]+$/, "");
    this.#held.push(line);
    this.#heldChars += line.length;
    if (line.endsWith("=") && this.#heldChars < this.#maxLine) return [];
    const run = this.#held;
    this.#held = [];
    this.#heldChars = 0;
    return this.#join(run);
  }

  #join(run: string[]): string[] {
    const text = run.map((l, i) => i < run.length - 1 || l.endsWith("=") ? l.slice(0, -1) : l)
      .join("");
    const decoded = decodeQuotedPrintable(text);
    return [
      decoded.length > this.#maxLine ? decoded.slice(0, this.#maxLine) : decoded,
      ...run.slice(1).map(() => ""),
    ];
  }
}
