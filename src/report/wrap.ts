/**
 * Text that fits a width: words wrapped at spaces with a hanging indent, and shell command lines
 * continued with a backslash, never cut.
 *
 * @module
 */

import { shellQuote } from "./shell.ts";

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
 * A shell command as lines of at most `width` columns that `sh` reads back as the same words:
 * the first line starts with `lead`; words are joined by spaces and continued with ` \` and
 * `indent`; a word longer than a line is cut into pieces quoted each on their own
 * ({@link shellQuote}), ended with a backslash and continued at column 0: the shell removes a
 * backslash-newline outside quotes, and pieces written together are one word.
 *
 * @example
 * ```ts
 * import { wrapCommand } from "./wrap.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(wrapCommand(["p2mtrace", "replay", "t.jsonl"], 20, "  "),
 *   ["p2mtrace replay \\", "  t.jsonl"]);
 * assert.deepEqual(wrapCommand(["cat", "abcdefghijkl"], 8, ""), ["cat \\", "abcdefg\\", "hijkl"]);
 * assert.deepEqual(wrapCommand(["ls"], 8, "", "  "), ["  ls"]);
 * assert.deepEqual(wrapCommand(["cat", "my trace"], 8, ""), ["cat \\", "'my tr'\\", "ace"]);
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
  for (let w = 0; w < words.length; w++) {
    let word = words[w];
    // Room for the word plus " \" when another word follows, which may go on the next line.
    const limit = w < words.length - 1 ? width - 2 : width;
    if (!blank(line) && (line + " " + shellQuote(word)).length > limit) {
      out.push(line + " \\");
      line = indent;
    }
    let sep = blank(line) ? "" : " ";
    while ((line + sep + shellQuote(word)).length > limit) {
      const room = limit - 1 - (line + sep).length;
      const cut = pieceEnd(word, room);
      if (cut === 0 && line !== "") {
        out.push(line + " \\");
        line = sep = "";
        continue;
      }
      const end = Math.max(cut, 1);
      out.push(line + sep + shellQuote(word.slice(0, end)) + "\\");
      word = word.slice(end);
      line = sep = "";
    }
    line += sep + shellQuote(word);
  }
  if (!blank(line)) out.push(line);
  return out;
}

/**
 * The length of the longest start of `word` whose quoted form fits in `room` columns (0: not
 * even one character), never ending between the two halves of a surrogate pair.
 */
function pieceEnd(word: string, room: number): number {
  let end = Math.max(0, Math.min(word.length, room));
  while (end > 0 && shellQuote(word.slice(0, end)).length > room) end--;
  const c = word.charCodeAt(end - 1);
  if (end > 1 && c >= 0xd800 && c <= 0xdbff) end--;
  return end;
}
