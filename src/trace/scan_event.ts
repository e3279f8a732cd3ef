/**
 * The parse thread's fast path: an event line of the kinds a long trace is made of (ballooning,
 * lookups, marks), in the plain form traces are written in, scanned and validated straight into
 * the binary batch (`event_codec.ts`), with no object built for the record, its fields or its
 * ranges. A line it does not take (another kind, an unusual form, anything it would have to
 * reject) is left to the reader's parse and validation, which then gives the record or the
 * error, so what it takes is exactly what those would have made of the line: the same bytes as
 * {@link EventEncoder.event} of `validateEvent(parseRecord(line))` (a property test holds it
 * to that).
 *
 * It takes a line only when it is certain: an object of members written without whitespace or
 * escapes, every key at most once, `seq` a plain integer, `time` a plain decimal of at most 15
 * digits, PFNs and MFNs `"0x..."` strings of at most 13 digits, and no field the kind reads
 * (`end_pfn`, `pages`, `addr`) that it does not handle. Members other kinds read, and unknown
 * members with string, number or literal values, are skipped, as validation ignores them.
 *
 * @module
 */

import type { EventEncoder } from "./event_codec.ts";
import { LOOKUP_VIAS } from "./event_codec.ts";
import type { BatchSink } from "./read.ts";
import type { EventKind, TraceEvent } from "./event.ts";
import { FRAME_LIMIT } from "./hex.ts";
import { MAX_TEXT } from "./validate.ts";
import { numberEnd } from "./read.ts";

/** Members the fast path reads; their index is their bit in the scanner's `seen` mask. */
const KEYS = [
  "seq",
  "time",
  "kind",
  "pfn",
  "pfns",
  "end_pfn",
  "pages",
  "mfn",
  "scratch_mfn",
  "addr",
  "via",
  "iomap",
  "observed",
  "by",
  "text",
] as const;
const SEQ = 0, TIME = 1, KIND = 2, PFN = 3, PFNS = 4, END_PFN = 5, PAGES = 6, MFN = 7;
const SCRATCH_MFN = 8, ADDR = 9, VIA = 10, IOMAP = 11, OBSERVED = 12, BY = 13, TEXT = 14;

/**
 * Kinds of member value: a string, a number in another form, a plain integer (digits only, at
 * most 15), a plain decimal (digits and a point, at most 15 digits), the literals, a flat array.
 */
const STR = 1, NUM = 2, INT = 3, DEC = 4, TRUE = 5, FALSE = 6, NULL = 7, ARR = 8;

/**
 * The kinds whose lines it takes (the others go to the reader).
 *
 * @example
 * ```ts
 * import { SCANNED_KINDS } from "./scan_event.ts";
 * import assert from "node:assert/strict";
 * assert.ok(SCANNED_KINDS.includes("decrease_reservation"));
 * ```
 */
export const SCANNED_KINDS: readonly EventKind[] = [
  "decrease_reservation",
  "increase_reservation",
  "balloon_retrieve",
  "balloon_append",
  "lookup",
  "mark",
];

/** Most members not in {@link KEYS} on a line it takes. */
const MAX_OTHER_KEYS = 8;

/** Longest `pfns` list it takes (the reader's fast validation takes as many). */
const MAX_FAST_PFNS = 64;

/**
 * Most digits of a number it reads itself: as an integer m they are below 2^53, and 10^k is
 * exact, so m / 10^k is the correctly rounded value of the decimal, which `Number` gives.
 */
const MAX_PLAIN_DIGITS = 15;

const POW10 = Array.from({ length: MAX_PLAIN_DIGITS + 1 }, (_, i) => 10 ** i);

/** `strings` grouped by length, each with its index in `strings`. */
function byLength(strings: readonly string[]): [string, number][][] {
  const out: [string, number][][] = [];
  strings.forEach((k, i) => (out[k.length] ??= []).push([k, i]));
  return out;
}

/**
 * {@link KEYS} by length and their first two characters: `keyIndex` looks a key up with one
 * load and confirms it with one comparison, where trying the keys of each length in turn cost
 * a third of the scan.
 */
const KEY_AT = (() => {
  const table = new Int8Array(16 << 7).fill(-1);
  KEYS.forEach((k, i) => {
    const at = keySlot(k, 0, k.length);
    if (table[at] !== -1) {
      throw new Error(`scan_event: keys ${KEYS[table[at]]} and ${k} share a slot`);
    }
    table[at] = i;
  });
  return table;
})();

