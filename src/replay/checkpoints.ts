/**
 * The checkpoints of a {@link Timeline} (`timeline.ts`), held compactly: frozen
 * {@link ModelState}s in, equal states out, at about a seventh of the heap the states
 * themselves hold.
 *
 * **Why.** A checkpoint shares every P2M page its interval did not write with the previous one
 * (tables are persistent), but the pages it wrote are JavaScript arrays of numbers, 8 bytes a
 * number plus slack: on the 1M-event bench trace, 245 checkpoints held 64k distinct leaves,
 * 8.4M run numbers, 131 MB of heap. Here each distinct leaf is encoded once, by page identity
 * (a leaf shared by many checkpoints stays one encoding), as variable-length bytes in 1 MiB
 * chunks: per run one unsigned LEB128 of `((offset delta) * 8 + kind) * 4 + sign of base`, then
 * the base's magnitude when it is not 0 (3.4 bytes a run on that trace, against 24). Mids keep
 * their 512 leaf ids in an `Int32Array`; PFN sets (extra, balloon, hotplug) are their ranges
 * as LEB128 gaps and lengths, shared while unchanged. Everything else of a state (E820 map, boot
 * report, devices, bridges, grants) is kept by reference: it is small and already shared.
 *
 * {@link CheckpointStore.get} decodes a whole state (every private leaf of it: about 2k leaves
 * and 1 ms on that trace) and keeps the last one decoded. {@link CheckpointStore.thin} drops every
 * other checkpoint and copies the encodings still used into fresh chunks.
 *
 * Exactness: a decoded state answers every lookup, report and later step as the stored one
 * did (`checkpoints_test.ts` compares their pages, PFN sets and replays); a run whose offset,
 * kind or base a leaf cannot hold is an `InvariantError` when stored, never a wrong page.
 *
 * @module
 */

import type { ModelState } from "../model/state.ts";
import { p2mFromPages, type P2mPageIds, p2mPageIds, type P2mPages } from "../p2m/table.ts";
import { PfnSet } from "../p2m/pfn_set.ts";
import { LEAF } from "../p2m/leaf_runs.ts";
import { InvariantError } from "../errors.ts";

/** Bytes of one arena chunk (a leaf's encoding never spans two). */
const CHUNK = 1 << 20;
/** Most bytes one leaf can take: a count, then at most 512 runs of 2 + 8 bytes. */
const LEAF_MAX_BYTES = 3 + LEAF * 10;
/** Ids 0-2 name the shared pages ({@link P2mPageIds}). */
const FIRST_ID = 3;

/** One checkpoint: its P2M as page ids, its PFN sets encoded, the rest by reference. */
interface Packed {
  p2m: P2mPageIds;
  extra: Uint8Array;
  balloon: Uint8Array;
  hotplug: Uint8Array;
  rest: Omit<ModelState, "p2m" | "extra" | "balloon" | "hotplug">;
}

