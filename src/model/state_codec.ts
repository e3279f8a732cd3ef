/**
 * A {@link ModelState} as bytes and back, for the on-disk random-access index
 * (`src/replay/trace_index.ts`): one JSON text (UTF-8) of the P2M's pages ({@link p2mPages}:
 * every distinct page once, pointers as indices, so pages shared between slots stay shared)
 * and the rest of the state (E820 map, boot report, PFN sets, devices, bridges, grants). Guest
 * facts, policy and lookup context are not written: they come from the trace header and the
 * policy the index is keyed by.
 *
 * JSON, not a compact binary encoding: a cached answer decodes one state in a fresh process,
 * where code has not been optimised yet, and `JSON.parse` (native) builds the P2M's 250k
 * run numbers of a 1M-event state in about a third of the CPU time a zigzag LEB128 decoder
 * needed (12 against 30-40 ms), for about twice the bytes (0.8 MB against 0.44 MB).
 *
 * The P2M pages can be kept apart, in a {@link PagePool}: a file that holds many states of
 * one trace writes each page once (tables are persistent: a page not written since is the same
 * object), and a state then holds its mids' places (offset, length and {@link pageSum}) in that
 * file, a mid its leaves'; {@link decodeState} is given the pages read back from there, so a
 * reader that checked a state's bytes can check each page it reads against the sum its parent
 * holds, and read no other page. A state a thousand
 * events after the last costs about a tenth of a whole one (the pages changed since, and the
 * rest of the state).
 *
 * Exactness: {@link decodeState} of {@link encodeState} answers every lookup, report and later
 * step exactly as the original (`state_codec_test.ts` replays both at every step). A number
 * that is not a safe integer where the P2M holds integers is an `InvariantError` when encoded,
 * never a rounded value.
 *
 * @module
 */

import type { GuestFacts } from "../trace/event.ts";
import type { Policy } from "./policy.ts";
import { initialState, type ModelState } from "./state.ts";
import {
  type Era,
  type LazyMidPages,
  type NamedMid,
  p2mFromLazyMids,
  p2mFromPages,
  type P2mPageIds,
  p2mPageIds,
  type P2mPages,
  p2mPages,
  type PageNamer,
} from "../p2m/table.ts";
import { PfnSet } from "../p2m/pfn_set.ts";
import { InvariantError } from "../errors.ts";

const ERAS: readonly Era[] = ["T12", "T16", "L19"];

function checkInts(vs: readonly number[]): readonly number[] {
  for (let i = 0; i < vs.length; i++) {
    if (!Number.isSafeInteger(vs[i])) {
      throw new InvariantError(`state codec: ${vs[i]} is not an integer`);
    }
  }
  return vs;
}

function ints(v: unknown): number[] {
  if (!Array.isArray(v)) throw new InvariantError("state codec: a list of the P2M is missing");
  return v;
}

/** The two digits of each number below 100, as character codes. */
const DIGITS2 = Uint8Array.from(
  { length: 200 },
  (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : ((i >> 1) / 10) | 0),
);

/** Writes the integer `v` (0 to 2^31 - 1) into `b` from `w` in decimal; returns its end. */
function writeSmall(b: Uint8Array, w: number, v: number): number {
  const end = w +
    (v < 10
      ? 1
      : v < 100
      ? 2
      : v < 1e3
      ? 3
      : v < 1e4
      ? 4
      : v < 1e5
      ? 5
      : v < 1e6
      ? 6
      : v < 1e7
      ? 7
      : v < 1e8
      ? 8
      : v < 1e9
      ? 9
      : 10);
  let p = end;
  while (v >= 100) {
    const q = (v / 100) | 0, r = 2 * (v - q * 100);
    b[--p] = DIGITS2[r + 1];
    b[--p] = DIGITS2[r];
    v = q;
  }
  if (v >= 10) {
    b[--p] = DIGITS2[2 * v + 1];
    b[--p] = DIGITS2[2 * v];
  } else b[--p] = 48 + v;
  return end;
}

