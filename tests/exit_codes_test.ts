/**
 * Which of 0 and 1 means "found", per command, as README's exit-code section states: `check`
 * and `diff` exit 1 when they find something (a predicate's "bad"), `bisect` and `minimize`
 * exit 0 when they produce their answer and 1 when there is none (as grep does).
 */
import assert from "node:assert/strict";
import { cli } from "./cli_helpers.ts";

const T = "traces/pcie-bar-above-e820.jsonl";
const README = await Deno.readTextFile("README.md");

const CASES: [string, string[], number][] = [
  ["check finds the lookup-zero under 3.12: 1", ["check", T, "--policy", "linux-3.12"], 1],
  ["check is clean under 3.16: 0", ["check", T, "--policy", "linux-3.16"], 0],
  ["diff of steps that differ: 1", ["diff", T, "12", "13"], 1],
  ["diff of a step with itself: 0", ["diff", T, "13", "13"], 0],
  ["bisect finds the first bad step: 0", [
    "bisect",
    T,
    "--detector",
    "lookup-zero",
    "--policy",
    "linux-3.12",
  ], 0],
  ["bisect finds no bad step: 1", [
    "bisect",
    T,
    "--detector",
    "lookup-zero",
    "--policy",
    "linux-3.16",
  ], 1],
  ["minimize with a finding to keep: 0", ["minimize", T, "--policy", "linux-3.12"], 0],
  ["minimize without a finding: 1", ["minimize", T, "--policy", "linux-3.16"], 1],
  ["replay with findings: 0", ["replay", T, "--policy", "linux-3.12", "--quiet"], 0],
  ["compare with BAD verdicts: 0", ["compare", T], 0],
  ["summarize: 0", ["summarize", T], 0],
  ["validate of a good trace: 0", ["validate", T], 0],
];

for (const [name, argv, code] of CASES) {
  Deno.test(`exit code: ${name}`, async () => {
    const r = await cli(argv);
    assert.equal(r.code, code, r.err);
  });
}

Deno.test("README's per-command exit table names every command whose 0/1 a test pins", () => {
  const table = README.slice(README.indexOf('Which of 0 and 1 means "found"'));
  for (const [, argv] of CASES) assert.match(table, new RegExp(`\`${argv[0]}\``));
  assert.match(table, /\| `check` +\| clean +\| found/);
  assert.match(table, /\| `bisect` +\| found: step N is the first bad/);
});
