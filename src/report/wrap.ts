/**
 * Text that fits a width: words wrapped at spaces with a hanging indent, and shell command lines
 * continued with a backslash, never cut.
 *
 * @module
 */

import { ansiQuote, escapeText } from "./text.ts";

/**
 * Wraps `text` at spaces into lines of at most `width` columns; continuation lines start with
 * `indent`. A word longer than a line is broken, never dropped.
 *
 * @example
 * ```ts
 * import { wrap } from "./wrap.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(wrap("aa bb cc", 5, " "), ["aa bb", " cc"]);
 * assert.deepEqual(wrap("abcdefgh", 4), ["abcd", "efgh"]);
 * ```
 */
export function wrap(text: string, width: number, indent = ""): string[] {
  const out: string[] = [];
  let line = "";
  const room = () => width - (out.length === 0 ? 0 : indent.length);
  for (let word of text.split(/ +/)) {
    while (word.length > 0) {
      const sep = line.length > 0 ? 1 : 0;
      if (line.length + sep + word.length <= room()) {
        line += (sep ? " " : "") + word;
        word = "";
      } else if (line.length > 0) {
        out.push(line);
        line = "";
      } else {
        line = word.slice(0, room());
        word = word.slice(room());
        if (word.length > 0) {
          out.push(line);
          line = "";
        }
      }
    }
  }
  if (line.length > 0 || out.length === 0) out.push(line);
  return out.map((l, i) => (i === 0 ? l : indent + l));
}

/**
 * Quotes one shell word for POSIX `sh`: unchanged when it has only safe characters, else in
 * double quotes (inside which a backslash-newline still joins lines).
 *
 * @example
 * ```ts
 * import { shellQuote } from "./wrap.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shellQuote("traces/a.jsonl"), "traces/a.jsonl");
 * assert.equal(shellQuote("my trace.jsonl"), '"my trace.jsonl"');
 * assert.equal(shellQuote('a"$b'), '"a\\"\\$b"');
 * ```
 */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  if (escapeText(word) !== word) return ansiQuote(word);
  return `"${word.replace(/["$`\\]/g, (c) => "\\" + c)}"`;
}

/**
 * A shell command as lines of at most `width` columns that `sh` reads back as the same words:
 * the first line starts with `lead`; words are joined by spaces and continued with ` \` and
 * `indent`; a word longer than a line is split with a trailing backslash and continued at
 * column 0 (a backslash-newline is removed before words are split, so the word stays whole).
 *
 * @example
 * ```ts
 * import { wrapCommand } from "./wrap.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(wrapCommand(["p2mtrace", "replay", "t.jsonl"], 20, "  "),
 *   ["p2mtrace replay \\", "  t.jsonl"]);
 * assert.deepEqual(wrapCommand(["cat", "abcdefghijkl"], 8, ""), ["cat \\", "abcdefg\\", "hijkl"]);
 * assert.deepEqual(wrapCommand(["ls"], 8, "", "  "), ["  ls"]);
 * ```
 */
export function wrapCommand(
  words: readonly string[],
  width: number,
  indent: string,
  lead = "",
): string[] {
  const out: string[] = [];
  let line = lead;
  const blank = (l: string) => l.trim().length === 0;
  for (const quoted of words.map(shellQuote)) {
    // Room for the word plus " \" in case another word follows on the next line.
    if (!blank(line) && (line + " " + quoted).length > width - 2) {
      out.push(line + " \\");
      line = indent;
    }
    let word = quoted;
    let sep = blank(line) ? "" : " ";
    while ((line + sep + word).length > width) {
      const room = width - 1 - (line + sep).length;
      if (room < 1) {
        out.push(line + " \\");
        line = "";
        sep = "";
        continue;
      }
      out.push(line + sep + word.slice(0, room) + "\\");
      word = word.slice(room);
      line = "";
      sep = "";
    }
    line += sep + word;
  }
  if (!blank(line)) out.push(line);
  return out;
}