/**
 * Writes `v` (a safe integer, else an `InvariantError`) into `b` from `w` as `JSON.stringify`
 * writes it (`-0` as `0`), and returns where it ended; `b` has room for 17 bytes from `w`.
 */
function writeInt(b: Uint8Array, w: number, v: number): number {
  if (!Number.isSafeInteger(v)) throw new InvariantError(`state codec: ${v} is not an integer`);
  if (v < 0) {
    b[w++] = 0x2d;
    v = -v;
  }
  if (v <= 0x7fffffff) return writeSmall(b, w, v);
  // Below 2^53: at most 8 digits above the last 8.
  const hi = Math.floor(v / 1e8);
  w = writeSmall(b, w, hi);
  let lo = v - hi * 1e8;
  for (let p = w + 6; p >= w; p -= 2) {
    const q = (lo / 100) | 0, r = 2 * (lo - q * 100);
    b[p + 1] = DIGITS2[r + 1];
    b[p] = DIGITS2[r];
    lo = q;
  }
  return w + 8;
}

/** Bytes {@link writeInts} may write for `n` numbers. */
function intsRoom(n: number): number {
  return 2 + 18 * n;
}

/** `JSON.stringify(vs)` written into `b` from `w` ({@link intsRoom} bytes free); its end. */
function writeInts(b: Uint8Array, w: number, vs: readonly number[]): number {
  b[w++] = 0x5b;
  for (let i = 0; i < vs.length; i++) {
    if (i > 0) b[w++] = 0x2c;
    w = writeInt(b, w, vs[i]);
  }
  b[w++] = 0x5d;
  return w;
}

let scratch = new Uint8Array(1 << 16);

/**
 * `JSON.stringify(vs)` as UTF-8 bytes, for integers (each a safe integer, else an
 * `InvariantError`), written straight into bytes: a leaf's runs, the bulk of an index's pages,
 * without a string to build, encode and collect.
 *
 * @example
 * ```ts
 * import { intsJson } from "./state_codec.ts";
 * import assert from "node:assert/strict";
 * const vs = [0, -0, 7, -12, 2 ** 31, -(2 ** 53 - 1), 1234567890123];
 * assert.equal(new TextDecoder().decode(intsJson(vs)), JSON.stringify(vs));
 * assert.equal(new TextDecoder().decode(intsJson([])), "[]");
 * ```
 */
export function intsJson(vs: readonly number[]): Uint8Array<ArrayBuffer> {
  const need = intsRoom(vs.length);
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  return scratch.slice(0, writeInts(scratch, 0, vs));
}

/**
 * A page's place in a {@link PagePool}'s file: offset and length of its bytes, and their
 * {@link pageSum}.
 */
export type PagePlace = [number, number, number];

/** Numbers a place takes in a flat list of places ({@link PagePlace}). */
export const PLACE_SIZE = 3;

/**
 * A 53-bit checksum of `bytes`, for checking a P2M page read on its own against the sum its
 * parent holds: over little-endian 32-bit words (the last one zero-padded), a multiply-xorshift
 * lane and an add-rotate lane, each finished with the length, the second's low 21 bits above
 * the first's 32. Plain JavaScript, synchronous and cheap where code has not been optimised
 * yet (a word costs a few bytecodes and one `Math.imul`): a lazy leaf is read inside
 * synchronous model code, where Web Crypto's digest cannot run, and `node:crypto` costs a
 * fresh process about 40 ms to load. It detects damage (any change within one word always,
 * as the first lane is a bijection of each word; others but for odds of about 2^-53), not a
 * forgery: the index's blocks and directory, where the sums are kept, are SHA-256-checked.
 *
 * @example
 * ```ts
 * import { pageSum } from "./state_codec.ts";
 * import assert from "node:assert/strict";
 * const a = new TextEncoder().encode("[1,2,3]");
 * const b = new TextEncoder().encode("[1,2,4]");
 * assert.ok(Number.isSafeInteger(pageSum(a)));
 * assert.notEqual(pageSum(a), pageSum(b));
 * assert.notEqual(pageSum(a), pageSum(a.subarray(0, 6)));
 * const unaligned = new Uint8Array(a.length + 1);
 * unaligned.set(a, 1);
 * assert.equal(pageSum(unaligned.subarray(1)), pageSum(a));
 * ```
 */
