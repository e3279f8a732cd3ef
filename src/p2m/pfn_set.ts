/**
 * A set of PFNs held as sorted, disjoint, non-adjacent half-open ranges (flat
 * `[start0, end0, start1, end1, ...]`), so a gigabyte range costs two numbers. Used for the
 * balloon list's membership, extra memory and hotplug ranges.
 *
 * Persistence: a frozen set never changes; {@link PfnSet.thaw} gives a mutable set that shares
 * the frozen array until its first write (one copy, then in-place edits).
 *
 * | operation | cost |
 * | --- | --- |
 * | `has`, `overlaps` | O(log r) |
 * | `add`, `delete` | O(log r + r moved) |
 * | `forEachIn(a, b)` | O(log r + ranges in [a, b)) |
 *
 * @module
 */

import { InvariantError } from "../errors.ts";

/**
 * A PFN set.
 *
 * @example
 * ```ts
 * import { PfnSet } from "./pfn_set.ts";
 * import assert from "node:assert/strict";
 * const s = PfnSet.empty().thaw();
 * s.add(10, 20);
 * s.add(20, 25);
 * s.delete(12, 13);
 * assert.deepEqual(s.toArray(), [10, 12, 13, 25]);
 * assert.equal(s.pages, 14);
 * assert.equal(s.has(12), false);
 * ```
 */
export class PfnSet {
  #r: number[];
  #frozen: boolean;
  #shared: boolean;
  #pages: number;
  #hint = 0;

  private constructor(r: number[], frozen: boolean, shared: boolean, pages: number) {
    this.#r = r;
    this.#frozen = frozen;
    this.#shared = shared;
    this.#pages = pages;
  }

  static #empty: PfnSet | undefined;

  /** The empty frozen set. */
  static empty(): PfnSet {
    return PfnSet.#empty ??= new PfnSet([], true, false, 0);
  }

  /**
   * A frozen set of the given flat ranges (sorted and merged here; ranges already sorted,
   * disjoint and non-adjacent, as {@link PfnSet.toArray} gives them, are taken in one pass).
   */
  static of(ranges: readonly number[]): PfnSet {
    let pages = 0;
    for (let i = 0; i < ranges.length; i += 2) {
      const a = ranges[i], b = ranges[i + 1];
      if (!(a < b && (i === 0 || a > ranges[i - 1]))) {
        pages = -1;
        break;
      }
      pages += b - a;
    }
    if (pages >= 0 && ranges.length % 2 === 0) {
      return new PfnSet(ranges.slice(), true, false, pages);
    }
    const s = new PfnSet([], false, false, 0);
    for (let i = 0; i < ranges.length; i += 2) s.add(ranges[i], ranges[i + 1]);
    return s.freeze();
  }

  /** Number of PFNs in the set. */
  get pages(): number {
    return this.#pages;
  }

  /** Number of ranges. */
  get rangeCount(): number {
    return this.#r.length / 2;
  }

  /** True when frozen. */
  get frozen(): boolean {
    return this.#frozen;
  }

  /** Freezes this set (mutations throw afterwards) and returns it. */
  freeze(): PfnSet {
    this.#frozen = true;
    return this;
  }

