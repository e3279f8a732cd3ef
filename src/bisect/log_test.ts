import assert from "node:assert/strict";
import fc from "fast-check";
import { BisectLogError, markLine, parseLog, startLine } from "./log.ts";

Deno.test("a start line with any words, newlines too, is one line that parses back the same", () => {
  // A trace named "t\nbisect good 9" must not write a forged mark into the log.
  const any = fc.string({
    minLength: 1,
    unit: fc.oneof(
      fc.constantFrom("\n", "\r", "'", " "),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
    ),
  });
  fc.assert(
    fc.property(
      any,
      fc.option(any, { nil: undefined }),
      (trace, policy) => {
        const start = policy === undefined ? { trace } : { trace, policy };
        assert.ok(!/[\r\n]/.test(startLine(start)));
        const log = parseLog("l", startLine(start) + "\n" + markLine("skip", 4));
        assert.deepEqual(log.start, start);
        assert.deepEqual(log.marks, [{ mark: "skip", step: 4, line: 2 }]);
      },
    ),
    { seed: 3, numRuns: 300 },
  );
});

Deno.test("parseLog ignores every line that is not a log command", () => {
  const log = parseLog("l", "step 3: exit 0: good\nbisect start t\n  bisect good 3  \nbisectx 1\n");
  assert.deepEqual(log.marks, [{ mark: "good", step: 3, line: 3 }]);
});

Deno.test("parseLog names the line of every mistake", () => {
  const cases: [string, string][] = [
    ["", "l:1: no 'bisect start' line"],
    ["bisect start t\nbisect start u", "l:2: a second 'bisect start' line"],
    ["bisect start", "l:1: 'bisect start' needs a TRACE"],
    [
      "bisect start t --color red",
      "l:1: 'bisect start' takes --policy, --sha256, --term-good and --term-bad with a value, got '--color'",
    ],
    ["bisect start t\nbisect bad x", "l:2: expected 'bisect bad STEP' (a step number)"],
    [
      "bisect start t\nbisect visualize",
      "l:2: unknown log command 'visualize' (expected start, good, bad or skip)",
    ],
    ["bisect start 'unterminated", "l:1: unterminated quote"],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseLog("l", text),
      (e) => e instanceof BisectLogError && e.message === message && e.exitCode === 65,
    );
  }
});