function keySlot(s: string, from: number, to: number): number {
  return (to - from) << 7 | ((s.charCodeAt(from) + s.charCodeAt(from + 1)) & 127);
}

/** Index in {@link KEYS} of the key `s` spells from `from` to `to`, or -1. */
function keyIndex(s: string, from: number, to: number): number {
  if (to - from < 2 || to - from > 15) return -1;
  const k = KEY_AT[keySlot(s, from, to)];
  return k >= 0 && s.startsWith(KEYS[k], from) ? k : -1;
}

const KINDS = SCANNED_KINDS;
const KINDS_BY_LENGTH = byLength(KINDS);
const VIAS_BY_LENGTH = byLength(LOOKUP_VIAS);

/** Index in its list of the string `s` spells from `from` to `to`, or -1. */
function known(table: readonly [string, number][][], s: string, from: number, to: number): number {
  const candidates = table[to - from];
  if (candidates === undefined) return -1;
  for (let i = 0; i < candidates.length; i++) {
    if (s.startsWith(candidates[i][0], from)) return candidates[i][1];
  }
  return -1;
}

/**
 * The `"0x..."` frame number `s` spells from `from` to `to` (quotes excluded), at most 13
 * digits and below `limit`; -1 for anything else (the reader then decides).
 */
function hexAt(s: string, from: number, to: number, limit: number): number {
  const len = to - from;
  if (len < 3 || len > 15 || s.charCodeAt(from) !== 48 || (s.charCodeAt(from + 1) | 0x20) !== 120) {
    return -1;
  }
  let n = 0;
  for (let i = from + 2; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) n = n * 16 + (c - 48);
    else {
      const l = c | 0x20;
      if (l < 97 || l > 102) return -1;
      n = n * 16 + (l - 87);
    }
  }
  return n < limit ? n : -1;
}

/**
 * Scans event lines into an {@link EventEncoder}, and is the {@link BatchSink} the parse
 * worker hands {@link TraceReader.batchesInto}: the lines it takes go straight into the open
 * batch, the others come back from the reader as validated records.
 *
 * @example
 * ```ts
 * import { LineEncoder } from "./scan_event.ts";
 * import { decodeBatches, EventEncoder } from "./event_codec.ts";
 * import assert from "node:assert/strict";
 * const enc = new EventEncoder();
 * const sink = new LineEncoder(enc);
 * assert.equal(sink.take('{"seq":4,"time":1.5,"kind":"decrease_reservation","pfn":"0x10"}', 6), 4);
 * assert.equal(sink.take('{"seq":5,"kind":"e820","start":"0x0","size":"0x1000"}', 7), -1);
 * sink.endBatch();
 * const buf = new ArrayBuffer(enc.byteLength);
 * enc.writeTo(buf);
 * assert.deepEqual([...decodeBatches(buf)], [[
 *   { seq: 4, line: 6, time: 1.5, kind: "decrease_reservation", ranges: [{ pfn: 16, endPfn: 17 }] },
 * ]]);
 * ```
 */
export class LineEncoder implements BatchSink {
  readonly #enc: EventEncoder;
  /** Per member of {@link KEYS} seen on this line: its value's kind, span and number. */
  readonly #type = new Uint8Array(KEYS.length);
  readonly #from = new Int32Array(KEYS.length);
  readonly #to = new Int32Array(KEYS.length);
  /** A number's value (INT, DEC); a string's `"0x..."` value of at most 13 digits, or -1. */
  readonly #value = new Float64Array(KEYS.length);
  /** The line's PFN ranges, as pairs (pfn, endPfn). */
  readonly #ranges = new Float64Array(2 * MAX_FAST_PFNS);
  #rangeCount = 0;
  /** The names of the other members on this line, as (from, to) pairs: a repeat is refused. */
  readonly #otherKeys = new Int32Array(2 * MAX_OTHER_KEYS);

  /** Writes into `encoder`. */
  constructor(encoder: EventEncoder) {
    this.#enc = encoder;
  }

