/**
 * The one bounded input path: every trace, log and dump p2mtrace reads comes through here, so
 * every input has the same limits whatever its source (a file, a FIFO, `<(...)`, stdin, gzip):
 *
 * - each input is opened once; its bytes can be hashed while they are read ({@link openInput}
 *   with a `hash`), so a FIFO is never read twice and a digest is never that of an empty read;
 * - gzip input (detected by its magic bytes) is decompressed in chunks of
 *   {@link CHUNK_BYTES} with back-pressure, members concatenated as RFC 1952 allows are read
 *   whole, data after the last member is an error, and an input that decompresses to more than
 *   {@link MAX_GZIP_RATIO} times its size (past the first {@link GZIP_RATIO_FREE_BYTES}) is
 *   refused as a gzip bomb;
 * - a line longer than {@link MAX_LINE_BYTES} is refused when its length passes the cap,
 *   before it is built;
 * - text must be UTF-8: invalid bytes are an error naming the line (or, for `validate`, a
 *   marked line), never silently replaced;
 * - an input that can be read only once (`-`, a FIFO, `<(...)`, a device) but that a command
 *   reads twice (`--at -N`, `minimize`, `map --compare`) is held in memory, at most
 *   {@link MAX_HELD_BYTES} ({@link holdIfReadOnce}), never read again from its source.
 *
 * CRLF endings are accepted. The last line is reported with `terminated: false` when the
 * stream did not end with a newline, so the trace reader can tell a cut-off recording from a
 * complete one.
 *
 * @module
 */

import { InputError, TraceError } from "../errors.ts";
import { incrementalSha256 } from "./sha.ts";

/**
 * Longest line accepted, in characters (UTF-16 code units, at least one byte each). The longest
 * lines real traces hold are `p2m_dump` events: a 900,000-line dump is about 36 MB.
 */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Size of the decompressed chunks gzip input is read in. */
export const CHUNK_BYTES = 64 * 1024;

/** Largest accepted ratio of decompressed to compressed bytes (real traces: under 30). */
export const MAX_GZIP_RATIO = 100;

/** Decompressed bytes allowed before {@link MAX_GZIP_RATIO} applies (small inputs compress well). */
export const GZIP_RATIO_FREE_BYTES = 64 * 1024 * 1024;

/**
 * Most bytes of an input that can be read only once that a command holds in memory to read it
 * again (a regular file is opened again instead; a `.gz` is held compressed).
 */
export const MAX_HELD_BYTES = 256 * 1024 * 1024;

/** A batch of consecutive lines. */
export interface LineBatch {
  /** The lines, without their line terminators. */
  lines: string[];
  /** 1-based number of `lines[0]`. */
  firstLine: number;
  /** False only for a final line that had no newline. */
  terminated: boolean;
  /** With `encoding: "mark"`: indices into `lines` of lines that held invalid UTF-8. */
  badEncoding?: number[];
}

/** Options of {@link openInput}. */
export interface OpenOptions {
  /** Standard input, for `-` (default: the process's). */
  stdin?: ReadableStream<Uint8Array>;
  /** Refuse anything but a regular file (and `-`): for inputs that must be files. */
  regularOnly?: boolean;
  /** The input's bytes as {@link holdIfReadOnce} held them: read instead of `path` or stdin. */
  held?: HeldInput;
  /**
   * Hash the bytes as they are read (default true). False for a reader whose digest nobody asks
   * for (`replay`, `check`): `sha256()` then throws.
   */
  hash?: boolean;
  /**
   * Sees every raw byte as it is read (before any gunzip), chunk by chunk in order, and
   * `onEnd` once after the last: the index build finds its line offsets and hashes its spans
   * from the same read (`src/replay/index_side.ts`). A chunk is not modified afterwards.
   */
  onChunk?: (chunk: Uint8Array) => void;
  /** Called once when the input has been read to its end (after the last `onChunk`). */
  onEnd?: () => void;
}

