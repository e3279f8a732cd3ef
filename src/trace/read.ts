/**
 * The streaming trace reader: header first, then events in batches, in constant memory. It
 * checks what one record cannot check alone: `seq` strictly increasing, raw E820 entries not
 * overlapping, the `end` record last with the right count, and a truncated last line (a cut-off
 * recording), which it reports with {@link CutOffError} after yielding every complete event.
 *
 * @module
 */

import { CutOffError, TraceError } from "../errors.ts";
import { EVENT_KINDS, type TraceEnd, type TraceEvent, type TraceHeader } from "./event.ts";
import {
  type Input,
  type LineBatch,
  maybeGunzip,
  openInput,
  type OpenOptions,
  readLineBatches,
} from "./lines.ts";
import { validateEnd, validateEvent, validateHeader } from "./validate.ts";
import { RecordChecks } from "./checks.ts";
import { MAX_MEMBERS, ObjectKeysError, parseJson } from "./json_keys.ts";

/**
 * What `replay` and `check` read events from: a {@link TraceReader}, or a
 * `ThreadedReader` (src/trace/threaded_read.ts) whose parsing runs in a worker.
 */
export interface EventSource {
  /** The file name as given (`-` for stdin). */
  readonly name: string;
  /** The validated header. */
  header(): Promise<TraceHeader>;
  /** Validated events in the reader's batches; throws what the reader throws, where it does. */
  batches(): AsyncGenerator<TraceEvent[]>;
  /** The `end` record, once the batches have finished. */
  readonly end: TraceEnd | undefined;
  /** Stops the reading thread, if any (reading stopped early, or never started). */
  close?(): void;
}

/**
 * Where {@link TraceReader.batchesInto} puts a trace's events: a batch being built that may take
 * an event straight from its line, without the reader parsing it (the parse worker's encoder,
 * `scan_event.ts`).
 */
export interface BatchSink {
  /**
   * Takes the event on `text`, line number `line`, into the open batch and returns its `seq`;
   * or takes nothing and returns -1, and the reader parses and validates the line as always
   * (then {@link add} gets the record). It may take a line only if it holds a valid event and
   * what it takes is that event.
   */
  take(text: string, line: number): number;
  /** Adds an event the reader validated to the open batch. */
  add(e: TraceEvent): void;
  /** Ends the open batch. */
  endBatch(): void;
  /** Drops the open batch's events: an error cut it short. */
  dropBatch(): void;
}

/**
 * Reads one trace. Create it with {@link TraceReader.open} (a path or `-`) or
 * {@link TraceReader.fromText}, read {@link TraceReader.header}, then iterate
 * {@link TraceReader.batches}.
 *
 * @example
 * ```ts
 * import { TraceReader } from "./read.ts";
 * import assert from "node:assert/strict";
 * const r = TraceReader.fromText("t.jsonl", [
 *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *     '"guest":{"type":"pv","domain":"domU"}}',
 *   '{"seq":1,"kind":"mark","text":"hello"}',
 *   '{"kind":"end","events":1}',
 * ].join("\n") + "\n");
 * const header = await r.header();
 * assert.equal(header.producer, "hand");
 * const kinds = [];
 * for await (const batch of r.batches()) for (const e of batch) kinds.push(e.kind);
 * assert.deepEqual(kinds, ["mark"]);
 * assert.equal(r.end?.events, 1);
 * ```
 */
export class TraceReader implements EventSource {
  /** The file name as given (`-` for stdin). */
  readonly name: string;
  #lines: AsyncGenerator<LineBatch>;
  #pending: LineBatch | undefined;
  #pendingIndex = 0;
  #header: TraceHeader | undefined;
  #headerSource: { text: string; line: number } | undefined;
  #end: TraceEnd | undefined;
  #checks: RecordChecks;
  #textSink: ((text: string) => void) | undefined;
  #input: Input | undefined;

  private constructor(name: string, lines: AsyncGenerator<LineBatch>, input?: Input) {
    this.name = name;
    this.#lines = lines;
    this.#checks = new RecordChecks(name);
    this.#input = input;
  }

  /**
   * Opens `path` (or `-` for `stdin`) once, transparently gunzipping, through the bounded
   * input path (src/trace/lines.ts); its bytes are hashed as they are read ({@link TraceReader.sha256})
   * unless `hash` is false. With `held`, the bytes a first pass held are read instead (named `path`).
   */
  static async open(
    path: string,
    stdin?: ReadableStream<Uint8Array>,
    options: Pick<OpenOptions, "hash" | "onChunk" | "onEnd" | "held"> = {},
  ): Promise<TraceReader> {
    const input = await openInput(path, stdin ? { stdin, ...options } : options);
    const stream = await maybeGunzip(input.stream, path);
    return new TraceReader(path, readLineBatches(path, stream), input);
  }

