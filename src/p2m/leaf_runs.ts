/**
 * The contents of one private P2M leaf (512 entries) as coalesced runs, so a leaf costs a few
 * numbers whatever it holds. A run array is flat: `[off0, kind0, base0, off1, kind1, base1, ...]`
 * with `off0 == 0`, offsets strictly increasing, run i spanning `[off_i, off_{i+1})` (the last
 * one to 512), and no two adjacent runs that continue each other. For incrementing kinds
 * (`MFN`, `FOREIGN`) `base` is the frame of the run's first entry; the entry at offset `o` holds
 * `base + (o - off_i)`. {@link writeRuns} returns a new array; {@link writeRunsInPlace} edits an
 * array its caller owns (a leaf private to one table draft).
 *
 * | operation | cost |
 * | --- | --- |
 * | `runAt`, `holds` | O(log r) |
 * | `writeRuns` | O(r) (a copy) |
 * | `writeRunsInPlace` | O(log r), plus O(r) moved when the number of runs changes |
 *
 * @module
 */

/** Entry kinds held in a leaf. */
export const K = {
  /** INVALID_P2M_ENTRY. */
  INVALID: 0,
  /** IDENTITY_FRAME(pfn) of the entry's own PFN. */
  IDENTITY: 1,
  /** A machine frame; base increments along the run. */
  MFN: 2,
  /** A valid machine frame the trace did not record (boot RAM from the hypervisor). */
  MFN_UNKNOWN: 3,
  /** The balloon scratch page's frame, the same for every entry; base -1 when unrecorded. */
  SCRATCH: 4,
  /** FOREIGN_FRAME(mfn); base increments along the run. */
  FOREIGN: 5,
} as const;

/** Entry kind number, one of {@link K}. */
export type KindCode = typeof K[keyof typeof K];

/** Offsets per leaf. */
export const LEAF = 512;

/** True when kind `k` numbers its frames along a run. */
export function increments(k: number): boolean {
  return k === K.MFN || k === K.FOREIGN;
}

/**
 * True when a run (kind `ka`, base `ba`, length `lenA`) is continued by a run (`kb`, `bb`).
 *
 * @example
 * ```ts
 * import { continues, K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(continues(K.MFN, 100, 4, K.MFN, 104), true);
 * assert.equal(continues(K.MFN, 100, 4, K.MFN, 105), false);
 * assert.equal(continues(K.INVALID, 0, 4, K.INVALID, 0), true);
 * ```
 */
export function continues(ka: number, ba: number, lenA: number, kb: number, bb: number): boolean {
  if (ka !== kb) return false;
  if (ka === K.MFN || ka === K.FOREIGN) return bb === ba + lenA;
  if (ka === K.SCRATCH) return ba === bb;
  return true;
}

/**
 * A leaf holding one kind everywhere.
 *
 * @example
 * ```ts
 * import { uniformRuns, K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(uniformRuns(K.INVALID), [0, 0, 0]);
 * ```
 */
export function uniformRuns(kind: number, base = 0): number[] {
  return [0, kind, base];
}

/**
 * Index (a multiple of 3) of the run holding offset `off`.
 *
 * @example
 * ```ts
 * import { runAt } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(runAt([0, 2, 100, 10, 0, 0], 9), 0);
 * assert.equal(runAt([0, 2, 100, 10, 0, 0], 10), 3);
 * ```
 */
export function runAt(runs: readonly number[], off: number): number {
  // A replay step asks for the same leaf several times (the no-op test, the capture, the
  // write's two ends, a detector's read), and the balloon driver walks a leaf page by page: the
  // run found last, or one beside it, usually holds `off`. Each guess is checked, so the hint
  // only saves the binary search (a fragmented leaf holds dozens of runs).
  if (runs === hintRuns) {
    const n = runs.length;
    let h = hintIndex;
    if (h < n && runs[h] > off) h -= 3;
    else if (h + 3 < n && runs[h + 3] <= off) h += 3;
    if (h >= 0 && h < n && runs[h] <= off && (h + 3 >= n || runs[h + 3] > off)) {
      hintIndex = h;
      return h;
    }
  }
  let lo = 0;
  let hi = runs.length / 3 - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (runs[mid * 3] <= off) lo = mid;
    else hi = mid - 1;
  }
  hintRuns = runs;
  hintIndex = lo * 3;
  return hintIndex;
}