/** An opened input: its bytes, read once, and their SHA-256 once they have been read. */
export interface Input {
  /** The name as given (`-` for stdin). */
  name: string;
  /** The raw bytes (before any gunzip). */
  stream: ReadableStream<Uint8Array>;
  /** Hex SHA-256 of every byte read so far; call it after reading to the end. */
  sha256(): string;
  /** How many raw bytes have been read. */
  bytesRead(): number;
}

/**
 * Opens a path, or `-` for standard input, once, hashing its bytes as they are read. FIFOs,
 * `<(...)` and character devices are read like files (all limits apply as they stream);
 * `regularOnly` refuses them. Reading a file needs read permission for that file only.
 *
 * @example
 * ```ts
 * import { openInput } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const input = await openInput("-", { stdin: ReadableStream.from([new TextEncoder().encode("abc")]) });
 * for await (const _ of input.stream) { /* read it all *\/ }
 * assert.equal(input.sha256(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export async function openInput(path: string, options: OpenOptions = {}): Promise<Input> {
  let raw: ReadableStream<Uint8Array>;
  if (options.held !== undefined) raw = options.held.stream();
  else if (path === "-") raw = options.stdin ?? Deno.stdin.readable;
  else {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (e) {
      throw new InputError(path, inputReason(e));
    }
    try {
      const st = await file.stat();
      if (st.isDirectory) throw new InputError(path, "is a directory");
      if (options.regularOnly && !st.isFile) {
        throw new InputError(path, "not a regular file (a device, FIFO or socket is refused here)");
      }
    } catch (e) {
      file.close();
      if (e instanceof InputError) throw e;
      throw new InputError(path, inputReason(e));
    }
    raw = file.readable;
  }
  const h = options.hash === false ? undefined : await incrementalSha256();
  let n = 0;
  let hex: string | undefined;
  const { onChunk, onEnd } = options;
  const stream = raw.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        h?.update(chunk);
        onChunk?.(chunk);
        n += chunk.length;
        controller.enqueue(chunk);
      },
      flush() {
        onEnd?.();
      },
    }),
  );
  const sha256 = () => {
    if (h === undefined) throw new Error(`${path}: opened without hashing, no sha256`);
    return hex ??= h.digest();
  };
  return { name: path, stream, sha256, bytesRead: () => n };
}

/** The bytes of an input that can be read only once, held to be read again. */
export interface HeldInput {
  /** The input's bytes from the start, as a new stream each call. */
  stream(): ReadableStream<Uint8Array>;
  /** How many bytes are held so far. */
  readonly size: number;
  /** Hex SHA-256 of the bytes (reads the rest of the input first). */
  sha256(): Promise<string>;
}

/**
 * Holds an input that cannot be read twice (`-`, a FIFO, `<(...)`, a character device or
 * socket) in memory as it is read, so a command that needs two passes (or several readers)
 * reads the same bytes again; undefined for a regular file (open it again) and for a path that
 * cannot be stat'ed (its open reports why). Every {@link HeldInput.stream} reads from the
 * start; the source is read only as far as the furthest reader has got, so bad data fails the
 * first pass as early as it would fail one read (a binary first line: at once). Bounded: past
 * {@link MAX_HELD_BYTES} (`limit`) the read fails with a {@link TraceError} naming the line it
 * had reached (`/dev/zero` ends at the line cap, a long valid pipe there), never in an
 * allocation without bound. Readers must not modify the chunks they get.
 *
 * @example
 * ```ts
 * import { holdIfReadOnce } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const stdin = ReadableStream.from([new TextEncoder().encode("a\nb\n")]);
 * const held = await holdIfReadOnce("-", stdin);
 * assert.equal(await new Response(held!.stream()).text(), "a\nb\n");
 * assert.equal(await new Response(held!.stream()).text(), "a\nb\n");
 * assert.equal(await holdIfReadOnce("traces/pcie-bar-above-e820.jsonl", stdin), undefined);
 * const big = await holdIfReadOnce("-", ReadableStream.from([new Uint8Array(10).fill(10)]), 4);
 * await assert.rejects(new Response(big!.stream()).text(), /^TraceError: -:5: expected at most 4 bytes/);
 * ```
 */