export function pageSum(bytes: Uint8Array): number {
  const n = bytes.length, words = (n + 3) >> 2;
  let w32: Int32Array;
  if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 && n % 4 === 0) {
    w32 = new Int32Array(bytes.buffer, bytes.byteOffset, words);
  } else {
    if (sumScratch.length < words) {
      sumScratch = new Int32Array(Math.max(words, 2 * sumScratch.length));
    }
    w32 = sumScratch;
    if (LITTLE_ENDIAN) {
      w32[words - 1] = 0;
      new Uint8Array(w32.buffer, 0, n).set(bytes);
    } else {
      for (let i = 0; i < words; i++) {
        let w = 0;
        for (let k = 0; k < 4 && 4 * i + k < n; k++) w |= bytes[4 * i + k] << (8 * k);
        w32[i] = w;
      }
    }
  }
  let h1 = 0x9747b28c | 0, h2 = 0x2f2a5b17;
  for (let i = 0; i < words; i++) {
    const w = w32[i];
    h1 = Math.imul(h1 ^ w, 0x5bd1e995);
    h1 ^= h1 >>> 15;
    h2 = (h2 + w) | 0;
    h2 = (h2 << 9) | (h2 >>> 23);
  }
  h1 = fmix(h1 ^ n);
  h2 = fmix(h2 ^ Math.imul(n, 0x85ebca6b) ^ h1);
  return (h2 & 0x1fffff) * 0x100000000 + (h1 >>> 0);
}

const LITTLE_ENDIAN = new Uint8Array(Int32Array.of(1).buffer)[0] === 1;
let sumScratch = new Int32Array(2048);

/**
 * {@link pageSum} of the `n` bytes of `b` from `from`, read byte by byte (no view or copy made,
 * whatever the alignment): the writer's way, in optimised code, over pages it has just
 * written into one buffer.
 */
function sumAt(b: Uint8Array, from: number, n: number): number {
  const full = n >> 2;
  let h1 = 0x9747b28c | 0, h2 = 0x2f2a5b17;
  let p = from;
  for (let i = 0; i < full; i++, p += 4) {
    const w = b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
    h1 = Math.imul(h1 ^ w, 0x5bd1e995);
    h1 ^= h1 >>> 15;
    h2 = (h2 + w) | 0;
    h2 = (h2 << 9) | (h2 >>> 23);
  }
  if (n & 3) {
    let w = 0;
    for (let k = 0; k < (n & 3); k++) w |= b[p + k] << (8 * k);
    h1 = Math.imul(h1 ^ w, 0x5bd1e995);
    h1 ^= h1 >>> 15;
    h2 = (h2 + w) | 0;
    h2 = (h2 << 9) | (h2 >>> 23);
  }
  h1 = fmix(h1 ^ n);
  h2 = fmix(h2 ^ Math.imul(n, 0x85ebca6b) ^ h1);
  return (h2 & 0x1fffff) * 0x100000000 + (h1 >>> 0);
}

function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Where a file holding many states of one trace keeps their P2M pages: each leaf and each mid
 * once, as JSON, at the offsets it is given ({@link PagePool.start}). A leaf is its runs; a mid
 * is `[slots, places]`, its 512 slots' leaf indices (0-2 the shared leaves, 3 + i the leaf
 * at `places[3i..3i+3)`: offset, length, {@link pageSum}). {@link encodeState} names each page of a state through it (tables are
 * persistent: a page not written since is the same object, and is not written again), and the
 * file's writer takes the pages new since with {@link PagePool.take} and writes them where
 * their places say.
 *
 * @example
 * ```ts
 * import { PagePool, pageSum } from "./state_codec.ts";
 * import assert from "node:assert/strict";
 * const pool = new PagePool();
 * pool.start(100);
 * const runs = [1, 2, 3];
 * const id = pool.leaf(runs, runs);
 * assert.equal(pool.leaf(runs, runs), id);
 * const [offset, length, sum] = pool.leafPlace(id);
 * const bytes = pool.take();
 * assert.equal(offset, 100);
 * assert.equal(length, 7);
 * assert.equal(sum, pageSum(bytes));
 * assert.equal(new TextDecoder().decode(bytes), "[1,2,3]");
 * ```
 */
