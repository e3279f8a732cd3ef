/**
 * Events from a second thread: a module worker (`parse_worker.ts`) reads, splits, parses and
 * validates the trace with the same {@link TraceReader} and hands the batches over in binary
 * (`event_codec.ts`), so this thread only decodes and replays. The batches are those
 * {@link TraceReader.batches} yields, one for one, and an error (a bad line, a cut-off last
 * line, an unreadable file) arrives after the batches before it, as the same error class with the
 * same message: whatever thread parsed it, a replay sees the same stream.
 *
 * The worker encodes batches into one of {@link SLOTS} shared buffers until about
 * {@link GROUP_BYTES} are waiting, then posts the slot's number; this thread decodes the slot
 * and hands it back through a shared flag per slot (`Atomics`: no message, so the worker
 * never waits for this thread's event loop to post one, nor for its own to take it). Buffers
 * are reused, never allocated per batch (a fresh `ArrayBuffer` of 50 KB costs about 0.2 ms to
 * allocate and fault in, more than encoding it), messages are few, and at most {@link SLOTS}
 * groups wait between the threads, so memory stays flat in the trace's length.
 *
 * The worker learns what to read from its `workerData` ({@link ParseWorkerData}), not from a
 * message: Deno 2.9.6 delivers the first message to a worker that a worker started about 500
 * ms late (an index build's parse thread: `src/cli/cached_trace.ts`). Only standard input,
 * a stream to transfer, comes in a message ({@link ToWorker}).
 *
 * @module
 */

import { Worker as NodeWorker } from "node:worker_threads";
import { CutOffError, InputError, type SourcePosition, TraceError } from "../errors.ts";
import type { TraceEnd, TraceEvent, TraceHeader } from "./event.ts";
import { decodeBatches } from "./event_codec.ts";
import { type EventSource, TraceReader } from "./read.ts";
import { validateHeader } from "./validate.ts";
import { parseJson } from "./json_keys.ts";
import type { HeldInput } from "./lines.ts";
import { threadModulesReadable } from "../thread_access.ts";
import type { IndexFeed, IntervalTable } from "../replay/index_side.ts";

/** Shared buffers between the threads: groups of batches the worker may be ahead by. */
export const SLOTS = 4;

/** Encoded bytes the worker gathers before it posts a slot (unless the trace ends first). */
export const GROUP_BYTES = 256 * 1024;

/**
 * The parse thread's young generation, in MB. Each V8 heap grows its young generation to the
 * maximum over a long trace (16 MiB semi-spaces), so a second thread with V8's default limits
 * added about 90 MB of RSS (replay on 10M events: 242 MB threaded, 149 MB on one thread). Deno
 * takes heap flags only at start-up, but a `node:worker_threads` Worker takes `resourceLimits`:
 * with 8 MB replay on 10M events peaked at 173 MB (190 MB with 16), at no measurable CPU cost.
 *
 * @example
 * ```ts
 * import { PARSE_THREAD_YOUNG_MB } from "./threaded_read.ts";
 * import assert from "node:assert/strict";
 * assert.ok(PARSE_THREAD_YOUNG_MB > 0 && PARSE_THREAD_YOUNG_MB <= 16);
 * ```
 */
export const PARSE_THREAD_YOUNG_MB = 8;

/**
 * Smallest file (bytes as stored) parsed on a second thread when `threads` is not given. Below
 * it the worker's start-up (loading the reader's modules a second time, about 0.1 s of CPU)
 * costs more than the parsing it would take off this thread.
 */
export const THREAD_MIN_BYTES = 4 * 1024 * 1024;

/** An error as it crosses threads: enough to build the same class with the same message. */
export interface ErrorData {
  /** `TraceError`, `CutOffError`, `InputError` or anything else (an internal error). */
  kind: string;
  /** The message, exactly. */
  message: string;
  /** TraceError and CutOffError: where. */
  position?: SourcePosition;
  /** TraceError: the field. */
  field?: string;
  /** TraceError: what was expected. */
  expected?: string;
  /** CutOffError: complete events before the cut. */
  eventsRead?: number;
  /** Another error's exit code, when it has one. */
  exitCode?: number;
}

/**
 * What the worker reads, from its `workerData`: the trace file `path` (with `index`, for an
 * index build whose intervals are that many events at most: see `src/replay/index_side.ts`),
 * or standard input (`path` "-": the stream follows as {@link ToWorker}); and `owned`, one
 * `Int32` per slot, 1 while the slot's group waits for this thread or is being copied out, 0
 * once it is handed back.
 */