// The run array {@link runAt} searched last and the index it answered (checked before use).
let hintRuns: readonly number[] | undefined;
let hintIndex = 0;

/**
 * What breaks the run-array invariants of this module in `runs` (offsets from 0, strictly
 * increasing below 512; known kinds; bases that fit the kind; adjacent runs not continuing
 * each other), or `undefined` when it keeps them all. O(r). For `validate()` walkers.
 *
 * @example
 * ```ts
 * import { K, runsProblem } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * assert.equal(runsProblem([0, K.MFN, 100, 4, K.INVALID, 0]), undefined);
 * assert.match(runsProblem([0, K.MFN, 100, 4, K.MFN, 104])!, /continues/);
 * ```
 */
export function runsProblem(runs: readonly number[]): string | undefined {
  if (runs.length < 3 || runs.length % 3 !== 0) {
    return `${runs.length} numbers, not a positive multiple of 3`;
  }
  if (runs[0] !== 0) return `first run starts at offset ${runs[0]}, not 0`;
  for (let i = 0; i < runs.length; i += 3) {
    const [off, kind, base] = [runs[i], runs[i + 1], runs[i + 2]];
    const run = `run ${i / 3} (offset ${off})`;
    if (!Number.isInteger(off) || off < 0 || off >= LEAF) return `${run}: offset out of 0..511`;
    if (i > 0 && off <= runs[i - 3]) return `${run}: offset not above the previous run's`;
    if (!Number.isInteger(kind) || kind < K.INVALID || kind > K.FOREIGN) {
      return `${run}: unknown kind ${kind}`;
    }
    if (!Number.isSafeInteger(base)) return `${run}: base ${base} is not an integer`;
    const lowest = increments(kind) ? 0 : kind === K.SCRATCH ? -1 : undefined;
    if (lowest === undefined ? base !== 0 : base < lowest) {
      return `${run}: base ${base} does not fit kind ${kind}`;
    }
    if (i > 0 && continues(runs[i - 2], runs[i - 1], off - runs[i - 3], kind, base)) {
      return `${run}: continues the previous run (not coalesced)`;
    }
  }
  return undefined;
}

/** End offset (exclusive) of the run at index `i`. */
export function runEnd(runs: readonly number[], i: number): number {
  return i + 3 < runs.length ? runs[i + 3] : LEAF;
}

/**
 * True when offsets `[a, b)` already hold `kind` with `base` at `a` (incrementing kinds
 * continuing from there), so a write of that value changes nothing. O(log r).
 *
 * @example
 * ```ts
 * import { holds, K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const runs = [0, K.MFN, 1000, 5, K.INVALID, 0];
 * assert.equal(holds(runs, 2, 5, K.MFN, 1002), true);
 * assert.equal(holds(runs, 2, 6, K.MFN, 1002), false);
 * assert.equal(holds(runs, 5, 512, K.INVALID, 0), true);
 * ```
 */
export function holds(
  runs: readonly number[],
  a: number,
  b: number,
  kind: number,
  base: number,
): boolean {
  const i = runAt(runs, a);
  // Runs are coalesced, so an unchanged range lies inside one run.
  return runEnd(runs, i) >= b && continues(runs[i + 1], runs[i + 2], a - runs[i], kind, base);
}

/**
 * Returns new runs with offsets `[a, b)` set to `kind`, the entry at `a` holding `base`
 * (incrementing kinds continue from there). Coalesces with the neighbours. Returns `runs` itself
 * when the range already holds that value ({@link holds}).
 *
 * @example
 * ```ts
 * import { writeRuns, K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const ram = [0, K.MFN, 1000];
 * const one = writeRuns(ram, 5, 6, K.INVALID, 0);
 * assert.deepEqual(one, [0, K.MFN, 1000, 5, K.INVALID, 0, 6, K.MFN, 1006]);
 * assert.deepEqual(writeRuns(one, 5, 6, K.MFN, 1005), ram);
 * assert.equal(writeRuns(ram, 5, 6, K.MFN, 1005), ram);
 * ```
 */
