/**
 * The lane states `map` collects while it replays, held compactly: each state's ranges as
 * numbers in typed arrays, with their class and label interned once for every state, and each
 * distinct state stored once (states are compared by value, through a hash). A long trace's map
 * keeps a few hundred frames of up to {@link CAPTURE_RANGES} ranges per lane; as objects with
 * their own label strings those took hundreds of MB, packed they take tens.
 *
 * @module
 */

import type { LaneRange } from "./lanes.ts";

/** One lane state, packed. */
interface Packed {
  /** pfn, endPfn, row of each range. */
  nums: Float64Array;
  /** Interned (class, label) of each range. */
  tags: Uint32Array;
  hash: number;
}

/**
 * Distinct lane states by id. {@link LaneStore.id} gives a state's id (the same id for equal
 * states), {@link LaneStore.ranges} the state back, and {@link LaneStore.retain} forgets the
 * states no kept frame refers to, renumbering the ids.
 *
 * @example
 * ```ts
 * import { LaneStore } from "./lane_store.ts";
 * import assert from "node:assert/strict";
 * const store = new LaneStore();
 * const a = [{ pfn: 0, endPfn: 4, cls: "ram", label: "E820 ram", row: 0 }];
 * const id = store.id(a);
 * assert.equal(store.id([{ ...a[0] }]), id);
 * assert.notEqual(store.id([{ ...a[0], endPfn: 5 }]), id);
 * assert.deepEqual(store.ranges(id), a);
 * const [kept] = store.retain([[store.id([{ ...a[0], endPfn: 5 }])]]);
 * assert.deepEqual(kept, [0]);
 * assert.equal(store.size, 1);
 * ```
 */
export class LaneStore {
  #states: Packed[] = [];
  #buckets = new Map<number, number[]>();
  #tagIds = new Map<string, number>();
  #tags: [cls: string, label: string][] = [];
  #hash: (nums: Float64Array, tags: Uint32Array) => number;

  /** An empty store; `hash` replaces the state hash (tests force collisions with it). */
  constructor(hash: (nums: Float64Array, tags: Uint32Array) => number = hashOf) {
    this.#hash = hash;
  }

  /** Number of states held. */
  get size(): number {
    return this.#states.length;
  }

