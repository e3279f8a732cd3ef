import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { bundledTraces, cli } from "./cli_helpers.ts";
import { comparePolicies } from "../src/replay/compare.ts";
import { TraceReader } from "../src/trace/read.ts";
import { generateTrace } from "../src/gen/trace_gen.ts";
import { DETECTORS } from "../src/detect/detectors.ts";
import { missingOf, runVerdict } from "../src/detect/verdict.ts";
import { findingJson } from "../src/report/replay_report.ts";

for (const name of bundledTraces()) {
  const base = name.replace(/\.jsonl$/, "");
  Deno.test(`compare ${name}: matrix matches the golden file and fits 100 columns`, async () => {
    const r = await cli(["compare", `traces/${name}`]);
    assert.equal(r.code, 0, r.err);
    for (const line of r.out.split("\n")) assert.ok(line.length <= 100, `too wide: ${line}`);
    await assertGolden(`compare/${base}.txt`, r.out);
  });
  Deno.test(`compare ${name} --json matches the golden file`, async () => {
    const r = await cli(["compare", `traces/${name}`, "--json"]);
    assert.equal(r.code, 0, r.err);
    await assertGolden(`compare/${base}.json`, JSON.stringify(JSON.parse(r.out), null, 1) + "\n");
  });
}

Deno.test("compare on the flagship trace: linux-3.12 flagged at the device step, linux-3.16 clean", async () => {
  const r = await cli(["compare", "traces/pcie-bar-above-e820.jsonl"]);
  assert.match(r.out, /^linux-3\.12 +16 +\. +\. *$/m);
  assert.match(r.out, /^ {2}linux-3\.16 +clean +no findings$/m);
});

