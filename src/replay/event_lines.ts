/**
 * Where a {@link Timeline} finds each event's line again: the index of a random-access replay.
 *
 * - {@link FileEventLines}, for a trace that is a seekable regular file (not stdin, a FIFO or
 *   gzip): each event's byte offset (Float64Array), byte length and line number (Uint32Array),
 *   16 bytes an event, grown by doubling (at most 32 MB held, 16 MB used, for 1M events). An
 *   access re-reads the span from its first to its last event with one positioned read.
 *   The offsets come from one more streamed read of the file after the build pass, hashed as
 *   it goes: a digest other than the one the trace reader computed, or a size or modification
 *   time other than at build on a later access, is an {@link InputError} naming the file,
 *   never a wrong answer.
 * - {@link KeptEventLines}, for everything else: each event's text as read, deflated in blocks
 *   of about 64 KB (about 30 bytes an event on the bench trace, against about 160 as strings),
 *   plus its line number (4 bytes).
 *
 * @module
 */

import { deflateRawSync, inflateRawSync } from "node:zlib";
import { InputError, InvariantError } from "../errors.ts";
import { inputReason } from "../trace/lines.ts";
import { incrementalSha256, type Sha256Stream } from "../trace/sha.ts";

/** The lines of a trace's events, by event index (0-based). */
export interface EventLines {
  /** Number of events. */
  readonly count: number;
  /** 1-based line number of event `i`. */
  line(i: number): number;
  /** The texts of events `from` to `to - 1` (as the trace reader handed them over). */
  texts(from: number, to: number): string[];
}

/** A Uint32Array grown by doubling. */
class U32List {
  a = new Uint32Array(1024);
  n = 0;
  push(v: number): void {
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = v;
  }
}

/** Bytes of event text compressed together by {@link KeptEventLines}. */
const KEPT_BLOCK_CHARS = 1 << 16;

/**
 * Event lines kept as text (stdin, FIFOs, gzip: nothing can be read again), compressed: the
 * texts of about 64 KB of consecutive events are joined by newlines (an event's text never
 * holds one) and deflated together (`node:zlib`, level 1). On the 1M-event bench trace over
 * gzip, the index held 202 MB with the texts as strings, 73 MB with them deflated (same median step,
 * 14 ms); an access inflates the
 * blocks its events are in (the last one inflated is kept, so a walk forward inflates each
 * block once).
 *
 * @example
 * ```ts
 * import { KeptEventLines } from "./event_lines.ts";
 * import assert from "node:assert/strict";
 * const k = new KeptEventLines();
 * k.keep('{"seq":1,"kind":"mark","text":"a"}');
 * k.addLine(2);
 * assert.equal(k.count, 1);
 * assert.equal(k.line(0), 2);
 * assert.deepEqual(k.texts(0, 1), ['{"seq":1,"kind":"mark","text":"a"}']);
 * ```
 */
export class KeptEventLines implements EventLines {
  // Compressed blocks, and the index of each one's first event.
  #blocks: (Uint8Array | string[])[] = [];
  #firsts: number[] = [];
  // Texts not yet compressed (the events from #pendingFirst on).
  #pending: string[] = [];
  #pendingChars = 0;
  #wellFormed = true;
  #kept = 0;
  #lines = new U32List();
  #inflated: { block: number; texts: string[] } | undefined;

  /** Records the line number of the next event whose text {@link KeptEventLines.keep} took. */
  addLine(line: number): void {
    this.#lines.push(line);
  }