  /**
   * Hex SHA-256 of the file's bytes as read (compressed bytes for a `.gz`), computed while
   * reading, so a FIFO or stdin is read once. Reads whatever is left of the input first, so
   * the digest is never that of a partial read; a data error in the rest is thrown.
   */
  async sha256(): Promise<string> {
    if (this.#input === undefined) {
      throw new Error("sha256(): the trace was not opened from a file");
    }
    for (;;) {
      if (this.#pending) this.#pending = undefined;
      const r = await this.#lines.next();
      if (r.done) break;
    }
    return this.#input.sha256();
  }

  /** The path it was opened from: undefined for stdin (`-`) and text held in memory. */
  get path(): string | undefined {
    return this.#input !== undefined && this.name !== "-" ? this.name : undefined;
  }

  /** Reads a trace held in memory (tests, the library API). */
  static fromText(name: string, text: string): TraceReader {
    const bytes = new TextEncoder().encode(text);
    return new TraceReader(name, readLineBatches(name, ReadableStream.from([bytes])));
  }

  /**
   * Hands `sink` the line of every event {@link TraceReader.batches} validates, in order, so a
   * caller can keep the compact text and re-parse it later ({@link parseEventLine}) instead of
   * holding parsed events. Set it before reading events.
   */
  keepEventText(sink: (text: string) => void): void {
    this.#textSink = sink;
  }

  /** The `end` record, once {@link TraceReader.batches} has finished; undefined if absent. */
  get end(): TraceEnd | undefined {
    return this.#end;
  }

  /**
   * The header's line and its number, once {@link TraceReader.header} has read it: another
   * thread validates the same text into the same header ({@link validateHeader}).
   */
  get headerSource(): { text: string; line: number } | undefined {
    return this.#headerSource;
  }

  /** Number of events read so far. */
  get eventsRead(): number {
    return this.#checks.events;
  }

  /** Reads and validates the header (the first non-blank line). */
  async header(): Promise<TraceHeader> {
    if (this.#header) return this.#header;
    for (;;) {
      const next = await this.#nextLine();
      if (next === undefined) {
        throw new TraceError(
          { file: this.name, line: 1 },
          undefined,
          "a trace header",
          "an empty file",
        );
      }
      const [text, line, terminated] = next;
      if (text.trim() === "") continue;
      const obj = this.#parse(text, line, terminated);
      this.#header = validateHeader({ file: this.name, line }, obj);
      this.#headerSource = { text, line };
      return this.#header;
    }
  }

  /**
   * Yields validated events in batches. Throws {@link TraceError} on the first bad line and
   * {@link CutOffError} (after every complete event) when the last line is truncated.
   */
  async *batches(): AsyncGenerator<TraceEvent[]> {
    await this.header();
    const name = this.name;
    const checks = this.#checks;
    for (;;) {
      const batch = await this.#nextBatch();
      if (batch === undefined) return;
      const from = this.#pendingIndex;
      this.#pendingIndex = 0;
      const out: TraceEvent[] = [];
      const { lines, firstLine } = batch;
      for (let i = from; i < lines.length; i++) {
        const text = lines[i];
        const line = firstLine + i;
        if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === "")) continue;
        if (this.#end) checks.record(line);
        const e = this.#record(text, line, batch.terminated);
        if (e === undefined) continue;
        if (e === CUT_OFF) {
          if (out.length > 0) yield out;
          throw new CutOffError({ file: name, line }, checks.events);
        }
        out.push(e);
        if (this.#textSink !== undefined) this.#textSink(text);
      }
      if (out.length > 0) yield out;
    }
  }

  /**
   * Calls `visit` with each validated event as soon as its line is parsed, throwing what
   * {@link TraceReader.batches} throws where it does (events of a malformed line's batch before
   * it have been visited, where `batches` drops them: a caller stops with the error). No batch
   * of parsed events is held, so an event lives only while `visit` runs: for a caller that does
   * much work per event (`compare` runs ten models on each). A batch of events waiting while
   * ten models allocate through several young-generation collections survives them, and V8
   * then allocates every later event straight into the old generation (allocation-site
   * pretenuring), which grew `summarize` at 1M events to ~220 MB of heap with 45 MB live.
   *
   * @example
   * ```ts
   * import { TraceReader } from "./read.ts";
   * import assert from "node:assert/strict";
   * const r = TraceReader.fromText("t.jsonl", [
   *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
   *     '"guest":{"type":"pv","domain":"domU"}}',
   *   '{"seq":1,"kind":"mark","text":"a"}',
   *   '{"seq":2,"kind":"mark","text":"b"}',
   * ].join("\n") + "\n");
   * const seqs: number[] = [];
   * await r.forEachEvent((e) => seqs.push(e.seq));
   * assert.deepEqual(seqs, [1, 2]);
   * ```
   */
  async forEachEvent(visit: (e: TraceEvent) => void): Promise<void> {
    await this.header();
    const checks = this.#checks;
    for (;;) {
      const batch = await this.#nextBatch();
      if (batch === undefined) return;
      const { lines, firstLine } = batch;
      for (let i = this.#pendingIndex; i < lines.length; i++) {
        const text = lines[i];
        const line = firstLine + i;
        if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === "")) continue;
        if (this.#end) checks.record(line);
        const e = this.#record(text, line, batch.terminated);
        if (e === undefined) continue;
        if (e === CUT_OFF) throw new CutOffError({ file: this.name, line }, checks.events);
        if (this.#textSink !== undefined) this.#textSink(text);
        visit(e);
      }
      this.#pendingIndex = 0;
    }
  }

  /**
   * {@link TraceReader.batches} into `sink`, which may take lines straight from their text
   * ({@link BatchSink.take}); yields the number of events in each batch once the sink has ended
   * it. The batches, the checks across lines and every error are those of
   * {@link TraceReader.batches}: the events of a batch an error cuts short are dropped, except
   * before a cut-off last line, where they are delivered first, as there.
   */
  async *batchesInto(sink: BatchSink): AsyncGenerator<number> {
    await this.header();
    const name = this.name;
    const checks = this.#checks;
    for (;;) {
      const batch = await this.#nextBatch();
      if (batch === undefined) return;
      const { lines, firstLine } = batch;
      let count = 0;
      try {
        for (let i = this.#pendingIndex; i < lines.length; i++) {
          const text = lines[i];
          const line = firstLine + i;
          if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === "")) continue;
          if (this.#end) checks.record(line);
          const seq = sink.take(text, line);
          if (seq >= 0) {
            checks.eventAt(line, seq);
          } else {
            const e = this.#record(text, line, batch.terminated);
            if (e === undefined) continue;
            if (e === CUT_OFF) {
              if (count > 0) {
                sink.endBatch();
                yield count;
              }
              throw new CutOffError({ file: name, line }, checks.events);
            }
            sink.add(e);
          }
          count++;
          if (this.#textSink !== undefined) this.#textSink(text);
        }
      } catch (e) {
        if (!(e instanceof CutOffError)) sink.dropBatch();
        throw e;
      }
      this.#pendingIndex = 0;
      if (count > 0) {
        sink.endBatch();
        yield count;
      }
    }
  }

  /** The next batch of lines, from {@link #pendingIndex} (lines the header left), or undefined. */
  async #nextBatch(): Promise<LineBatch | undefined> {
    if (this.#pending) {
      const batch = this.#pending;
      this.#pending = undefined;
      return batch;
    }
    this.#pendingIndex = 0;
    const r = await this.#lines.next();
    return r.done ? undefined : r.value;
  }

  /**
   * Parses and validates one non-blank line after the header: its event, with the checks across
   * lines made; undefined for the `end` record; {@link CUT_OFF} for a cut-off last line.
   */
  #record(
    text: string,
    line: number,
    terminated: boolean,
  ): TraceEvent | undefined | typeof CUT_OFF {
    const name = this.name;
    let obj: unknown;
    try {
      obj = parseRecord(text);
    } catch (e) {
      if (e instanceof ObjectKeysError) throw e.traceError({ file: name, line });
      if (!terminated) return CUT_OFF;
      throw new TraceError(
        { file: name, line },
        undefined,
        "one JSON object per line",
        jsonProblem(text),
      );
    }
    if ((obj as Record<string, unknown>)?.kind === "end") {
      this.#end = validateEnd({ file: name, line }, obj as Record<string, unknown>);
      this.#checks.end(line, this.#end.events);
      return undefined;
    }
    const e = validateEvent({ file: name, line }, obj);
    this.#checks.event(e);
    return e;
  }

