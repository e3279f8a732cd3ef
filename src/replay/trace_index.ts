/**
 * The on-disk random-access index of one trace file under one policy: a model state at each
 * checkpoint (`state_codec.ts`: every `K` events, and after a boot pass; and every `K / 4`
 * within), its P2M pages kept apart where each page is written once per group of
 * {@link FRESH_EVERY} intervals (a checkpoint costs the pages changed since the last one and
 * the rest of the state, about a tenth of a whole state; a group's first, all its pages),
 * each event's byte offset, length, line and seq, and every change each step made (the PFN
 * range with its values before and after), so that "which step last changed this PFN" is a
 * lookup. With it a step of a 1M-event trace costs one state decoded and at most `K / 4 - 1`
 * events replayed, read with one positioned read, instead of a replay from step 0; its blame
 * costs one region block and one or two change blocks read. `src/replay/index_cache.ts` says
 * where the file lives.
 *
 * **File layout** (little-endian): `P2MTIDX\n`, `u32` format, `u32` 0; then the blocks in
 * build order: per interval its state (and the states within it, interleaved with its other
 * blocks), each state preceded by the block of P2M pages no earlier state of its group held
 * (`state_codec.ts`'s `PagePool`: leaves, and mids holding their leaves' places), its
 * changes (rows, `rowBlock`: event index, pfn, endPfn, beforeMfn, afterMfn, kinds) and its
 * event table; then the region blocks (rows: interval, first and end PFN of each range of PFNs
 * the interval changed, for the PFNs of one region, so that a lookup reads one region's block
 * to find the intervals that changed its PFN); then the directory (JSON: format, tool
 * version, policy, the trace's SHA-256, size and file identity, events, interval, how the
 * trace ended, each interval's first event and blocks, each region's first PFN and block,
 * each block's offset, length and SHA-256), `u32` directory length, the directory's SHA-256
 * (32 bytes) and `P2MTIDX\n` again.
 *
 * **Trust.** Nothing is used unchecked: {@link TraceIndex.open} checks both magics, the format,
 * the file's length, the directory's SHA-256, the tool version, the policy and the trace's
 * SHA-256 and size against those the caller found for the trace (`index_cache.ts`: the trace
 * hashed, or the hash recorded for its file identity); every block read is checked against
 * its SHA-256 before it is decoded (a state's P2M pages are cut from its group's page blocks,
 * each checked), and the trace bytes an access replays are checked against the SHA-256 of
 * its interval's span recorded at build. Any mismatch is an
 * {@link IndexUnusable} (the caller ignores the file, says so, and rebuilds or replays).
 * Hashing a whole 1 GB trace on every access would cost more than the replay it saves, so
 * the full SHA-256 is computed at build (and checked again by `p2mtrace index`); an access
 * trusts the file identity for the bytes it does not read.
 *
 * @module
 */

import { InvariantError } from "../errors.ts";
import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import { validateEvent } from "../trace/validate.ts";
import type { Policy } from "../policy/policy.ts";
import { initialState, type ModelState } from "../model/state.ts";
import { decodeState, encodeState, PagePool, pageSum, PLACE_SIZE } from "../model/state_codec.ts";
import { policySpec } from "../report/snapshot_report.ts";
import { TOOL_VERSION } from "../version.ts";
import { INDEX_FORMAT, indexFileName } from "./index_cache.ts";
import type { StepRecord } from "./replayer.ts";
import { applyEvents } from "./step.ts";
import { beforeStartError, pastEndError, type StepName, type StepPoint } from "./steps.ts";
import { type PfnChange, PfnHistory } from "./blame.ts";
import { oneShotSha256, sha256Hex } from "../trace/sha.ts";

const MAGIC = new TextEncoder().encode("P2MTIDX\n");
/** Decodes the P2M pages a lookup reads one by one (UTF-8: their ASCII bytes as they are). */
const PAGE_TEXT = new TextDecoder();
/** Bytes a lookup reads around a P2M page it needs ({@link TraceIndex}'s `#pageBytes`). */
const PAGE_WINDOW = 32 << 10;
const TRAILER = 4 + 32 + 8;
/** A directory larger than this is not one this code wrote. */
const MAX_DIR = 64 << 20;

/** A trace file's identity: what its recorded SHA-256 is found by (no hashing of the trace). */
export interface FileKey {
  /** Device. */
  dev: number;
  /** Inode. */
  ino: number;
  /** Size in bytes. */
  size: number;
  /** Modification time, ms. */
  mtime: number;
  /** Status change time, ms (changes when the modification time is set back). */
  ctime: number;
}

/**
 * The identity of a file from its status.
 *
 * @example
 * ```ts
 * import { fileKey } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fileKey(Deno.statSync("deno.json")).size, Deno.statSync("deno.json").size);
 * ```
 */
export function fileKey(stat: Deno.FileInfo): FileKey {
  return {
    dev: stat.dev ?? 0,
    ino: stat.ino ?? 0,
    size: stat.size,
    mtime: stat.mtime?.getTime() ?? 0,
    ctime: stat.ctime?.getTime() ?? 0,
  };
}

/** `[offset, length, sha256]` of a block (offsets into the index, or into the trace for spans). */
type Block = [number, number, string];

/**
 * A block of P2M pages: checked whole (SHA-256) by a question that reads all of a state's
 * pages (a snapshot, a diff); a lookup reads only the pages it needs, each on its own, and
 * checks each against the {@link pageSum} its parent holds (its mid's, or its state's).
 */
type PageBlock = Block;

/**
 * A model state in the file: the state after `first` events, and the P2M pages no earlier
 * checkpoint of its group held (`state_codec.ts`'s `PagePool`: its own and its mids' places
 * point into these blocks and its group's earlier ones).
 */
interface Checkpoint {
  first: number;
  state: Block;
  /** The pages it placed (none: every page was placed before). */
  pages: PageBlock | null;
}

/** An interval as the directory lists it: where it starts, and its record block. */
interface IntervalEntry {
  /** Events before it. */
  first: number;
  /** Events in it. */
  count: number;
  /** Seq of its first event. */
  firstSeq: number;
  /** Its {@link IntervalRecord} (JSON). */
  record: Block;
}

/** An interval's blocks, in its record block (read when a question needs the interval). */
interface IntervalRecord {
  /** Its own checkpoint's state and pages. */
  state: Block;
  pages: PageBlock | null;
  /**
   * Its checkpoint starts a group: its pages are all of its state's ({@link FRESH_EVERY}-th
   * interval), so the states of the group read only the group's page blocks.
   */
  fresh: boolean;
  /** Checkpoints within it, every quarter of its length (`index_side.ts`'s `SUB_PARTS`). */
  subs: Checkpoint[];
  /** Per event: f64 offset, u32 length, u32 line, f64 seq. */
  events: Block;
  /** Every change of its steps: {@link CHANGE_COLUMNS} numbers a row ({@link rowBlock}). */
  changes: Block;
  /**
   * Its events' spans of the trace file: one per part, the first from `first`, the others
   * from each of `subs` that has events after it (an answer reads and checks one part).
   */
  spans: Block[];
}

/** An interval: its directory entry and its record. */
type Interval = IntervalEntry & IntervalRecord;

/** A PFN region's block of which intervals changed which PFNs in it. */
interface Region {
  /** Its first PFN (it ends where the next region starts). */
  pfn: number;
  /** Rows ({@link rowBlock}) of `[interval, start, end]`, by interval, then start. */
  block: Block;
}

/** The directory's fields other than its tables (JSON in the directory). */
interface DirectoryHead {
  format: number;
  tool: string;
  policy: string;
  trace: { sha256: string; key: FileKey };
  events: number;
  lastSeq: number;
  interval: number;
  cut: { line: number; eventsRead: number } | null;
}

interface Directory extends DirectoryHead {
  /** The index file's length. */
  length: number;
  intervals: IntervalEntry[];
  regions: Region[];
}

