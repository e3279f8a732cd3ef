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
  const need = 2 + vs.length * 18;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const b = scratch;
  let w = 0;
  b[w++] = 0x5b;
  for (let i = 0; i < vs.length; i++) {
    if (i > 0) b[w++] = 0x2c;
    let v = vs[i];
    if (!Number.isSafeInteger(v)) throw new InvariantError(`state codec: ${v} is not an integer`);
    if (v < 0) {
      b[w++] = 0x2d;
      v = -v;
    }
    if (v < 10) {
      b[w++] = 48 + v;
      continue;
    }
    const start = w;
    if (v <= 0x7fffffff) {
      while (v > 0) {
        const q = (v / 10) | 0;
        b[w++] = 48 + (v - q * 10);
        v = q;
      }
    } else {
      while (v > 0) {
        const q = Math.floor(v / 10);
        b[w++] = 48 + (v - q * 10);
        v = q;
      }
    }
    for (let x = start, y = w - 1; x < y; x++, y--) {
      const t = b[x];
      b[x] = b[y];
      b[y] = t;
    }
  }
  b[w++] = 0x5d;
  return b.slice(0, w);
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
  #leafIds = new WeakMap<object, number>();
  #midIds = new WeakMap<object, number>();
  /** Each leaf's bytes, and the last pool's (reused when a leaf is placed again here). */
  #leafBytes = new WeakMap<object, Uint8Array>();
  #earlier: WeakMap<object, Uint8Array> | undefined;
  /** Places of leaves (id 3 + i at 3i) and mids (likewise), flat. */
  #leafAt: number[] = [];
  #midAt: number[] = [];
  #pending: Uint8Array[] = [];
  /** The last mid named at each top slot (-1: the mid-missing page), with its slot ids. */
  #lastAt = new Map<number, NamedMid>();
  #next = 0;
  #bytes = 0;

  /**
   * A pool; with `earlier` (the pool of the last group), the bytes of a leaf it placed are
   * not made again.
   */
  constructor(earlier?: PagePool) {
    this.#earlier = earlier && earlier.#leafBytes;
  }

  /** Pages placed from now on are written from file offset `at` on (nothing may be pending). */
  start(at: number): void {
    if (this.#pending.length) throw new InvariantError("page pool: pages not taken");
    this.#next = at;
  }

  #put(bytes: Uint8Array, into: number[]): void {
    into.push(this.#next, bytes.length, pageSum(bytes));
    this.#pending.push(bytes);
    this.#next += bytes.length;
    this.#bytes += bytes.length;
  }

  /** The id (>= 3) of the frozen leaf `page`, whose runs are `runs` (placed when first seen). */
  leaf(page: object, runs: readonly number[]): number {
    let id = this.#leafIds.get(page);
    if (id === undefined) {
      id = 3 + this.#leafAt.length / PLACE_SIZE;
      const bytes = this.#earlier?.get(page) ?? intsJson(runs);
      this.#leafBytes.set(page, bytes);
      this.#put(bytes, this.#leafAt);
      this.#leafIds.set(page, id);
    }
    return id;
  }

  /**
   * The id (>= 3) of the frozen mid `page` at top slot `at` (-1: the mid-missing page), whose
   * slots' leaf ids are `leaves()`: only the slots that differ from the last mid this pool
   * named at `at` are named again (a checkpoint's new mids are mostly copies of the last
   * one's with a few leaves written: 512 slots a mid, about three new mids a checkpoint).
   */
  mid(page: object, leaves: (like?: NamedMid) => number[], at = -2): number {
    let id = this.#midIds.get(page);
    if (id === undefined) {
      const places: number[] = [];
      const ids = leaves(this.#lastAt.get(at));
      if (at !== -2) this.#lastAt.set(at, { page, ids });
      const slots = ids.map(localIds(places, (l) => this.leafPlace(l)));
      id = 3 + this.#midAt.length / PLACE_SIZE;
      this.#put(ENC.encode(`[${JSON.stringify(slots)},${JSON.stringify(places)}]`), this.#midAt);
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

  /** The bytes of the pages placed since {@link PagePool.start}, in order (then none pending). */
  take(): Uint8Array {
    const out = new Uint8Array(this.#bytes);
    let at = 0;
    for (const b of this.#pending) {
      out.set(b, at);
      at += b.length;
    }
    this.#pending = [];
    this.#bytes = 0;
    return out;
  }
}

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
