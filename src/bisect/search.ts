/**
 * The git-style binary search of `bisect run`, as a pure state machine over step positions
 * `0 .. count - 1` (a trace's nameable steps in order). It holds the latest good position,
 * the earliest bad one and the skipped ones; {@link BisectSearch.next} proposes the untested,
 * unskipped position nearest the middle of the gap (the lower one on a tie). When no candidate
 * is left the answer is the bad position — or, when skipped positions sit between the last
 * good and the first bad, "the first bad step could be any of" those and the bad one.
 *
 * It assumes what every binary search assumes: once bad, later steps stay bad. The built-in
 * predicates do not need that assumption (`bisect` scans exactly); an external command is
 * costly enough to make the trade.
 *
 * @module
 */

/** A mark, as `git bisect` names them. */
export type BisectMark = "good" | "bad" | "skip";

/** Where a search stands. */
export type SearchResult =
  | { kind: "found"; position: number }
  | { kind: "ambiguous"; positions: number[] }
  | { kind: "open"; next: number; left: number }
  | { kind: "needs"; mark: "good" | "bad" };

/** A mark that contradicts earlier ones (a good step after a bad one). */
export class BisectMarkError extends RangeError {
  /** Builds the message. */
  constructor(message: string) {
    super(message);
    this.name = "BisectMarkError";
  }
}

/**
 * A binary search over `count` positions, fed marks in any order (as a replayed log may give
 * them). Position 0 marked bad is an answer by itself: nothing precedes it.
 *
 * @example
 * ```ts
 * import { BisectSearch } from "./search.ts";
 * import assert from "node:assert/strict";
 * const firstBad = 6;
 * const s = new BisectSearch(10);
 * assert.deepEqual(s.result(), { kind: "needs", mark: "good" });
 * s.mark(0, "good");
 * s.mark(9, "bad");
 * let r = s.result();
 * while (r.kind === "open") {
 *   s.mark(r.next, r.next >= firstBad ? "bad" : "good");
 *   r = s.result();
 * }
 * assert.deepEqual(r, { kind: "found", position: 6 });
 * ```
 */
export class BisectSearch {
  /** Number of positions. */
  readonly count: number;
  #good: number | undefined;
  #bad: number | undefined;
  #skipped = new Set<number>();

  /** A search over positions `0 .. count - 1`. */
  constructor(count: number) {
    if (!Number.isSafeInteger(count) || count < 1) {
      throw new RangeError(`a search needs at least one position, got ${count}`);
    }
    this.count = count;
  }

  /** The latest good position, once marked. */
  get good(): number | undefined {
    return this.#good;
  }

  /** The earliest bad position, once marked. */
  get bad(): number | undefined {
    return this.#bad;
  }

  /**
   * Records a verdict. A good mark at or after the earliest bad one, or a bad mark at or
   * before the latest good one, contradicts them: {@link BisectMarkError}.
   */
  mark(position: number, mark: BisectMark): void {
    if (!Number.isInteger(position) || position < 0 || position >= this.count) {
      throw new RangeError(`position ${position} is outside 0..${this.count - 1}`);
    }
    if (mark === "good") {
      if (this.#bad !== undefined && position >= this.#bad) {
        throw new BisectMarkError("a good mark at or after a bad one");
      }
      this.#good = Math.max(this.#good ?? position, position);
    } else if (mark === "bad") {
      if (this.#good !== undefined && position <= this.#good) {
        throw new BisectMarkError("a bad mark at or before a good one");
      }
      this.#bad = Math.min(this.#bad ?? position, position);
    } else this.#skipped.add(position);
  }

  /** The answer, the next position to test (with how many are left), or a missing endpoint. */
  result(): SearchResult {
    if (this.#bad === 0) return { kind: "found", position: 0 };
    if (this.#good === undefined) return { kind: "needs", mark: "good" };
    if (this.#bad === undefined) return { kind: "needs", mark: "bad" };
    const good = this.#good, bad = this.#bad;
    const c: number[] = [];
    for (let i = good + 1; i < bad; i++) if (!this.#skipped.has(i)) c.push(i);
    if (c.length === 0) {
      const between: number[] = [];
      for (let i = good + 1; i < bad; i++) between.push(i);
      return between.length
        ? { kind: "ambiguous", positions: [...between, bad] }
        : { kind: "found", position: bad };
    }
    const mid = (good + bad) / 2;
    let best = c[0];
    for (const i of c) if (Math.abs(i - mid) < Math.abs(best - mid)) best = i;
    return { kind: "open", next: best, left: c.length };
  }
}

/**
 * Roughly how many more tests a search with `left` candidates needs: ceil(log2(left + 1)).
 *
 * @example
 * ```ts
 * import { testsLeft } from "./search.ts";
 * import assert from "node:assert/strict";
 * assert.equal(testsLeft(1), 1);
 * assert.equal(testsLeft(20), 5);
 * ```
 */
export function testsLeft(left: number): number {
  return Math.ceil(Math.log2(left + 1));
}
