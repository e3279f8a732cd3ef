/**
 * Bytes of a log to lines, in constant memory. Unlike trace files, a log may be a binary file,
 * hold a runaway line without newlines, or have lost its newlines altogether (a web archive, a
 * mail or a pastebin that flattened it into one paragraph). A line is split where the kernel's
 * own prefixes show that another line starts ({@link lineStarts}), so a flattened log reads as
 * the lines it was; what is left longer than {@link MAX_LOG_LINE} characters is cut and counted
 * ({@link LogLineSplitter.cuts}), never accumulated (the kernel's own lines are under 1 KiB).
 *
 * @module
 */

import { MAX_JOURNAL_RECORD } from "./journal_json.ts";
import { stripPrefix } from "./prefix.ts";

/** Longest line kept; the rest of a longer line is dropped up to the next line start. */
export const MAX_LOG_LINE = 4096;

/** Lines cut at the length bound: how many, and the first one's number (1-based). */
export interface LineCuts {
  /** Lines cut. */
  count: number;
  /** Number of the first line cut, as the splitter emitted it. */
  firstLine: number;
}

const MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const HMS = "\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d{1,9})?";
/**
 * A syslog header whole: time, host, optional BusyBox facility.level, tag, optional pid. Not
 * after a day name: `Tue 2015-08-04 10:00:00 CEST ` is one wall-clock prefix.
 */
const SYSLOG = `(?<!${DAY},? )(?:${MONTH} [ \\d]\\d ${HMS}|\\d{4}-\\d\\d-\\d\\d[T ]${HMS}` +
  `(?:Z|[+-]\\d\\d:?\\d\\d)?) \\S{1,64}(?: [a-z]{1,8}\\.[a-z]{1,8})? ` +
  `[^\\s:\\[\\]]{1,64}(?:\\[\\d{1,10}\\])?: `;

/**
 * Where a line may start inside a run of text: the prefixes the kernel, Xen and the log
 * tools put at the start of every line. After a blank (or at the start): a level `<6>` (dmesg
 * -r) before `[` or a word, an RFC 5424 header, `(XEN) `, `(early) `, a guest console `(d1) `,
 * a whole syslog header, a `dmesg -T` stamp, a journalctl separator. Anywhere: a printk time
 * `[    1.234567] ` (the kernel prints six decimals, so a message's own numbers do not look
 * like it), since some flattening loses the blank too. Not `(XEN)` glued to text: that is Xen
 * interrupting a kernel line on a shared serial console, one garbled line (the golden
 * `dmesg-garbled`). A start right after another prefix is that line's stacked prefix, not a
 * new line (see {@link LogLineSplitter}).
 */
const LINE_START = new RegExp(
  "(?<=^|\\s)(?:<\\d{1,3}>(?=\\[|[A-Za-z(])|<\\d{1,3}>1 \\d{4}-|\\((?:XEN|early|d\\d{1,5}(?:v\\d{1,4})?)\\) |" +
    `${SYSLOG}|\\[${DAY} ${MONTH} [ \\d]\\d ${HMS} \\d{4}\\] |` +
    "-- (?:Boot [0-9a-f]{32} --|Reboot --|Logs begin at |Journal begins at |No entries --))" +
    "|\\[ {0,12}\\+?\\d{1,8}\\.\\d{6}\\] ?",
  "g",
);

/**
 * What every {@link LINE_START} match holds at its start or inside, as a plain scan with no
 * lookbehind: `<` and a digit, `(XEN`, `(early`, `(d` and a digit, a whole printk time, a
 * wall-clock time after a blank or `T` and before a blank, a fraction or a zone (a `dmesg -T`
 * stamp holds one too), or `-- `. A text with none of these after its first character holds no second line start, so
 * {@link lineStarts} runs the full pattern only on the few lines that have one (it costs about a
 * tenth of an import when run on every line; a PCI address `0000:01:00.0` is no time).
 */
const LINE_START_HINT = new RegExp(
  "<\\d|\\((?:XEN|early|d\\d)|\\[ {0,12}\\+?\\d{1,8}\\.\\d{6}\\]|" +
    `[ T]${HMS}[ Z+-]|-- `,
  "g",
);

