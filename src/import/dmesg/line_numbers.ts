/**
 * Removes the line numbers a paste carries (a pastebin, a gist, an editor, a bug tracker:
 * `12 | `, `12: `, `12. `, `L12 `, `12<TAB>`) when the log proves them: its first
 * {@link NUMBERED_PROOF} lines start with consecutive numbers. From then on a line that starts
 * with the next number (or 1, a new pasted block) loses it, whatever follows: a continuation
 * line a mail wrapped, plain untimestamped kernel text. A log whose lines merely start with a
 * number is never changed: no kernel log counts up line by line. One blank after the number is
 * the separator; more belong to the line (a wrapped continuation's indent).
 *
 * The prefix grammar (prefix.ts) still strips a line number it can tell by what follows it;
 * this stage is what makes the rest of a numbered paste readable.
 *
 * @module
 */

/** Consecutive numbered lines that prove a numbered paste. */
export const NUMBERED_PROOF = 5;

const NUMBER = /^[ \t]{0,8}L?(\d{1,7})(?::[ \t]?|[ \t]{0,4}[|│¦][ \t]?|\.(?:[ \t]|$)|[ \t]|$)/;

/**
 * Line numbers off a numbered paste, line by line.
 *
 * @example
 * ```ts
 * import { LineNumberStripper } from "./line_numbers.ts";
 * import assert from "node:assert/strict";
 * const s = new LineNumberStripper();
 * const lines = ["7: Linux version 6.1", "8: Xen: [mem 0x0-0x9ffff]", "9:   usable", "10: a", "11: b"];
 * assert.deepEqual([...lines.flatMap((l) => s.push(l)), ...s.end()],
 *   ["Linux version 6.1", "Xen: [mem 0x0-0x9ffff]", "  usable", "a", "b"]);
 * const plain = new LineNumberStripper();
 * assert.deepEqual([...["0: 0x100", "x"].flatMap((l) => plain.push(l)), ...plain.end()],
 *   ["0: 0x100", "x"]);
 * ```
 */
export class LineNumberStripper {
  #state: "probe" | "on" | "off" = "probe";
  #held: { line: string; cut: number }[] = [];
  #next = 0;

  /** Takes the next line; returns the lines ready to import. */
  push(line: string): string[] {
    if (this.#state === "off") return [line];
    const m = NUMBER.exec(line);
    const n = m === null ? -1 : Number(m[1]);
    if (this.#state === "on") {
      if (m !== null && (n === this.#next || n === 1)) {
        this.#next = n + 1;
        return [line.slice(m[0].length)];
      }
      return [line];
    }
    if (m !== null && (this.#held.length === 0 || n === this.#next)) {
      this.#held.push({ line, cut: m[0].length });
      this.#next = n + 1;
      if (this.#held.length < NUMBERED_PROOF) return [];
      this.#state = "on";
      return this.#release(true);
    }
    this.#state = "off";
    return [...this.#release(false), line];
  }

  /** Ends the input; returns the lines still held (numbered only if all of them counted up). */
  end(): string[] {
    const numbered = this.#state === "probe" && this.#held.length >= 3;
    return this.#release(numbered);
  }

  #release(strip: boolean): string[] {
    const out = this.#held.map((h) => strip ? h.line.slice(h.cut) : h.line);
    this.#held = [];
    return out;
  }
}