export class PagePool implements PageNamer {
  #midIds = new WeakMap<object, number>();
  /**
   * Each leaf's id and bytes where it was placed last, by this pool or an earlier one (one
   * map for the pools of a file: a leaf placed again by a later pool is copied, not encoded).
   */
  #placed: WeakMap<object, PlacedLeaf>;
  /** This pool's number among those sharing `#placed` (the first is 0). */
  #serial: number;
  /** Places of leaves (id 3 + i at 3i) and mids (likewise), flat. */
  #leafAt: number[] = [];
  #midAt: number[] = [];
  /** The bytes placed, pending from `#from` to `#w` in `#chunk` (shared with the next pool). */
  #arena: Arena;
  /** The last mid named at each top slot (-1: the mid-missing page), with its slot ids. */
  #lastAt = new Map<number, NamedMid>();
  /** A mid's leaf ids renumbered (3, 4, ... in order of first use): `#local[id - 3]` when `#seen[id - 3]` is `#gen`. */
  #seen = new Int32Array(1024);
  #local = new Int32Array(1024);
  #gen = 0;
  /** The leaf ids of a mid in the order their places are written. */
  #order = new Int32Array(512);
  /** Each leaf's place as JSON text (`offset,length,sum`): leaf `3 + i`'s ends at `#placeEnd[i + 1]`. */
  #placeText = new Uint8Array(1 << 16);
  #placeEnd: number[] = [0];
  #next = 0;

  /**
   * A pool; with `earlier` (the pool of the last group), the bytes of a leaf it placed are
   * not made again.
   */
  constructor(earlier?: PagePool) {
    this.#placed = earlier === undefined ? new WeakMap() : earlier.#placed;
    this.#arena = earlier === undefined ? new Arena() : earlier.#arena;
    this.#serial = earlier === undefined ? 0 : earlier.#serial + 1;
  }