export async function holdIfReadOnce(
  path: string,
  stdin: ReadableStream<Uint8Array>,
  limit = MAX_HELD_BYTES,
): Promise<HeldInput | undefined> {
  if (path !== "-") {
    const st = await Deno.stat(path).catch(() => undefined);
    if (st === undefined || st.isFile || st.isDirectory) return undefined;
  }
  const source = (await openInput(path, { stdin, hash: false })).stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let lines = 0;
  let done = false;
  let failure: unknown;
  let pulling: Promise<void> | undefined;
  const readMore = async () => {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await source.read();
    } catch (e) {
      failure = readFailure(path, lines + 1, e);
      return;
    }
    if (r.done) {
      done = true;
      return;
    }
    const c = r.value;
    if (size + c.length > limit) {
      for (let i = c.indexOf(10); i >= 0 && i < limit - size; i = c.indexOf(10, i + 1)) lines++;
      failure = new TraceError(
        { file: path, line: lines + 1 },
        undefined,
        `at most ${limit} bytes from a pipe or device (this command reads its input twice, ` +
          "so it holds it in memory: save it to a file)",
        "a longer input (refused at the limit)",
      );
      source.cancel().catch(() => {});
      return;
    }
    chunks.push(c);
    size += c.length;
    for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) lines++;
  };
  // One read of the source at a time, whichever reader asks.
  const more = () =>
    pulling ??= readMore().finally(() => {
      pulling = undefined;
    });
  const stream = () => {
    let next = 0;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        while (next >= chunks.length) {
          if (failure !== undefined) throw failure;
          if (done) {
            controller.close();
            return;
          }
          await more();
        }
        controller.enqueue(chunks[next++]);
      },
    }, { highWaterMark: 0 });
  };
  let hex: string | undefined;
  return {
    stream,
    get size() {
      return size;
    },
    sha256: async () => {
      while (!done) {
        if (failure !== undefined) throw failure;
        await more();
      }
      if (hex === undefined) {
        const h = await incrementalSha256();
        for (const c of chunks) h.update(c);
        hex = h.digest();
      }
      return hex;
    },
  };
}

/** A short reason for an open/read failure, without a stack trace. */
export function inputReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    return "permission denied (run with --allow-read for this file)";
  }
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return e instanceof Error ? e.message : String(e);
}

/**
 * Bad compressed data: thrown inside a decompressed stream, where the line is not known; the
 * line splitter (or the caller) turns it into a {@link TraceError} naming the line.
 */
export class GzipDataError extends Error {
  /** What is wrong, as the `got` of a {@link TraceError}. */
  readonly got: string;
  /**
   * Offset in the compressed input (0-based bytes) of the fault, when it is known: where the
   * trailing data after the last complete member starts.
   */
  readonly offset?: number;
  /** Builds the error. */
  constructor(got: string, offset?: number) {
    super(got);
    this.name = "GzipDataError";
    this.got = got;
    if (offset !== undefined) this.offset = offset;
  }
}

/**
 * The error for a read that failed at `line` of `name`: a {@link TraceError} (65) for bad data,
 * naming the compressed byte offset instead of the line when the fault is below the lines
 * (trailing data after the gzip stream starts at a byte, not a line), or an
 * {@link InputError} (66) when the read itself failed.
 *
 * @example
 * ```ts
 * import { GzipDataError, readFailure } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const e = readFailure("t.gz", 3, new GzipDataError("trailing data after the gzip stream", 114));
 * assert.equal(e.exitCode, 65);
 * assert.equal(
 *   e.message,
 *   "t.gz: byte 114 (compressed): expected gzip data, got trailing data after the gzip stream",
 * );
 * assert.match(readFailure("t.gz", 3, new GzipDataError("a truncated gzip stream")).message, /^t\.gz:3: /);
 * ```
 */