export function writeRuns(
  runs: readonly number[],
  a: number,
  b: number,
  kind: number,
  base: number,
): number[] {
  if (holds(runs, a, b, kind, base)) return runs as number[];
  const out = runs.slice();
  writeRunsInPlace(out, a, b, kind, base);
  return out;
}

/**
 * {@link writeRuns} on a run array the caller owns: edits `runs` in place (O(r) at worst for
 * the move of the runs after the write, no allocation when the number of runs is unchanged).
 * Only the runs around `a` and `b` are examined: the others are already coalesced.
 *
 * @example
 * ```ts
 * import { writeRunsInPlace, K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const runs = [0, K.MFN, 1000];
 * writeRunsInPlace(runs, 5, 6, K.SCRATCH, 77);
 * assert.deepEqual(runs, [0, K.MFN, 1000, 5, K.SCRATCH, 77, 6, K.MFN, 1006]);
 * writeRunsInPlace(runs, 5, 6, K.MFN, 1005);
 * assert.deepEqual(runs, [0, K.MFN, 1000]);
 * ```
 */
export function writeRunsInPlace(
  runs: number[],
  a: number,
  b: number,
  kind: number,
  base: number,
): void {
  const ia = runAt(runs, a);
  // The run that goes on after the write: the part of the run holding b from b on.
  let cut = runs.length;
  let tk = 0, tb = 0;
  if (b < LEAF) {
    const ib = runAt(runs, b);
    tk = runs[ib + 1];
    tb = increments(tk) ? runs[ib + 2] + (b - runs[ib]) : runs[ib + 2];
    cut = ib + 3;
  }
  // Runs [start, cut) are replaced by at most two: the written one and the tail, each dropped
  // when it continues the run before it.
  let start = ia;
  let lo = -1, lk = 0, lb = 0; // the run before the replaced ones, if any
  if (runs[ia] < a) {
    start = ia + 3;
    lo = runs[ia];
    lk = runs[ia + 1];
    lb = runs[ia + 2];
  } else if (ia > 0) {
    lo = runs[ia - 3];
    lk = runs[ia - 2];
    lb = runs[ia - 1];
  }
  let n = 0;
  let o1 = 0, k1 = 0, b1 = 0, o2 = 0, k2 = 0, b2 = 0;
  if (lo < 0 || !continues(lk, lb, a - lo, kind, base)) {
    n = 1;
    o1 = a;
    k1 = kind;
    b1 = base;
    lo = a;
    lk = kind;
    lb = base;
  }
  if (b < LEAF && !continues(lk, lb, b - lo, tk, tb)) {
    if (n === 0) {
      o1 = b;
      k1 = tk;
      b1 = tb;
    } else {
      o2 = b;
      k2 = tk;
      b2 = tb;
    }
    n++;
  }
  const removed = cut - start;
  if (removed === 3 * n) {
    if (n > 0) {
      runs[start] = o1;
      runs[start + 1] = k1;
      runs[start + 2] = b1;
    }
    if (n > 1) {
      runs[start + 3] = o2;
      runs[start + 4] = k2;
      runs[start + 5] = b2;
    }
  } else if (n === 0) runs.splice(start, removed);
  else if (n === 1) runs.splice(start, removed, o1, k1, b1);
  else runs.splice(start, removed, o1, k1, b1, o2, k2, b2);
}

/**
 * The kind and frame of the entry at `off`.
 *
 * @example
 * ```ts
 * import { entryAt, K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(entryAt([0, K.MFN, 1000], 7), [K.MFN, 1007]);
 * ```
 */
export function entryAt(runs: readonly number[], off: number): [number, number] {
  const i = runAt(runs, off);
  const k = runs[i + 1];
  return [k, increments(k) ? runs[i + 2] + (off - runs[i]) : runs[i + 2]];
}