  /**
   * Writes the event on `text` (line number `line`) into the open batch and returns its `seq`;
   * or writes nothing and returns -1 when it leaves the line to the reader.
   */
  take(text: string, line: number): number {
    const seen = this.#scan(text);
    if (seen < 0 || (seen & (1 << SEQ | 1 << KIND)) !== (1 << SEQ | 1 << KIND)) return -1;
    const type = this.#type, from = this.#from, to = this.#to, value = this.#value;
    if (type[KIND] !== STR || type[SEQ] !== INT) return -1;
    const code = known(KINDS_BY_LENGTH, text, from[KIND], to[KIND]);
    if (code < 0) return -1;
    const kind = KINDS[code];
    // Members this kind does not read must still be JSON strings without escapes.
    if (!this.#plainRest(text, seen & ~STRICT[code])) return -1;
    const seq = value[SEQ];
    let time: number | undefined;
    if (seen & (1 << TIME)) {
      if (type[TIME] !== INT && type[TIME] !== DEC) return -1;
      time = value[TIME];
    }
    const enc = this.#enc;
    switch (kind) {
      case "decrease_reservation":
      case "increase_reservation":
      case "balloon_retrieve": {
        const m = kind === "decrease_reservation" ? SCRATCH_MFN : MFN;
        const mfn = seen & (1 << m) ? this.#frame(m) : -2;
        if (mfn === -1 || !this.#pfnRanges(text, seen)) return -1;
        enc.scanned(kind, seq, line, time);
        this.#writeRanges();
        enc.tag(mfn < 0 ? 0 : 1);
        if (mfn >= 0) enc.num(mfn);
        return seq;
      }
      case "balloon_append":
        if (!this.#pfnRanges(text, seen)) return -1;
        enc.scanned(kind, seq, line, time);
        this.#writeRanges();
        return seq;
      case "lookup": {
        if (seen & (1 << ADDR)) return -1;
        const pfn = seen & (1 << PFN) ? this.#frame(PFN) : -1;
        if (pfn < 0) return -1;
        let via = 0;
        if (seen & (1 << VIA)) {
          via = type[VIA] === STR ? known(VIAS_BY_LENGTH, text, from[VIA], to[VIA]) : -1;
          if (via < 0) return -1;
        }
        let bits = 0;
        if (seen & (1 << IOMAP)) {
          if (type[IOMAP] === TRUE) bits = 1;
          else if (type[IOMAP] !== FALSE) return -1;
        }
        let observed: bigint | undefined;
        if (seen & (1 << OBSERVED)) {
          observed = type[OBSERVED] === STR ? u64(text, from[OBSERVED], to[OBSERVED]) : undefined;
          if (observed === undefined) return -1;
          bits |= 2;
        }
        if (seen & (1 << BY)) {
          if (!this.#text(text, BY)) return -1;
          bits |= 4;
        }
        enc.scanned(kind, seq, line, time);
        enc.num(pfn);
        enc.num(0);
        enc.tag(via);
        enc.tag(bits);
        if (observed !== undefined) enc.u64(observed);
        if (bits & 4) enc.text(text, from[BY], to[BY]);
        return seq;
      }
      case "mark":
        if (!(seen & (1 << TEXT)) || !this.#text(text, TEXT)) return -1;
        enc.scanned(kind, seq, line, time);
        enc.text(text, from[TEXT], to[TEXT]);
        return seq;
    }
    return -1;
  }

  /** Adds an event the reader parsed and validated. */
  add(e: TraceEvent): void {
    this.#enc.event(e);
  }

  /** Ends the open batch. */
  endBatch(): void {
    this.#enc.endBatch();
  }

  /** Drops the open batch. */
  dropBatch(): void {
    this.#enc.dropBatch();
  }

  /**
   * Scans `s` as a flat JSON object with no whitespace, noting the members of {@link KEYS}:
   * the mask of those seen, or -1 when the line is not one it takes (not such an object, a
   * member twice, an escape or control character in another member's name or string, more
   * than {@link MAX_OTHER_KEYS} other members).
   * Numbers and `"0x..."` strings are read as they are scanned.
   */
  #scan(s: string): number {
    const n = s.length;
    if (n < 3 || s.charCodeAt(0) !== 123 || s.charCodeAt(n - 1) !== 125) return -1;
    const type = this.#type, from = this.#from, to = this.#to, value = this.#value;
    let seen = 0;
    let others = 0;
    let i = 1;
    for (;;) {
      if (s.charCodeAt(i) !== 34) return -1;
      const ke = s.indexOf('"', i + 1);
      if (ke < 0 || s.charCodeAt(ke + 1) !== 58) return -1;
      const key = keyIndex(s, i + 1, ke);
      if (key < 0) {
        // Another member: skipped, but a name given twice is the reader's to refuse.
        if (!plain(s, i + 1, ke) || others === MAX_OTHER_KEYS) return -1;
        const names = this.#otherKeys;
        for (let k = 0; k < others; k++) {
          const f = names[2 * k], t = names[2 * k + 1];
          if (t - f === ke - i - 1 && s.startsWith(s.slice(f, t), i + 1)) return -1;
        }
        names[2 * others] = i + 1;
        names[2 * others + 1] = ke;
        others++;
      }
      i = ke + 2;
      const c = s.charCodeAt(i);
      let t: number, f: number, e: number, v = -1;
      if (c === 34) {
        // A string; a "0x..." one is read on the way to its closing quote.
        t = STR;
        f = i + 1;
        e = -1;
        if (s.charCodeAt(f) === 48 && (s.charCodeAt(f + 1) | 0x20) === 120) {
          let j = f + 2, h = 0, d: number;
          for (;;) {
            d = s.charCodeAt(j);
            if (d >= 48 && d <= 57) h = h * 16 + (d - 48);
            else if ((d | 0x20) >= 97 && (d | 0x20) <= 102) h = h * 16 + ((d | 0x20) - 87);
            else break;
            j++;
          }
          if (d === 34) {
            e = j;
            if (j - f > 2 && j - f <= 15) v = h;
          }
        }
        if (e < 0) {
          e = s.indexOf('"', f);
          if (e < 0 || (key < 0 && !plain(s, f, e))) return -1;
        }
        i = e + 1;
      } else if (c >= 48 && c <= 57) {
        // A number; digits with at most one point are read on the way.
        f = i;
        let m = 0, digits = 0, point = -1, d = c;
        for (;;) {
          if (d >= 48 && d <= 57) {
            m = m * 10 + (d - 48);
            digits++;
          } else if (d === 46 && point < 0) point = i;
          else break;
          d = s.charCodeAt(++i);
        }
        e = i;
        if (
          d === 101 || d === 69 || digits > MAX_PLAIN_DIGITS || point === e - 1 ||
          (c === 48 && digits > 1 && point !== f + 1)
        ) {
          // An exponent, too many digits, or not JSON (the separator check below decides).
          e = numberEnd(s, f);
          if (e < 0) return -1;
          t = NUM;
          i = e;
        } else if (point < 0) {
          t = INT;
          v = m;
        } else {
          t = DEC;
          v = m / POW10[e - point - 1];
        }
      } else if (c === 91) {
        t = ARR;
        f = i + 1;
        e = arrayEnd(s, i);
        if (e < 0 || (key < 0 && !plain(s, f, e))) return -1;
        i = e + 1;
      } else if (c === 116 && s.startsWith("true", i)) {
        t = TRUE;
        f = e = i;
        i += 4;
      } else if (c === 102 && s.startsWith("false", i)) {
        t = FALSE;
        f = e = i;
        i += 5;
      } else if (c === 110 && s.startsWith("null", i)) {
        t = NULL;
        f = e = i;
        i += 4;
      } else {
        e = numberEnd(s, i); // a negative number
        if (e < 0) return -1;
        t = NUM;
        f = i;
        i = e;
      }
      if (key >= 0) {
        if (seen & (1 << key)) return -1;
        seen |= 1 << key;
        type[key] = t;
        from[key] = f;
        to[key] = e;
        value[key] = v;
      }
      const sep = s.charCodeAt(i++);
      if (sep === 125) return i === n ? seen : -1;
      if (sep !== 44) return -1;
    }
  }

  /** True when every string and list member of `mask` is free of escapes and control characters. */
  #plainRest(s: string, mask: number): boolean {
    for (let k = 0; mask !== 0; k++, mask >>>= 1) {
      if ((mask & 1) && (this.#type[k] === STR || this.#type[k] === ARR)) {
        if (!plain(s, this.#from[k], this.#to[k])) return false;
      }
    }
    return true;
  }

  /** The frame number member `k` holds (a `"0x..."` string below 2^40), or -1. */
  #frame(k: number): number {
    const v = this.#value[k];
    return this.#type[k] === STR && v < FRAME_LIMIT ? v : -1;
  }

  /** True when member `k` is a string the validator takes as free text. */
  #text(s: string, k: number): boolean {
    const from = this.#from[k], to = this.#to[k];
    return this.#type[k] === STR && to - from <= MAX_TEXT && plain(s, from, to);
  }

  /**
   * The line's PFN ranges into {@link #ranges}, coalesced in trace order as the validator
   * coalesces them: `pfn` alone, or a `pfns` list of at most {@link MAX_FAST_PFNS} distinct
   * PFNs. False for any other form (the reader decides).
   */
  #pfnRanges(s: string, seen: number): boolean {
    const r = this.#ranges;
    if (!(seen & (1 << PFNS))) {
      if (seen & (1 << END_PFN | 1 << PAGES)) return false;
      const pfn = seen & (1 << PFN) ? this.#frame(PFN) : -1;
      if (pfn < 0) return false;
      r[0] = pfn;
      r[1] = pfn + 1;
      this.#rangeCount = 1;
      return true;
    }
    if (seen & (1 << PFN) || this.#type[PFNS] !== ARR) return false;
    let count = 0, listed = 0;
    let i = this.#from[PFNS];
    const end = this.#to[PFNS];
    while (i < end) {
      if (s.charCodeAt(i) !== 34 || ++listed > MAX_FAST_PFNS) return false;
      const e = s.indexOf('"', i + 1);
      const pfn = hexAt(s, i + 1, e, FRAME_LIMIT);
      if (pfn < 0) return false;
      for (let j = 0; j < 2 * count; j += 2) {
        if (pfn >= r[j] && pfn < r[j + 1]) return false; // listed twice: the reader names it
      }
      if (count > 0 && r[2 * count - 1] === pfn) r[2 * count - 1]++;
      else {
        r[2 * count] = pfn;
        r[2 * count + 1] = pfn + 1;
        count++;
      }
      i = e + 2; // past the quote and the comma (or the closing bracket)
    }
    if (count === 0) return false;
    this.#rangeCount = count;
    return true;
  }

  #writeRanges(): void {
    const enc = this.#enc, r = this.#ranges, count = this.#rangeCount;
    enc.num(count);
    for (let j = 0; j < 2 * count; j++) enc.num(r[j]);
  }
}

/** True when `s` from `from` to `to` holds no escape (`\\`) and no control character. */
function plain(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 92) return false;
  }
  return true;
}

/** Members each of {@link KINDS} reads itself, checking their form: the rest must be plain. */
const STRICT: readonly number[] = KINDS.map((kind) => {
  const base = 1 << SEQ | 1 << TIME | 1 << KIND;
  switch (kind) {
    case "decrease_reservation":
      return base | 1 << PFN | 1 << PFNS | 1 << SCRATCH_MFN;
    case "increase_reservation":
    case "balloon_retrieve":
      return base | 1 << PFN | 1 << PFNS | 1 << MFN;
    case "balloon_append":
      return base | 1 << PFN | 1 << PFNS;
    case "lookup":
      return base | 1 << PFN | 1 << VIA | 1 << IOMAP | 1 << OBSERVED | 1 << BY | 1 << ADDR;
    default:
      return base | 1 << TEXT;
  }
});

/**
 * Index of the `]` closing the flat array opening at `i`: strings and numbers separated by
 * commas; -1 for anything else (nested values, literals, a malformed list).
 */
function arrayEnd(s: string, i: number): number {
  i++;
  if (s.charCodeAt(i) === 93) return i;
  for (;;) {
    if (s.charCodeAt(i) === 34) {
      const e = s.indexOf('"', i + 1);
      if (e < 0) return -1;
      i = e + 1;
    } else {
      const e = numberEnd(s, i);
      if (e < 0) return -1;
      i = e;
    }
    const sep = s.charCodeAt(i);
    if (sep === 93) return i;
    if (sep !== 44) return -1;
    i++;
  }
}

/** The `"0x..."` 64-bit value of at most 16 digits `s` spells from `from` to `to`, or undefined. */
function u64(s: string, from: number, to: number): bigint | undefined {
  const len = to - from;
  if (len < 3 || len > 18 || s.charCodeAt(from) !== 48 || (s.charCodeAt(from + 1) | 0x20) !== 120) {
    return undefined;
  }
  for (let i = from + 2; i < to; i++) {
    const c = s.charCodeAt(i) | 0x20;
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return undefined;
  }
  return BigInt(s.slice(from, to));
}
