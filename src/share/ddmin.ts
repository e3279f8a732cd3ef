/**
 * Delta debugging (Zeller's ddmin) over a list of trace events, shared by both `minimize`
 * strategies: remove ever smaller chunks while `test` still holds, then single items until no
 * one item can go (1-minimal).
 *
 * @module
 */

/**
 * The smallest sublist ddmin finds for which `test` holds, keeping the order. `test(list)` must
 * hold on entry. Lists shorter than `minLength` are never tried (1 when the result must keep an
 * event, 0 when the caller keeps others beside it).
 *
 * @example
 * ```ts
 * import { ddmin } from "./ddmin.ts";
 * import assert from "node:assert/strict";
 * const needs = (xs: readonly number[]) => xs.includes(3) && xs.includes(7);
 * assert.deepEqual(ddmin([1, 2, 3, 4, 5, 6, 7, 8], needs, 1), [3, 7]);
 * assert.deepEqual(ddmin([1, 2], () => true, 0), []);
 * assert.deepEqual(ddmin([1, 2], () => true, 1), [2]);
 * ```
 */
export function ddmin<T>(
  items: readonly T[],
  test: (list: readonly T[]) => boolean,
  minLength: 0 | 1,
): T[] {
  let list = [...items];
  let n = 2;
  while (list.length >= 2) {
    const size = Math.ceil(list.length / n);
    let reduced = false;
    for (let start = 0; start < list.length; start += size) {
      const complement = list.slice(0, start).concat(list.slice(start + size));
      if (complement.length >= minLength && test(complement)) {
        list = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (n >= list.length) break;
      n = Math.min(list.length, n * 2);
    }
  }
  // 1-minimal: no single item can go.
  for (let i = list.length - 1; i >= 0 && list.length > minLength; i--) {
    const without = list.slice(0, i).concat(list.slice(i + 1));
    if (test(without)) list = without;
  }
  return list;
}
