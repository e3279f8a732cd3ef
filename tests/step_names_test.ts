/**
 * Step names, one grammar: `0`, `N`, `end`, `-N` (N events before the end), a step past the end
 * and a name that is not a step mean the same in `replay --at`, `snapshot --at`, `lookup --at`,
 * `diff A B`, `map --at` and `bisect run --good/--bad`. The bundled trace has events seq 1..21.
 */
import assert from "node:assert/strict";
import { cli } from "./cli_helpers.ts";

const T = "traces/pcie-bar-above-e820.jsonl";

/** Each command with a step name put in its place. */
const USES: [string, (s: string) => string[]][] = [
  ["replay --at", (s) => ["replay", T, "--quiet", "--at", s]],
  ["snapshot --at", (s) => ["snapshot", T, "--at", s]],
  ["lookup --at", (s) => ["lookup", T, "0x3800000", "--at", s]],
  ["diff A", (s) => ["diff", T, s, "end"]],
  ["diff B", (s) => ["diff", T, "0", s]],
  ["map --at", (s) => ["map", T, "--format", "text", "--at", s]],
];

for (const [use, argv] of USES) {
  Deno.test(`${use}: -N names the step N events before the end, end the last, as numbers do`, async () => {
    for (const [a, b] of [["-1", "20"], ["-21", "0"], ["end", "21"], ["-5", "16"]]) {
      const [x, y] = [await cli(argv(a)), await cli(argv(b))];
      assert.equal(x.code, y.code, `${a} vs ${b}: ${x.err}${y.err}`);
      assert.equal(x.err, y.err);
      assert.equal(x.out, y.out.replaceAll(T, T), `${use} ${a} vs ${b}`);
    }
  });

  Deno.test(`${use}: past the end, before the start and a non-step are one error each`, async () => {
    const past = await cli(argv("22"));
    assert.equal(past.code, 64);
    assert.equal(
      past.err,
      "p2mtrace: step 22 is past the end of the trace: its last event is seq 21 ('end' names the state after it)\n",
    );
    const before = await cli(argv("-22"));
    assert.equal(before.code, 64);
    assert.equal(
      before.err,
      "p2mtrace: step -22 is before the start of the trace: it has 21 event(s) ('0' names the state before them)\n",
    );
    for (const bad of ["x", "-0", "1.5", "+3"]) {
      const r = await cli(argv(bad));
      assert.equal(r.code, 64);
      assert.match(
        r.err,
        new RegExp(
          `takes a step: 0, N \\(after every event with seq <= N\\), end, or -N \\(N events before the end\\), got '${
            bad.replace(/[.+]/g, "\\$&")
          }'`,
        ),
      );
    }
  });
}

Deno.test("bisect run --good/--bad take the same names", async () => {
  const run = (good: string, bad: string) =>
    cli([
      "bisect",
      "run",
      T,
      "--policy",
      "linux-3.12",
      "--good",
      good,
      "--bad",
      bad,
      "--",
      "false",
    ]);
  const past = await run("0", "22");
  assert.equal(past.code, 64);
  assert.match(past.err, /step 22 is past the end of the trace: its last event is seq 21/);
  const bad = await run("x", "end");
  assert.equal(bad.code, 64);
  assert.match(bad.err, /bisect run: --good takes a step: 0, N/);
  const before = await run("-22", "end");
  assert.match(before.err, /step -22 is before the start of the trace: it has 21 event\(s\)/);
});