/** Bytes of a directory's fixed start: `f64` length, `u32` intervals, regions, head length. */
const DIR_FIXED = 20;
/** Bytes of an interval's entry in the directory: `f64` first, count, firstSeq, offset, length; SHA-256. */
const ENTRY_BYTES = 72;
/** Bytes of a region's entry in the directory: `f64` pfn, offset, length; SHA-256. */
const REGION_BYTES = 56;

/** The directory as bytes ({@link DIR_FIXED}, head JSON, interval entries, region entries). */
function encodeDirectory(d: Directory): Uint8Array<ArrayBuffer> {
  const { intervals, regions, length, ...head } = d;
  const json = new TextEncoder().encode(JSON.stringify(head));
  const out = new Uint8Array(
    DIR_FIXED + json.length + ENTRY_BYTES * intervals.length + REGION_BYTES * regions.length,
  );
  const dv = new DataView(out.buffer);
  dv.setFloat64(0, length, true);
  dv.setUint32(8, intervals.length, true);
  dv.setUint32(12, regions.length, true);
  dv.setUint32(16, json.length, true);
  out.set(json, DIR_FIXED);
  let at = DIR_FIXED + json.length;
  for (const iv of intervals) {
    for (const v of [iv.first, iv.count, iv.firstSeq, iv.record[0], iv.record[1]]) {
      dv.setFloat64(at, v, true);
      at += 8;
    }
    out.set(fromHex(iv.record[2]), at);
    at += 32;
  }
  for (const r of regions) {
    for (const v of [r.pfn, r.block[0], r.block[1]]) {
      dv.setFloat64(at, v, true);
      at += 8;
    }
    out.set(fromHex(r.block[2]), at);
    at += 32;
  }
  return out;
}

/** The directory in `bytes` ({@link encodeDirectory}), or undefined when its sizes disagree. */
function decodeDirectory(bytes: Uint8Array): Directory | undefined {
  if (bytes.length < DIR_FIXED) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const n = dv.getUint32(8, true), m = dv.getUint32(12, true), h = dv.getUint32(16, true);
  if (DIR_FIXED + h + ENTRY_BYTES * n + REGION_BYTES * m !== bytes.length) return undefined;
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(DIR_FIXED, DIR_FIXED + h)));
  let at = DIR_FIXED + h;
  const f64 = () => {
    const v = dv.getFloat64(at, true);
    at += 8;
    return v;
  };
  const sha = () => {
    const v = hex(bytes.subarray(at, at + 32));
    at += 32;
    return v;
  };
  const intervals: IntervalEntry[] = [];
  for (let i = 0; i < n; i++) {
    const first = f64(), count = f64(), firstSeq = f64(), off = f64(), len = f64();
    intervals.push({ first, count, firstSeq, record: [off, len, sha()] });
  }
  const regions: Region[] = [];
  for (let i = 0; i < m; i++) {
    const pfn = f64(), off = f64(), len = f64();
    regions.push({ pfn, block: [off, len, sha()] });
  }
  return { ...head, length: dv.getFloat64(0, true), intervals, regions };
}

/**
 * The layout of the index file `bytes` as written, unchecked: each interval's directory entry
 * with its record, and each region — for tests that damage one block of it and for tools
 * (an index is only ever used through {@link TraceIndex.open}, which checks everything).
 *
 * @example
 * ```ts
 * import { buildTraceIndex, indexLayout } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * const trace = "traces/pcie-bar-above-e820.jsonl";
 * const built = await buildTraceIndex(trace, trace, undefined, await Deno.makeTempDir());
 * const layout = indexLayout(await Deno.readFile(built.path));
 * assert.equal(layout.intervals[0].first, 0);
 * assert.equal(layout.events, 21);
 * ```
 */
export function indexLayout(bytes: Uint8Array): {
  events: number;
  intervals: (IntervalEntry & IntervalRecord)[];
  regions: Region[];
} {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const dirLen = dv.getUint32(bytes.length - TRAILER, true);
  const at = bytes.length - TRAILER - dirLen;
  const dir = decodeDirectory(bytes.subarray(at, at + dirLen));
  if (dir === undefined) throw new IndexUnusable("its directory's sizes disagree");
  const text = (b: Block) => new TextDecoder().decode(bytes.subarray(b[0], b[0] + b[1]));
  return {
    events: dir.events,
    intervals: dir.intervals.map((e) => ({ ...JSON.parse(text(e.record)), ...e })),
    regions: dir.regions,
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(d: Uint8Array): string {
  let s = "";
  for (let i = 0; i < d.length; i++) s += HEX[d[i]];
  return s;
}

/**
 * An index file that cannot be used: damaged, stale, or for another trace, policy or version.
 *
 * @example
 * ```ts
 * import { IndexUnusable } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * assert.equal(new IndexUnusable("its directory does not match its checksum").name, "IndexUnusable");
 * ```
 */
export class IndexUnusable extends Error {
  /** Builds the error; `reason` says what did not match. */
  constructor(reason: string) {
    super(reason);
    this.name = "IndexUnusable";
  }
}

/**
 * Events between checkpoints for a trace of `bytes`: about one checkpoint per 512 KiB of
 * events at the typical 122 bytes an event (4096 at 1M events: 245 checkpoints), a power of
 * two, at least 1024. An access decodes one state and replays up to an interval of events
 * in code not yet optimised: halving the interval from 8192 cut a cached `lookup` subprocess's
 * CPU time to 0.74x for a 1.66x larger index (119 MB at 1M events) and no slower build.
 *
 * @example
 * ```ts
 * import { intervalFor } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * assert.equal(intervalFor(122_000_000), 4096);
 * assert.equal(intervalFor(1000), 1024);
 * ```
 */
export function intervalFor(bytes: number): number {
  let k = 1024;
  while (k * 128 * 256 < bytes) k *= 2;
  return k;
}

/**
 * Intervals of a group of checkpoints: the first writes every P2M page of its state again
 * (about a whole state), the others only the pages changed since, so a state is read from its
 * group's page blocks (a whole state and at most `4 * FRESH_EVERY - 1` small ones) and the
 * file holds about one whole state per group.
 */
const FRESH_EVERY = 4;

/**
 * Columns of a row of an interval's change block, one row per change of a step, in step
 * order: the event's index, then the `Change`: `pfn`, `endPfn`, `beforeMfn`, `afterMfn`, and
 * `beforeKind * 16 + afterKind`.
 */
const CHANGE_COLUMNS = 6;
/** Columns of a row of a region block: interval, start, end. */
const REGION_COLUMNS = 3;
/** Changed ranges starting in a region, about (a range crossing regions is in each). */
const REGION_RANGES = 1024;

/** A growable list of numbers held in a typed array. */
class F64List {
  a = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) this.reserve(1);
    this.a[this.n++] = v;
  }
  /** Makes room for `k` more numbers. */
  reserve(k: number): void {
    if (this.n + k <= this.a.length) return;
    const b = new Float64Array(Math.max(this.a.length * 2, this.n + k));
    b.set(this.a.subarray(0, this.n));
    this.a = b;
  }
}

const LITTLE_ENDIAN = new Uint8Array(Float64Array.of(1).buffer)[7] === 0x3f;

/**
 * A list of numbers held compactly: as `i32`s in chunks while every number is one (no `-0`),
 * then as `f64`s (the chunks widened once). No doubling copy and half the bytes of an `f64`
 * list: the changed ranges of a 10M-event trace are about 2M numbers.
 *
 * @example
 * ```ts
 * import { RowList } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * const l = new RowList();
 * l.push(7);
 * assert.equal(l.narrow, true);
 * l.push(2 ** 40);
 * assert.deepEqual([l.length, l.narrow, l.at(0), l.at(1)], [2, false, 7, 2 ** 40]);
 * ```
 */
