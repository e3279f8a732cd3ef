/**
 * Reads `journalctl -o json` (and `json-seq`, `json-sse`, `json-pretty`) as the kernel lines it
 * holds. journalctl writes one JSON object per entry, on one line (`json`), after an RS byte
 * (`json-seq`, RFC 7464), after `data: ` (`json-sse`), or over one line per field between `{` and
 * `}` (`json-pretty`). The kernel's entries (`_TRANSPORT` `kernel`) carry the message in
 * `MESSAGE` and the printk time in `_SOURCE_MONOTONIC_TIMESTAMP` (microseconds since boot, from
 * the /dev/kmsg record; `__MONOTONIC_TIMESTAMP` is when journald read it, later, so it is not
 * used). `MESSAGE` is a string, an array of byte values when it is not valid UTF-8 (decoded here
 * with U+FFFD for invalid bytes), an array of values when the field repeats (the first is
 * taken), or null when journalctl left out a field over 4096 bytes (no line).
 *
 * Each input line gives one output line, so line numbers stay the file's: a kernel entry becomes
 * `[%5lu.%06lu] MESSAGE` (or the bare message without a source time), any other entry (another
 * program's, a field line of `json-pretty`) an empty line, which the importer skips. A
 * `json-pretty` entry is written at its closing `}`. Only JSON.parse reads the text (no eval),
 * a record line is at most {@link MAX_JOURNAL_RECORD} characters (the line splitter's bound
 * for a line that starts with `{`), and of a `json-pretty` entry only the few fields used are
 * kept, so memory stays bounded whatever the input.
 *
 * @module
 */

/** Longest journal record line read (the line splitter keeps `{` lines up to this). */
export const MAX_JOURNAL_RECORD = 65536;

/** What the decoder saw: entries read, of them the kernel's, and record lines it could not read. */
export interface JournalStats {
  /** Journal entries read. */
  entries: number;
  /** Of them, the kernel's (`_TRANSPORT` `kernel` or `SYSLOG_IDENTIFIER` `kernel`). */
  kernel: number;
  /** Lines that looked like a journal record but did not parse as one. */
  unreadable: number;
}

/** Fields of an entry the decoder uses. */
interface Entry {
  message?: unknown;
  transport?: unknown;
  identifier?: unknown;
  sourceMonotonic?: unknown;
}

