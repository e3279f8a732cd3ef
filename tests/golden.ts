/**
 * Golden-file assertions for CLI output. Run with `UPDATE_GOLDEN=1` to rewrite the files after
 * an intended change (and say why in the commit).
 *
 * @module
 */

import assert from "node:assert/strict";

const root = new URL("./golden/", import.meta.url);

/** True when UPDATE_GOLDEN=1; a denied environment read counts as unset. */
function updating(): boolean {
  try {
    return Deno.env.get("UPDATE_GOLDEN") === "1";
  } catch {
    return false;
  }
}

/** Asserts that `actual` equals the golden file `name` under tests/golden/. */
export async function assertGolden(name: string, actual: string): Promise<void> {
  const url = new URL(name, root);
  if (updating()) {
    await Deno.mkdir(new URL(".", url), { recursive: true });
    await Deno.writeTextFile(url, actual);
    return;
  }
  let expected: string;
  try {
    expected = await Deno.readTextFile(url);
  } catch {
    throw new Error(`golden file tests/golden/${name} is missing; run with UPDATE_GOLDEN=1`);
  }
  assert.equal(actual, expected, `output differs from tests/golden/${name}`);
}
