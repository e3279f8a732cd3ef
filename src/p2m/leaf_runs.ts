/**
 * The contents of one private P2M leaf (512 entries) as coalesced runs, so a leaf costs a few
 * numbers whatever it holds. A run array is flat: `[off0, kind0, base0, off1, kind1, base1, ...]`
 * with `off0 == 0`, offsets strictly increasing, run i spanning `[off_i, off_{i+1})` (the last
 * one to 512), and no two adjacent runs that continue each other. For incrementing kinds
 * (`MFN`, `FOREIGN`) `base` is the frame of the run's first entry; the entry at offset `o` holds
 * `base + (o - off_i)`. Run arrays are never mutated: writes return a new array.
 *
 * | operation | cost |
 * | --- | --- |
 * | `runAt` | O(log r) |
 * | `writeRuns` | O(r) |
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
  let lo = 0;
  let hi = runs.length / 3 - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (runs[mid * 3] <= off) lo = mid;
    else hi = mid - 1;
  }
  return lo * 3;
}

/** End offset (exclusive) of the run at index `i`. */
export function runEnd(runs: readonly number[], i: number): number {
  return i + 3 < runs.length ? runs[i + 3] : LEAF;
}

/**
 * Returns new runs with offsets `[a, b)` set to `kind`, the entry at `a` holding `base`
 * (incrementing kinds continue from there). Coalesces with the neighbours.
 *
 * @example
 * ```ts
 * import { writeRuns, K } from "./leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const ram = [0, K.MFN, 1000];
 * const one = writeRuns(ram, 5, 6, K.INVALID, 0);
 * assert.deepEqual(one, [0, K.MFN, 1000, 5, K.INVALID, 0, 6, K.MFN, 1006]);
 * assert.deepEqual(writeRuns(one, 5, 6, K.MFN, 1005), ram);
 * ```
 */
export function writeRuns(
  runs: readonly number[],
  a: number,
  b: number,
  kind: number,
  base: number,
): number[] {
  const out: number[] = [];
  const push = (off: number, k: number, bs: number) => {
    const n = out.length;
    if (n > 0) {
      const po = out[n - 3], pk = out[n - 2], pb = out[n - 1];
      if (continues(pk, pb, off - po, k, bs)) return;
    }
    out.push(off, k, bs);
  };
  const ia = runAt(runs, a);
  for (let i = 0; i < ia; i += 3) push(runs[i], runs[i + 1], runs[i + 2]);
  // Head of the run cut at a.
  if (runs[ia] < a) push(runs[ia], runs[ia + 1], runs[ia + 2]);
  push(a, kind, base);
  if (b < LEAF) {
    const ib = runAt(runs, b);
    const k = runs[ib + 1];
    const bs = increments(k) ? runs[ib + 2] + (b - runs[ib]) : runs[ib + 2];
    push(b, k, bs);
    for (let i = ib + 3; i < runs.length; i += 3) push(runs[i], runs[i + 1], runs[i + 2]);
  }
  return out;
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
