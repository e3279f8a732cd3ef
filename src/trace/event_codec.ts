/**
 * The binary form of a batch of validated events, for handing them from the parse worker
 * (`src/trace/parse_worker.ts`) to the thread that replays them: one `ArrayBuffer`, transferred,
 * never cloned. Internal: both ends are the same build, so the layout carries no version.
 *
 * A batch is three typed streams in one buffer, read in the order they were written:
 *
 * - numbers (`Float64Array`): the counts of the other two streams, then per event its `seq`,
 *   `line`, `time` when present and its kind's numeric fields (PFNs, byte addresses below 2^52,
 *   MFNs, flags, list lengths) — every one a double exactly; a lookup's `observed` (a 64-bit
 *   value) takes one slot written and read through a `BigUint64Array` view of the same bytes;
 * - tags (`Uint8Array`): per event its kind (index in {@link EVENT_KINDS}), which optional
 *   fields are present, and the enumerations (E820 map, `via`, `value`, `action`, ...);
 * - text (`Uint16Array`): the UTF-16 code units of the rare strings (`mark` text, device names,
 *   `by`, dump lines), each preceded by its length in the numbers, so any string a trace can
 *   hold, a lone surrogate from a JSON escape included, comes back unchanged.
 *
 * Decoded events are the records the reader produced, with the same fields in the same order,
 * less `raw` (the JSON object as read, which replay and check never look at).
 *
 * @module
 */

import {
  type E820Map,
  EVENT_KINDS,
  type EventKind,
  type LookupEvent,
  type LookupVia,
  type P2mPrimitive,
  type P2mWriteValue,
  type PfnRange,
  type Resource,
  type ResourceAction,
  type TraceEvent,
} from "./event.ts";

const KIND_CODE: ReadonlyMap<string, number> = new Map(EVENT_KINDS.map((k, i) => [k, i]));
const MAPS: readonly E820Map[] = ["raw", "kernel", "user"];
/**
 * A lookup's `via` values in the order of their tag (the tag is the index).
 *
 * @example
 * ```ts
 * import { LOOKUP_VIAS } from "./event_codec.ts";
 * import assert from "node:assert/strict";
 * assert.equal(LOOKUP_VIAS[0], "pte");
 * ```
 */
export const LOOKUP_VIAS: readonly LookupVia[] = [
  "pte",
  "pfn_to_mfn",
  "get_phys_to_machine",
  "phys_to_machine",
];
const VIAS = LOOKUP_VIAS;
const VALUES: readonly P2mWriteValue[] = ["mfn", "invalid", "identity", "foreign"];
const PRIMITIVES: readonly P2mPrimitive[] = [
  "set_phys_to_machine",
  "__set_phys_to_machine",
  "early_set_phys_to_machine",
];
const ACTIONS: readonly ResourceAction[] = [
  "assigned",
  "reassigned",
  "claimed",
  "released",
  "failed",
];
const FORMATS: readonly ("tree" | "list")[] = ["tree", "list"];
/** `memory_setup`'s `expect` fields, in the order the validator builds them. */
const EXPECT_COUNTS = ["identity", "released", "remapped", "populated", "p2mAreaSize"] as const;
const EXPECT_RANGES = ["identityRanges", "releasedRanges", "populatedRanges"] as const;

/** Slots before the batch sizes: batches, numbers (all of them), tags, text units. */
const HEAD = 4;

/**
 * Writes batches of events into one buffer for {@link decodeBatches}. One encoder serves a whole
 * trace: its streams grow to the largest group of batches and are reused, and the buffer it
 * writes into can be reused too (a `SharedArrayBuffer` slot), since allocating a fresh buffer
 * per batch costs more than encoding it.
 *
 * @example
 * ```ts
 * import { decodeBatches, EventEncoder } from "./event_codec.ts";
 * import assert from "node:assert/strict";
 * import type { TraceEvent } from "./event.ts";
 * const batches: TraceEvent[][] = [
 *   [{ seq: 1, line: 2, kind: "decrease_reservation", ranges: [{ pfn: 0x10, endPfn: 0x12 }] }],
 *   [{ seq: 2, line: 3, time: 1.5, kind: "mark", text: "héllo" }],
 * ];
 * const enc = new EventEncoder();
 * for (const b of batches) enc.add(b);
 * const buf = new SharedArrayBuffer(enc.byteLength);
 * enc.writeTo(buf);
 * assert.deepEqual([...decodeBatches(buf)], batches);
 * ```
 */