  /** The next non-blank line (blank lines skipped within a batch, without an await each). */
  async #nextLine(): Promise<[string, number, boolean] | undefined> {
    for (;;) {
      if (!this.#pending) {
        const r = await this.#lines.next();
        if (r.done) return undefined;
        this.#pending = r.value;
        this.#pendingIndex = 0;
      }
      const b = this.#pending;
      const lines = b.lines;
      let i = this.#pendingIndex;
      while (i < lines.length && (lines[i].length === 0 || lines[i].trim() === "")) i++;
      if (i < lines.length) {
        this.#pendingIndex = i + 1;
        const terminated = b.terminated || i < lines.length - 1;
        if (this.#pendingIndex >= lines.length) this.#pending = undefined;
        return [lines[i], b.firstLine + i, terminated];
      }
      this.#pending = undefined;
    }
  }

  #parse(text: string, line: number, terminated: boolean): unknown {
    try {
      return parseJson(text);
    } catch (e) {
      if (e instanceof ObjectKeysError) throw e.traceError({ file: this.name, line });
      // A recording cut off inside its header has nothing to replay: that is unusable data,
      // not a cut-off recording whose complete events can still be used.
      if (!terminated) {
        throw new TraceError(
          { file: this.name, line },
          undefined,
          "a complete trace header",
          `a cut-off line (no newline, not complete JSON): ${jsonProblem(text)}`,
        );
      }
      throw new TraceError(
        { file: this.name, line },
        undefined,
        "one JSON object per line",
        jsonProblem(text),
      );
    }
  }
}

