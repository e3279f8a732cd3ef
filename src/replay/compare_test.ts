// comparePolicies keeps every finding only for the policies the caller lists (`complete`); the
// others keep the first finding, the first error and the first unjudged finding of each reason.
// Everything a verdict or the compare text reads must be the same either way: the reduced
// lists are a memory bound (summarize and compare on long traces), never another answer.
import assert from "node:assert/strict";
import { comparePolicies } from "./compare.ts";
import { TraceReader } from "../trace/read.ts";
import { generateTrace } from "../gen/trace_gen.ts";
import { compareText } from "../report/check_report.ts";
import { missingOf, verdictLine } from "../detect/verdict.ts";
import { summaryVerdict } from "../share/summarize.ts";

async function both(text: string, name: string) {
  const all = await comparePolicies(TraceReader.fromText(name, text));
  const some = await comparePolicies(TraceReader.fromText(name, text), undefined, [], {
    complete: (i) => i === 1,
  });
  return { all, some };
}

const generated = [...generateTrace({ events: 3000, seed: 21 })].join("\n") + "\n";
const inputs: [string, string][] = [
  ["generated", generated],
  // Findings that cannot be judged (no nr_pages), for the unjudged lists and the '?' cells.
  ["no-nr-pages", Deno.readTextFileSync("tests/fixtures/verdicts/no-nr-pages.jsonl")],
];

for (const [name, text] of inputs) {
  Deno.test(`comparePolicies: reduced findings give the same verdicts and compare text (${name})`, async () => {
    const { all, some } = await both(text, name);
    assert.equal(compareText(name, some), compareText(name, all));
    let reduced = 0;
    for (let i = 0; i < all.results.length; i++) {
      const a = all.results[i], s = some.results[i];
      assert.equal(a.complete, true);
      assert.equal(s.complete, i === 1);
      assert.deepEqual(verdictLine(s.basis), verdictLine(a.basis));
      assert.deepEqual(missingOf(s.basis), missingOf(a.basis));
      assert.deepEqual(summaryVerdict(s), summaryVerdict(a));
      assert.deepEqual(s.first, a.first);
      assert.deepEqual(s.firstUnjudged, a.firstUnjudged);
      if (s.complete) {
        assert.deepEqual(s.findings, a.findings);
        assert.deepEqual(s.unjudged, a.unjudged);
      } else {
        assert.ok(s.findings.length <= 2);
        reduced += a.findings.length + a.unjudged.length - s.findings.length - s.unjudged.length;
      }
    }
    if (name === "generated") assert.ok(reduced > 0, "every finding was kept");
  });
}