export class EventEncoder {
  #nums = new Float64Array(1024);
  #bigs = new BigUint64Array(this.#nums.buffer);
  #n = 0;
  #tags = new Uint8Array(1024);
  #t = 0;
  #text = new Uint16Array(1024);
  #u = 0;
  #counts: number[] = [];
  /** Where the open batch (events since the last batch ended) starts in each stream. */
  #open = { n: 0, t: 0, u: 0, events: 0 };

  /** Appends one batch (it comes back as one batch). */
  add(events: readonly TraceEvent[]): void {
    for (let i = 0; i < events.length; i++) this.event(events[i]);
    this.endBatch();
  }

  /** Appends one event to the open batch (see {@link endBatch}). */
  event(e: TraceEvent): void {
    this.#event(e);
    this.#open.events++;
  }

  /**
   * Starts an event in the open batch from its fields, with no record built: how
   * `scan_event.ts` writes a line it scanned. The rest of the kind's fields follow through
   * {@link num}, {@link tag}, {@link u64} and {@link text}, in the order {@link event} writes
   * them for the same record.
   */
  scanned(
    kind: EventKind,
    seq: number,
    line: number,
    time: number | undefined,
  ): void {
    this.#tag(KIND_CODE.get(kind)!);
    this.#tag(time === undefined ? 0 : 1);
    this.#num(seq);
    this.#num(line);
    if (time !== undefined) this.#num(time);
    this.#open.events++;
  }

  /** Writes a number (a double) into the open event: see {@link scanned}. */
  num(v: number): void {
    this.#num(v);
  }

  /** Writes a tag byte into the open event: see {@link scanned}. */
  tag(v: number): void {
    this.#tag(v);
  }

  /** Writes a 64-bit value into the open event: see {@link scanned}. */
  u64(v: bigint): void {
    this.#big(v);
  }

  /** Writes the string `s.slice(from, to)` into the open event: see {@link scanned}. */
  text(s: string, from: number, to: number): void {
    this.#str(s, from, to);
  }

  /** Ends the open batch: the events appended since the last end come back as one batch. */
  endBatch(): void {
    this.#counts.push(this.#open.events);
    this.#mark();
  }

  /** Drops the open batch's events (an error cut the batch short: it is not delivered). */
  dropBatch(): void {
    this.#n = this.#open.n;
    this.#t = this.#open.t;
    this.#u = this.#open.u;
    this.#open.events = 0;
  }

  /** Events in the open batch. */
  get openEvents(): number {
    return this.#open.events;
  }