export function readFailure(name: string, line: number, e: unknown): TraceError | InputError {
  if (e instanceof TraceError || e instanceof InputError) return e;
  if (e instanceof GzipDataError) {
    const where = e.offset === undefined
      ? { file: name, line }
      : { file: name, line, byte: e.offset };
    return new TraceError(where, undefined, "gzip data", e.got);
  }
  return new InputError(name, `read failed at line ${line}: ${inputReason(e)}`);
}

/**
 * Wraps `stream` in a bounded gzip decompressor when its first two bytes are the gzip magic
 * (see the module documentation for the bounds); otherwise passes it through.
 *
 * @example
 * ```ts
 * import { maybeGunzip } from "./lines.ts";
 * import { gzipSync } from "node:zlib";
 * import assert from "node:assert/strict";
 * const members = [...gzipSync("a\n"), ...gzipSync("b\n")];
 * const text = await new Response(await maybeGunzip(ReadableStream.from([new Uint8Array(members)]))).text();
 * assert.equal(text, "a\nb\n");
 * ```
 */
export async function maybeGunzip(
  stream: ReadableStream<Uint8Array>,
  name = "-",
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  let first: ReadableStreamReadResult<Uint8Array>;
  try {
    first = await reader.read();
  } catch (e) {
    throw new InputError(name, inputReason(e));
  }
  const head = first.done ? new Uint8Array(0) : first.value;
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    // Loaded only for gzip: node:zlib costs every other command tens of ms of start-up.
    return gunzip(head, reader, (await import("node:zlib")).createGunzip);
  }
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * node:zlib's gunzip reads concatenated members (Web `DecompressionStream` stops after the
 * first and fails on the rest) and, through back-pressure, decompresses only as fast as the
 * lines are consumed: its output is taken from `data` events (so every byte decompressed
 * before an error is delivered before the error) and the stream is paused while
 * {@link CHUNK_BYTES} x 4 are waiting.
 */
function gunzip(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  createGunzip: typeof import("node:zlib").createGunzip,
): ReadableStream<Uint8Array> {
  const z = createGunzip({ chunkSize: CHUNK_BYTES });
  let compressed = 0;
  // Chunks are written one at a time, so the input zlib left when a chunk's write completes
  // (or fails) is that chunk's: where zlib stopped reading, for the trailing data's offset.
  // (Deno's polyfill completes the failing write before it emits the error.)
  let current: { start: number; end: number } | undefined;
  let stopped: number | undefined;
  let decompressed = 0;
  let failure: unknown;
  let ended = false;
  const queue: Uint8Array[] = [];
  let queued = 0;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  z.on("data", (c: Uint8Array) => {
    queue.push(c);
    queued += c.length;
    if (queued > 4 * CHUNK_BYTES) z.pause();
    signal();
  });
  z.on("end", () => {
    ended = true;
    signal();
  });
  z.on("error", (e: unknown) => {
    failure ??= gzipFailure(e, stopped ?? stoppedAt(z, current));
    signal();
  });
  const feed = async () => {
    let chunk: Uint8Array | undefined = head;
    try {
      while (chunk !== undefined && failure === undefined) {
        const range = { start: compressed, end: compressed + chunk.length };
        current = range;
        compressed += chunk.length;
        const data = chunk;
        await new Promise<void>((resolve) => {
          const done = () => {
            z.off("close", done);
            resolve();
          };
          z.on("close", done);
          z.write(data, () => {
            const at = stoppedAt(z, range);
            if (stopped === undefined && at !== undefined && at < range.end) stopped = at;
            done();
          });
        });
        const r = await reader.read();
        chunk = r.done ? undefined : r.value;
      }
      if (failure === undefined) z.end();
    } catch (e) {
      failure ??= e;
      z.destroy();
      signal();
    }
  };
  feed();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        const c = queue.shift();
        if (c !== undefined) {
          queued -= c.length;
          if (queued <= CHUNK_BYTES) z.resume();
          decompressed += c.length;
          if (decompressed > GZIP_RATIO_FREE_BYTES && decompressed > MAX_GZIP_RATIO * compressed) {
            z.destroy();
            reader.cancel().catch(() => {});
            throw new GzipDataError(
              `data that decompresses to more than ${MAX_GZIP_RATIO} times its size ` +
                `(a gzip bomb?)`,
            );
          }
          controller.enqueue(c);
          return;
        }
        if (failure !== undefined) throw gzipFailure(failure, undefined);
        if (ended) {
          controller.close();
          return;
        }
        await new Promise<void>((resolve) => wake = resolve);
      }
    },
    cancel() {
      z.destroy();
      return reader.cancel();
    },
  }, { highWaterMark: 0 });
}