/** Writes `v` (a non-negative safe integer) as unsigned LEB128 at `at`; returns the end. */
function putUint(b: Uint8Array, at: number, v: number): number {
  while (v >= 128) {
    b[at++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  b[at++] = v;
  return at;
}

/** A cursor reading unsigned LEB128 numbers. */
class Reader {
  constructor(public b: Uint8Array, public at: number) {}
  uint(): number {
    const b = this.b;
    let byte = b[this.at++];
    if (byte < 128) return byte;
    let v = byte & 127;
    let scale = 128;
    do {
      byte = b[this.at++];
      v += (byte & 127) * scale;
      scale *= 128;
    } while (byte >= 128);
    return v;
  }
}

function encodeSet(s: PfnSet): Uint8Array {
  const r = s.toArray();
  const out = new Uint8Array(5 + r.length * 8);
  let n = putUint(out, 0, r.length);
  let prev = 0;
  for (let i = 0; i < r.length; i += 2) {
    n = putUint(out, n, r[i] - prev);
    n = putUint(out, n, r[i + 1] - r[i]);
    prev = r[i + 1];
  }
  return out.slice(0, n);
}

function decodeSet(b: Uint8Array): PfnSet {
  const rd = new Reader(b, 0);
  const n = rd.uint();
  if (n === 0) return PfnSet.empty();
  const r: number[] = [];
  let prev = 0;
  for (let i = 0; i < n; i += 2) {
    const start = prev + rd.uint();
    prev = start + rd.uint();
    r.push(start, prev);
  }
  return PfnSet.of(r);
}

/**
 * Frozen states, stored compactly and decoded on demand.
 *
 * @example
 * ```ts
 * import { CheckpointStore } from "./checkpoints.ts";
 * import { initialState, ModelDraft } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const s0 = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const d = new ModelDraft(s0);
 * d.p2m.write(0x1000, 0x1004, { kind: K.MFN, base: 0x500, startPfn: 0x1000 }, "__set_phys_to_machine");
 * const store = new CheckpointStore();
 * store.add(s0);
 * store.add(d.finish());
 * assert.equal(store.count, 2);
 * assert.deepEqual(store.get(1).p2m.entry(0x1002), [K.MFN, 0x502]);
 * assert.deepEqual(store.get(0).p2m.entry(0x1002), s0.p2m.entry(0x1002));
 * ```
 */
export class CheckpointStore {
  #packed: Packed[] = [];
  // Leaf encodings: where each id's bytes start (chunk * CHUNK + offset; -1 once dropped).
  #leafAt = new Float64Array(1024);
  #leafLen = new Uint16Array(1024);
  #nextLeaf = FIRST_ID;
  #chunks: Uint8Array[] = [];
  #fill = CHUNK;
  #mids = new Map<number, Int32Array>();
  #nextMid = FIRST_ID;
  // Ids by page identity: a page still alive in the replay keeps its id (while its id lives).
  #leafIds = new WeakMap<object, number>();
  #midIds = new WeakMap<object, number>();
  #sets = new WeakMap<PfnSet, Uint8Array>();
  #scratch = new Uint8Array(LEAF_MAX_BYTES);
  #last: { index: number; state: ModelState } | undefined;
  // The leaves of the state decoded last, by id: frozen arrays (no draft edits a leaf it does
  // not own), so the next state decoded takes the ones it shares instead of decoding them.
  #decoded = new Map<number, number[]>();
  #namer = {
    leaf: (page: object, runs: readonly number[]): number => {
      const id = this.#leafIds.get(page);
      if (id !== undefined && this.#leafAt[id] >= 0) return id;
      const fresh = this.#storeLeaf(runs);
      this.#leafIds.set(page, fresh);
      return fresh;
    },
    mid: (page: object, leaves: () => number[]): number => {
      const id = this.#midIds.get(page);
      if (id !== undefined && this.#mids.has(id)) return id;
      const fresh = this.#nextMid++;
      this.#mids.set(fresh, Int32Array.from(leaves()));
      this.#midIds.set(page, fresh);
      return fresh;
    },
  };

  /** Number of checkpoints held. */
  get count(): number {
    return this.#packed.length;
  }

  /** Bytes of leaf encodings held (arena chunks, the last one counted whole). */
  get leafBytes(): number {
    return this.#chunks.length * CHUNK;
  }

  /** Appends frozen state `s` (a state a draft's `finish()` returned). */
  add(s: ModelState): void {
    this.#packed.push({
      p2m: p2mPageIds(s.p2m, this.#namer),
      extra: this.#set(s.extra),
      balloon: this.#set(s.balloon),
      hotplug: this.#set(s.hotplug),
      rest: {
        guest: s.guest,
        policy: s.policy,
        ctx: s.ctx,
        e820: s.e820,
        boot: s.boot,
        maxPfn: s.maxPfn,
        balloonStarted: s.balloonStarted,
        devices: s.devices,
        bridges: s.bridges,
        grants: s.grants,
      },
    });
  }

  /** Checkpoint `i` (0-based), decoded (the same object again when asked twice running). */
  get(i: number): ModelState {
    const p = this.#packed[i];
    if (p === undefined) throw new RangeError(`no checkpoint ${i} of ${this.#packed.length}`);
    if (this.#last?.index === i) return this.#last.state;
    const r = p.rest;
    const state: ModelState = {
      guest: r.guest,
      policy: r.policy,
      ctx: r.ctx,
      p2m: p2mFromPages(this.#pages(p.p2m)),
      e820: r.e820,
      boot: r.boot,
      maxPfn: r.maxPfn,
      extra: decodeSet(p.extra),
      balloon: decodeSet(p.balloon),
      balloonStarted: r.balloonStarted,
      hotplug: decodeSet(p.hotplug),
      devices: r.devices,
      bridges: r.bridges,
      grants: r.grants,
    };
    this.#last = { index: i, state };
    return state;
  }

  /** Keeps every other checkpoint (indices 0, 2, 4, ...) and frees what only the others used. */
  thin(): void {
    this.#packed = this.#packed.filter((_, i) => i % 2 === 0);
    this.#last = undefined;
    this.#decoded = new Map();
    const liveMids = new Set<number>();
    for (const p of this.#packed) {
      for (const m of p.p2m.top) if (m >= FIRST_ID) liveMids.add(m);
      liveMids.add(p.p2m.midMissing);
    }
    for (const id of [...this.#mids.keys()]) if (!liveMids.has(id)) this.#mids.delete(id);
    const live = new Uint8Array(this.#nextLeaf);
    for (const slots of this.#mids.values()) for (const l of slots) live[l] = 1;
    const old = this.#chunks;
    this.#chunks = [];
    this.#fill = CHUNK;
    for (let id = FIRST_ID; id < this.#nextLeaf; id++) {
      const at = this.#leafAt[id];
      if (at < 0) continue;
      if (live[id] === 0) {
        this.#leafAt[id] = -1;
        continue;
      }
      const c = Math.floor(at / CHUNK);
      const off = at - c * CHUNK;
      this.#leafAt[id] = this.#place(old[c].subarray(off, off + this.#leafLen[id]));
    }
  }

  #set(s: PfnSet): Uint8Array {
    let b = this.#sets.get(s);
    if (b === undefined) {
      b = encodeSet(s);
      this.#sets.set(s, b);
    }
    return b;
  }

  /** Copies `bytes` into the arena; returns where they start. */
  #place(bytes: Uint8Array): number {
    if (this.#fill + bytes.length > CHUNK) {
      this.#chunks.push(new Uint8Array(CHUNK));
      this.#fill = 0;
    }
    const c = this.#chunks.length - 1;
    this.#chunks[c].set(bytes, this.#fill);
    const at = c * CHUNK + this.#fill;
    this.#fill += bytes.length;
    return at;
  }

  #storeLeaf(runs: readonly number[]): number {
    const s = this.#scratch;
    let n = putUint(s, 0, runs.length / 3);
    let prevOff = 0;
    for (let i = 0; i < runs.length; i += 3) {
      const off = runs[i], kind = runs[i + 1], base = runs[i + 2];
      const gap = off - prevOff;
      if (
        !(Number.isInteger(off) && off < LEAF && (i === 0 ? off === 0 : gap > 0)) ||
        !(Number.isInteger(kind) && kind >= 0 && kind < 8) || !Number.isSafeInteger(base) ||
        runs.length % 3 !== 0 || runs.length > LEAF * 3
      ) {
        throw new InvariantError(`checkpoint: leaf run ${i / 3} [${off}, ${kind}, ${base}]`);
      }
      const sign = base === 0 ? 0 : base > 0 ? 1 : 2;
      n = putUint(s, n, (gap * 8 + kind) * 4 + sign);
      if (sign !== 0) n = putUint(s, n, Math.abs(base));
      prevOff = off;
    }
    const id = this.#nextLeaf++;
    if (id >= this.#leafAt.length) {
      const at = new Float64Array(this.#leafAt.length * 2);
      at.set(this.#leafAt);
      this.#leafAt = at;
      const len = new Uint16Array(at.length);
      len.set(this.#leafLen);
      this.#leafLen = len;
    }
    this.#leafAt[id] = this.#place(s.subarray(0, n));
    this.#leafLen[id] = n;
    return id;
  }

  /** The runs of leaf `id` (the array decoded for the previous state when it had this leaf). */
  #leafRuns(id: number, seen: Map<number, number[]>): number[] {
    const known = this.#decoded.get(id);
    if (known !== undefined) {
      seen.set(id, known);
      return known;
    }
    const at = this.#leafAt[id];
    if (!(at >= 0)) throw new InvariantError(`checkpoint: leaf ${id} was dropped`);
    const c = Math.floor(at / CHUNK);
    const b = this.#chunks[c];
    let p = at - c * CHUNK;
    // The count (<= 512) and each run's head (< 2 ** 14) take one or two bytes.
    let count = b[p++];
    if (count >= 128) count = (count & 127) | (b[p++] << 7);
    const runs: number[] = [];
    let off = 0;
    for (let r = 0; r < count; r++) {
      let h = b[p++];
      if (h >= 128) h = (h & 127) | (b[p++] << 7);
      off += h >> 5;
      let base = 0;
      if ((h & 3) !== 0) {
        let byte = b[p++];
        base = byte & 127;
        for (let scale = 128; byte >= 128; scale *= 128) {
          byte = b[p++];
          base += (byte & 127) * scale;
        }
        if ((h & 3) === 2) base = -base;
      }
      runs.push(off, (h >> 2) & 7, base);
    }
    seen.set(id, runs);
    return runs;
  }

  /** The pages of a stored table, numbered locally, for {@link p2mFromPages}. */
  #pages(ids: P2mPageIds): P2mPages {
    const leaves: number[][] = [];
    const mids: number[][] = [];
    const leafIdx = new Map<number, number>();
    const midIdx = new Map<number, number>();
    const seen = new Map<number, number[]>();
    const slots = (id: number): number[] => {
      const s = this.#mids.get(id);
      if (s === undefined) throw new InvariantError(`checkpoint: mid ${id} was dropped`);
      const out: number[] = [];
      for (let j = 0; j < s.length; j++) {
        const l = s[j];
        let i = l < FIRST_ID ? l : leafIdx.get(l);
        if (i === undefined) {
          i = FIRST_ID + leaves.length;
          leafIdx.set(l, i);
          leaves.push(this.#leafRuns(l, seen));
        }
        out.push(i);
      }
      return out;
    };
    const top = ids.top.map((id) => {
      if (id < FIRST_ID) return id;
      let i = midIdx.get(id);
      if (i === undefined) {
        i = FIRST_ID + mids.length;
        midIdx.set(id, i);
        mids.push(slots(id));
      }
      return i;
    });
    const midMissing = slots(ids.midMissing);
    this.#decoded = seen;
    return {
      era: ids.era,
      limit: ids.limit,
      maxPfn: ids.maxPfn,
      extra: ids.extra,
      acct: { ...ids.acct },
      leaves,
      mids,
      midMissing,
      top,
    };
  }
}