  #mark(): void {
    this.#open.n = this.#n;
    this.#open.t = this.#t;
    this.#open.u = this.#u;
    this.#open.events = 0;
  }

  /** Batches added since the last {@link writeTo}. */
  get batches(): number {
    return this.#counts.length;
  }

  /** Bytes {@link writeTo} needs for what was added. */
  get byteLength(): number {
    return (HEAD + this.#counts.length + this.#n) * 8 + this.#u * 2 + this.#t;
  }

  /**
   * Writes the batches ended so far into `buf` (at least {@link byteLength} bytes) and starts
   * afresh. No batch may be open.
   */
  writeTo(buf: ArrayBufferLike): void {
    if (this.#open.events > 0 || this.#n !== this.#open.n || this.#t !== this.#open.t) {
      throw new Error("event_codec: writeTo() with a batch open");
    }
    const counts = this.#counts;
    const n = HEAD + counts.length + this.#n, t = this.#t, u = this.#u;
    const nums = new Float64Array(buf, 0, n);
    nums[0] = counts.length;
    nums[1] = n;
    nums[2] = t;
    nums[3] = u;
    for (let i = 0; i < counts.length; i++) nums[HEAD + i] = counts[i];
    nums.set(this.#nums.subarray(0, this.#n), HEAD + counts.length);
    new Uint16Array(buf, n * 8, u).set(this.#text.subarray(0, u));
    new Uint8Array(buf, n * 8 + u * 2, t).set(this.#tags.subarray(0, t));
    this.#n = this.#t = this.#u = 0;
    this.#counts = [];
    this.#mark();
  }

  /** The batches as one new buffer (tests, examples; the worker reuses its buffers). */
  encode(batches: readonly (readonly TraceEvent[])[]): ArrayBuffer {
    for (const b of batches) this.add(b);
    const buf = new ArrayBuffer(this.byteLength);
    this.writeTo(buf);
    return buf;
  }

  #num(v: number): void {
    if (this.#n === this.#nums.length) {
      const grown = new Float64Array(this.#nums.length * 2);
      grown.set(this.#nums);
      this.#nums = grown;
      this.#bigs = new BigUint64Array(grown.buffer);
    }
    this.#nums[this.#n++] = v;
  }

  #big(v: bigint): void {
    this.#num(0);
    this.#bigs[this.#n - 1] = v;
  }

  #tag(v: number): void {
    if (this.#t === this.#tags.length) {
      const grown = new Uint8Array(this.#tags.length * 2);
      grown.set(this.#tags);
      this.#tags = grown;
    }
    this.#tags[this.#t++] = v;
  }

  #str(s: string, from = 0, to = s.length): void {
    const len = to - from;
    this.#num(len);
    if (this.#u + len > this.#text.length) {
      const grown = new Uint16Array(Math.max(this.#text.length * 2, this.#u + len));
      grown.set(this.#text.subarray(0, this.#u));
      this.#text = grown;
    }
    const text = this.#text;
    let u = this.#u;
    for (let i = from; i < to; i++) text[u++] = s.charCodeAt(i);
    this.#u = u;
  }

  #ranges(ranges: readonly PfnRange[]): void {
    this.#num(ranges.length);
    for (let i = 0; i < ranges.length; i++) {
      this.#num(ranges[i].pfn);
      this.#num(ranges[i].endPfn);
    }
  }

  #resource(r: Resource): void {
    this.#num(r.index);
    this.#num(r.start);
    this.#num(r.end);
    this.#num(r.flags);
    this.#tag(r.name === undefined ? 0 : 1);
    if (r.name !== undefined) this.#str(r.name);
  }

  #event(e: TraceEvent): void {
    const code = KIND_CODE.get(e.kind);
    if (code === undefined) throw new TypeError(`event_codec: unknown event kind ${e.kind}`);
    this.#tag(code);
    this.#tag(e.time === undefined ? 0 : 1);
    this.#num(e.seq);
    this.#num(e.line);
    if (e.time !== undefined) this.#num(e.time);
    switch (e.kind) {
      case "e820":
        this.#num(e.start);
        this.#num(e.size);
        this.#num(e.type);
        this.#tag(MAPS.indexOf(e.map));
        return;
      case "memory_setup": {
        this.#tag((e.maxReservation === undefined ? 0 : 1) | (e.expect === undefined ? 0 : 2));
        if (e.maxReservation !== undefined) this.#num(e.maxReservation);
        const x = e.expect;
        if (x === undefined) return;
        // The validator builds `expect` in one fixed order, keeping the fields present.
        let mask = 0;
        for (let i = 0; i < EXPECT_COUNTS.length; i++) {
          if (x[EXPECT_COUNTS[i]] !== undefined) mask |= 1 << i;
        }
        for (let i = 0; i < EXPECT_RANGES.length; i++) {
          if (x[EXPECT_RANGES[i]] !== undefined) mask |= 1 << (EXPECT_COUNTS.length + i);
        }
        this.#tag(mask);
        for (const k of EXPECT_COUNTS) if (x[k] !== undefined) this.#num(x[k]!);
        for (const k of EXPECT_RANGES) if (x[k] !== undefined) this.#ranges(x[k]!);
        return;
      }
      case "set_identity":
        this.#num(e.range.pfn);
        this.#num(e.range.endPfn);
        return;
      case "set_p2m":
        this.#num(e.range.pfn);
        this.#num(e.range.endPfn);
        this.#tag(VALUES.indexOf(e.value));
        this.#tag(PRIMITIVES.indexOf(e.primitive));
        this.#tag(e.mfn === undefined ? 0 : 1);
        if (e.mfn !== undefined) this.#num(e.mfn);
        return;
      case "balloon_init":
        return;
      case "balloon_append":
        this.#ranges(e.ranges);
        return;
      case "balloon_retrieve":
      case "increase_reservation":
        this.#ranges(e.ranges);
        this.#tag(e.mfn === undefined ? 0 : 1);
        if (e.mfn !== undefined) this.#num(e.mfn);
        return;
      case "decrease_reservation":
        this.#ranges(e.ranges);
        this.#tag(e.scratchMfn === undefined ? 0 : 1);
        if (e.scratchMfn !== undefined) this.#num(e.scratchMfn);
        return;
      case "memory_hotplug":
        this.#num(e.start);
        this.#num(e.size);
        return;
      case "pci_host_bridge":
        this.#str(e.bus);
        this.#num(e.resources.length);
        for (const r of e.resources) this.#resource(r);
        return;
      case "xen_add_device":
        this.#str(e.device);
        this.#num(e.resources.length);
        for (const r of e.resources) this.#resource(r);
        this.#tag((e.xenFlags === undefined ? 0 : 1) | (e.physfn === undefined ? 0 : 2));
        if (e.xenFlags !== undefined) this.#num(e.xenFlags);
        if (e.physfn !== undefined) this.#str(e.physfn);
        return;
      case "xen_remove_device":
        this.#str(e.device);
        return;
      case "pci_resource_assign":
        this.#str(e.device);
        this.#resource(e.resource);
        this.#tag(ACTIONS.indexOf(e.action));
        return;
      case "lookup":
        this.#num(e.pfn);
        this.#num(e.offset);
        this.#tag(VIAS.indexOf(e.via));
        this.#tag(
          (e.iomap ? 1 : 0) | (e.observed === undefined ? 0 : 2) | (e.by === undefined ? 0 : 4),
        );
        if (e.observed !== undefined) this.#big(e.observed);
        if (e.by !== undefined) this.#str(e.by);
        return;
      case "p2m_dump":
        this.#tag(FORMATS.indexOf(e.format));
        this.#num(e.lines.length);
        for (const l of e.lines) this.#str(l);
        return;
      case "mark":
        this.#str(e.text);
        return;
    }
  }
}

/** Code units per `String.fromCharCode` call (its arguments go on the stack). */
const UNITS_PER_CALL = 4096;

/** The string of UTF-16 code units `units`, lone surrogates kept (a TextDecoder replaces them). */
const fromUnits = String.fromCharCode.apply.bind(String.fromCharCode, null) as unknown as (
  units: Uint16Array,
) => string;

/** Reads the streams of one buffer in order. */
class Cursor {
  readonly nums: Float64Array;
  readonly bigs: BigUint64Array;
  readonly tags: Uint8Array;
  readonly text: Uint16Array;
  n = HEAD;
  t = 0;
  u = 0;

  constructor(buf: ArrayBufferLike) {
    const head = new Float64Array(buf, 0, HEAD);
    const n = head[1], t = head[2], u = head[3];
    this.nums = new Float64Array(buf, 0, n);
    this.bigs = new BigUint64Array(buf, 0, n);
    this.text = new Uint16Array(buf, n * 8, u);
    this.tags = new Uint8Array(buf, n * 8 + u * 2, t);
    this.n = HEAD + head[0];
  }

  num(): number {
    return this.nums[this.n++];
  }

  tag(): number {
    return this.tags[this.t++];
  }

  big(): bigint {
    return this.bigs[this.n++];
  }

  str(): string {
    const len = this.nums[this.n++];
    const from = this.u;
    this.u += len;
    if (len <= UNITS_PER_CALL) return fromUnits(this.text.subarray(from, this.u));
    const parts: string[] = [];
    for (let i = from; i < this.u; i += UNITS_PER_CALL) {
      parts.push(fromUnits(this.text.subarray(i, Math.min(i + UNITS_PER_CALL, this.u))));
    }
    return parts.join("");
  }

  ranges(): PfnRange[] {
    const count = this.nums[this.n++];
    const out: PfnRange[] = new Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = { pfn: this.nums[this.n++], endPfn: this.nums[this.n++] };
    }
    return out;
  }

  resource(): Resource {
    const r: Resource = {
      index: this.num(),
      start: this.num(),
      end: this.num(),
      flags: this.num(),
    };
    if (this.tag() === 1) r.name = this.str();
    return r;
  }

  resources(): Resource[] {
    const count = this.num();
    const out: Resource[] = [];
    for (let i = 0; i < count; i++) out.push(this.resource());
    return out;
  }
}

/**
 * The batches a buffer {@link EventEncoder.writeTo} wrote, in order, each decoded when it is
 * asked for (so a group's events do not all live at once); every value is copied out of the
 * buffer, which may be written again once the last batch has been taken.
 *
 * @example
 * ```ts
 * import { decodeBatches, EventEncoder } from "./event_codec.ts";
 * import assert from "node:assert/strict";
 * import type { TraceEvent } from "./event.ts";
 * const e: TraceEvent = { seq: 9, line: 10, kind: "lookup", pfn: 2 ** 40 - 1, offset: 0,
 *   via: "pte", iomap: false, observed: 2n ** 64n - 1n };
 * assert.deepEqual([...decodeBatches(new EventEncoder().encode([[e], []]))], [[e], []]);
 * ```
 */
export function* decodeBatches(buf: ArrayBufferLike): Generator<TraceEvent[]> {
  const c = new Cursor(buf);
  const batches = c.nums[0];
  for (let b = 0; b < batches; b++) {
    const count = c.nums[HEAD + b];
    const events: TraceEvent[] = new Array(count);
    for (let i = 0; i < count; i++) events[i] = decodeEvent(c);
    yield events;
  }
}

function decodeEvent(c: Cursor): TraceEvent {
  const kind = EVENT_KINDS[c.tag()] as EventKind;
  const hasTime = c.tag() === 1;
  const seq = c.num();
  const line = c.num();
  const time = hasTime ? c.num() : 0;
  // The hot kinds are built as whole literals (one shape each, as the reader's); every record
  // has seq, line, [time], kind first, as the reader builds them.
  switch (kind) {
    case "decrease_reservation": {
      const ranges = c.ranges();
      if (c.tag() === 0) {
        return hasTime ? { seq, line, time, kind, ranges } : { seq, line, kind, ranges };
      }
      const scratchMfn = c.num();
      return hasTime
        ? { seq, line, time, kind, ranges, scratchMfn }
        : { seq, line, kind, ranges, scratchMfn };
    }
    case "increase_reservation":
    case "balloon_retrieve": {
      const ranges = c.ranges();
      if (c.tag() === 0) {
        return hasTime ? { seq, line, time, kind, ranges } : { seq, line, kind, ranges };
      }
      const mfn = c.num();
      return hasTime ? { seq, line, time, kind, ranges, mfn } : { seq, line, kind, ranges, mfn };
    }
    case "lookup": {
      const pfn = c.num();
      const offset = c.num();
      const via = VIAS[c.tag()];
      const bits = c.tag();
      const iomap = (bits & 1) === 1;
      const e: LookupEvent = hasTime
        ? { seq, line, time, kind, pfn, offset, via, iomap }
        : { seq, line, kind, pfn, offset, via, iomap };
      if (bits & 2) e.observed = c.big();
      if (bits & 4) e.by = c.str();
      return e;
    }
    case "mark": {
      const text = c.str();
      return hasTime ? { seq, line, time, kind, text } : { seq, line, kind, text };
    }
  }
  const e = (hasTime ? { seq, line, time, kind } : { seq, line, kind }) as TraceEvent;
  const o = e as unknown as Record<string, unknown>;
  switch (kind) {
    case "e820":
      o.start = c.num();
      o.size = c.num();
      o.type = c.num();
      o.map = MAPS[c.tag()];
      break;
    case "memory_setup": {
      const has = c.tag();
      if (has & 1) o.maxReservation = c.num();
      if (has & 2) {
        const mask = c.tag();
        const x: Record<string, unknown> = {};
        for (let i = 0; i < EXPECT_COUNTS.length; i++) {
          if (mask & (1 << i)) x[EXPECT_COUNTS[i]] = c.num();
        }
        for (let i = 0; i < EXPECT_RANGES.length; i++) {
          if (mask & (1 << (EXPECT_COUNTS.length + i))) x[EXPECT_RANGES[i]] = c.ranges();
        }
        o.expect = x;
      }
      break;
    }
    case "set_identity":
      o.range = { pfn: c.num(), endPfn: c.num() };
      break;
    case "set_p2m": {
      o.range = { pfn: c.num(), endPfn: c.num() };
      o.value = VALUES[c.tag()];
      o.primitive = PRIMITIVES[c.tag()];
      if (c.tag() === 1) o.mfn = c.num();
      break;
    }
    case "balloon_init":
      break;
    case "balloon_append":
      o.ranges = c.ranges();
      break;
    case "memory_hotplug":
      o.start = c.num();
      o.size = c.num();
      break;
    case "pci_host_bridge":
      o.bus = c.str();
      o.resources = c.resources();
      break;
    case "xen_add_device": {
      o.device = c.str();
      o.resources = c.resources();
      const has = c.tag();
      if (has & 1) o.xenFlags = c.num();
      if (has & 2) o.physfn = c.str();
      break;
    }
    case "xen_remove_device":
      o.device = c.str();
      break;
    case "pci_resource_assign":
      o.device = c.str();
      o.resource = c.resource();
      o.action = ACTIONS[c.tag()];
      break;
    case "p2m_dump": {
      o.format = FORMATS[c.tag()];
      const count = c.num();
      const lines: string[] = new Array(count);
      for (let i = 0; i < count; i++) lines[i] = c.str();
      o.lines = lines;
      break;
    }
  }
  return e;
}