/** A record line of `json`, `json-seq` (RS first) or `json-sse` (`data: ` first). */
// deno-lint-ignore no-control-regex -- json-seq (RFC 7464) puts an RS byte before a record
const RECORD = /^(?:\u001e|data: )?\s*\{/;
/** A field line of `json-pretty`: `\t"KEY" : value`. */
const PRETTY_FIELD = /^\s*"([A-Za-z0-9_]{1,64})" : (.*?),?\s*$/;

/**
 * Line-at-a-time reader of journalctl's JSON output; other lines pass through unchanged, so a
 * plain log is never changed (a line is read as a record only when it parses as an object with
 * a `MESSAGE` and a journal field such as `__CURSOR` or `_TRANSPORT`).
 *
 * @example
 * ```ts
 * import { JournalJsonDecoder } from "./journal_json.ts";
 * import assert from "node:assert/strict";
 * const d = new JournalJsonDecoder();
 * const rec = JSON.stringify({
 *   __CURSOR: "s=1", _TRANSPORT: "kernel", _SOURCE_MONOTONIC_TIMESTAMP: "1500000",
 *   MESSAGE: "Released 0 page(s)",
 * });
 * assert.deepEqual(d.push(rec), ["[    1.500000] Released 0 page(s)"]);
 * assert.deepEqual(d.push('{"__CURSOR":"s=2","_TRANSPORT":"syslog","MESSAGE":"hi"}'), [""]);
 * assert.deepEqual(d.push("[    2.000000] plain"), ["[    2.000000] plain"]);
 * ```
 */
export class JournalJsonDecoder {
  #stats: JournalStats = { entries: 0, kernel: 0, unreadable: 0 };
  /** Inside a `json-pretty` entry: its fields so far, and the lines it took. */
  #pretty: Entry | undefined;
  #prettyLines = 0;

  /** Entries read so far. */
  get stats(): JournalStats {
    return this.#stats;
  }

  /** Takes the next line; returns the lines to pass on (one per line taken, in order). */
  push(line: string): string[] {
    if (this.#pretty !== undefined) return this.#prettyLine(line);
    const first = line.charCodeAt(0);
    // Cheap on a plain log: only lines that start like a record are looked at.
    if (first !== 0x7b && first !== 0x1e && first !== 0x64 && first !== 0x20 && first !== 9) {
      return [line];
    }
    if (line.trim() === "{") {
      this.#pretty = {};
      this.#prettyLines = 1;
      return [];
    }
    if (!RECORD.test(line)) return [line];
    // deno-lint-ignore no-control-regex -- json-seq (RFC 7464) puts an RS byte before a record
    const json = line.replace(/^(?:\u001e|data: )/, "");
    if (!json.includes('"MESSAGE"')) return [line];
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      this.#stats.unreadable++;
      return [line];
    }
    if (!isJournalRecord(value)) return [line];
    return [this.#entry({
      message: value.MESSAGE,
      transport: value._TRANSPORT,
      identifier: value.SYSLOG_IDENTIFIER,
      sourceMonotonic: value._SOURCE_MONOTONIC_TIMESTAMP,
    })];
  }

  /** Ends the input: a `json-pretty` entry left open is passed on as it stands. */
  end(): string[] {
    if (this.#pretty === undefined) return [];
    return this.#closePretty();
  }

  #prettyLine(line: string): string[] {
    this.#prettyLines++;
    if (line.trim() === "}") return this.#closePretty();
    const m = PRETTY_FIELD.exec(line);
    if (m === null || this.#prettyLines > 4096) {
      // Not a json-pretty field: the `{` was not a record. Pass on what was held, as it was.
      this.#stats.unreadable++;
      const n = this.#prettyLines;
      this.#pretty = undefined;
      this.#prettyLines = 0;
      // The `{` line comes back; field lines read so far are passed on empty.
      return ["{", ...Array(n - 2).fill(""), line];
    }
    const key = m[1];
    const field = PRETTY_FIELDS[key];
    if (field !== undefined) {
      try {
        this.#pretty![field] = JSON.parse(m[2]);
      } catch {
        this.#stats.unreadable++;
      }
    }
    return [];
  }

  #closePretty(): string[] {
    const entry = this.#pretty!;
    const n = this.#prettyLines;
    this.#pretty = undefined;
    this.#prettyLines = 0;
    const out: string[] = Array(Math.max(0, n - 1)).fill("");
    out.push(entry.message === undefined ? "" : this.#entry(entry));
    return out;
  }

  /** The log line an entry stands for ("" for another program's). */
  #entry(e: Entry): string {
    this.#stats.entries++;
    if (e.transport !== "kernel" && e.identifier !== "kernel") return "";
    this.#stats.kernel++;
    const text = messageText(e.message);
    if (text === undefined) return "";
    const us = typeof e.sourceMonotonic === "string" && /^\d{1,15}$/.test(e.sourceMonotonic)
      ? Number(e.sourceMonotonic)
      : undefined;
    if (us === undefined) return text;
    const secs = String(Math.floor(us / 1e6)).padStart(5, " ");
    return `[${secs}.${String(us % 1e6).padStart(6, "0")}] ${text}`;
  }
}

/** json-pretty field name to the entry field kept. */
const PRETTY_FIELDS: Record<string, keyof Entry> = {
  MESSAGE: "message",
  _TRANSPORT: "transport",
  SYSLOG_IDENTIFIER: "identifier",
  _SOURCE_MONOTONIC_TIMESTAMP: "sourceMonotonic",
};

function isJournalRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  return "MESSAGE" in r &&
    ("__CURSOR" in r || "_TRANSPORT" in r || "__REALTIME_TIMESTAMP" in r || "PRIORITY" in r);
}

const BYTES = new TextDecoder("utf-8");

/**
 * The text of a `MESSAGE` value: a string, bytes (non-UTF-8: an array of numbers 0-255), or the
 * first of repeated values. Newlines inside become blanks: one entry is one line.
 */
function messageText(m: unknown): string | undefined {
  if (Array.isArray(m) && m.length > 0 && m.every((b) => typeof b === "number")) {
    if (!m.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) return undefined;
    return BYTES.decode(new Uint8Array(m)).replace(/[\r\n]+/g, " ");
  }
  if (Array.isArray(m)) return messageText(m[0]);
  return typeof m === "string" ? m.replace(/[\r\n]+/g, " ") : undefined;
}
