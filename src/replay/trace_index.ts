/**
 * The on-disk random-access index of one trace file under one policy: a model state every
 * `K` events (`state_codec.ts`), each event's byte offset, length, line and seq, and for each
 * interval of `K` events the PFNs its steps changed. With it a step of a 1M-event trace costs
 * one state decoded and at most `K - 1` events replayed, read with one positioned read,
 * instead of a replay from step 0. `src/replay/index_cache.ts` says where the file lives.
 *
 * **File layout** (little-endian): `P2MTIDX\n`, `u32` format, `u32` 0; then the blocks (state,
 * event table and changed PFNs of each interval) in build order; then the directory (JSON:
 * format, tool version, policy, the trace's SHA-256, size and file identity, events, interval,
 * how the trace ended, and each block's offset, length and SHA-256), `u32` directory length,
 * the directory's SHA-256 (32 bytes) and `P2MTIDX\n` again.
 *
 * **Trust.** Nothing is used unchecked: {@link TraceIndex.open} checks both magics, the format,
 * the file's length, the directory's SHA-256, the tool version, the policy and the trace's
 * SHA-256 and size against those the caller found for the trace (`index_cache.ts`: the trace
 * hashed, or the hash recorded for its file identity); every block read is
 * checked against its SHA-256 before it is decoded, and the trace bytes an access replays are
 * checked against the SHA-256 of its interval's span recorded at build. Any mismatch is an
 * {@link IndexUnusable} (the caller ignores the file, says so, and rebuilds or replays).
 * Hashing a whole 1 GB trace on every access would cost more than the replay it saves, so
 * the full SHA-256 is computed at build (and checked again by `p2mtrace index`); an access
 * trusts the file identity for the bytes it does not read.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { InvariantError } from "../errors.ts";
import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import { parseEventLine, TraceReader } from "../trace/read.ts";
import type { Policy } from "../policy/policy.ts";
import { initialState, type ModelState } from "../model/state.ts";
import { decodeInts, decodeState, encodeInts, encodeState } from "../model/state_codec.ts";
import { policySpec } from "../report/snapshot_report.ts";
import { TOOL_VERSION } from "../version.ts";
import { INDEX_FORMAT, indexFileName } from "./index_cache.ts";
import { ForwardPass } from "./forward.ts";
import { Replayer, type StepRecord } from "./replayer.ts";
import { beforeStartError, pastEndError, type StepName, type StepPoint } from "./steps.ts";
import { lineSpans } from "./event_lines.ts";
import { type PfnChange, PfnHistory } from "./blame.ts";

const MAGIC = new TextEncoder().encode("P2MTIDX\n");
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

interface Interval {
  /** Index of the interval's first event (its state is the state after `first` events). */
  first: number;
  /** Events in it. */
  count: number;
  /** Seq of its first event. */
  firstSeq: number;
  state: Block;
  /** Per event: f64 offset, u32 length, u32 line, f64 seq. */
  events: Block;
  /** The PFNs its steps changed: encodeInts of flat sorted ranges. */
  changed: Block;
  /** Its events' span of the trace file. */
  span: Block;
}

