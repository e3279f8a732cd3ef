import assert from "node:assert/strict";
import { FALLBACK_TESTS, MUTANTS } from "./mutants.ts";
import { applyMutant } from "./plan.ts";

const ROOT = new URL("../../", import.meta.url);

// The harness reports a mutant whose text is gone as "stale"; this test says so at once, in the
// ordinary suite, so a change to the code restates its mutants in the same commit.
Deno.test("every mutant's original text occurs exactly once in its file, and its replacement differs", () => {
  const problems: string[] = [];
  for (const m of MUTANTS) {
    const source = Deno.readTextFileSync(new URL(m.file, ROOT));
    const r = applyMutant(source, m);
    if (r.status !== "applied") problems.push(`${m.id}: ${r.status} in ${m.file}`);
    else if (r.text === source) problems.push(`${m.id}: the replacement changes nothing`);
  }
  assert.deepEqual(problems, []);
});

Deno.test("mutant ids are unique, every mutant states what it breaks, and its test files exist", () => {
  const ids = MUTANTS.map((m) => m.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const m of MUTANTS) {
    assert.ok(m.breaks.length > 20, `${m.id}: say which kernel rule or contract it breaks`);
    assert.ok(m.tests.length > 0, `${m.id}: name the tests that should kill it`);
    for (const t of m.tests) Deno.statSync(new URL(t, ROOT));
  }
  for (const t of FALLBACK_TESTS) Deno.statSync(new URL(t, ROOT));
});

Deno.test("the list plants at least the six bugs issue 17 names and 40 more", () => {
  const named = [
    "read-seq-decreasing",
    "read-end-count-too-small",
    "lookup-zero-skips-vf-bars",
    "step-seed-walk-in-domU",
    "dump-compare-common-prefix",
    "boot-ram-start-rounds-down",
  ];
  for (const id of named) assert.ok(MUTANTS.some((m) => m.id === id), id);
  assert.ok(MUTANTS.length >= 46, `${MUTANTS.length} mutants`);
});