/**
 * The compressed offset zlib had read up to when it failed: the end of the chunk it was
 * reading less the input it left (node:zlib keeps that count in `_writeState[1]`, as Deno's
 * polyfill does). Undefined when that is not known.
 */
function stoppedAt(
  z: object,
  chunk: { start: number; end: number } | undefined,
): number | undefined {
  const state = (z as { _writeState?: unknown })._writeState;
  if (chunk === undefined || !(state instanceof Uint32Array) || state.length < 2) return undefined;
  const at = chunk.end - state[1];
  return at >= chunk.start ? at : undefined;
}

function gzipFailure(e: unknown, at: number | undefined): unknown {
  if (e instanceof GzipDataError || e instanceof InputError) return e;
  const code = (e as { code?: unknown })?.code;
  const message = e instanceof Error ? e.message : String(e);
  // The first member's magic was checked before decompression began, so a bad header can
  // only be that of what follows a complete member: zlib has read its 2 magic bytes (a bad
  // magic) or its 4 first bytes (magic, method, flags) when it fails.
  const header = /incorrect header check/.test(message)
    ? 2
    : /unknown compression method|unknown header flags/.test(message)
    ? 4
    : 0;
  if (header > 0) {
    const start = at === undefined || at < header ? undefined : at - header;
    return new GzipDataError("trailing data after the gzip stream", start);
  }
  if (code === "Z_BUF_ERROR" || /unexpected end/i.test(message)) {
    return new GzipDataError("a truncated gzip stream");
  }
  if (typeof code === "string" && code.startsWith("Z_")) {
    return new GzipDataError(`corrupt gzip data (${message})`);
  }
  return e;
}

/** Options of {@link readLineBatches}. */
export interface LineOptions {
  /**
   * `throw` (default): invalid UTF-8 is a {@link TraceError} naming the line. `mark`: the line
   * is decoded with U+FFFD and listed in {@link LineBatch.badEncoding} (for `validate`).
   */
  encoding?: "throw" | "mark";
}

/**
 * Splits a byte stream into batches of lines. Memory is bounded by the chunk size plus the
 * longest line; a line longer than {@link MAX_LINE_BYTES} is refused as soon as its length
 * passes the cap.
 *
 * @example
 * ```ts
 * import { readLineBatches } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const bytes = new TextEncoder().encode("a\r\nb\nc");
 * const out = [];
 * for await (const b of readLineBatches("x", ReadableStream.from([bytes]))) out.push(b);
 * assert.deepEqual(out, [
 *   { lines: ["a", "b"], firstLine: 1, terminated: true },
 *   { lines: ["c"], firstLine: 3, terminated: false },
 * ]);
 * ```
 */
