/**
 * Deep equality of records with the same keys in the same order at every level: the output of
 * `replay --json` follows the order of a record's keys, so two ways of building the same record
 * must agree on it too.
 *
 * @module
 */

import assert from "node:assert/strict";

/**
 * Asserts `got` deep-equals `want` with the same key order everywhere; `path` names the place.
 *
 * @example
 * ```ts
 * import { sameRecords } from "./same_records.ts";
 * import assert from "node:assert/strict";
 * sameRecords({ a: 1, b: [2] }, { a: 1, b: [2] });
 * assert.throws(() => sameRecords({ a: 1, b: 2 }, { b: 2, a: 1 }), /key order/);
 * ```
 */
export function sameRecords(got: unknown, want: unknown, path = "$"): void {
  assert.deepStrictEqual(got, want, path);
  if (got !== null && typeof got === "object") {
    assert.deepEqual(Object.keys(got), Object.keys(want as object), `key order at ${path}`);
    for (const k of Object.keys(got)) {
      sameRecords(
        (got as Record<string, unknown>)[k],
        (want as Record<string, unknown>)[k],
        `${path}.${k}`,
      );
    }
  }
}