export class RowList {
  #chunks: (Int32Array | Float64Array)[] = [];
  #last: Int32Array | Float64Array = new Int32Array(0);
  #n = 0;
  #wide = false;
  /** Numbers held. */
  get length(): number {
    return this.#n;
  }
  /** True when every number is held as an `i32`. */
  get narrow(): boolean {
    return !this.#wide;
  }
  /** Appends `v`. */
  push(v: number): void {
    if (!this.#wide && ((v | 0) !== v || Object.is(v, -0))) this.#widen();
    const k = this.#n % ROW_CHUNK;
    if (k === 0) {
      this.#last = this.#wide ? new Float64Array(ROW_CHUNK) : new Int32Array(ROW_CHUNK);
      this.#chunks.push(this.#last);
    }
    this.#last[k] = v;
    this.#n++;
  }
  /** Number `i`. */
  at(i: number): number {
    return this.#chunks[Math.floor(i / ROW_CHUNK)][i % ROW_CHUNK];
  }
  #widen(): void {
    this.#wide = true;
    this.#chunks = this.#chunks.map((c) => Float64Array.from(c));
    this.#last = this.#chunks[this.#chunks.length - 1] ?? new Float64Array(0);
  }
}

/** Numbers a chunk of a {@link RowList}. */
const ROW_CHUNK = 1 << 16;

/**
 * The rows `a` (numbers, row after row) as a row block: `u32` 4 and each number as a
 * little-endian `i32` when every one is an integer that fits (half the bytes), else `u32` 8
 * and each as an `f64`.
 *
 * @example
 * ```ts
 * import { rowBlock, rowsOf } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * assert.equal(rowBlock(Float64Array.of(1, -1, 7)).length, 4 + 12);
 * assert.equal(rowBlock(Float64Array.of(1, 2 ** 40, 7)).length, 4 + 24);
 * assert.equal(rowsOf(rowBlock(Float64Array.of(1, 2 ** 40, 7, -1)), 2)?.at(1, 1), -1);
 * ```
 */
export function rowBlock(a: Float64Array | Int32Array): Uint8Array<ArrayBuffer> {
  let narrow = true;
  if (a instanceof Float64Array) {
    for (let i = 0; i < a.length && narrow; i++) {
      narrow = (a[i] | 0) === a[i] && !Object.is(a[i], -0);
    }
  }
  const width = narrow ? 4 : 8;
  const out = new Uint8Array(4 + width * a.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, width, true);
  if (LITTLE_ENDIAN) {
    // Straight into the block: an i32 view at byte 4 is aligned; f64s are copied as bytes.
    if (narrow) new Int32Array(out.buffer, 4, a.length).set(a);
    else out.set(new Uint8Array(a.buffer, a.byteOffset, 8 * a.length), 4);
  } else {
    for (let i = 0; i < a.length; i++) {
      if (narrow) dv.setInt32(4 + i * 4, a[i], true);
      else dv.setFloat64(4 + i * 8, a[i], true);
    }
  }
  return out;
}

/**
 * The rows of `columns` numbers of the row block `bytes` ({@link rowBlock}), or undefined when
 * it is not one.
 */
export function rowsOf(
  bytes: Uint8Array,
  columns: number,
): { count: number; at: (r: number, c: number) => number } | undefined {
  if (bytes.length < 4) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const width = dv.getUint32(0, true), row = width * columns;
  if ((width !== 4 && width !== 8) || (bytes.length - 4) % row !== 0) return undefined;
  return {
    count: (bytes.length - 4) / row,
    at: width === 4
      ? (r, c) => dv.getInt32(4 + r * row + c * 4, true)
      : (r, c) => dv.getFloat64(4 + r * row + c * 8, true),
  };
}

/**
 * The union of the non-empty ranges `[starts[i], ends[i])` as flat sorted `[start, end, ...]`,
 * touching ranges joined (both arrays are sorted in place: a union needs no pairing of the
 * two, and typed arrays sort natively).
 *
 * @example
 * ```ts
 * import { unionOf } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(unionOf(Float64Array.of(5, 1, 3, 2), Float64Array.of(6, 3, 4, 3)), [1, 4, 5, 6]);
 * ```
 */
export function unionOf(starts: Float64Array, ends: Float64Array): number[] {
  starts.sort();
  ends.sort();
  const out: number[] = [];
  let depth = 0, e = 0;
  for (let s = 0; s < starts.length; s++) {
    // Ends before this start close ranges; an end at it does not (touching ranges join).
    for (; e < ends.length && ends[e] < starts[s]; e++) {
      if (--depth === 0) out.push(ends[e]);
    }
    if (depth++ === 0) out.push(starts[s]);
  }
  for (; e < ends.length; e++) if (--depth === 0) out.push(ends[e]);
  return out;
}

/**
 * The region blocks of the changed ranges `members` (flat `[interval, start, end]`, by
 * interval, then start): region boundaries about every {@link REGION_RANGES} range starts,
 * the first at PFN 0, each region's rows in the order given, clipped to it. Each region's
 * rows are handed to `block` in PFN order, as a view of one array holding every region's
 * rows (counted first, then placed: no list per region).
 *
 * @example
 * ```ts
 * import { regionRows, RowList } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * const members = new RowList();
 * for (const v of [0, 5, 9, 1, 2, 6]) members.push(v);
 * const got: [number, number[]][] = [];
 * regionRows(members, (pfn, rows) => got.push([pfn, [...rows]]));
 * assert.deepEqual(got, [[0, [0, 5, 9, 1, 2, 6]]]);
 * ```
 */