Deno.test("check: exit 0 when clean, 1 when something is found", async () => {
  let r = await cli(["check", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-3.16"]);
  assert.equal(r.code, 0);
  assert.equal(
    r.out,
    "check: traces/pcie-bar-above-e820.jsonl under linux-3.16: clean (21 event(s), no findings)\n",
  );
  r = await cli(["check", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-3.12"]);
  assert.equal(r.code, 1);
  await assertGolden("check/pcie-bar-above-e820.linux-3.12.txt", r.out);
});

Deno.test("check --json and --detector", async () => {
  const r = await cli([
    "check",
    "traces/bar-overlaps-extra-memory.jsonl",
    "--policy",
    "seed-v1",
    "--json",
    "--detector",
    "balloon-identity",
    "--detector",
    "lost-write",
  ]);
  assert.equal(r.code, 1);
  const o = JSON.parse(r.out);
  assert.equal(o.clean, false);
  assert.deepEqual(o.findings.map((f: { detector: string; seq: number }) => [f.detector, f.seq]), [
    ["balloon-identity", 12],
    ["lost-write", 18],
  ]);
  await assertGolden(
    "check/bar-overlaps-extra-memory.seed-v1.json",
    JSON.stringify(o, null, 1) + "\n",
  );
});

const MALFORMED = '{"format":"p2mtrace","version":1,"producer":"t","description":"x",' +
  '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x1000"}}\n{"seq":1,"kind":\n';
const CUT = '{"format":"p2mtrace","version":1,"producer":"t","description":"x",' +
  '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x1000"}}\n{"seq":1,"kind":"mark","text":"a"}\n{"seq":2';
const CUT_FOUND = '{"format":"p2mtrace","version":1,"producer":"t","description":"x",' +
  '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x1000"}}\n' +
  '{"seq":1,"kind":"e820","start":"0x0","end":"0xfffffff","type":"ram"}\n' +
  '{"seq":2,"kind":"memory_setup"}\n{"seq":3,"kind":"lookup","pfn":"0x90000"}\n{"seq":4';

Deno.test("check exit codes for unusable traces, and --bisect-exit maps them to 125", async () => {
  assert.equal((await cli(["check", "-"], MALFORMED)).code, 65);
  assert.equal((await cli(["check", "-", "--bisect-exit"], MALFORMED)).code, 125);
  assert.equal((await cli(["check", "no/such.jsonl"])).code, 66);
  assert.equal((await cli(["check", "no/such.jsonl", "--bisect-exit"])).code, 125);
  assert.equal((await cli(["check", "-", "--policy", "linux-3.12"], CUT)).code, 3);
  assert.equal(
    (await cli(["check", "-", "--policy", "linux-3.12", "--bisect-exit"], CUT)).code,
    125,
  );
  // findings before the cut are still an answer: bad
  assert.equal(
    (await cli(["check", "-", "--policy", "linux-3.12", "--bisect-exit"], CUT_FOUND)).code,
    1,
  );
  assert.equal((await cli(["check", "-", "--policy", "nope"])).code, 64);
});

Deno.test("check --bisect-exit stops git bisect (exit 128) on a usage mistake, never counting it bad", async () => {
  const typo = await cli(["check", "-", "--detector", "lookup-zer0", "--bisect-exit"], CUT_FOUND);
  assert.equal(typo.code, 128);
  assert.match(typo.err, /unknown detector 'lookup-zer0'/);
  assert.match(
    typo.err,
    /git bisect run stops/,
  );
  assert.equal((await cli(["check", "-", "--detector", "lookup-zer0"], CUT_FOUND)).code, 64);
});

Deno.test("check under host-bridge:primitive=ideal is clean where the faithful primitive aliases", async () => {
  const ideal = await cli([
    "check",
    "traces/host-bridge-unassigned-mmio.jsonl",
    "--policy",
    "host-bridge:primitive=ideal",
  ]);
  assert.equal(ideal.code, 0, ideal.out);
  const faithful = await cli([
    "check",
    "traces/host-bridge-unassigned-mmio.jsonl",
    "--policy",
    "host-bridge",
  ]);
  assert.equal(faithful.code, 1);
  assert.match(faithful.out, /\[1\] alias \(error\) at step 11/);
});

// `compare --json` holds each policy's findings as deflated JSON text during the pass and prints
// in parts (src/report/json_parts.ts): the bytes must be those of the object it printed before,
// built from every finding kept as an object and stringified in one piece (restated here as the
// reference), on a trace with thousands of findings across many held blocks and one with
// findings that cannot be judged.
async function oneStringCompareJson(name: string, text: string): Promise<string> {
  const c = await comparePolicies(TraceReader.fromText(name, text));
  return JSON.stringify({
    trace: name,
    events: c.events,
    cut_off: c.cutOff !== undefined,
    detectors: DETECTORS.map((d) => d.id),
    policies: c.results.map((r) => {
      const verdict = runVerdict(r.basis);
      const errors = r.findings.filter((f) => f.severity === "error").length;
      const o: Record<string, unknown> = {
        policy: r.policy.name,
        summary: r.policy.summary,
        verdict,
        errors,
        warnings: r.findings.length - errors,
        first: Object.fromEntries([...r.first.entries()]),
        findings: r.findings.map(findingJson),
      };
      if (verdict === "cannot-judge") o.missing = missingOf(r.basis);
      if (r.unjudged.length > 0) {
        o.first_unjudged = Object.fromEntries([...r.firstUnjudged.entries()]);
        o.cannot_judge = r.unjudged.map(findingJson);
      }
      return o;
    }),
  }) + "\n";
}

for (
  const [name, text] of [
    ["generated", [...generateTrace({ events: 60000, seed: 3 })].join("\n") + "\n"],
    ["no-nr-pages", Deno.readTextFileSync("tests/fixtures/verdicts/no-nr-pages.jsonl")],
  ]
) {
  Deno.test(`compare --json prints in parts the bytes of the one-string object (${name})`, async () => {
    const r = await cli(["compare", "-", "--json"], text);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, await oneStringCompareJson("-", text));
    if (name === "generated") {
      const o = JSON.parse(r.out);
      const findings = o.policies.reduce(
        (n: number, p: { findings: unknown[] }) => n + p.findings.length,
        0,
      );
      assert.ok(r.out.length > 1 << 20 && findings > 2000, `${findings} findings`);
    } else {
      assert.ok(
        JSON.parse(r.out).policies.some((p: { cannot_judge?: unknown[] }) =>
          (p.cannot_judge?.length ?? 0) > 1
        ),
      );
    }
  });
}