/** What {@link TraceReader}'s line parser returns for a cut-off last line. */
const CUT_OFF = Symbol("cut off");

/**
 * `JSON.parse` of one trace line, refusing a key given twice in one object
 * ({@link ObjectKeysError}: `JSON.parse` would keep the last value and lose the others) and
 * an object of more than {@link MAX_MEMBERS} members, with
 * a faster path for the flat records a long trace is made of: an object with string, number,
 * boolean and null members and arrays of strings or numbers, written without whitespace or
 * escapes. Anything else (nested objects, escapes, spaces, a repeated key, a malformed line)
 * goes to {@link parseJson}, so the result and the exception are always those of `JSON.parse`
 * but for a repeated key.
 *
 * @example
 * ```ts
 * import { parseRecord } from "./read.ts";
 * import assert from "node:assert/strict";
 * const line = '{"seq":7,"kind":"decrease_reservation","pfns":["0x10","0x11"],"t":1.5e3}';
 * assert.deepEqual(parseRecord(line), JSON.parse(line));
 * assert.deepEqual(parseRecord('{ "a" : [ {"b": "\\n"} ] }'), { a: [{ b: "\n" }] });
 * assert.throws(() => parseRecord('{"seq":01}'), SyntaxError);
 * assert.throws(() => parseRecord('{"kind":"lookup","kind":"mark"}'), /"kind" is given twice/);
 * ```
 */
export function parseRecord(text: string): unknown {
  return scanFlatObject(text) ?? parseJson(text);
}

