/**
 * Text output cannot be forged: a string that came from a trace, a log or a file name can hold
 * any character, and printed raw an ESC sequence can recolour or retitle the terminal, a CR
 * can overwrite the line it is on, a LF can print a fake finding, BEL rings, C1 controls (CSI
 * U+009B) and bidirectional overrides reorder what is seen, zero-width characters hide text. Two layers stop that:
 *
 * - {@link escapeText} for a string placed inside a line of a text report (marks, a lookup's
 *   `by`, device names, header fields, file names in messages): every control character,
 *   line and paragraph separator and bidi control becomes a visible escape, LF and TAB too;
 * - {@link escapeControls} for everything the process writes to stdout and stderr: the same
 *   escapes except LF and TAB, which our own lines use. Its `\uXXXX` form is also a valid JSON
 *   escape, so JSON and trace lines written to stdout keep their meaning.
 *
 * @module
 */

/**
 * The characters escaped everywhere but LF and TAB (as `RegExp` source, written as escapes): C0
 * and C1 controls, DEL, the line and paragraph separators, every bidi control (embeddings and
 * overrides U+202A-U+202E, isolates U+2066-U+2069, the marks U+200E, U+200F and U+061C) and the
 * invisible format characters (zero-width space, joiners U+200B-U+200D, word joiner and
 * invisible operators U+2060-U+2064, U+180E, the BOM U+FEFF, annotation marks U+FFF9-U+FFFB)
 * that can hide or reorder what is seen.
 */
const CONTROLS = "\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u180e" +
  "\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\ufff9-\\ufffb";
const ALL = new RegExp(`[${CONTROLS}\\n\\t]`, "g");
const ALL_TEST = new RegExp(`[${CONTROLS}\\n\\t]`);
const NOT_LINES = new RegExp(`[${CONTROLS}]`, "g");
const NOT_LINES_TEST = new RegExp(`[${CONTROLS}]`);

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

function escape(c: string): string {
  return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * A string from a trace or a file name, safe inside one line of text output.
 *
 * @example
 * ```ts
 * import { escapeText } from "./text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeText("boot\nstep 5: FAKE\u001b]0;title\u0007"), "boot\\nstep 5: FAKE\\u001b]0;title\\u0007");
 * assert.equal(escapeText("nvidia"), "nvidia");
 * ```
 */
export function escapeText(s: string): string {
  return ALL_TEST.test(s) ? s.replace(ALL, escape) : s;
}

/**
 * Text bound for a terminal: every control character but LF and TAB escaped as `\uXXXX`.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./text.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeControls("a\r\u009b2Jb\n"), "a\\u000d\\u009b2Jb\n");
 * assert.deepEqual(JSON.parse(escapeControls(JSON.stringify({ s: "\u0085" }))), { s: "\u0085" });
 * ```
 */
export function escapeControls(s: string): string {
  return NOT_LINES_TEST.test(s)
    ? s.replace(NOT_LINES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : s;
}