interface Directory {
  format: number;
  tool: string;
  policy: string;
  trace: { sha256: string; key: FileKey };
  events: number;
  lastSeq: number;
  interval: number;
  cut: { line: number; eventsRead: number } | null;
  length: number;
  intervals: Interval[];
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

function sha(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A growable list of numbers held in a typed array. */
class F64List {
  a = new Float64Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
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
 * const idx = TraceIndex.open(built.path, trace, header, spec, built.sha256);
 * assert.equal(idx.resolve("end").index, 21);
 * ```
 */
export async function buildTraceIndex(
  path: string,
  name: string,
  policy: string | undefined,
  dir: string,
): Promise<BuiltIndex> {
  const before = fileKey(await Deno.stat(path));
  const reader = await TraceReader.open(path);
  const pass = await ForwardPass.open(reader, { policy });
  const k = intervalFor(before.size);
  const tmp = `${dir}/build.p2mindex.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
  } catch (e) {
    throw new IndexUnusable(`cannot write ${tmp}: ${e instanceof Error ? e.message : e}`);
  }
  let done = false;
  try {
    let at = 0;
    const write = (bytes: Uint8Array): Block => {
      for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
      const b: Block = [at, bytes.length, sha(bytes)];
      at += bytes.length;
      return b;
    };
    const head = new Uint8Array(16);
    head.set(MAGIC);
    new DataView(head.buffer).setUint32(8, INDEX_FORMAT, true);
    write(head);
    const lines = new F64List();
    const seqs = new F64List();
    const states: Block[] = [write(encodeState(pass.state()))];
    const changed: Block[] = [];
    // Changed ranges of the interval, flat [pfn, endPfn, ...]: sorted and merged at its end
    // (inserting each into a sorted set would move O(ranges) numbers per change).
    let touched: number[] = [];
    const closeInterval = () => {
      const flat = mergeRanges(touched);
      const deltas = flat.map((v, i) => i === 0 ? v : v - flat[i - 1]);
      changed.push(write(encodeInts(deltas)));
      touched = [];
    };
    await pass.forEachStep((rec) => {
      lines.push(rec.event.line);
      seqs.push(rec.event.seq);
      const cs = rec.outcome.changes;
      for (let i = 0; i < cs.length; i++) touched.push(cs[i].pfn, cs[i].endPfn);
      if (lines.n % k === 0) {
        closeInterval();
        states.push(write(encodeState(pass.state())));
      }
    });
    const n = lines.n;
    if (n % k !== 0 || n === 0) closeInterval();
    else states.pop(); // the state after the last event starts no interval
    const spans = await lineSpans(
      path,
      name,
      Uint32Array.from(lines.a.subarray(0, n)),
      n,
      await reader.sha256(),
    );
    const intervals: Interval[] = [];
    const trace = Deno.openSync(path, { read: true });
    try {
      for (let j = 0; j * k < n; j++) {
        const first = j * k, count = Math.min(k, n - first);
        const table = new Uint8Array(24 * count);
        const dv = new DataView(table.buffer);
        for (let i = 0; i < count; i++) {
          dv.setFloat64(i * 8, spans.offsets[first + i], true);
          dv.setUint32(count * 8 + i * 4, spans.lengths[first + i], true);
          dv.setUint32(count * 12 + i * 4, lines.a[first + i], true);
          dv.setFloat64(count * 16 + i * 8, seqs.a[first + i], true);
        }
        const from = spans.offsets[first];
        const to = spans.offsets[first + count - 1] + spans.lengths[first + count - 1];
        intervals.push({
          first,
          count,
          firstSeq: seqs.a[first],
          state: states[j],
          events: write(table),
          changed: changed[j],
          span: [from, to - from, sha(readAt(trace, from, to - from))],
        });
      }
    } finally {
      trace.close();
    }
    if (JSON.stringify(fileKey(spans.stat)) !== JSON.stringify(before)) {
      throw new IndexUnusable(`${name} changed while it was indexed`);
    }
    const sha256 = await reader.sha256();
    const directory: Directory = {
      format: INDEX_FORMAT,
      tool: TOOL_VERSION,
      policy: policySpec(pass.policy),
      trace: { sha256, key: before },
      events: n,
      lastSeq: n ? seqs.a[n - 1] : 0,
      interval: k,
      cut: pass.cutOff
        ? { line: pass.cutOff.position.line, eventsRead: pass.cutOff.eventsRead }
        : null,
      length: 0,
      intervals: n ? intervals : [],
    };
    // The length is the file's, directory included: write it with a fixed width.
    const dirAt = at;
    let text = JSON.stringify(directory);
    for (;;) {
      const total = dirAt + new TextEncoder().encode(text).length + TRAILER;
      directory.length = total;
      const again = JSON.stringify(directory);
      if (again.length === text.length && directory.length === total) {
        text = again;
        break;
      }
      text = again;
    }
    const dirBytes = new TextEncoder().encode(text);
    write(dirBytes);
    const tail = new Uint8Array(TRAILER);
    new DataView(tail.buffer).setUint32(0, dirBytes.length, true);
    tail.set(createHash("sha256").update(dirBytes).digest(), 4);
    tail.set(MAGIC, 36);
    write(tail);
    file.close();
    done = true;
    const out = `${dir}/${await indexFileName(sha256, directory.policy)}`;
    await Deno.rename(tmp, out);
    return { path: out, sha256, key: before };
  } finally {
    if (!done) file.close();
    await Deno.remove(tmp).catch(() => {});
  }
}

function readAt(file: Deno.FsFile, offset: number, length: number): Uint8Array {
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
 * const idx = TraceIndex.open(built.path, trace, header, policySpec(policy), built.sha256);
 * idx.usePolicy(policy);
 * const { state, event } = idx.stateAt(idx.resolve(13).index);
 * assert.equal(event?.seq, 13);
 * assert.equal(state.p2m.entry(0x100)[0], K.MFN_UNKNOWN);
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
  static open(
    path: string,
    trace: string,
    header: TraceHeader,
    policy: string,
    sha256: string,
    name = trace,
  ): TraceIndex {
    const file = Deno.openSync(path, { read: true });
    try {
      const size = file.statSync().size;
      if (size < 16 + TRAILER) throw new IndexUnusable("it is shorter than its header and trailer");
      const head = readAt(file, 0, 16);
      const tail = readAt(file, size - TRAILER, TRAILER);
      const tdv = new DataView(tail.buffer);
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
      const dirLen = tdv.getUint32(0, true);
      if (dirLen > MAX_DIR || dirLen > size - 16 - TRAILER) {
        throw new IndexUnusable("its directory length is out of range");
      }
      const dirBytes = readAt(file, size - TRAILER - dirLen, dirLen);
      if (!same(createHash("sha256").update(dirBytes).digest(), tail.subarray(4, 36))) {
        throw new IndexUnusable("its directory does not match its checksum");
      }
      const dir = JSON.parse(new TextDecoder().decode(dirBytes)) as Directory;
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
    } finally {
      file.close();
    }
  }

  /** Number of events. */
  get events(): number {
    return this.#dir.events;
  }

  /** Events between checkpoints. */
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

  /** Block `b`, checked; read through `open` (the index file, open) when given. */
  #block(b: Block, open?: Deno.FsFile): Uint8Array {
    const [off, len, want] = b;
    const file = open ?? Deno.openSync(this.path, { read: true });
    try {
      if (off + len > this.#dir.length) throw new IndexUnusable("a block runs past the end");
      const bytes = readAt(file, off, len);
      if (sha(bytes) !== want) throw new IndexUnusable(`the block at byte ${off} is damaged`);
      return bytes;
    } finally {
      if (open === undefined) file.close();
    }
  }

  /** The event table of interval `j`: offsets, lengths, lines, seqs. */
  #table(j: number) {
    const iv = this.#dir.intervals[j];
    const bytes = this.#block(iv.events);
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
    return Math.min(Math.floor(i / this.#dir.interval), this.#dir.intervals.length - 1);
  }

  /** Seq of event `i` (0-based). */
  #seq(i: number): number {
    const j = this.#intervalOf(i);
    return this.#table(j).seq(i - this.#dir.intervals[j].first);
  }

  #point(index: number): StepPoint {
    return { step: index === 0 ? 0 : this.#seq(index - 1), index };
  }

  /** Resolves a step name exactly as `StepIndex.resolve` over the trace's seqs. */
  resolve(name: StepName): StepPoint {
    const n = this.#dir.events;
    if (name === "end") return this.#point(n);
    if (name < 0) {
      if (n + name < 0) throw beforeStartError(name, n);
      return this.#point(n + name);
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
    const t = this.#table(j);
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

  /** Events `from..to-1` of interval `j` (indices within it), parsed from checked bytes. */
  #events(j: number, from: number, to: number): TraceEvent[] {
    const iv = this.#dir.intervals[j];
    const t = this.#table(j);
    const [base, len, want] = iv.span;
    let bytes: Uint8Array;
    const file = Deno.openSync(this.#trace, { read: true });
    try {
      bytes = readAt(file, base, len);
    } finally {
      file.close();
    }
    if (sha(bytes) !== want) {
      throw new IndexUnusable("the trace's bytes differ from those indexed (same size and times)");
    }
    const dec = new TextDecoder();
    const out: TraceEvent[] = [];
    for (let i = from; i < to; i++) {
      const at = t.offset(i) - base;
      let l = t.length(i);
      if (l > 0 && bytes[at + l - 1] === 13) l--;
      out.push(parseEventLine(this.#name, t.line(i), dec.decode(bytes.subarray(at, at + l))));
    }
    return out;
  }

  /**
   * The state after `index` events and the event applied last (undefined at 0); `onStep` sees
   * each step replayed from the checkpoint.
   */
  stateAt(
    index: number,
    onStep?: (rec: StepRecord) => void,
  ): { state: ModelState; event: TraceEvent | undefined } {
    const policy = this.#policyOf();
    if (this.#dir.intervals.length === 0) {
      return { state: initialState(this.#header.guest, policy), event: undefined };
    }
    const j = this.#intervalOf(index);
    const iv = this.#dir.intervals[j];
    let state = decodeState(this.#block(iv.state), this.#header.guest, policy);
    let event: TraceEvent | undefined;
    if (index > iv.first) {
      const r = new Replayer(state, [], this.#header.provenance);
      for (const e of this.#events(j, 0, index - iv.first)) {
        const rec = r.apply(e);
        onStep?.(rec);
        event = e;
      }
      state = r.snapshot();
    } else if (index > 0) {
      const p = this.#intervalOf(index - 1);
      const pi = this.#dir.intervals[p];
      event = this.#events(p, index - 1 - pi.first, index - pi.first)[0];
    }
    return { state, event };
  }

  /**
   * The steps up to `index` that changed `pfn` (all of them, or with `all` false at least the
   * last one, which is what a lookup's blame needs), with the state after `index` events.
   */
  pfnHistory(pfn: number, index: number, all: boolean): {
    state: ModelState;
    event: TraceEvent | undefined;
    changes: PfnChange[];
  } {
    const here = new PfnHistory(pfn);
    const at = this.stateAt(index, (rec) => here.add(rec));
    if (this.#dir.intervals.length === 0) return { ...at, changes: here.changes };
    const earlier: PfnChange[][] = [];
    // stateAt replayed the interval holding `index`: the earlier ones come from their
    // changed-PFN sets (read through one open file: a PFN never changed checks them all),
    // replayed only where the PFN changed.
    const file = Deno.openSync(this.path, { read: true });
    try {
      for (
        let j = this.#intervalOf(index) - 1;
        j >= 0 && (all || (here.changes.length === 0 && earlier.length === 0));
        j--
      ) {
        if (index <= this.#dir.intervals[j].first) continue;
        if (!this.#touches(j, pfn, file)) continue;
        const h = new PfnHistory(pfn);
        const iv = this.#dir.intervals[j];
        this.#replayInterval(j, Math.min(iv.count, index - iv.first), (rec) => h.add(rec));
        if (h.changes.length) earlier.unshift(h.changes);
      }
    } finally {
      file.close();
    }
    return { ...at, changes: [...earlier.flat(), ...here.changes] };
  }

  #replayInterval(j: number, count: number, onStep: (rec: StepRecord) => void): void {
    const iv = this.#dir.intervals[j];
    const state = decodeState(this.#block(iv.state), this.#header.guest, this.#policyOf());
    const r = new Replayer(state, [], this.#header.provenance);
    for (const e of this.#events(j, 0, count)) onStep(r.apply(e));
  }

  /** Whether a step of interval `j` changed `pfn`. */
  #touches(j: number, pfn: number, file: Deno.FsFile): boolean {
    const deltas = decodeInts(this.#block(this.#dir.intervals[j].changed, file));
    let v = 0;
    for (let i = 0; i < deltas.length; i += 2) {
      const start = (v += deltas[i]);
      const end = (v += deltas[i + 1]);
      if (pfn < start) return false;
      if (pfn < end) return true;
    }
    return false;
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Flat `[start, end, ...]` ranges sorted, with overlapping and adjacent ones merged.
 *
 * @example
 * ```ts
 * import { mergeRanges } from "./trace_index.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(mergeRanges([5, 6, 1, 3, 3, 4, 2, 3]), [1, 4, 5, 6]);
 * ```
 */
export function mergeRanges(flat: readonly number[]): number[] {
  const order = Array.from({ length: flat.length / 2 }, (_, i) => i);
  order.sort((a, b) => flat[a * 2] - flat[b * 2]);
  const out: number[] = [];
  for (const i of order) {
    const a = flat[i * 2], b = flat[i * 2 + 1];
    if (out.length && a <= out[out.length - 1]) {
      if (b > out[out.length - 1]) out[out.length - 1] = b;
    } else out.push(a, b);
  }
  return out;
}