export function regionRows(
  members: RowList,
  block: (pfn: number, rows: Float64Array | Int32Array) => void,
): void {
  const m = members.length / REGION_COLUMNS;
  if (m === 0) return;
  let starts: Float64Array | undefined = new Float64Array(m);
  for (let i = 0; i < m; i++) starts[i] = members.at(i * REGION_COLUMNS + 1);
  starts.sort();
  const bounds = [0];
  for (let i = REGION_RANGES; i < m; i += REGION_RANGES) {
    if (starts[i] > bounds[bounds.length - 1]) bounds.push(starts[i]);
  }
  starts = undefined;
  const regionOf = (pfn: number) => {
    let lo = 0, hi = bounds.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (bounds[mid] <= pfn) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  // Rows a region gets, then where each region's rows start (in rows).
  const at = new Float64Array(bounds.length + 1);
  for (let i = 0; i < m; i++) {
    const a = members.at(i * 3 + 1), e = members.at(i * 3 + 2);
    for (let r = regionOf(a); r < bounds.length && bounds[r] < e; r++) at[r + 1]++;
  }
  for (let r = 0; r < bounds.length; r++) at[r + 1] += at[r];
  // Clipped to a region's bounds, a row's numbers are its own or a bound: i32s when all are.
  let narrow = members.narrow;
  for (const b of bounds) narrow &&= (b | 0) === b;
  const rows = narrow
    ? new Int32Array(REGION_COLUMNS * at[bounds.length])
    : new Float64Array(REGION_COLUMNS * at[bounds.length]);
  const fill = at.slice(0, bounds.length);
  for (let i = 0; i < m; i++) {
    const j = members.at(i * 3), a = members.at(i * 3 + 1), e = members.at(i * 3 + 2);
    for (let r = regionOf(a); r < bounds.length && bounds[r] < e; r++) {
      const w = REGION_COLUMNS * fill[r]++;
      rows[w] = j;
      rows[w + 1] = Math.max(a, bounds[r]);
      rows[w + 2] = r + 1 < bounds.length ? Math.min(e, bounds[r + 1]) : e;
    }
  }
  for (let r = 0; r < bounds.length; r++) {
    block(bounds[r], rows.subarray(REGION_COLUMNS * at[r], REGION_COLUMNS * at[r + 1]));
  }
}

/** A built index: where it is, and the trace it is for. */
export interface BuiltIndex {
  /** The index file (`dir`/{@link indexFileName}). */
  path: string;
  /** The trace's SHA-256, hashed while it was replayed. */
  sha256: string;
  /** The trace file's identity, unchanged while it was read. */
  key: FileKey;
}

/**
 * Replays the trace file `path` once under `policy` (a `--policy` value, or the header's
 * choice) and writes its index into the directory `dir`, named by the trace's SHA-256 and the
 * policy (through a temporary file beside it, renamed when complete, so a reader never sees
 * half a file). Errors of the trace propagate; the temporary file is removed.
 *
 * @example
 * ```ts
 * import { buildTraceIndex, TraceIndex } from "./trace_index.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const trace = "traces/pcie-bar-above-e820.jsonl";
 * const built = await buildTraceIndex(trace, trace, undefined, dir);
 * const reader = await TraceReader.open(trace);
 * const header = await reader.header();
 * assert.equal(built.sha256, await reader.sha256());
 * const spec = "linux-3.12:iomap=honoured";
 * const idx = await TraceIndex.open(built.path, trace, header, spec, built.sha256);
 * assert.equal((await idx.resolve("end")).index, 21);
 * idx.close();
 * ```
 */
export async function buildTraceIndex(
  path: string,
  name: string,
  policy: string | undefined,
  dir: string,
  options: { threads?: 1 | 2 } = {},
): Promise<BuiltIndex> {
  const before = fileKey(await Deno.stat(path));
  const k = intervalFor(before.size);
  // The trace's side of the index — each interval's event table and part hashes, the file's
  // SHA-256 — comes from the read that parses it (`index_side.ts`), on a second thread as
  // `replay` parses: nothing is read or hashed again after the replay, and one interval's
  // table is held at a time. Loaded here: a cached answer never builds, and these modules
  // cost it module loading (`node:worker_threads`, `node:crypto`).
  const { THREAD_MIN_BYTES, ThreadedReader, useThread } = await import(
    "../trace/threaded_read.ts"
  );
  const { CUT_INTERVAL, CUT_PART, IntervalCutter, LocalIndexedReader } = await import(
    "./index_side.ts"
  );
  const { ForwardPass } = await import("./forward.ts");
  gzipRefused(path, name);
  // A second thread as `replay` takes one, also when the build runs on a worker itself
  // (`cached_trace.ts`: its thread is the build's, not a `--jobs` batch's).
  const threads = options.threads ??
    (before.size >= THREAD_MIN_BYTES && navigator.hardwareConcurrency >= 2 ? 2 : 1);
  const reader = await useThread(path, threads)
    ? ThreadedReader.openIndexed(path, k)
    : await LocalIndexedReader.open(path, k);
  let file: Deno.FsFile | undefined;
  let tables: Deno.FsFile | undefined;
  let done = false;
  const tmp = `${dir}/build.p2mindex.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  // The event tables, written at the end of the file after every interval's other blocks:
  // kept in a file of their own meanwhile.
  const tablesTmp = `${tmp}.tables`;
  try {
    const pass = await ForwardPass.open(reader, { policy });
    const sha = await oneShotSha256();
    try {
      file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
      tables = Deno.openSync(tablesTmp, { read: true, write: true, createNew: true, mode: 0o600 });
    } catch (e) {
      throw new IndexUnusable(`cannot write ${tmp}: ${e instanceof Error ? e.message : e}`);
    }
    const out = file, tableOut = tables;
    let at = 0, tablesAt = 0;
    const writeAll = (f: Deno.FsFile, bytes: Uint8Array) => {
      for (let off = 0; off < bytes.length;) off += f.writeSync(bytes.subarray(off));
    };
    const writeRaw = (bytes: Uint8Array) => {
      writeAll(out, bytes);
      at += bytes.length;
    };
    const write = (bytes: Uint8Array): Block => {
      const b: Block = [at, bytes.length, sha(bytes)];
      writeRaw(bytes);
      return b;
    };

    const head = new Uint8Array(16);
    head.set(MAGIC);
    new DataView(head.buffer).setUint32(8, INDEX_FORMAT, true);
    write(head);
    // A checkpoint: the P2M pages no earlier one of its group held, then the state.
    let pool = new PagePool();
    const checkpoint = (first: number, fresh = false): Checkpoint => {
      if (fresh) pool = new PagePool(pool);
      pool.start(at);
      const bytes = encodeState(pass.state(), pool);
      const placed = pool.take();
      const pages = placed.length ? write(placed) : null;
      return { first, state: write(bytes), pages };
    };
    const cutter = new IntervalCutter(k);
    // The open interval: its checkpoint, those within it, its first event's seq.
    let state = checkpoint(0, true);
    let subs: Checkpoint[] = [];
    let firstSeq = 0, lastSeq = 0;
    const intervals: (Omit<IntervalEntry, "record"> & IntervalRecord)[] = [];
    // Each interval's changed ranges, flat [interval, start, end], for the region blocks.
    const members = new RowList();
    // The interval's changes (CHANGE_COLUMNS each), and the starts and ends of their ranges
    // (touching ones merged).
    const recs = new F64List(), starts = new F64List(), ends = new F64List();
    /** Closes the open interval after `n` events, with its trace side's table. */
    const closeInterval = (n: number) => {
      const j = intervals.length;
      const changes = write(rowBlock(recs.a.subarray(0, recs.n)));
      const union = unionOf(starts.a.subarray(0, starts.n), ends.a.subarray(0, ends.n));
      for (let r = 0; r < union.length; r += 2) {
        members.push(j);
        members.push(union[r]);
        members.push(union[r + 1]);
      }
      recs.n = starts.n = ends.n = 0;
      const side = reader.takeInterval();
      const count = n - state.first;
      const parts = 1 + subs.filter((s) => s.first < n).length;
      if (side === undefined || side.count !== count || side.parts.length !== parts) {
        throw new InvariantError(
          `index: interval ${j} of ${count} event(s) in ${parts} part(s), its table ` +
            (side ? `${side.count} in ${side.parts.length}` : "missing"),
        );
      }
      writeAll(tableOut, side.table);
      const events: Block = [tablesAt, side.table.length, side.tableSha256];
      tablesAt += side.table.length;
      intervals.push({
        ...state,
        count,
        firstSeq,
        fresh: j % FRESH_EVERY === 0,
        subs,
        events,
        changes,
        spans: side.parts,
      });
    };
    let n = 0;
    await pass.forEachStep((rec) => {
      const i = n++;
      const e = rec.event;
      if (i === state.first) firstSeq = e.seq;
      lastSeq = e.seq;
      const cs = rec.outcome.changes;
      if (cs.length > 0) {
        recs.reserve(CHANGE_COLUMNS * cs.length);
        starts.reserve(cs.length);
        ends.reserve(cs.length);
      }
      for (let c = 0; c < cs.length; c++) {
        const ch = cs[c];
        if (ch.endPfn <= ch.pfn) continue;
        if (ch.beforeKind > 15 || ch.afterKind > 15) {
          throw new InvariantError(`index: entry kind ${ch.beforeKind}/${ch.afterKind} over 15`);
        }
        const r = recs.a;
        let at = recs.n;
        r[at++] = i;
        r[at++] = ch.pfn;
        r[at++] = ch.endPfn;
        r[at++] = ch.beforeMfn;
        r[at++] = ch.afterMfn;
        r[at++] = ch.beforeKind * 16 + ch.afterKind;
        recs.n = at;
        // A range touching or overlapping the last one is merged into it: the union is the
        // same, and ballooning page by page (top down or up) leaves one range, not thousands,
        // for unionOf to sort.
        const last = starts.n - 1;
        if (last >= 0 && ch.pfn <= ends.a[last] && ch.endPfn >= starts.a[last]) {
          if (ch.pfn < starts.a[last]) starts.a[last] = ch.pfn;
          if (ch.endPfn > ends.a[last]) ends.a[last] = ch.endPfn;
        } else {
          starts.a[starts.n++] = ch.pfn;
          ends.a[ends.n++] = ch.endPfn;
        }
      }
      const cut = cutter.next(e.kind);
      if (cut === CUT_INTERVAL) {
        closeInterval(n);
        state = checkpoint(n, intervals.length % FRESH_EVERY === 0);
        subs = [];
      } else if (cut === CUT_PART) {
        subs.push(checkpoint(n));
      }
    });
    // The state after the last event starts no interval.
    if (n > state.first) closeInterval(n);
    const indexed = reader.indexed;
    if (indexed === undefined) throw new InvariantError("index: the trace's hash is missing");
    // The event tables, after every interval's other blocks (in interval order).
    const tablesBase = at;
    const buf = new Uint8Array(1 << 20);
    tableOut.seekSync(0, Deno.SeekMode.Start);
    for (let got = 0; got < tablesAt;) {
      const m = tableOut.readSync(buf.subarray(0, Math.min(buf.length, tablesAt - got)));
      if (m === null) throw new IndexUnusable(`${tablesTmp} ended early`);
      writeRaw(buf.subarray(0, m));
      got += m;
    }
    for (const iv of intervals) iv.events[0] += tablesBase;
    const regions: Region[] = [];
    regionRows(members, (pfn, rows) => regions.push({ pfn, block: write(rowBlock(rows)) }));
    // Each interval's record, after the blocks it names.
    const enc = new TextEncoder();
    const entries: IntervalEntry[] = intervals.map((iv) => {
      const { first, count, firstSeq, ...record } = iv;
      return { first, count, firstSeq, record: write(enc.encode(JSON.stringify(record))) };
    });
    if (
      indexed.bytes !== before.size ||
      JSON.stringify(fileKey(await Deno.stat(path))) !== JSON.stringify(before)
    ) {
      throw new IndexUnusable(`${name} changed while it was indexed`);
    }
    const sha256 = indexed.sha256;
    const directory: Directory = {
      length: 0,
      format: INDEX_FORMAT,
      tool: TOOL_VERSION,
      policy: policySpec(pass.policy),
      trace: { sha256, key: before },
      events: n,
      lastSeq: n ? lastSeq : 0,
      interval: k,
      cut: pass.cutOff
        ? { line: pass.cutOff.position.line, eventsRead: pass.cutOff.eventsRead }
        : null,
      intervals: n ? entries : [],
      regions: n ? regions : [],
    };
    // The length is the file's, directory included (a fixed-width field of it).
    directory.length = at + encodeDirectory(directory).length + TRAILER;
    const dirBytes = encodeDirectory(directory);
    writeRaw(dirBytes);
    const tail = new Uint8Array(TRAILER);
    new DataView(tail.buffer).setUint32(0, dirBytes.length, true);
    tail.set(fromHex(sha(dirBytes)), 4);
    tail.set(MAGIC, 36);
    writeRaw(tail);
    out.close();
    done = true;
    const named = `${dir}/${await indexFileName(sha256, directory.policy)}`;
    await Deno.rename(tmp, named);
    return { path: named, sha256, key: before };
  } finally {
    reader.close?.();
    if (!done) file?.close();
    tables?.close();
    await Deno.remove(tmp).catch(() => {});
    await Deno.remove(tablesTmp).catch(() => {});
  }
}

/** A gzip trace has nothing to seek in: the callers never index one (`cached_trace.ts`). */
function gzipRefused(path: string, name: string): void {
  const magic = new Uint8Array(2);
  const f = Deno.openSync(path, { read: true });
  let got: number | null;
  try {
    got = f.readSync(magic);
  } finally {
    f.close();
  }
  if (got === 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
    throw new IndexUnusable(`${name} is gzip: nothing to seek in`);
  }
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(
    { length: hex.length / 2 },
    (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
}

function readAt(file: Deno.FsFile, offset: number, length: number): Uint8Array<ArrayBuffer> {
  file.seekSync(offset, Deno.SeekMode.Start);
  const bytes = new Uint8Array(length);
  for (let got = 0; got < length;) {
    const n = file.readSync(bytes.subarray(got));
    if (n === null) throw new IndexUnusable("a block runs past the end of its file");
    got += n;
  }
  return bytes;
}

/**
 * An index file opened and checked, answering steps of its trace.
 *
 * @example
 * ```ts
 * import { buildTraceIndex, TraceIndex } from "./trace_index.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import { policySpec } from "../report/snapshot_report.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const trace = "traces/pcie-bar-above-e820.jsonl";
 * const built = await buildTraceIndex(trace, trace, "linux-3.16", await Deno.makeTempDir());
 * const policy = resolvePolicy(POLICIES, "linux-3.16");
 * const header = await (await TraceReader.open(trace)).header();
 * const idx = await TraceIndex.open(built.path, trace, header, policySpec(policy), built.sha256);
 * idx.usePolicy(policy);
 * const { state, event } = await idx.stateAt((await idx.resolve(13)).index);
 * assert.equal(event?.seq, 13);
 * assert.equal(state.p2m.entry(0x100)[0], K.MFN_UNKNOWN);
 * idx.close();
 * ```
 */
export class TraceIndex {
  /** The index file. */
  readonly path: string;
  #trace: string;
  #name: string;
  #header: TraceHeader;
  #dir: Directory;
  #policy: Policy | undefined;
  #read = new Map<Block, Promise<Uint8Array<ArrayBuffer>>>();
  #intervals = new Map<number, Promise<Interval>>();
  #file: Deno.FsFile | undefined;
  #closed = false;
  #windows = new Map<number, Uint8Array>();

  private constructor(
    path: string,
    trace: string,
    name: string,
    header: TraceHeader,
    dir: Directory,
  ) {
    this.path = path;
    this.#trace = trace;
    this.#name = name;
    this.#header = header;
    this.#dir = dir;
  }

  /**
   * Opens the index at `path` for the trace file `trace` (errors name it `name`) with
   * `header` and SHA-256 `sha256`, under the policy whose spec is `policy`; anything that
   * does not match or check is an {@link IndexUnusable}; a missing file is
   * `Deno.errors.NotFound`.
   */
  static async open(
    path: string,
    trace: string,
    header: TraceHeader,
    policy: string,
    sha256: string,
    name = trace,
  ): Promise<TraceIndex> {
    let size: number,
      head: Uint8Array,
      tail: Uint8Array<ArrayBuffer>,
      dirBytes: Uint8Array<ArrayBuffer>;
    const file = Deno.openSync(path, { read: true });
    try {
      size = file.statSync().size;
      if (size < 16 + TRAILER) throw new IndexUnusable("it is shorter than its header and trailer");
      head = readAt(file, 0, 16);
      tail = readAt(file, size - TRAILER, TRAILER);
      if (!same(head.subarray(0, 8), MAGIC) || !same(tail.subarray(36), MAGIC)) {
        throw new IndexUnusable("it does not begin and end as an index file (truncated?)");
      }
      const format = new DataView(head.buffer).getUint32(8, true);
      if (new DataView(head.buffer).getUint32(12, true) !== 0) {
        throw new IndexUnusable("its header is damaged");
      }
      if (format !== INDEX_FORMAT) {
        throw new IndexUnusable(`it has format ${format}, this p2mtrace writes ${INDEX_FORMAT}`);
      }
      const dirLen = new DataView(tail.buffer).getUint32(0, true);
      if (dirLen > MAX_DIR || dirLen > size - 16 - TRAILER) {
        throw new IndexUnusable("its directory length is out of range");
      }
      dirBytes = readAt(file, size - TRAILER - dirLen, dirLen);
    } finally {
      file.close();
    }
    if (!same(fromHex(await sha256Hex(dirBytes)), tail.subarray(4, 36))) {
      throw new IndexUnusable("its directory does not match its checksum");
    }
    const dir = decodeDirectory(dirBytes);
    if (dir === undefined) throw new IndexUnusable("its directory's sizes disagree");
    if (dir.length !== size) throw new IndexUnusable(`it is ${size} bytes, not ${dir.length}`);
    if (dir.tool !== TOOL_VERSION) {
      throw new IndexUnusable(`it was built by p2mtrace ${dir.tool}, this is ${TOOL_VERSION}`);
    }
    if (dir.policy !== policy) throw new IndexUnusable(`it is for policy ${dir.policy}`);
    if (dir.trace.sha256 !== sha256) throw new IndexUnusable("it is for other trace bytes");
    if (Deno.statSync(trace).size !== dir.trace.key.size) {
      throw new IndexUnusable("it is for a trace of another size");
    }
    return new TraceIndex(path, trace, name, header, dir);
  }

  /** Number of events. */
  get events(): number {
    return this.#dir.events;
  }

  /** Events between checkpoints (at most; an interval also ends after a boot pass). */
  get interval(): number {
    return this.#dir.interval;
  }

  /** Checkpoints held (states in the file). */
  get checkpoints(): number {
    return this.#dir.intervals.length;
  }

  /** The trace's SHA-256 at build. */
  get traceSha256(): string {
    return this.#dir.trace.sha256;
  }

  /** The cut-off at the end of the trace, if its last line was truncated. */
  get cut(): { line: number; eventsRead: number } | null {
    return this.#dir.cut;
  }

  /** Block `b`, checked (once per index opened: a question reads a handful of blocks). */
  #block(b: Block): Promise<Uint8Array<ArrayBuffer>> {
    let got = this.#read.get(b);
    if (got === undefined) this.#read.set(b, got = this.#readBlock(b));
    return got;
  }

  /** Interval `j`: its directory entry and its record (read and checked once). */
  #interval(j: number): Promise<Interval> {
    let got = this.#intervals.get(j);
    if (got === undefined) this.#intervals.set(j, got = this.#readInterval(j));
    return got;
  }

  async #readInterval(j: number): Promise<Interval> {
    const entry = this.#dir.intervals[j];
    if (entry === undefined) throw new InvariantError(`TraceIndex: no interval ${j}`);
    const bytes = await this.#block(entry.record);
    let record: IntervalRecord;
    try {
      record = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new InvariantError("index: a checked interval record does not parse");
    }
    return { ...record, ...entry };
  }

  /**
   * `length` bytes of the index file from `offset` (unchecked): through one handle kept open
   * until {@link TraceIndex.close} (a lookup reads dozens of pages, each on its own), after it
   * through a handle of their own.
   */
  #readIndex(offset: number, length: number): Uint8Array<ArrayBuffer> {
    if (this.#closed) {
      const file = Deno.openSync(this.path, { read: true });
      try {
        return readAt(file, offset, length);
      } finally {
        file.close();
      }
    }
    this.#file ??= Deno.openSync(this.path, { read: true });
    return readAt(this.#file, offset, length);
  }

  /**
   * The `length` bytes of a P2M page at `offset` (unchecked), cut from the aligned window of
   * {@link PAGE_WINDOW} bytes holding it, read once: the pages a lookup reads lie close
   * together (neighbouring leaves, a range walked outward), and a read costs a fresh process
   * more than the bytes it brings.
   */
  #pageBytes(offset: number, length: number): Uint8Array {
    const w = Math.floor(offset / PAGE_WINDOW);
    if (Math.floor((offset + length - 1) / PAGE_WINDOW) !== w) {
      return this.#readIndex(offset, length);
    }
    let win = this.#windows.get(w);
    if (win === undefined) {
      const start = w * PAGE_WINDOW;
      const end = Math.min(start + PAGE_WINDOW, this.#dir.length - TRAILER);
      this.#windows.set(w, win = this.#readIndex(start, end - start));
    }
    const at = offset - w * PAGE_WINDOW;
    return win.subarray(at, at + length);
  }

  /**
   * Closes the handle the index reads through (reads after it open one each: a question
   * closes it once answered).
   */
  close(): void {
    this.#closed = true;
    this.#file?.close();
    this.#file = undefined;
  }

  async #readBlock(b: Block): Promise<Uint8Array<ArrayBuffer>> {
    const [off, len, want] = b;
    if (off + len > this.#dir.length) throw new IndexUnusable("a block runs past the end");
    const bytes = this.#readIndex(off, len);
    if (await sha256Hex(bytes) !== want) {
      throw new IndexUnusable(`the block at byte ${off} is damaged`);
    }
    return bytes;
  }

  /**
   * The page blocks a state at checkpoint `at` of interval `j` (`iv`) may point into: its
   * group's, from the group's first checkpoint to `at`, in file order.
   */
  async #pageBlocks(j: number, iv: Interval, at: Checkpoint): Promise<PageBlock[]> {
    const out: PageBlock[] = [];
    for (let i = j; i >= 0; i--) {
      const it = i === j ? iv : await this.#interval(i);
      const cps = [it, ...it.subs];
      for (let c = i === j ? cps.indexOf(at) : cps.length - 1; c >= 0; c--) {
        const b = cps[c].pages;
        if (b !== null) out.push(b);
      }
      if (it.fresh) break;
    }
    return out.reverse();
  }

  /** Throws unless `[offset, offset + length)` lies within the file's blocks. */
  #inData(offset: number, length: number): void {
    if (!(offset >= 16 && length > 0 && offset + length <= this.#dir.length - TRAILER)) {
      throw new IndexUnusable(`a P2M page or page block (byte ${offset}) lies outside the blocks`);
    }
  }

  /**
   * The JSON values of the P2M pages at `places` (flat offset, length, sum), each cut from the
   * page blocks `blocks` (in file order, checked) read as `bytes`, or with no blocks read from
   * the file on its own and checked against its sum.
   */
  #pages(blocks: PageBlock[], bytes: Uint8Array[], places: readonly number[]): unknown[] {
    const n = places.length / PLACE_SIZE;
    let total = 1 + n;
    for (let i = 0; i < n; i++) total += places[PLACE_SIZE * i + 1];
    const text = new Uint8Array(Math.max(2, total));
    text[0] = 0x5b;
    for (let i = 0, w = 1; i < n; i++) {
      const [off, len, sum] = places.slice(PLACE_SIZE * i, PLACE_SIZE * i + PLACE_SIZE);
      let page: Uint8Array;
      if (blocks.length) page = pageIn(blocks, bytes, off, len);
      else {
        this.#inData(off, len);
        checkPage(page = this.#pageBytes(off, len), sum, off);
      }
      text.set(page, w);
      w += len;
      text[w++] = 0x2c;
    }
    text[total === 1 ? 1 : total - 1] = 0x5d;
    try {
      return JSON.parse(new TextDecoder().decode(text));
    } catch {
      throw new InvariantError("index: checked P2M pages do not parse");
    }
  }

  /**
   * What reads the P2M page at `offset` (`length` bytes, {@link pageSum} `sum`) from the file
   * when first called (a leaf the answer reads), checks it and parses it.
   */
  #lazyPage(offset: number, length: number, sum: number): () => unknown {
    return () => {
      this.#inData(offset, length);
      const page = this.#pageBytes(offset, length);
      checkPage(page, sum, offset);
      // The page is JSON numbers, brackets and commas: ASCII, which the native decoder turns
      // into characters at a fraction of the cost of `String.fromCharCode` over its bytes in
      // a fresh process (300 pages: 1-5 against 5-25 ms).
      try {
        return JSON.parse(PAGE_TEXT.decode(page));
      } catch {
        throw new InvariantError("index: a checked P2M page does not parse");
      }
    };
  }

  /** The event table of interval `j`: offsets, lengths, lines, seqs. */
  async #table(j: number) {
    const iv = await this.#interval(j);
    const bytes = await this.#block(iv.events);
    const m = iv.count;
    if (bytes.length !== 24 * m) throw new IndexUnusable("an event table has the wrong size");
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    return {
      offset: (i: number) => dv.getFloat64(i * 8, true),
      length: (i: number) => dv.getUint32(m * 8 + i * 4, true),
      line: (i: number) => dv.getUint32(m * 12 + i * 4, true),
      seq: (i: number) => dv.getFloat64(m * 16 + i * 8, true),
    };
  }

  /** The interval holding event `i` (or the last one for `i` = events). */
  #intervalOf(i: number): number {
    const ivs = this.#dir.intervals;
    let lo = 0, hi = ivs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ivs[mid].first <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Seq of event `i` (0-based). */
  async #seq(i: number): Promise<number> {
    const j = this.#intervalOf(i);
    return (await this.#table(j)).seq(i - this.#dir.intervals[j].first);
  }

  async #point(index: number): Promise<StepPoint> {
    return { step: index === 0 ? 0 : await this.#seq(index - 1), index };
  }

  /** Resolves a step name exactly as `StepIndex.resolve` over the trace's seqs. */
  async resolve(name: StepName): Promise<StepPoint> {
    const n = this.#dir.events;
    if (name === "end") return await this.#point(n);
    if (name < 0) {
      if (n + name < 0) throw beforeStartError(name, n);
      return await this.#point(n + name);
    }
    if (name > 0 && (n === 0 || name > this.#dir.lastSeq)) {
      throw pastEndError(name, n === 0 ? undefined : this.#dir.lastSeq);
    }
    const ivs = this.#dir.intervals;
    let j = -1;
    for (let lo = 0, hi = ivs.length - 1; lo <= hi;) {
      const mid = (lo + hi) >> 1;
      if (ivs[mid].firstSeq <= name) {
        j = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (j < 0) return { step: name, index: 0 };
    const t = await this.#table(j);
    let lo = 0, hi = ivs[j].count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (t.seq(mid) <= name) lo = mid + 1;
      else hi = mid;
    }
    return { step: name, index: ivs[j].first + lo };
  }

  #policyOf(): Policy {
    if (this.#policy) return this.#policy;
    throw new InvariantError("TraceIndex: state before the policy was set");
  }

  /** Sets the policy states are decoded under (the one whose spec opened the index). */
  usePolicy(policy: Policy): void {
    if (policySpec(policy) !== this.#dir.policy) {
      throw new InvariantError(`TraceIndex: policy ${policySpec(policy)} for ${this.#dir.policy}`);
    }
    this.#policy = policy;
  }

  /** The bytes of the trace `span`, checked (once per index opened). */
  #span(b: Block): Promise<Uint8Array<ArrayBuffer>> {
    let got = this.#read.get(b);
    if (got === undefined) this.#read.set(b, got = this.#readSpan(b));
    return got;
  }

  /**
   * Starts reading the blocks `bs` (and the trace span `span`) a question will need: each is
   * read at once and checked on another thread while this one decodes and replays.
   */
  #prefetch(bs: Block[], span?: Block): void {
    for (const b of bs) this.#block(b).catch(() => {}); // the awaiting caller sees any failure
    if (span !== undefined) this.#span(span).catch(() => {});
  }

  async #readSpan([base, len, want]: Block): Promise<Uint8Array<ArrayBuffer>> {
    let bytes: Uint8Array<ArrayBuffer>;
    const file = Deno.openSync(this.#trace, { read: true });
    try {
      bytes = readAt(file, base, len);
    } finally {
      file.close();
    }
    if (await sha256Hex(bytes) !== want) {
      throw new IndexUnusable("the trace's bytes differ from those indexed (same size and times)");
    }
    return bytes;
  }

  /** Events `from..to-1` of interval `j` (indices within it), parsed from checked bytes. */
  async #events(j: number, from: number, to: number): Promise<TraceEvent[]> {
    return await this.#eventLines(j, from, to) ??
      await this.#eventsAt(j, Array.from({ length: to - from }, (_, i) => from + i));
  }

  /**
   * Events `from..to-1` of interval `j` when their lines are consecutive lines of one part's
   * span (no other line between them, as a replay's events almost always are): one decode and
   * one native `JSON.parse` of those lines read as a list, where {@link TraceIndex.#eventsAt}
   * cuts each line on its own (in a fresh process, per-event work costs more than the bytes);
   * undefined when they are not, or anything looks unusual (that way then answers).
   */
  async #eventLines(j: number, from: number, to: number): Promise<TraceEvent[] | undefined> {
    const iv = await this.#interval(j);
    if (!(to - from > 1 && from >= 0 && to <= iv.count)) return undefined;
    const span = this.#partSpan(iv, from);
    if (this.#partSpan(iv, to - 1) !== span) return undefined;
    const t = await this.#table(j);
    const bytes = await this.#span(span);
    // Each line starts one byte (its newline) after the last one ends; a line's length
    // counts a carriage return before the newline, which JSON reads as white space.
    for (let i = from + 1; i < to; i++) {
      if (t.offset(i) !== t.offset(i - 1) + t.length(i - 1) + 1) return undefined;
    }
    const a = t.offset(from) - span[0], b = t.offset(to - 1) + t.length(to - 1) - span[0];
    if (!(a >= 0 && b <= bytes.length && a < b)) return undefined;
    let objs: unknown;
    try {
      objs = JSON.parse(
        `[${new TextDecoder().decode(bytes.subarray(a, b)).replaceAll("\n", ",")}]`,
      );
    } catch {
      return undefined;
    }
    if (!Array.isArray(objs) || objs.length !== to - from) return undefined;
    const list = objs;
    return list.map((o, k) => validateEvent({ file: this.#name, line: t.line(from + k) }, o, true));
  }

  /** The span of the part of interval `iv` holding its event `i` (an index within it). */
  #partSpan(iv: Interval, i: number): Block {
    let q = 0;
    for (const s of iv.subs) if (s.first <= iv.first + i && q + 1 < iv.spans.length) q++;
    return iv.spans[q];
  }

  /** Events `which` of interval `j` (indices within it), parsed from checked bytes. */
  async #eventsAt(j: number, which: readonly number[]): Promise<TraceEvent[]> {
    const iv = await this.#interval(j);
    const t = await this.#table(j);
    // One decode of each part's span read (its characters are its bytes when their counts
    // agree), one native JSON.parse of the events' lines (what parseEventLine's parser gives,
    // line by line: these bytes are the ones indexed, each a valid event); any surprise
    // parses them one by one, for the error the replay would give.
    const dec = new TextDecoder();
    const decoded = new Map<Block, string>();
    const texts: string[] = [];
    for (const i of which) {
      if (!(i >= 0 && i < iv.count)) throw new IndexUnusable("an event index is out of range");
      const span = this.#partSpan(iv, i);
      const bytes = await this.#span(span);
      let whole = decoded.get(span);
      if (whole === undefined) decoded.set(span, whole = dec.decode(bytes));
      const at = t.offset(i) - span[0];
      let l = t.length(i);
      if (at < 0 || at + l > bytes.length) {
        throw new IndexUnusable("an event lies outside its part");
      }
      if (l > 0 && bytes[at + l - 1] === 13) l--;
      texts.push(
        whole.length === bytes.length
          ? whole.slice(at, at + l)
          : dec.decode(bytes.subarray(at, at + l)),
      );
    }
    let objs: unknown[] | undefined;
    try {
      objs = JSON.parse(`[${texts.join(",")}]`);
    } catch { /* parsed one by one below */ }
    if (objs?.length === texts.length) {
      const parsed = objs;
      return texts.map((_, k) =>
        validateEvent({ file: this.#name, line: t.line(which[k]) }, parsed[k], true)
      );
    }
    // The reader's parser (its module loaded only here: an answer does not stream the trace).
    const { parseEventLine } = await import("../trace/read.ts");
    return texts.map((text, k) => parseEventLine(this.#name, t.line(which[k]), text));
  }

  /**
   * The state after `index` events and the event applied last (undefined at 0); `onStep` sees
   * each step replayed from the checkpoint. With `few`, for a caller that reads few of the
   * P2M's pages (a lookup), each mid and leaf of the checkpoint is read, checked against its
   * sum and parsed when the table first needs it (a state of a 1M-event trace holds about 8
   * mids and 2,000 leaves, 0.8 MB of JSON; a lookup reads a few of each); without, all at once
   * from its group's page blocks, each block SHA-256-checked (one read and one parse cost less
   * than 2,000 when every leaf is read: a snapshot, a diff).
   */
  async stateAt(
    index: number,
    onStep?: (rec: StepRecord) => void,
    few = false,
  ): Promise<{ state: ModelState; event: TraceEvent | undefined; from: number }> {
    const policy = this.#policyOf();
    if (this.#dir.intervals.length === 0) {
      return { state: initialState(this.#header.guest, policy), event: undefined, from: 0 };
    }
    const j = this.#intervalOf(index);
    const iv = await this.#interval(j);
    // The latest checkpoint at or before `index`: the interval's own, or one within it.
    let at: Checkpoint = iv;
    for (const s of iv.subs) if (s.first <= index) at = s;
    const from = at.first;
    if (index > iv.first) {
      this.#prefetch([at.state, iv.events], this.#partSpan(iv, index - 1 - iv.first));
    } else this.#prefetch([at.state]);
    // A lookup (`few`) reads its mids and the leaves it needs, each on its own; a snapshot or
    // a diff reads every page, from its group's page blocks read whole.
    const pageBlocks = few ? [] : await this.#pageBlocks(j, iv, at);
    this.#prefetch(pageBlocks);
    const stateBytes = await this.#block(at.state);
    const pageBytes = await Promise.all(pageBlocks.map((b) => this.#block(b)));
    let state = decodeState(
      stateBytes,
      this.#header.guest,
      policy,
      (places) => this.#pages(pageBlocks, pageBytes, places),
      few ? (offset, length, sum) => this.#lazyPage(offset, length, sum) : undefined,
    );
    let event: TraceEvent | undefined;
    if (index > from) {
      const events = await this.#events(j, from - iv.first, index - iv.first);
      state = applyEvents(
        state,
        events,
        onStep && ((e, outcome) => onStep({ event: e, outcome, findings: [], unjudged: [] })),
      );
      event = events[events.length - 1];
    } else if (index > 0) {
      const p = this.#intervalOf(index - 1);
      const pi = this.#dir.intervals[p];
      event = (await this.#events(p, index - 1 - pi.first, index - pi.first))[0];
    }
    return { state, event, from };
  }

  /**
   * The steps up to `index` that changed `pfn` (all of them, or with `all` false the last
   * one, which is what a lookup's blame needs), with the state after `index` events.
   */
  async pfnHistory(pfn: number, index: number, all: boolean): Promise<{
    state: ModelState;
    event: TraceEvent | undefined;
    changes: PfnChange[];
  }> {
    const here = new PfnHistory(pfn);
    const region = this.#regionOf(pfn);
    if (region !== undefined) this.#prefetch([region.block]);
    const { state, event, from } = await this.stateAt(index, (rec) => here.add(rec), true);
    if (this.#dir.intervals.length === 0 || (!all && here.changes.length)) {
      return { state, event, changes: here.changes };
    }
    // stateAt replayed the events from `from` (the start of the interval holding `index`, or
    // a checkpoint within it): the earlier steps that changed the PFN are found through its
    // region's block — that interval's before `from`, then earlier intervals' — and their
    // changes of it are in the intervals' change blocks.
    const j = this.#intervalOf(index);
    const within = from > this.#dir.intervals[j].first;
    const earlier: PfnChange[] = [];
    for (const i of await this.#changedIn(pfn, within ? j + 1 : j, all ? Infinity : 2)) {
      const got = await this.#changesOf(i, pfn, all, i === j ? from : Infinity);
      earlier.unshift(...got);
      if (!all && got.length) break;
    }
    return { state, event, changes: [...earlier, ...here.changes] };
  }

  /** The latest (at most `max`) intervals before interval `before` that changed `pfn`. */
  async #changedIn(pfn: number, before: number, max: number): Promise<number[]> {
    const region = this.#regionOf(pfn);
    if (region === undefined) return [];
    const rows = this.#rows(await this.#block(region.block), REGION_COLUMNS, "region");
    const out: number[] = [];
    for (let r = rows.count - 1; r >= 0; r--) {
      const j = rows.at(r, 0);
      if (j >= before || j === out[out.length - 1]) continue;
      if (pfn >= rows.at(r, 1) && pfn < rows.at(r, 2)) {
        out.push(j);
        if (out.length === max) break;
      }
    }
    return out;
  }

  /** The region holding `pfn`, if a step changed any PFN from there on. */
  #regionOf(pfn: number): Region | undefined {
    const regions = this.#dir.regions;
    let lo = 0, hi = regions.length - 1;
    if (hi < 0 || pfn < regions[0].pfn) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (regions[mid].pfn <= pfn) lo = mid;
      else hi = mid - 1;
    }
    return regions[lo];
  }

  /**
   * The changes of `pfn` by the steps of interval `j` before event index `before`, in step
   * order (`all` false: the last).
   */
  async #changesOf(j: number, pfn: number, all: boolean, before: number): Promise<PfnChange[]> {
    const iv = await this.#interval(j);
    const rows = this.#rows(await this.#block(iv.changes), CHANGE_COLUMNS, "change");
    const hits: number[] = [];
    for (let r = rows.count - 1; r >= 0 && (all || hits.length === 0); r--) {
      if (rows.at(r, 0) < before && pfn >= rows.at(r, 1) && pfn < rows.at(r, 2)) hits.unshift(r);
    }
    if (hits.length === 0 && before === Infinity) {
      throw new IndexUnusable("its region and change blocks disagree");
    }
    const events = await this.#eventsAt(j, hits.map((r) => rows.at(r, 0) - iv.first));
    return hits.map((r, h) => {
      const kinds = rows.at(r, 5);
      const change = {
        pfn: rows.at(r, 1),
        endPfn: rows.at(r, 2),
        beforeKind: kinds >> 4,
        beforeMfn: rows.at(r, 3),
        afterKind: kinds & 15,
        afterMfn: rows.at(r, 4),
      };
      return { event: events[h], change };
    });
  }

  /** Rows of `columns` numbers in the row block `bytes` (of a `what` block). */
  #rows(bytes: Uint8Array, columns: number, what: string) {
    const rows = rowsOf(bytes, columns);
    if (rows === undefined) throw new IndexUnusable(`a ${what} block has the wrong size`);
    return rows;
  }
}

/**
 * The bytes of the P2M page at file offset `off` (`len` bytes) in the page blocks `blocks`
 * (in file order) read as `bytes`: the last block starting at or before it must hold it all.
 */
function pageIn(blocks: PageBlock[], bytes: Uint8Array[], off: number, len: number): Uint8Array {
  let lo = 0, hi = blocks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (blocks[mid][0] <= off) lo = mid;
    else hi = mid - 1;
  }
  const b = blocks[lo], from = off - (b?.[0] ?? 0);
  if (!(b !== undefined && from >= 0 && len > 0 && from + len <= b[1])) {
    throw new IndexUnusable("a P2M page lies outside its group's page blocks");
  }
  return bytes[lo].subarray(from, from + len);
}

/** Throws unless the P2M page `page` read at byte `offset` has the {@link pageSum} `sum`. */
function checkPage(page: Uint8Array, sum: number, offset: number): void {
  if (pageSum(page) !== sum) throw new IndexUnusable(`the P2M page at byte ${offset} is damaged`);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