  /** The id of the state `ranges` (a new id when no equal state is held). */
  id(ranges: readonly LaneRange[]): number {
    const p = this.#pack(ranges);
    const bucket = this.#buckets.get(p.hash);
    if (bucket !== undefined) {
      for (const id of bucket) if (samePacked(this.#states[id], p)) return id;
    }
    return this.#add(p);
  }

  /** The ranges of state `id`, as fresh objects. */
  ranges(id: number): LaneRange[] {
    const { nums, tags } = this.#states[id];
    const out: LaneRange[] = new Array(tags.length);
    for (let i = 0; i < tags.length; i++) {
      const [cls, label] = this.#tags[tags[i]];
      out[i] = { pfn: nums[3 * i], endPfn: nums[3 * i + 1], cls, label, row: nums[3 * i + 2] };
    }
    return out;
  }

  /**
   * Calls `fn(pfn, endPfn)` for each range of state `id`, in order, without making objects.
   */
  forEachBound(id: number, fn: (pfn: number, endPfn: number) => void): void {
    const nums = this.#states[id].nums;
    for (let i = 0; i < nums.length; i += 3) fn(nums[i], nums[i + 1]);
  }

  /**
   * A new store of the states `lanes` refer to, numbered in order of first reference, each
   * clipped to PFNs below `endPfn` (a range at or past it dropped, one across it shortened);
   * states equal only once clipped keep their own ids. Returns it with `lanes` renumbered.
   *
   * @example
   * ```ts
   * import { LaneStore } from "./lane_store.ts";
   * import assert from "node:assert/strict";
   * const store = new LaneStore();
   * const a = store.id([
   *   { pfn: 0, endPfn: 4, cls: "ram", label: "E820 ram", row: 0 },
   *   { pfn: 4, endPfn: 9, cls: "hole", label: "hole", row: 0 },
   * ]);
   * const { states, lanes } = store.clipped([[a, a]], 6);
   * assert.deepEqual(lanes, [[0, 0]]);
   * assert.deepEqual(states.ranges(0).map((r) => [r.pfn, r.endPfn]), [[0, 4], [4, 6]]);
   * ```
   */
  clipped(
    lanes: readonly (readonly number[])[],
    endPfn: number,
  ): { states: LaneStore; lanes: number[][] } {
    const out = new LaneStore(this.#hash);
    const renumber = new Map<number, number>();
    const clipped = lanes.map((ids) =>
      ids.map((id) => {
        let n = renumber.get(id);
        if (n === undefined) {
          const { nums, tags } = this.#states[id];
          let k = 0;
          for (let i = 0; i < tags.length; i++) if (nums[3 * i] < endPfn) k++;
          const cn = new Float64Array(3 * k);
          const ct = new Uint32Array(k);
          k = 0;
          for (let i = 0; i < tags.length; i++) {
            if (!(nums[3 * i] < endPfn)) continue;
            cn[3 * k] = nums[3 * i];
            cn[3 * k + 1] = Math.min(nums[3 * i + 1], endPfn);
            cn[3 * k + 2] = nums[3 * i + 2];
            ct[k++] = out.#tag(this.#tags[tags[i]][0], this.#tags[tags[i]][1]);
          }
          n = out.#add({ nums: cn, tags: ct, hash: out.#hash(cn, ct) });
          renumber.set(id, n);
        }
        return n;
      })
    );
    return { states: out, lanes: clipped };
  }

  /**
   * Keeps only the states `lanes` refer to, in order of first reference, and returns `lanes`
   * with the new ids; interned labels no kept state uses are dropped too.
   */
  retain(lanes: readonly (readonly number[])[]): number[][] {
    const renumber = new Map<number, number>();
    const old = this.#states, oldTags = this.#tags;
    this.#states = [];
    this.#buckets.clear();
    this.#tagIds.clear();
    this.#tags = [];
    const out = lanes.map((ids) =>
      ids.map((id) => {
        let n = renumber.get(id);
        if (n === undefined) {
          const p = old[id];
          const tags = p.tags.map((t) => this.#tag(oldTags[t][0], oldTags[t][1]));
          n = this.#add({ nums: p.nums, tags, hash: this.#hash(p.nums, tags) });
          renumber.set(id, n);
        }
        return n;
      })
    );
    return out;
  }

  /** Adds a packed state (distinct from every held one); returns its id. */
  #add(p: Packed): number {
    const id = this.#states.length;
    this.#states.push(p);
    const bucket = this.#buckets.get(p.hash);
    if (bucket !== undefined) bucket.push(id);
    else this.#buckets.set(p.hash, [id]);
    return id;
  }

  #tag(cls: string, label: string): number {
    const key = `${cls}\u0000${label}`;
    let t = this.#tagIds.get(key);
    if (t === undefined) {
      t = this.#tags.length;
      this.#tags.push([cls, label]);
      this.#tagIds.set(key, t);
    }
    return t;
  }

  #pack(ranges: readonly LaneRange[]): Packed {
    const n = ranges.length;
    const nums = new Float64Array(3 * n);
    const tags = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const r = ranges[i];
      nums[3 * i] = r.pfn;
      nums[3 * i + 1] = r.endPfn;
      nums[3 * i + 2] = r.row;
      tags[i] = this.#tag(r.cls, r.label);
    }
    return { nums, tags, hash: this.#hash(nums, tags) };
  }
}

function hashOf(nums: Float64Array, tags: Uint32Array): number {
  let h = 0x811c9dc5 ^ tags.length;
  for (let i = 0; i < nums.length; i++) {
    const x = nums[i];
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(x / 0x100000000), 0x01000193);
  }
  for (let i = 0; i < tags.length; i++) h = Math.imul(h ^ tags[i], 0x01000193);
  return h >>> 0;
}

function samePacked(a: Packed, b: Packed): boolean {
  if (a.hash !== b.hash || a.tags.length !== b.tags.length) return false;
  for (let i = 0; i < a.tags.length; i++) if (a.tags[i] !== b.tags[i]) return false;
  for (let i = 0; i < a.nums.length; i++) if (a.nums[i] !== b.nums[i]) return false;
  return true;
}