export async function* readLineBatches(
  name: string,
  stream: ReadableStream<Uint8Array>,
  options: LineOptions = {},
): AsyncGenerator<LineBatch> {
  const mark = options.encoding === "mark";
  let strict = new TextDecoder("utf-8", { fatal: true });
  const lenient = mark ? new TextDecoder() : undefined;
  // The unterminated tail, in pieces: joined once when its newline arrives, so a long line
  // costs O(its length), not a copy per chunk.
  const tail: string[] = [];
  let tailLength = 0;
  let tailBad = false;
  let lineNo = 1;
  const tooLong = () =>
    new TraceError(
      { file: name, line: lineNo },
      undefined,
      `a line of at most ${MAX_LINE_BYTES} bytes`,
      "a longer line (refused at the limit)",
    );
  const decode = (chunk: Uint8Array | undefined): [string, boolean] => {
    if (!mark) {
      try {
        return [
          chunk === undefined ? strict.decode() : strict.decode(chunk, { stream: true }),
          false,
        ];
      } catch {
        // The line of the first replaced character (a U+FFFD already in the text may come first).
        const text = chunk === undefined ? "\uFFFD" : new TextDecoder().decode(chunk);
        const at = text.indexOf("\uFFFD");
        throw new TraceError(
          { file: name, line: lineNo + countNewlines(text.slice(0, at < 0 ? 0 : at)) },
          undefined,
          "UTF-8 text",
          "bytes that are not valid UTF-8",
        );
      }
    }
    const text = chunk === undefined ? lenient!.decode() : lenient!.decode(chunk, { stream: true });
    try {
      if (chunk === undefined) strict.decode();
      else strict.decode(chunk, { stream: true });
      return [text, false];
    } catch {
      strict = new TextDecoder("utf-8", { fatal: true });
      return [text, true];
    }
  };
  const reader = stream.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw readFailure(name, lineNo, e);
      }
      if (r.done) break;
      const [text, bad] = decode(r.value);
      const lastNl = text.lastIndexOf("\n");
      if (lastNl < 0) {
        tailLength += text.length;
        if (tailLength > MAX_LINE_BYTES) throw tooLong();
        tail.push(text);
        tailBad ||= bad;
        continue;
      }
      const firstNl = text.indexOf("\n");
      if (tailLength + firstNl > MAX_LINE_BYTES) throw tooLong();
      const headBad = tailBad;
      let lines: string[];
      if (tail.length > 0) {
        // The line the last chunk cut off is joined from its own pieces, not with the rest of
        // this chunk: joining the whole chunk copied every byte of the input once more.
        tail.push(text.slice(0, firstNl));
        const first = tail.join("");
        tail.length = 0;
        lines = firstNl < lastNl ? text.slice(firstNl + 1, lastNl).split("\n") : [];
        lines.unshift(first);
      } else lines = text.slice(0, lastNl).split("\n");
      tailLength = text.length - lastNl - 1;
      if (tailLength > MAX_LINE_BYTES) {
        lineNo += countNewlines(text);
        throw tooLong();
      }
      if (tailLength > 0) tail.push(text.slice(lastNl + 1));
      tailBad = bad && tailLength > 0 && text.slice(lastNl + 1).includes("\uFFFD");
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i];
        if (l.length > MAX_LINE_BYTES) {
          lineNo += i;
          throw tooLong();
        }
        if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
      }
      const batch: LineBatch = { lines, firstLine: lineNo, terminated: true };
      if (bad || headBad) {
        const flagged = lines.flatMap((l, i) =>
          (i === 0 && headBad) || l.includes("\uFFFD") ? [i] : []
        );
        if (flagged.length > 0) batch.badEncoding = flagged;
      }
      yield batch;
      lineNo += lines.length;
    }
    const [rest, bad] = decode(undefined);
    if (tailLength + rest.length > MAX_LINE_BYTES) throw tooLong();
    tail.push(rest);
    const last = tail.join("");
    if (last.length > 0) {
      const l = last.charCodeAt(last.length - 1) === 13 ? last.slice(0, -1) : last;
      const batch: LineBatch = { lines: [l], firstLine: lineNo, terminated: false };
      if (bad || tailBad) batch.badEncoding = [0];
      yield batch;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}