export interface ParseWorkerData {
  /** The trace file, or "-". */
  path: string;
  /** Index builds: the interval length. */
  index?: number;
  /** {@link SLOTS} flags over a `SharedArrayBuffer`. */
  owned: SharedArrayBuffer;
}

/** The one message to the worker: standard input to read (see {@link ParseWorkerData}). */
export type ToWorker = { type: "stdin"; stdin: ReadableStream<Uint8Array> };

/**
 * Messages from the worker. A group names its slot, with the slot's (new, larger) buffer when
 * the worker had to grow it.
 */
export type FromWorker =
  | { type: "header"; text: string; line: number }
  | { type: "group"; slot: number; buf?: SharedArrayBuffer }
  | { type: "done"; end: TraceEnd | undefined }
  | { type: "interval"; interval: IntervalTable }
  | { type: "indexed"; sha256: string; bytes: number }
  | { type: "error"; error: ErrorData }
  | { type: "crash"; message: string };

/**
 * An error as {@link ErrorData}, for `postMessage`.
 *
 * @example
 * ```ts
 * import { errorData, rebuildError } from "./threaded_read.ts";
 * import { TraceError } from "../errors.ts";
 * import assert from "node:assert/strict";
 * const e = new TraceError({ file: "t.jsonl", line: 3 }, "seq", "an integer", '"x"');
 * const back = rebuildError(structuredClone(errorData(e)));
 * assert.ok(back instanceof TraceError);
 * assert.equal(back.message, e.message);
 * assert.equal(back.exitCode, 65);
 * ```
 */
export function errorData(e: unknown): ErrorData {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof TraceError) {
    return {
      kind: "TraceError",
      message,
      position: e.position,
      field: e.field,
      expected: e.expected,
    };
  }
  if (e instanceof CutOffError) {
    return { kind: "CutOffError", message, position: e.position, eventsRead: e.eventsRead };
  }
  if (e instanceof InputError) return { kind: "InputError", message };
  const code = (e as { exitCode?: unknown })?.exitCode;
  const d: ErrorData = { kind: e instanceof Error ? e.name : "Error", message };
  if (typeof code === "number") d.exitCode = code;
  return d;
}

/**
 * The error {@link errorData} described: a {@link TraceError}, {@link CutOffError} or
 * {@link InputError} with the same fields and message; anything else an `Error` with the same
 * message and exit code.
 *
 * @example
 * ```ts
 * import { errorData, rebuildError } from "./threaded_read.ts";
 * import { CutOffError } from "../errors.ts";
 * import assert from "node:assert/strict";
 * const back = rebuildError(errorData(new CutOffError({ file: "t", line: 9 }, 8)));
 * assert.ok(back instanceof CutOffError && back.eventsRead === 8);
 * ```
 */
export function rebuildError(d: ErrorData): Error {
  let e: Error & { exitCode?: number };
  if (d.kind === "TraceError") {
    e = new TraceError(d.position!, d.field, d.expected!);
  } else if (d.kind === "CutOffError") {
    e = new CutOffError(d.position!, d.eventsRead!);
  } else if (d.kind === "InputError") {
    e = new InputError("", "");
  } else {
    e = new Error(d.message);
    e.name = d.kind;
    if (d.exitCode !== undefined) e.exitCode = d.exitCode;
  }
  e.message = d.message;
  return e;
}

/**
 * Reads a trace on a second thread. Create it with {@link ThreadedReader.open}; read it as a
 * {@link TraceReader} ({@link EventSource}). When the worker cannot start (its module cannot
 * be loaded), it reads on this thread instead, before anything was read.
 *
 * @example
 * ```ts
 * import { ThreadedReader } from "./threaded_read.ts";
 * import assert from "node:assert/strict";
 * const r = ThreadedReader.open("traces/pcie-bar-above-e820.jsonl");
 * assert.equal((await r.header()).format, "p2mtrace");
 * let events = 0;
 * for await (const batch of r.batches()) events += batch.length;
 * assert.equal(events, r.end?.events);
 * ```
 */