  /** Keeps the text of the next event (its line number comes through {@link KeptEventLines.addLine}). */
  keep(text: string): void {
    if (text.includes("\n")) {
      throw new InvariantError("an event's text holds a newline");
    }
    this.#pending.push(text);
    this.#pendingChars += text.length + 1;
    // A lone surrogate would not survive UTF-8: such a block stays text.
    this.#wellFormed &&= text.isWellFormed();
    this.#kept++;
    if (this.#pendingChars >= KEPT_BLOCK_CHARS) {
      this.#firsts.push(this.#kept - this.#pending.length);
      this.#blocks.push(
        this.#wellFormed
          ? deflateRawSync(encoder.encode(this.#pending.join("\n")), { level: 1 })
          : this.#pending,
      );
      this.#pending = [];
      this.#pendingChars = 0;
      this.#wellFormed = true;
    }
  }

  /** A copy of the line numbers so far. */
  lineNumbers(): Uint32Array {
    return this.#lines.a.slice(0, this.#lines.n);
  }

  /** Number of events whose text is kept. */
  get kept(): number {
    return this.#kept;
  }

  /** Number of events. */
  get count(): number {
    return this.#lines.n;
  }

  /** 1-based line number of event `i`. */
  line(i: number): number {
    return this.#lines.a[i];
  }

  /** The texts of events `from` to `to - 1`. */
  texts(from: number, to: number): string[] {
    const out: string[] = [];
    const pendingFirst = this.#kept - this.#pending.length;
    for (let i = from; i < to;) {
      if (i >= pendingFirst) {
        for (; i < to; i++) out.push(this.#pending[i - pendingFirst]);
        break;
      }
      // The last block whose first event is at or before i.
      let lo = 0, hi = this.#firsts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (this.#firsts[mid] <= i) lo = mid;
        else hi = mid - 1;
      }
      if (this.#inflated?.block !== lo) {
        const b = this.#blocks[lo];
        const texts = Array.isArray(b) ? b : decoder.decode(inflateRawSync(b)).split("\n");
        this.#inflated = { block: lo, texts };
      }
      const texts = this.#inflated.texts;
      const first = this.#firsts[lo];
      const before = i;
      for (; i < to && i - first < texts.length; i++) out.push(texts[i - first]);
      if (i === before) throw new InvariantError(`kept event ${i} is in no block`);
    }
    return out;
  }
}

const encoder = new TextEncoder();
// A text's leading U+FEFF is part of it, not a byte order mark to drop.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** Size of the reads that find the line offsets. */
const SCAN_BYTES = 1 << 20;

/**
 * Event lines as byte offsets into a regular file, read again on access.
 *
 * @example
 * ```ts
 * import { FileEventLines } from "./event_lines.ts";
 * import { createHash } from "node:crypto";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * const text = 'header\n{"seq":1}\r\n\n{"seq":2}';
 * await Deno.writeTextFile(path, text);
 * const sha = createHash("sha256").update(text).digest("hex");
 * const f = await FileEventLines.index(path, path, Uint32Array.of(2, 4), 2, sha);
 * assert.deepEqual(f.texts(0, 2), ['{"seq":1}', '{"seq":2}']);
 * assert.equal(f.line(1), 4);
 * await Deno.writeTextFile(path, text + "\n");
 * assert.throws(() => f.texts(0, 1), /changed since it was indexed/);
 * await Deno.remove(path);
 * ```
 */
export class FileEventLines implements EventLines {
  readonly #path: string;
  readonly #name: string;
  readonly #offsets: Float64Array;
  readonly #lengths: Uint32Array;
  readonly #lines: Uint32Array;
  readonly #count: number;
  readonly #size: number;
  readonly #mtime: number | undefined;
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });

  private constructor(
    path: string,
    name: string,
    offsets: Float64Array,
    lengths: Uint32Array,
    lines: Uint32Array,
    count: number,
    stat: Deno.FileInfo,
  ) {
    this.#path = path;
    this.#name = name;
    this.#offsets = offsets;
    this.#lengths = lengths;
    this.#lines = lines;
    this.#count = count;
    this.#size = stat.size;
    this.#mtime = stat.mtime?.getTime();
  }

  /**
   * Finds the byte span of lines `lines[0..count)` (1-based, ascending) of `path` in one
   * streamed read, checking that the bytes hash to `sha256` (what the trace reader read).
   * `name` is the file name errors give.
   */
  static async index(
    path: string,
    name: string,
    lines: Uint32Array,
    count: number,
    sha256: string,
  ): Promise<FileEventLines> {
    const s = await lineSpans(path, name, lines, count, sha256);
    return new FileEventLines(path, name, s.offsets, s.lengths, lines, count, s.stat);
  }

  /** Number of events. */
  get count(): number {
    return this.#count;
  }

  /** 1-based line number of event `i`. */
  line(i: number): number {
    return this.#lines[i];
  }

  /** The texts of events `from` to `to - 1`, from one positioned read of their span. */
  texts(from: number, to: number): string[] {
    if (to <= from) return [];
    const base = this.#offsets[from];
    const span = this.#offsets[to - 1] + this.#lengths[to - 1] - base;
    const bytes = this.#read(base, span);
    const out: string[] = new Array(to - from);
    try {
      for (let i = from; i < to; i++) {
        const at = this.#offsets[i] - base;
        let len = this.#lengths[i];
        if (len > 0 && bytes[at + len - 1] === 13) len--; // CRLF, as the reader strips it
        out[i - from] = this.#decoder.decode(bytes.subarray(at, at + len));
      }
    } catch {
      throw changed(this.#name);
    }
    return out;
  }

  #read(offset: number, length: number): Uint8Array {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.#path, { read: true });
    } catch (e) {
      throw new InputError(this.#name, inputReason(e));
    }
    try {
      const stat = file.statSync();
      if (stat.size !== this.#size || stat.mtime?.getTime() !== this.#mtime) {
        throw changed(this.#name);
      }
      file.seekSync(offset, Deno.SeekMode.Start);
      const bytes = new Uint8Array(length);
      for (let got = 0; got < length;) {
        const n = file.readSync(bytes.subarray(got));
        if (n === null) throw changed(this.#name);
        got += n;
      }
      return bytes;
    } finally {
      file.close();
    }
  }
}

/** Byte spans of a file's event lines, as {@link lineSpans} finds them. */
export interface LineSpans {
  /** Byte offset of each event's line. */
  offsets: Float64Array;
  /** Byte length of each event's line (a CR before the newline included). */
  lengths: Uint32Array;
  /** The file's status when it was read. */
  stat: Deno.FileInfo;
  /**
   * With `groups`: the SHA-256 of each group's span (from its first event's line to the end
   * of its last one's, newline excluded).
   */
  groupSha256: string[];
  /** The SHA-256 of the whole file as read. */
  sha256: string;
}

/**
 * Finds the byte span of lines `lines[0..count)` (1-based, ascending) of `path` in one
 * streamed read, checking that the bytes hash to `sha256` (what the trace reader read; a
 * caller that checks the file's identity instead passes undefined); other bytes are an
 * {@link InputError} naming `name`. `groups` (ascending event indices, the
 * first 0) splits the events into groups whose spans are hashed in the same read.
 *
 * @example
 * ```ts
 * import { lineSpans } from "./event_lines.ts";
 * import { createHash } from "node:crypto";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "h\nab\ncd\n");
 * const sha = createHash("sha256").update("h\nab\ncd\n").digest("hex");
 * const s = await lineSpans(path, path, Uint32Array.of(2, 3), 2, sha, [0, 1]);
 * assert.deepEqual([s.offsets[1], s.lengths[1]], [5, 2]);
 * assert.equal(s.groupSha256[1], createHash("sha256").update("cd").digest("hex"));
 * await Deno.remove(path);
 * ```
 */
export async function lineSpans(
  path: string,
  name: string,
  lines: Uint32Array,
  count: number,
  sha256: string | undefined,
  groups: readonly number[] = [],
): Promise<LineSpans> {
  const offsets = new Float64Array(count);
  const groupSha256: string[] = [];
  // The group being hashed: its hash, and the offset its bytes are hashed up to.
  let group: { h: Sha256Stream; from: number } | undefined;
  const groupEnd = () =>
    (groupSha256.length + 1 < groups.length ? groups[groupSha256.length + 1] : count) - 1;
  const lengths = new Uint32Array(count);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new InputError(name, inputReason(e));
  }
  try {
    const stat = await file.stat();
    const h = await incrementalSha256();
    const buf = new Uint8Array(SCAN_BYTES);
    let next = 0, lineNo = 1, lineStart = 0, pos = 0;
    // A group is hashed from the start of its first event's line (found when the line before
    // it ends), chunk by chunk, to the end of its last one's.
    const opens = () =>
      group === undefined && next < count && lines[next] === lineNo &&
      groups[groupSha256.length] === next;
    if (opens()) group = { h: await incrementalSha256(), from: 0 };
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      const chunk = buf.subarray(0, n);
      h.update(chunk);
      for (let p = chunk.indexOf(10); p >= 0; p = chunk.indexOf(10, p + 1)) {
        const end = pos + p;
        if (next < count && lines[next] === lineNo) {
          offsets[next] = lineStart;
          lengths[next] = end - lineStart;
          if (group !== undefined && next === groupEnd()) {
            group.h.update(chunk.subarray(group.from - pos, p));
            groupSha256.push(group.h.digest());
            group = undefined;
          }
          next++;
        }
        lineNo++;
        lineStart = end + 1;
        if (opens()) group = { h: await incrementalSha256(), from: lineStart };
      }
      if (group !== undefined) {
        group.h.update(chunk.subarray(group.from - pos));
        group.from = pos + n;
      }
      pos += n;
    }
    if (next < count && lines[next] === lineNo && lineStart < pos) {
      offsets[next] = lineStart;
      lengths[next] = pos - lineStart;
      if (group !== undefined && next === groupEnd()) {
        groupSha256.push(group.h.digest()); // its bytes were hashed with their chunk
        group = undefined;
      }
      next++;
    }
    const whole = h.digest();
    if (
      (sha256 !== undefined && whole !== sha256) || next !== count || pos !== stat.size ||
      groupSha256.length !== groups.length
    ) {
      throw changed(name);
    }
    return { offsets, lengths, stat, groupSha256, sha256: whole };
  } finally {
    file.close();
  }
}

function changed(name: string): InputError {
  return new InputError(
    name,
    "it changed since it was indexed for random access (size, modification time or bytes " +
      "differ); run the command again",
  );
}