  /** A mutable set with the same members, sharing storage until its first write. */
  thaw(): PfnSet {
    return new PfnSet(this.#r, false, true, this.#pages);
  }

  /** Removes every member (a thawed set only). */
  clear(): void {
    if (this.#frozen) throw new Error("PfnSet is frozen; thaw() it first");
    if (this.#shared) {
      this.#r = [];
      this.#shared = false;
    } else this.#r.length = 0;
    this.#pages = 0;
  }

  /**
   * Throws {@link InvariantError} naming `name` when the ranges are not sorted, disjoint,
   * non-adjacent, non-empty whole PFNs or the page count disagrees with them. O(r).
   *
   * @example
   * ```ts
   * import { PfnSet } from "./pfn_set.ts";
   * PfnSet.of([5, 9, 1, 3]).validate("balloon list"); // no throw
   * ```
   */
  validate(name: string): void {
    const r = this.#r;
    let pages = 0;
    if (r.length % 2 !== 0) throw new InvariantError(`${name}: odd number of range ends`);
    for (let i = 0; i < r.length; i += 2) {
      const [s, e] = [r[i], r[i + 1]];
      if (!Number.isSafeInteger(s) || !Number.isSafeInteger(e) || s < 0 || s >= e) {
        throw new InvariantError(`${name}: range ${i / 2} [${s}, ${e}) is not a PFN range`);
      }
      if (i > 0 && s <= r[i - 1]) {
        throw new InvariantError(
          `${name}: range ${i / 2} starts at ${s}, not after the previous end ${r[i - 1]}`,
        );
      }
      pages += e - s;
    }
    if (pages !== this.#pages) {
      throw new InvariantError(`${name}: counts ${this.#pages} pages, its ranges hold ${pages}`);
    }
  }

  /** The flat ranges (a copy). */
  toArray(): number[] {
    return this.#r.slice();
  }

  /** Index of the first range whose end is > pfn (pairs index * 2). */
  #firstEndAfter(pfn: number): number {
    const r = this.#r;
    // Replays touch the balloon list near where they touched it last: try that index first.
    const h = this.#hint;
    if (h <= r.length && (h === r.length || r[h + 1] > pfn) && (h === 0 || r[h - 1] <= pfn)) {
      return h;
    }
    this.#hint = this.#search(pfn);
    return this.#hint;
  }

  #search(pfn: number): number {
    const r = this.#r;
    let lo = 0, hi = r.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (r[mid * 2 + 1] > pfn) hi = mid;
      else lo = mid + 1;
    }
    return lo * 2;
  }

  /** True when `pfn` is in the set. */
  has(pfn: number): boolean {
    const i = this.#firstEndAfter(pfn);
    return i < this.#r.length && this.#r[i] <= pfn;
  }

  /** True when some PFN of `[a, b)` is in the set. */
  overlaps(a: number, b: number): boolean {
    const i = this.#firstEndAfter(a);
    return i < this.#r.length && this.#r[i] < b;
  }

  /** Calls `cb(start, end)` for each member range clipped to `[a, b)`. */
  forEachIn(a: number, b: number, cb: (start: number, end: number) => void): void {
    const r = this.#r;
    for (let i = this.#firstEndAfter(a); i < r.length && r[i] < b; i += 2) {
      cb(Math.max(a, r[i]), Math.min(b, r[i + 1]));
    }
  }

  #writable(): number[] {
    if (this.#frozen) throw new Error("PfnSet is frozen; thaw() it first");
    if (this.#shared) {
      this.#r = this.#r.slice();
      this.#shared = false;
    }
    return this.#r;
  }

  /** Adds `[a, b)`; returns the number of PFNs that were not members before. */
  add(a: number, b: number): number {
    if (a >= b) return 0;
    const r = this.#writable();
    // ranges touching [a, b] (adjacent ones merge too)
    const i = this.#firstEndAfter(a - 1);
    let j = i;
    let covered = 0;
    let s = a, e = b;
    while (j < r.length && r[j] <= b) {
      covered += Math.min(b, r[j + 1]) - Math.max(a, r[j]);
      s = Math.min(s, r[j]);
      e = Math.max(e, r[j + 1]);
      j += 2;
    }
    const added = b - a - covered;
    if (j - i === 2) {
      // Grows one range (the common case): no splice.
      r[i] = s;
      r[i + 1] = e;
    } else r.splice(i, j - i, s, e);
    this.#pages += added;
    return added;
  }

  /** Removes `[a, b)`; returns the number of PFNs that were members. */
  delete(a: number, b: number): number {
    if (a >= b || !this.overlaps(a, b)) return 0;
    const r = this.#writable();
    const i = this.#firstEndAfter(a);
    let j = i;
    const s0 = r[i], e0 = r[i + 1];
    if (e0 >= b && (s0 >= a || e0 === b)) {
      // Trims one range at an end (the common case): no splice.
      if (s0 >= a && e0 === b) r.splice(i, 2);
      else if (s0 >= a) r[i] = b;
      else r[i + 1] = a;
      const removed = Math.min(b, e0) - Math.max(a, s0);
      this.#pages -= removed;
      return removed;
    }
    const keep: number[] = [];
    let removed = 0;
    while (j < r.length && r[j] < b) {
      const s = r[j], e = r[j + 1];
      removed += Math.min(b, e) - Math.max(a, s);
      if (s < a) keep.push(s, a);
      if (e > b) keep.push(b, e);
      j += 2;
    }
    r.splice(i, j - i, ...keep);
    this.#pages -= removed;
    return removed;
  }
}