/** The fast path of {@link parseRecord}: the object, or undefined to let `JSON.parse` decide. */
function scanFlatObject(s: string): Record<string, unknown> | undefined {
  const n = s.length;
  if (n < 2 || s.charCodeAt(0) !== 123 || s.charCodeAt(n - 1) !== 125) return undefined;
  // No escapes and no control characters anywhere: then every string ends at its next quote.
  if (s.indexOf("\\") >= 0 || CONTROL.test(s)) return undefined;
  const o: Record<string, unknown> = {};
  if (n === 2) return o;
  let i = 1;
  let seen = 0; // the known keys met, as bits of their index in RECORD_FIELD_NAMES
  // Members so far: more than MAX_MEMBERS are parseJson's to refuse, before it builds them.
  for (let members = 1; members <= MAX_MEMBERS; members++) {
    const ke = stringEnd(s, i);
    if (ke < 0 || s.charCodeAt(ke + 1) !== 58) return undefined;
    const k = knownIndex(s, i + 1, ke);
    let key: string;
    // A key given twice: parseJson refuses it. (An unknown one that Object.prototype has,
    // such as `constructor`, goes there too, harmlessly.)
    if (k >= 0) {
      if (seen & (1 << k)) return undefined;
      seen |= 1 << k;
      key = RECORD_FIELD_NAMES[k];
    } else {
      key = s.slice(i + 1, ke);
      if (key === "__proto__" || o[key] !== undefined) return undefined;
    }
    i = ke + 2;
    const c = s.charCodeAt(i);
    let v: unknown;
    if (c === 34) {
      const e = stringEnd(s, i);
      if (e < 0) return undefined;
      v = e - i > SLICE_MIN
        ? knownString(KNOWN_VALUES, s, i + 1, e) ?? own(s.slice(i + 1, e))
        : s.slice(i + 1, e);
      i = e + 1;
    } else if (c === 91) {
      const arr: unknown[] = [];
      i++;
      if (s.charCodeAt(i) === 93) i++;
      else {
        for (;;) {
          const d = s.charCodeAt(i);
          if (d === 34) {
            const e = stringEnd(s, i);
            if (e < 0) return undefined;
            arr.push(e - i > SLICE_MIN ? own(s.slice(i + 1, e)) : s.slice(i + 1, e));
            i = e + 1;
          } else {
            const e = numberEnd(s, i);
            if (e < 0) return undefined;
            arr.push(Number(s.slice(i, e)));
            i = e;
          }
          const sep = s.charCodeAt(i++);
          if (sep === 93) break;
          if (sep !== 44) return undefined;
        }
      }
      v = arr;
    } else if (c === 116 && s.startsWith("true", i)) {
      v = true;
      i += 4;
    } else if (c === 102 && s.startsWith("false", i)) {
      v = false;
      i += 5;
    } else if (c === 110 && s.startsWith("null", i)) {
      v = null;
      i += 4;
    } else {
      const e = numberEnd(s, i);
      if (e < 0) return undefined;
      v = Number(s.slice(i, e));
      i = e;
    }
    o[key] = v;
    const sep = s.charCodeAt(i++);
    if (sep === 125) return i === n ? o : undefined;
    if (sep !== 44) return undefined;
  }
  return undefined;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f]/;

/**
 * The field names of trace records that the fast path hands out as literals: a key found here is
 * the literal itself, already internalized, where a key sliced out of the line would be a new
 * string that V8 hashes and looks up in its string table before it can name a property, for every
 * field of every line (a third of the fast path's time on the bench trace).
 *
 * @example
 * ```ts
 * import { RECORD_FIELD_NAMES } from "./read.ts";
 * import assert from "node:assert/strict";
 * assert.ok(RECORD_FIELD_NAMES.includes("pfn"));
 * ```
 */
export const RECORD_FIELD_NAMES: readonly string[] = [
  "seq",
  "time",
  "kind",
  "pfn",
  "pfns",
  "end_pfn",
  "pages",
  "mfn",
  "scratch_mfn",
  "via",
  "by",
  "iomap",
  "observed",
  "addr",
  "text",
  "device",
  "resources",
  "action",
  "start",
  "end",
  "size",
  "type",
  "map",
  "index",
  "flags",
  "name",
  "bus",
  "physfn",
  "xen_flags",
  "events",
  "lines",
];

/**
 * The string values every line of a long trace repeats (event kinds, lookup paths, write
 * primitives), handed out as literals: the fast path neither copies nor hashes them
 * ({@link own} does both, for a value of {@link SLICE_MIN} or more).
 *
 * @example
 * ```ts
 * import { RECORD_STRING_VALUES } from "./read.ts";
 * import assert from "node:assert/strict";
 * assert.ok(RECORD_STRING_VALUES.includes("set_phys_to_machine"));
 * ```
 */
export const RECORD_STRING_VALUES: readonly string[] = [
  ...EVENT_KINDS,
  "pfn_to_mfn",
  "get_phys_to_machine",
  "phys_to_machine",
  "set_phys_to_machine",
  "__set_phys_to_machine",
  "early_set_phys_to_machine",
];

/** Indexes in {@link RECORD_FIELD_NAMES} by the name's length (at most 32 names: a bit each). */
const KNOWN_KEYS: number[][] = [];
RECORD_FIELD_NAMES.forEach((k, i) => (KNOWN_KEYS[k.length] ??= []).push(i));

/** Index in {@link RECORD_FIELD_NAMES} of the name `s` spells from `from` to `to`, or -1. */
function knownIndex(s: string, from: number, to: number): number {
  const candidates = KNOWN_KEYS[to - from];
  if (candidates === undefined) return -1;
  for (let i = 0; i < candidates.length; i++) {
    if (s.startsWith(RECORD_FIELD_NAMES[candidates[i]], from)) return candidates[i];
  }
  return -1;
}

/** {@link RECORD_STRING_VALUES} by length. */
const KNOWN_VALUES = byLength(RECORD_STRING_VALUES);