  /** Pages placed from now on are written from file offset `at` on (nothing may be pending). */
  start(at: number): void {
    if (this.#arena.pending()) throw new InvariantError("page pool: pages not taken");
    this.#next = at;
  }

  /** Places the `#arena`'s bytes from `from` on (the page just written there). */
  #put(from: number, into: number[], sum: number): void {
    const n = this.#arena.w - from;
    into.push(this.#next, n, sum);
    this.#next += n;
  }

  /** The id (>= 3) of the frozen leaf `page`, whose runs are `runs` (placed when first seen). */
  leaf(page: object, runs: readonly number[]): number {
    const was = this.#placed.get(page);
    if (was !== undefined && was.pool === this.#serial) return was.id;
    const id = 3 + this.#leafAt.length / PLACE_SIZE;
    const a = this.#arena;
    let sum: number, from: number;
    if (was !== undefined) {
      const b = a.reserve(was.length);
      from = a.w;
      b.set(was.chunk.subarray(was.at, was.at + was.length), from);
      a.w += was.length;
      sum = was.sum;
    } else {
      const b = a.reserve(intsRoom(runs.length));
      from = a.w;
      a.w = writeInts(b, from, runs);
      sum = sumAt(b, from, a.w - from);
    }
    this.#placed.set(page, new PlacedLeaf(this.#serial, id, a.chunk, from, a.w - from, sum));
    this.#put(from, this.#leafAt, sum);
    // Its place as text, written once: each new mid holding it copies it.
    let t = this.#placeText, w = this.#placeEnd[this.#placeEnd.length - 1];
    if (t.length < w + 3 * 18) {
      t = new Uint8Array(2 * t.length);
      t.set(this.#placeText);
      this.#placeText = t;
    }
    const p = this.#leafAt.length - PLACE_SIZE;
    w = writeInt(t, w, this.#leafAt[p]);
    t[w++] = 0x2c;
    w = writeInt(t, w, this.#leafAt[p + 1]);
    t[w++] = 0x2c;
    w = writeInt(t, w, this.#leafAt[p + 2]);
    this.#placeEnd.push(w);
    return id;
  }

  /**
   * The id (>= 3) of the frozen mid `page` at top slot `at` (-1: the mid-missing page), whose
   * slots' leaf ids are `leaves()`: only the slots that differ from the last mid this pool
   * named at `at` are named again (a checkpoint's new mids are mostly copies of the last
   * one's with a few leaves written: 512 slots a mid, about three new mids a checkpoint).
   * Its bytes are `[slots, places]` written straight into the pool's buffer: each slot's leaf
   * renumbered for this mid (0-2 stay, the others 3, 4, ... in order of first use), then the
   * places of those leaves in that order.
   */
  mid(page: object, leaves: (like?: NamedMid) => number[], at = -2): number {
    let id = this.#midIds.get(page);
    if (id === undefined) {
      const ids = leaves(this.#lastAt.get(at));
      if (at !== -2) this.#lastAt.set(at, { page, ids });
      const n = ids.length;
      const leafCount = this.#leafAt.length / PLACE_SIZE;
      if (this.#seen.length < leafCount) {
        const size = Math.max(leafCount, 2 * this.#seen.length);
        const seen = new Int32Array(size);
        seen.set(this.#seen);
        this.#seen = seen;
        this.#local = new Int32Array(size);
      }
      if (this.#order.length < n) this.#order = new Int32Array(n);
      const seen = this.#seen, local = this.#local, order = this.#order;
      const gen = ++this.#gen;
      const a = this.#arena;
      // At most 17 bytes a number and 1 its comma: a slot's, and 3 numbers of places a slot.
      const b = a.reserve(6 + 72 * n);
      const from = a.w;
      let w = from;
      b[w++] = 0x5b;
      b[w++] = 0x5b;
      let m = 0;
      for (let s = 0; s < n; s++) {
        if (s > 0) b[w++] = 0x2c;
        let k = ids[s];
        if (k >= 3) {
          const i = k - 3;
          if (seen[i] !== gen) {
            seen[i] = gen;
            local[i] = 3 + m;
            order[m++] = k;
          }
          k = local[i];
        }
        if (k < 10) b[w++] = 48 + k;
        else w = writeInt(b, w, k);
      }
      b[w++] = 0x5d;
      b[w++] = 0x2c;
      b[w++] = 0x5b;
      const text = this.#placeText, ends = this.#placeEnd;
      for (let j = 0; j < m; j++) {
        if (j > 0) b[w++] = 0x2c;
        const i = order[j] - 3;
        for (let x = ends[i], e = ends[i + 1]; x < e; x++) b[w++] = text[x];
      }
      b[w++] = 0x5d;
      b[w++] = 0x5d;
      a.w = w;
      id = 3 + this.#midAt.length / PLACE_SIZE;
      this.#put(from, this.#midAt, sumAt(b, from, w - from));
      this.#midIds.set(page, id);
    }
    return id;
  }

  /** The place of leaf `id`. */
  leafPlace(id: number): PagePlace {
    const i = PLACE_SIZE * (id - 3);
    return [this.#leafAt[i], this.#leafAt[i + 1], this.#leafAt[i + 2]];
  }

  /** The place of mid `id`. */
  midPlace(id: number): PagePlace {
    const i = PLACE_SIZE * (id - 3);
    return [this.#midAt[i], this.#midAt[i + 1], this.#midAt[i + 2]];
  }

  /**
   * The bytes of the pages placed since {@link PagePool.start}, in order (then none pending): a
   * view of the pool's buffer, never written again.
   */
  take(): Uint8Array {
    return this.#arena.take();
  }
}

/**
 * A placed leaf: the pool that placed it last (its serial number) and its id there, its bytes (`length` bytes of
 * `chunk` from `at`) and their {@link pageSum}.
 */
class PlacedLeaf {
  constructor(
    readonly pool: number,
    readonly id: number,
    readonly chunk: Uint8Array,
    readonly at: number,
    readonly length: number,
    readonly sum: number,
  ) {}
}

/** Bytes written one after another into chunks, never written again once written. */
class Arena {
  chunk = new Uint8Array(ARENA_CHUNK);
  /** Where pending bytes start, and end. */
  from = 0;
  w = 0;
  /** True when bytes are pending. */
  pending(): boolean {
    return this.w > this.from;
  }

  /**
   * The chunk, with room for `k` more bytes from `w`: when there is none, a new chunk, the
   * pending bytes copied to its start (those in the old one stay as they are).
   */
  reserve(k: number): Uint8Array {
    if (this.w + k <= this.chunk.length) return this.chunk;
    const pending = this.w - this.from;
    const c = new Uint8Array(Math.max(ARENA_CHUNK, 2 * (pending + k)));
    c.set(this.chunk.subarray(this.from, this.w));
    this.chunk = c;
    this.from = 0;
    this.w = pending;
    return c;
  }

  /** The pending bytes (a view), then none pending. */
  take(): Uint8Array {
    const out = this.chunk.subarray(this.from, this.w);
    this.from = this.w;
    return out;
  }
}

/** Bytes of an {@link Arena}'s chunk, at least. */
const ARENA_CHUNK = 1 << 20;

/**
 * Reads pooled pages back: the JSON value of the page at each place (flat offset, length,
 * {@link pageSum}), each checked against its sum.
 */
export type PageReader = (places: readonly number[]) => unknown[];

/**
 * Reads one pooled page back later: given its place, returns what reads its bytes, checks them
 * against `sum` and gives their JSON value when first needed.
 */
export type LazyPageReader = (offset: number, length: number, sum: number) => () => unknown;

/**
 * The bytes of `s` (its guest facts and policy excepted). With `pool`, the P2M's pages are
 * not written: their places in the pool are ({@link PagePool}), and {@link decodeState} then
 * needs them read back.
 *
 * @example
 * ```ts
 * import { decodeState, encodeState } from "./state_codec.ts";
 * import { initialState } from "./state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const guest = { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 } as const;
 * const policy = resolvePolicy(POLICIES, "linux-3.16");
 * const s = initialState(guest, policy);
 * const back = decodeState(encodeState(s), guest, policy);
 * assert.deepEqual(back.p2m.entry(0x100), s.p2m.entry(0x100));
 * assert.equal(back.maxPfn, s.maxPfn);
 * ```
 */
export function encodeState(s: ModelState, pool?: PagePool): Uint8Array<ArrayBuffer> {
  const rest = JSON.stringify({
    e820: s.e820,
    boot: s.boot ?? null,
    maxPfn: s.maxPfn,
    extra: s.extra.toArray(),
    balloon: s.balloon.toArray(),
    balloonStarted: s.balloonStarted,
    hotplug: s.hotplug.toArray(),
    devices: [...s.devices.values()],
    bridges: [...s.bridges.entries()],
    grants: s.grants,
  });
  let p2m: string;
  if (pool === undefined) {
    const p = p2mPages(s.p2m);
    p2m = `${headOf(p)},"leaves":${JSON.stringify(p.leaves.map(checkInts))},"mids":${
      JSON.stringify(p.mids.map(checkInts))
    },"midMissing":${JSON.stringify(checkInts(p.midMissing))},"top":${
      JSON.stringify(checkInts(p.top))
    }}`;
  } else {
    // The state's own mids: 0-2 shared, 3 + i the mid at midAt[3i..3i+3).
    const ids = p2mPageIds(s.p2m, pool);
    const midAt: number[] = [];
    const localId = localIds(midAt, (id) => pool.midPlace(id));
    const top = ids.top.map(localId);
    const midMissing = localId(ids.midMissing);
    p2m = `${headOf(ids)},"midAt":${JSON.stringify(midAt)},"top":${JSON.stringify(top)},` +
      `"midMissing":${midMissing}}`;
  }
  return ENC.encode(`{"p2m":${p2m},${rest.slice(1)}`);
}

/**
 * Renumbers pool ids for one page or state: the shared ids 0-2 stay, the others become 3, 4, ...
 * in order of first use, and each new one's place is appended to `places`.
 */
function localIds(places: number[], placeOf: (id: number) => PagePlace): (id: number) => number {
  const local = new Map<number, number>();
  return (id) => {
    if (id < 3) return id;
    let k = local.get(id);
    if (k === undefined) {
      local.set(id, k = 3 + local.size);
      places.push(...placeOf(id));
    }
    return k;
  };
}

/** The P2M's fields other than its pages, as the start of a JSON object. */
function headOf(p: P2mPages | P2mPageIds): string {
  return JSON.stringify({
    era: ERAS.indexOf(p.era),
    limit: checkInts([p.limit])[0],
    maxPfn: checkInts([p.maxPfn])[0],
    extra: checkInts(p.extra),
    acct: checkInts([p.acct.brkUsed, p.acct.brkReserved, p.acct.runtimePages]),
  }).slice(0, -1);
}

// deno-lint-ignore no-explicit-any
function parse(bytes: Uint8Array): any {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InvariantError(`state codec: ${e instanceof Error ? e.message : e}`);
  }
}

const ENC = new TextEncoder();

// deno-lint-ignore no-explicit-any
function inlinePages(p: any): Pick<P2mPages, "leaves" | "mids" | "midMissing" | "top"> {
  return {
    leaves: ints(p.leaves).map(ints),
    mids: ints(p.mids).map(ints),
    midMissing: ints(p.midMissing),
    top: ints(p.top),
  };
}

/** The pages of a state written with a {@link PagePool}, read back through `read`. */
function pooledPages(
  // deno-lint-ignore no-explicit-any
  p: any,
  read: PageReader | undefined,
): Pick<P2mPages, "leaves" | "mids" | "midMissing" | "top"> {
  const midAt = ints(p.midAt);
  if (read === undefined || midAt.length % PLACE_SIZE !== 0) {
    throw new InvariantError("state codec: pages kept apart, and no way to read them");
  }
  // Each mid's leaves get the state's leaf indices (3 + i), a leaf shared by mids once.
  const leafIndex = new Map<number, number>();
  const leafAt: number[] = [];
  const mids = read(midAt).map((m) => {
    const [slots, places] = ints(m) as unknown as [number[], number[]];
    const at = ints(places);
    return ints(slots).map((k) => {
      if (k < 3) return k;
      const i = PLACE_SIZE * (k - 3);
      if (!(i + PLACE_SIZE <= at.length)) {
        throw new InvariantError("state codec: a slot points nowhere");
      }
      let id = leafIndex.get(at[i]);
      if (id === undefined) {
        leafIndex.set(at[i], id = 3 + leafIndex.size);
        leafAt.push(at[i], at[i + 1], at[i + 2]);
      }
      return id;
    });
  });
  const leaves = read(leafAt).map(ints);
  const own = p.midMissing;
  if (!(Number.isInteger(own) && own >= 3 && own - 3 < mids.length)) {
    throw new InvariantError("state codec: the mid-missing page is not one of the state's");
  }
  // P2mPages holds the private mids of the top (3 + i, in order) and the mid-missing page's slots.
  const topMids = new Map<number, number>();
  const top = ints(p.top).map((k) => {
    if (k < 3) return k;
    if (!(k - 3 < mids.length)) throw new InvariantError("state codec: a top slot points nowhere");
    let id = topMids.get(k);
    if (id === undefined) topMids.set(k, id = 3 + topMids.size);
    return id;
  });
  return {
    leaves,
    mids: [...topMids.keys()].map((k) => mids[k - 3]),
    midMissing: mids[own - 3],
    top,
  };
}

/**
 * The pages of a state written with a {@link PagePool}, each mid and each leaf read through
 * `lazy` when the table first needs it (a leaf is keyed by its offset in the pool's file, plus
 * 3: keys 0-2 are the shared leaves).
 */
function lazyPooledPages(
  // deno-lint-ignore no-explicit-any
  p: any,
  lazy: LazyPageReader,
): Pick<LazyMidPages, "mids" | "midMissing" | "top" | "leaf"> {
  const midAt = ints(p.midAt);
  if (midAt.length % PLACE_SIZE !== 0) {
    throw new InvariantError("state codec: a mid's place is cut short");
  }
  /** Length and sum of each leaf a mid read so far points to, by offset. */
  const leafAt = new Map<number, [number, number]>();
  const mids = Array.from({ length: midAt.length / PLACE_SIZE }, (_, m) => () => {
    const j = PLACE_SIZE * m;
    const [slots, places] = ints(lazy(midAt[j], midAt[j + 1], midAt[j + 2])()) as unknown as [
      number[],
      number[],
    ];
    const at = ints(places);
    return ints(slots).map((k) => {
      if (k < 3) return k;
      const i = PLACE_SIZE * (k - 3);
      if (!(i + PLACE_SIZE <= at.length)) {
        throw new InvariantError("state codec: a slot points nowhere");
      }
      // Keys 0-2 are the shared leaves: a private leaf's is its offset + 3.
      leafAt.set(at[i] + 3, [at[i + 1], at[i + 2]]);
      return at[i] + 3;
    });
  });
  const own = p.midMissing;
  if (!(Number.isInteger(own) && own >= 3 && own - 3 < mids.length)) {
    throw new InvariantError("state codec: the mid-missing page is not one of the state's");
  }
  return {
    mids,
    midMissing: own,
    top: ints(p.top),
    leaf: (key) => {
      const place = leafAt.get(key);
      if (place === undefined) throw new InvariantError("state codec: a leaf no mid points to");
      return ints(lazy(key - 3, place[0], place[1])());
    },
  };
}

/**
 * The state {@link encodeState} wrote, for the trace whose header gave `guest` and the
 * policy `policy`; `read` reads back the pages of a state written with a pool, given their
 * places (flat offset, length, sum), and with `lazy` its P2M mids and leaves are read one by
 * one instead, each when the table first needs it (`p2mFromLazyMids`). Bytes that do not
 * decode are an `InvariantError` (the index checks its checksums first, so this means a bug,
 * not a damaged file), thrown by whatever first reads a lazy page that does not; a page that
 * fails its check throws whatever `lazy`'s reader throws, there too.
 *
 * @example
 * ```ts
 * import { decodeState } from "./state_codec.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const guest = { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 1 } as const;
 * assert.throws(() => decodeState(new Uint8Array(4), guest, resolvePolicy(POLICIES, "linux-3.12")));
 * ```
 */
export function decodeState(
  bytes: Uint8Array,
  guest: GuestFacts,
  policy: Policy,
  read?: PageReader,
  lazy?: LazyPageReader,
): ModelState {
  const o = parse(bytes);
  const p = o?.p2m;
  const era = ERAS[p?.era];
  if (era === undefined) throw new InvariantError("state codec: unknown era");
  const acct = ints(p.acct);
  const head = {
    era,
    limit: p.limit,
    maxPfn: p.maxPfn,
    extra: ints(p.extra),
    acct: { brkUsed: acct[0], brkReserved: acct[1], runtimePages: acct[2] },
  };
  const p2m = p.midAt !== undefined && lazy !== undefined
    ? p2mFromLazyMids({ ...head, ...lazyPooledPages(p, lazy) })
    : p2mFromPages({ ...head, ...(p.midAt === undefined ? inlinePages(p) : pooledPages(p, read)) });
  const base = initialState(guest, policy);
  return {
    guest,
    policy,
    ctx: base.ctx,
    p2m,
    e820: o.e820,
    boot: o.boot ?? undefined,
    maxPfn: o.maxPfn,
    extra: PfnSet.of(o.extra),
    balloon: PfnSet.of(o.balloon),
    balloonStarted: o.balloonStarted,
    hotplug: PfnSet.of(o.hotplug),
    devices: new Map(o.devices.map((d: { device: string }) => [d.device, d])),
    bridges: new Map(o.bridges),
    grants: o.grants,
  };
}
