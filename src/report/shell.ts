/**
 * Shell words: quoting a word so that a command p2mtrace prints (a `bisect` log line, a
 * paste-ready command in a summary or a bug report) reads back as the same words, and reading
 * such a line back. A word with a control character (a newline in a file name) is written in
 * bash's `$'...'` form with visible escapes, so it can neither break the line nor forge
 * another one.
 *
 * @module
 */

import { escapeText } from "./text.ts";

/** Characters a word may hold unquoted: no shell meaning anywhere in a word. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One word quoted for a POSIX shell: unchanged when it has only safe characters, in single
 * quotes otherwise (a `'` as `'\''`), and in bash's `$'...'` when it holds a character that
 * {@link escapeText} escapes (a newline, an ESC, a bidi control), which then appears as its
 * escape (`\n`, `\u001b`).
 *
 * @example
 * ```ts
 * import { shellQuote } from "./shell.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shellQuote("traces/a.jsonl"), "traces/a.jsonl");
 * assert.equal(shellQuote("my trace's.jsonl"), "'my trace'\\''s.jsonl'");
 * assert.equal(shellQuote(""), "''");
 * assert.equal(shellQuote("a\nb's"), "$'a\\nb\\'s'");
 * ```
 */
export function shellQuote(word: string): string {
  if (SAFE.test(word)) return word;
  if (escapeText(word) !== word) return `$'${escapeText(word.replace(/[\\']/g, (c) => `\\${c}`))}'`;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** The escapes of `$'...'` that {@link shellQuote} writes, besides `\uXXXX`. */
const ANSI_ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'" };

/**
 * Splits a line into words as a POSIX shell (and bash's `$'...'`) does for what
 * {@link shellQuote} writes: blanks between words, `'...'`, `$'...'` (with `\n`, `\r`, `\t`,
 * `\\`, `\'` and `\uXXXX`; another escape stays as written, as in bash), and `\` before any
 * character; undefined for an unterminated quote. Nothing is expanded, and a `"` is a plain
 * character, as p2mtrace never writes one as a quote.
 *
 * @example
 * ```ts
 * import { shellWords } from "./shell.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(shellWords("bisect start 'my trace.jsonl' --term-bad it\\'s"),
 *   ["bisect", "start", "my trace.jsonl", "--term-bad", "it's"]);
 * assert.deepEqual(shellWords("a $'x\\ny\\u001b' 'b'c"), ["a", "x\ny\u001b", "bc"]);
 * assert.equal(shellWords("a 'b"), undefined);
 * ```
 */
export function shellWords(line: string): string[] | undefined {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  const n = line.length;
  for (let i = 0; i < n; i++) {
    const ch = line[i];
    if (ch === " " || ch === "\t") {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      cur += line.slice(i + 1, end);
      i = end;
    } else if (ch === "$" && line[i + 1] === "'") {
      const r = ansiWord(line, i + 2);
      if (r === undefined) return undefined;
      cur += r.text;
      i = r.end;
    } else if (ch === "\\" && i + 1 < n) {
      cur += line[++i];
    } else {
      cur += ch;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** The text of a `$'...'` word whose body starts at `from`, and the index of its closing quote. */
function ansiWord(line: string, from: number): { text: string; end: number } | undefined {
  let text = "";
  for (let i = from; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'") return { text, end: i };
    if (ch !== "\\" || i + 1 >= line.length) {
      text += ch;
      continue;
    }
    const e = line[++i];
    const hex = e === "u" ? /^[0-9a-fA-F]{1,4}/.exec(line.slice(i + 1, i + 5)) : null;
    if (hex !== null) {
      text += String.fromCharCode(parseInt(hex[0], 16));
      i += hex[0].length;
    } else {
      text += ANSI_ESCAPES[e] ?? "\\" + e;
    }
  }
  return undefined;
}