export class ThreadedReader implements EventSource, IndexFeed {
  /** The file name as given (`-` for stdin). */
  readonly name: string;
  #path: string;
  #worker: NodeWorker | undefined;
  #inbox: FromWorker[] = [];
  #wake: (() => void) | undefined;
  #header: TraceHeader | undefined;
  #end: TraceEnd | undefined;
  #local: (EventSource & Partial<IndexFeed>) | undefined;
  #stdin: ReadableStream<Uint8Array> | undefined;
  #slots: SharedArrayBuffer[] = [];
  #owned = new Int32Array(new SharedArrayBuffer(4 * SLOTS));
  #copy = new Uint8Array(0);
  #index: number | undefined;
  #intervals: IntervalTable[] = [];
  #indexed: { sha256: string; bytes: number } | undefined;

  private constructor(
    path: string,
    stdin: ReadableStream<Uint8Array> | undefined,
    index: number | undefined,
  ) {
    this.name = path;
    this.#path = path;
    this.#stdin = stdin;
    this.#index = index;
    const data: ParseWorkerData = { path, owned: this.#owned.buffer as SharedArrayBuffer };
    if (index !== undefined) data.index = index;
    const w = new NodeWorker(new URL("./parse_worker.ts", import.meta.url), {
      workerData: data,
      resourceLimits: { maxYoungGenerationSizeMb: PARSE_THREAD_YOUNG_MB },
    });
    this.#worker = w;
    w.on("message", (m: FromWorker) => this.#deliver(m));
    w.on("error", (e: Error) => {
      this.#deliver({ type: "crash", message: e.message });
    });
    if (stdin !== undefined) {
      const m: ToWorker = { type: "stdin", stdin };
      // deno-lint-ignore no-explicit-any
      w.postMessage(m, [stdin as any]);
    }
  }

  /**
   * Starts a worker reading `path` (or `-`: `stdin`, handed to the worker). Errors opening the
   * file arrive where {@link TraceReader.open} would throw them: from {@link header}.
   */
  static open(path: string, stdin?: ReadableStream<Uint8Array>): ThreadedReader {
    return new ThreadedReader(
      path,
      path === "-" ? stdin ?? Deno.stdin.readable : undefined,
      undefined,
    );
  }

  /**
   * Starts a worker reading the trace file `path` for an index build whose intervals are `k`
   * events at most: besides the events, it finds each interval's table and part hashes and the
   * file's SHA-256 from the same read ({@link IndexFeed}; `src/replay/index_side.ts`).
   */
  static openIndexed(path: string, k: number): ThreadedReader {
    return new ThreadedReader(path, undefined, k);
  }

  /** The next interval's table the worker found, not yet taken. */
  takeInterval(): IntervalTable | undefined {
    if (this.#local !== undefined) return this.#local.takeInterval?.();
    return this.#intervals.shift();
  }

  /** The file's SHA-256 and size, once the worker has read it to its end (index builds). */
  get indexed(): { sha256: string; bytes: number } | undefined {
    return this.#local !== undefined ? this.#local.indexed : this.#indexed;
  }

  /** The `end` record, once {@link batches} has finished; undefined if absent. */
  get end(): TraceEnd | undefined {
    return this.#local !== undefined ? this.#local.end : this.#end;
  }

  /** Reads and validates the header (validated again here from its line: the same header). */
  async header(): Promise<TraceHeader> {
    if (this.#local !== undefined) return this.#local.header();
    if (this.#header !== undefined) return this.#header;
    const m = await this.#next();
    if (m.type === "header") {
      this.#header = validateHeader({ file: this.name, line: m.line }, parseJson(m.text));
      return this.#header;
    }
    this.close();
    if (m.type === "crash") {
      // The worker never ran (its module could not load): nothing was read yet, so this
      // thread reads the trace instead.
      if (this.#index !== undefined) {
        const { LocalIndexedReader } = await import("../replay/index_side.ts");
        this.#local = await LocalIndexedReader.open(this.#path, this.#index);
      } else this.#local = await TraceReader.open(this.#path, this.#stdin, { hash: false });
      return this.#local.header();
    }
    throw m.type === "error" ? rebuildError(m.error) : unexpected(m);
  }

  /** Yields the worker's batches, decoded; throws its error after the batches before it. */
  async *batches(): AsyncGenerator<TraceEvent[]> {
    await this.header();
    if (this.#local !== undefined) {
      yield* this.#local.batches();
      return;
    }
    try {
      for (;;) {
        const m = await this.#next();
        if (m.type === "group") {
          if (m.buf !== undefined) this.#slots[m.slot] = m.buf;
          yield* decodeBatches(this.#take(m.slot));
        } else if (m.type === "interval") {
          this.#intervals.push(m.interval);
        } else if (m.type === "indexed") {
          this.#indexed = { sha256: m.sha256, bytes: m.bytes };
        } else if (m.type === "done") {
          this.#end = m.end;
          return;
        } else if (m.type === "error") {
          throw rebuildError(m.error);
        } else {
          throw unexpected(m);
        }
      }
    } finally {
      this.close();
    }
  }

  /**
   * Copies a slot out (one memcpy) and hands it back at once: the worker can fill it while
   * this thread replays, and decoding reads an ordinary buffer (reads from a shared one are
   * slower).
   */
  #take(slot: number): ArrayBuffer {
    const shared = new Uint8Array(this.#slots[slot]);
    const size = new Float64Array(this.#slots[slot], 0, 4);
    const bytes = (size[1] * 8) + size[3] * 2 + size[2];
    if (this.#copy.length < bytes) {
      this.#copy = new Uint8Array(Math.max(bytes, 2 * this.#copy.length));
    }
    this.#copy.set(shared.subarray(0, bytes));
    Atomics.store(this.#owned, slot, 0);
    Atomics.notify(this.#owned, slot);
    return this.#copy.buffer;
  }

  /** Stops the worker (idempotent). */
  close(): void {
    this.#worker?.terminate();
    this.#worker = undefined;
  }

  #deliver(m: FromWorker): void {
    this.#inbox.push(m);
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  async #next(): Promise<FromWorker> {
    while (this.#inbox.length === 0) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return this.#inbox.shift()!;
  }
}

function unexpected(m: FromWorker): Error {
  return new Error(
    m.type === "crash"
      ? `the parse worker failed: ${m.message}`
      : `the parse worker sent ${m.type} out of order`,
  );
}

/** Options of {@link openEvents}. */
export interface OpenEventsOptions {
  /**
   * 1: parse on this thread. 2: parse on a second thread. Undefined: a second thread for a
   * regular file of at least {@link THREAD_MIN_BYTES} on a machine of two cores or more, unless
   * this is already a worker (a `--jobs` batch keeps its cores busy).
   */
  threads?: 1 | 2;
  /** The input's bytes, held by a first pass (`holdIfReadOnce`, lines.ts): read on this thread. */
  held?: HeldInput;
}

/**
 * Opens a trace for `replay` or `check`: a {@link TraceReader} on this thread or a
 * {@link ThreadedReader}, as `threads` says; either gives the same events, errors and end.
 *
 * @example
 * ```ts
 * import { openEvents } from "./threaded_read.ts";
 * import { TraceReader } from "./read.ts";
 * import assert from "node:assert/strict";
 * const small = await openEvents("traces/pcie-bar-above-e820.jsonl", new ReadableStream());
 * assert.ok(small instanceof TraceReader);
 * ```
 */
export async function openEvents(
  path: string,
  stdin: ReadableStream<Uint8Array>,
  options: OpenEventsOptions = {},
): Promise<EventSource> {
  const held = options.held;
  if (held === undefined && await useThread(path, options.threads)) {
    return ThreadedReader.open(path, stdin);
  }
  return await TraceReader.open(path, stdin, { hash: false, ...(held ? { held } : {}) });
}

/**
 * Whether {@link openEvents} parses `path` on a second thread: `threads` if given (2 only when
 * a thread may load the modules), else for a regular file of at least
 * {@link THREAD_MIN_BYTES} on two cores or more, outside a worker.
 *
 * @example
 * ```ts
 * import { useThread } from "./threaded_read.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await useThread("traces/pcie-bar-above-e820.jsonl", undefined), false);
 * assert.equal(await useThread("traces/pcie-bar-above-e820.jsonl", 1), false);
 * ```
 */
export async function useThread(path: string, threads: 1 | 2 | undefined): Promise<boolean> {
  if (threads === 1 || !threadModulesReadable()) return false;
  if (threads === 2) return true;
  // Standard input's size is unknown; a worker already shares the cores (a --jobs batch); one
  // core cannot run both threads at once.
  if (
    path === "-" || navigator.hardwareConcurrency < 2 ||
    typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== "undefined"
  ) return false;
  try {
    const st = await Deno.stat(path);
    return st.isFile && st.size >= THREAD_MIN_BYTES;
  } catch {
    return false; // the reader reports it, as always
  }
}