/** A journalctl JSON record line (`json`, `json-seq`, `json-sse`): `{"` first. */
// deno-lint-ignore no-control-regex -- json-seq (RFC 7464) puts an RS byte before a record
const JSON_RECORD = /^(?:\u001e|data: )?\{"/;

/** Characters kept back while dropping an overlong line, so a line start cut by a chunk edge is found. */
const TAIL = 256;

/** A mail's quote markers (`> `, `> > `) before a line start belong to the line that starts. */
const QUOTES_BEFORE = /(?:^|\s)(?:>[ \t]?)+$/;

/**
 * Where `text` holds more than one log line: the offsets (after 0) at which a line starts, by
 * {@link LINE_START}. A start counts only after some message: one right after the line's
 * prefixes so far (`(d1) [    0.1] `, `<6>[    0.1] `, `Nov 24 10:00:00 host kernel: [ 1.5] `) is a
 * stacked prefix of the same line. A run of `>` quote markers before a start goes with it.
 *
 * @example
 * ```ts
 * import { lineStarts } from "./log_lines.ts";
 * import assert from "node:assert/strict";
 * const flat = "[    0.000000] Linux version 6.1 [    0.000000] Xen: [mem 0x0-0x9ffff] usable";
 * assert.deepEqual(lineStarts(flat), [33]);
 * assert.deepEqual(lineStarts("(d1) [    0.000000] Linux version 6.1"), []);
 * assert.deepEqual(lineStarts("> [    0.1] a > [    0.200000] b"), [14]);
 * ```
 */
export function lineStarts(text: string): number[] {
  LINE_START_HINT.lastIndex = 1;
  if (!LINE_START_HINT.test(text)) return [];
  const starts: number[] = [];
  let lineStart = 0;
  let message = false; // the current line has text beyond its prefixes
  LINE_START.lastIndex = 0;
  for (let m = LINE_START.exec(text); m !== null; m = LINE_START.exec(text)) {
    const at = m.index;
    if (m[0].length === 0) LINE_START.lastIndex++;
    if (at === 0) continue;
    // Stacked when the text before it is only prefixes, or is with it: a paste's `12: ` is a
    // prefix only before a time, `1 | ` before anything (`1 | -- Logs begin at ...`).
    if (!message) {
      message = stripPrefix(text.slice(lineStart, at)).text !== "" &&
        stripPrefix(text.slice(lineStart, at + m[0].length)).text !== "";
    }
    if (!message) continue;
    const quotes = QUOTES_BEFORE.exec(text.slice(Math.max(lineStart, at - 64), at));
    let start = at;
    if (quotes !== null) {
      const q = at - quotes[0].length + (/^\s/.test(quotes[0]) ? 1 : 0);
      if (q > lineStart) start = q;
    }
    starts.push(start);
    lineStart = start;
    message = false;
  }
  return starts;
}

/**
 * Splits a stream of byte chunks into lines. A line ends at `\n`, at `\r\n`, or at a lone
 * `\r` (old Mac files, serial consoles captured raw): a run of CRs directly before an LF is one
 * line end (a serial console that adds CR to a CRLF gives `\r\r\n`), a CR followed by anything
 * else ends a line by itself, so a log with CR-only ends reads as the same lines as with LF.
 * Inside a line, a kernel line prefix after some message starts a new line ({@link lineStarts}):
 * a log flattened into one paragraph gives its lines back. A line still longer than `maxLine`
 * keeps its first `maxLine` characters; the rest is dropped up to the next line start or end
 * (memory stays within `maxLine` plus a chunk), and {@link cuts} counts it.
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
 * const flat = new LogLineSplitter();
 * assert.deepEqual(
 *   [...flat.push(enc.encode("(XEN) Xen version 4.17 (XEN) Command line: dom0_mem=4G")), ...flat.end()],
 *   ["(XEN) Xen version 4.17", "(XEN) Command line: dom0_mem=4G"],
 * );
 * ```
 */
export class LogLineSplitter {
  /** Chosen from the first bytes (see {@link sniffEncoding}); until then `#head` holds them. */
  #decoder: TextDecoder | undefined;
  #head: Uint8Array | undefined;
  /** The current line's text so far, from its start. */
  #carry = "";
  /** The current line was cut: its text is dropped up to the next line start or end. */
  #dropping = false;
  /** While dropping: the last characters seen, for a line start cut by a chunk edge. */
  #tail = "";
  /** CRs seen since the last line end, not yet known to end lines of their own or to precede an LF. */
  #pendingCr = 0;
  #maxLine: number;
  #emitted = 0;
  #cuts: LineCuts | undefined;

  /** A splitter that cuts lines at `maxLine` characters. */
  constructor(maxLine = MAX_LOG_LINE) {
    this.#maxLine = maxLine;
  }

  /** Lines cut at `maxLine` so far (undefined: none). */
  get cuts(): LineCuts | undefined {
    return this.#cuts;
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
    for (let i = 1; i < this.#pendingCr; i++) this.#out(out, "");
    if (this.#pendingCr === 0 && (this.#carry.length > 0 || this.#dropping)) {
      this.#endLine(out, "");
    }
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
        else for (let i = 1; i < this.#pendingCr; i++) this.#out(out, ""); // each further lone CR
        this.#pendingCr = 0;
        continue;
      }
      const end = lineEnd(text, from);
      if (end < 0) break;
      this.#endLine(out, text.slice(from, end));
      if (text.charCodeAt(end) === 13) this.#pendingCr = 1;
      from = end + 1;
    }
    if (from < n) this.#grow(out, text.slice(from));
    return out;
  }

  /** The current line goes on with `more` (no line end in it). */
  #grow(out: string[], more: string): void {
    if (this.#dropping) {
      const rest = this.#skip(more);
      if (rest === undefined) return;
      more = rest;
    }
    this.#carry += more;
    if (this.#carry.length > this.#limit(this.#carry)) this.#flush(out, false);
  }

  /** The current line ends after `piece`. */
  #endLine(out: string[], piece: string): void {
    if (this.#dropping) {
      const rest = this.#skip(piece);
      this.#dropping = false;
      this.#tail = "";
      if (rest === undefined) {
        this.#carry = "";
        return;
      }
      piece = rest;
    }
    this.#carry += piece;
    this.#flush(out, true);
    this.#carry = "";
  }

  /**
   * While dropping a cut line: the text from the next line start in `more` on (dropping ends),
   * or undefined when `more` holds none.
   */
  #skip(more: string): string | undefined {
    const seen = this.#tail + more;
    LINE_START.lastIndex = 1; // a match at 0 would only be the tail's own start
    const m = LINE_START.exec(seen);
    if (m === null || m.index === 0) {
      this.#tail = seen.slice(-TAIL);
      return undefined;
    }
    this.#dropping = false;
    this.#tail = "";
    return seen.slice(m.index);
  }

  /**
   * Emits the lines the current run holds: all of them when the line ended (`final`), else all
   * but the last, which may go on. What is left longer than `maxLine` is cut.
   */
  #flush(out: string[], final: boolean): void {
    const text = this.#carry;
    // A journal record (journalctl -o json) is one line whatever its message holds.
    const record = JSON_RECORD.test(text);
    const starts = record ? [] : lineStarts(text);
    let from = 0;
    for (const start of starts) {
      this.#out(out, this.#bounded(text.slice(from, start).trimEnd()));
      from = start;
    }
    const last = text.slice(from);
    if (final) {
      this.#out(out, this.#bounded(last));
      this.#carry = "";
    } else if (last.length > this.#limit(last)) {
      this.#out(out, this.#bounded(last));
      this.#carry = "";
      this.#dropping = true;
      this.#tail = last.slice(-TAIL);
    } else {
      this.#carry = last;
    }
  }

  /** The longest `line` may be: `maxLine`, or a journal record's bound for a JSON record. */
  #limit(line: string): number {
    return JSON_RECORD.test(line) ? Math.max(this.#maxLine, MAX_JOURNAL_RECORD) : this.#maxLine;
  }

  /** `line` cut at its limit, the cut counted (as the line about to be emitted). */
  #bounded(line: string): string {
    const limit = this.#limit(line);
    if (line.length <= limit) return line;
    if (this.#cuts === undefined) this.#cuts = { count: 1, firstLine: this.#emitted + 1 };
    else this.#cuts.count++;
    return line.slice(0, limit);
  }

  #out(out: string[], line: string): void {
    this.#emitted++;
    out.push(line);
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