/** `strings` grouped by length. */
function byLength(strings: readonly string[]): string[][] {
  const out: string[][] = [];
  for (const k of strings) (out[k.length] ??= []).push(k);
  return out;
}

/** The string of `known` (grouped by length) spelled by `s` from `from` to `to`, or undefined. */
function knownString(
  known: readonly (readonly string[])[],
  s: string,
  from: number,
  to: number,
): string | undefined {
  const candidates = known[to - from];
  if (candidates === undefined) return undefined;
  for (let i = 0; i < candidates.length; i++) {
    if (s.startsWith(candidates[i], from)) return candidates[i];
  }
  return undefined;
}

/**
 * V8 makes a substring of 13 or more characters a view into its parent (here the 64 KiB chunk
 * the line came from); a record that is kept (a timeline, minimize) must not keep its input
 * alive, so such strings are replaced by an independent copy: the interned string, shared by
 * the records that hold the same text (event kinds, driver names), as `JSON.parse` would
 * give a copy.
 */
const SLICE_MIN = 13;
const OWNED = new Map<string, string>();

function own(s: string): string {
  let v = OWNED.get(s);
  if (v === undefined) {
    // The text has no escapes or control characters, so it is its own JSON string literal;
    // parsing it gives a flat copy. (Interning through an object key also copies, but a
    // 900,000-line p2m_dump spent 19 s growing the string table that way.)
    v = JSON.parse('"' + s + '"') as string;
    if (OWNED.size < 4096) OWNED.set(v, v);
  }
  return v;
}

/** Index of the quote closing the string opening at `i` (the line has no escapes), or -1. */
function stringEnd(s: string, i: number): number {
  return s.charCodeAt(i) === 34 ? s.indexOf('"', i + 1) : -1;
}

/**
 * End of the JSON number starting at `s[i]` (`-?(0|[1-9]d*)(.d+)?([eE][+-]?d+)?`), or -1.
 *
 * @example
 * ```ts
 * import { numberEnd } from "./read.ts";
 * import assert from "node:assert/strict";
 * assert.equal(numberEnd('{"t":-1.5e3}', 5), 11);
 * assert.equal(numberEnd('{"t":1.}', 5), -1);
 * ```
 */
export function numberEnd(s: string, i: number): number {
  let j = i;
  if (s.charCodeAt(j) === 45) j++;
  const first = s.charCodeAt(j);
  if (first === 48) j++;
  else if (first >= 49 && first <= 57) {
    do j++; while (isDigit(s.charCodeAt(j)));
  } else return -1;
  if (s.charCodeAt(j) === 46) {
    j++;
    if (!isDigit(s.charCodeAt(j))) return -1;
    do j++; while (isDigit(s.charCodeAt(j)));
  }
  const e = s.charCodeAt(j);
  if (e === 101 || e === 69) {
    j++;
    const sign = s.charCodeAt(j);
    if (sign === 43 || sign === 45) j++;
    if (!isDigit(s.charCodeAt(j))) return -1;
    do j++; while (isDigit(s.charCodeAt(j)));
  }
  return j;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** A short description of why `text` is not JSON, with a snippet. */
function jsonProblem(text: string): string {
  // A file whose lines end in a bare CR reads as one long line of records: say so, since the
  // snippet alone ('{..."kind":"e820"...') looks like valid JSON.
  if (/\}[ \t]*\r+[ \t]*\{/.test(text)) {
    return "records separated by bare carriage returns (CR line ends); a trace's lines end in " +
      "LF or CRLF (convert with: tr '\\r' '\\n')";
  }
  const snippet = text.length > 40 ? text.slice(0, 37) + "..." : text;
  return `invalid JSON ${JSON.stringify(snippet)}`;
}

/**
 * Parses and validates one event line exactly as {@link TraceReader.batches} did when it
 * first read it (the checks across lines, such as seq order, were made then).
 *
 * @example
 * ```ts
 * import { parseEventLine } from "./read.ts";
 * import assert from "node:assert/strict";
 * const e = parseEventLine("t.jsonl", 7, '{"seq":6,"kind":"lookup","pfn":"0x80000"}');
 * assert.equal(e.line, 7);
 * assert.equal(e.kind, "lookup");
 * ```
 */
export function parseEventLine(file: string, line: number, text: string): TraceEvent {
  let obj: unknown;
  try {
    obj = parseRecord(text);
  } catch (e) {
    throw e instanceof ObjectKeysError ? e.traceError({ file, line }) : e;
  }
  return validateEvent({ file, line }, obj);
}
