// Never judge what was not built (docs/verdicts.md): in a PV guest the P2M above nr_pages is
// built by xen_memory_setup from the raw E820 map and nr_pages. A trace without them cannot show
// what the kernel had, so findings of detectors that read what the pass builds are "cannot
// judge", never errors; estimated facts lower a finding's confidence. Runtime: about 3 s.

import assert from "node:assert/strict";
import { cli } from "./cli_helpers.ts";
import { DETECTORS } from "../src/detect/detectors.ts";
import { POLICIES } from "../src/policy/policies.ts";
import { resolvePolicy } from "../src/policy/policy.ts";

const NO_NR = "tests/fixtures/verdicts/no-nr-pages.jsonl";
const NO_MAP = "tests/fixtures/verdicts/no-map-no-nr-pages.jsonl";
const ESTIMATED = "tests/fixtures/verdicts/estimated-facts.jsonl";

Deno.test("check: a trace without nr_pages cannot be judged, exit 4, never an error", async () => {
  const r = await cli(["check", NO_NR, "--policy", "linux-3.12"]);
  assert.equal(r.code, 4, r.out);
  assert.match(
    r.out,
    /^check: .* under linux-3\.12: cannot judge \(21 event\(s\); 6 finding\(s\) rest on what the trace lacks: no nr_pages\)\n/,
  );
  assert.doesNotMatch(r.out, /\(error\)/);
  assert.match(
    r.out,
    /\[1\] lookup-zero cannot judge \(no nr_pages\) at step 16, line 17: 0000:03:00\.0 BAR 0/,
  );
  assert.match(r.out, /cannot judge {2}no nr_pages: lookup-zero rests on the boot pass/);
  // The same trace with its nr_pages is judged: BAD under 3.12 (the bundled trace's finding).
  const full = await cli(["check", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-3.12"]);
  assert.equal(full.code, 1);
});

Deno.test("check --bisect-exit: findings that cannot be judged skip the revision (125)", async () => {
  const r = await cli(["check", NO_NR, "--policy", "linux-3.12", "--bisect-exit"]);
  assert.equal(r.code, 125);
  assert.match(r.err, /cannot judge this trace \(cannot test: exit 125\)/);
});

Deno.test("check --json: verdict, cannot_judge and missing appear only when something is unjudged", async () => {
  const r = await cli(["check", NO_MAP, "--policy", "linux-3.12", "--json"]);
  const o = JSON.parse(r.out);
  assert.equal(o.clean, false);
  assert.equal(o.verdict, "cannot-judge");
  assert.deepEqual(o.findings, []);
  assert.deepEqual(o.missing, ["no raw E820 map, no nr_pages"]);
  assert.deepEqual(o.boot_missing, ["no raw E820 map", "no nr_pages"]);
  assert.equal(o.cannot_judge[0].detector, "lookup-zero");
  assert.equal(o.cannot_judge[0].cannot_judge, "no raw E820 map, no nr_pages");
  const full = JSON.parse(
    (await cli(["check", "traces/pcie-bar-above-e820.jsonl", "--json", "--policy", "linux-3.16"]))
      .out,
  );
  assert.deepEqual(Object.keys(full), ["trace", "policy", "events", "ending", "clean", "findings"]);
});

Deno.test("a finding before memory_setup cannot be judged: the pass has not run at that step", async () => {
  const text = [
    '{"format":"p2mtrace","version":1,"producer":"t","description":"x",' +
    '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
    '{"seq":1,"kind":"e820","start":"0x0","end":"0x3fffffff","type":"ram"}',
    '{"seq":2,"kind":"lookup","pfn":"0x80000"}',
    '{"seq":3,"kind":"memory_setup"}',
    '{"seq":4,"kind":"lookup","pfn":"0x80001"}',
  ].join("\n") + "\n";
  const r = await cli(["check", "-", "--policy", "linux-3.12", "--json"], text);
  const o = JSON.parse(r.out);
  assert.equal(r.code, 1);
  assert.deepEqual(o.findings.map((f: { seq: number }) => f.seq), [4]);
  assert.deepEqual(o.cannot_judge.map((f: { seq: number }) => f.seq), [2]);
  assert.equal(o.cannot_judge[0].cannot_judge, "no memory_setup event before this step");
});

Deno.test("compare shows a cell that cannot be judged as '?', and io-as-memory still judged", async () => {
  const r = await cli(["compare", NO_NR]);
  assert.equal(r.code, 0);
  assert.match(r.out, /'\?' = cannot judge/);
  assert.match(r.out, /^linux-3\.12 +\? +\. +\. +\. +\.$/m);
  // io-as-memory reads only the resource's flags: judged without the boot pass.
  assert.match(r.out, /^seed-v1 +\. +\? +\. +\. +16$/m);
  assert.match(
    r.out,
    /^ {2}linux-3\.12 +\? +cannot judge \(no nr_pages\): lookup-zero at step 16$/m,
  );
  assert.match(r.out, /^ {2}seed-v1 +warn +io-as-memory at step 16/m);
  const j = JSON.parse((await cli(["compare", NO_NR, "--json"])).out);
  const p312 = j.policies.find((p: { policy: string }) => p.policy === "linux-3.12");
  assert.equal(p312.verdict, "cannot-judge");
  assert.equal(p312.errors, 0);
  assert.deepEqual(p312.first_unjudged, { "lookup-zero": 16 });
  for (const line of r.out.split("\n")) assert.ok(line.length <= 100, line);
});

Deno.test("replay: CANNOT JUDGE lines, the boot line and --json fields", async () => {
  const r = await cli(["replay", NO_NR, "--policy", "linux-3.12"]);
  assert.equal(r.code, 0);
  assert.match(r.out, /\n {2}kernel: the boot pass cannot run: memory_setup needs/);
  assert.match(r.out, /\n {2}CANNOT JUDGE lookup-zero \(no nr_pages\): 0000:03:00\.0 BAR 1/);
  assert.match(r.out, /\nboot: {5}the boot pass did not run: no nr_pages\n/);
  assert.match(r.out, /\nfindings: 0 \(0 error\(s\), 0 warning\(s\)\)\ncannot judge: 6 finding/);
  const lines = (await cli(["replay", NO_NR, "--policy", "linux-3.12", "--json"])).out
    .trimEnd().split("\n").map((l) => JSON.parse(l));
  const step16 = lines.find((o) => o.seq === 16);
  assert.equal(step16.cannot_judge.length, 4);
  assert.deepEqual(step16.findings, []);
  const summary = lines[lines.length - 1].summary;
  assert.deepEqual(summary.boot_missing, ["no nr_pages"]);
  assert.equal(summary.cannot_judge.length, 6);
  assert.equal(lines.find((o) => o.seq === 1).cannot_judge, undefined);
});

Deno.test("estimated facts lower a finding's confidence, and the finding says why", async () => {
  const r = await cli(["check", ESTIMATED, "--policy", "linux-3.12"]);
  assert.equal(r.code, 1);
  assert.match(r.out, /\[1\] lookup-zero \(error, lowered confidence\) at step 16/);
  assert.match(
    r.out,
    /confidence +lowered: guest type likely, not proven from type pv: Booting paravirtualized kernel on Xen; .*; nr_pages estimated: the end of the last RAM entry .*; 1 E820 entry rebuilt from other lines \(first from line 57/,
  );
  const j = JSON.parse((await cli(["check", ESTIMATED, "--policy", "linux-3.12", "--json"])).out);
  assert.equal(j.findings[0].confidence, "lowered");
  assert.equal(j.findings[0].doubts.length, 3);
  // io-as-memory does not rest on the boot pass: only the guest type's doubt touches it.
  const seed = JSON.parse((await cli(["check", ESTIMATED, "--policy", "seed-v1", "--json"])).out);
  const io = seed.findings.find((f: { detector: string }) => f.detector === "io-as-memory");
  assert.deepEqual(io.doubts, [
    "guest type likely, not proven from type pv: Booting paravirtualized kernel on Xen; dom0: " +
    "xen: registering gsi (dom0 ACPI interrupt routing)",
  ]);
});

Deno.test("a malformed provenance field is a data error naming the field", async () => {
  const text = '{"format":"p2mtrace","version":1,"producer":"t","description":"x",' +
    '"guest":{"type":"pv","domain":"dom0"},"estimated":[{"field":"nr_pages"}]}\n';
  const r = await cli(["check", "-"], text);
  assert.equal(r.code, 65);
  assert.match(r.err, /-:1: field "estimated\[0\]\.how": expected a string, got undefined/);
  const conf = await cli(
    ["check", "-"],
    text.replace('"estimated":[{"field":"nr_pages"}]', '"guest_confidence":"sure"'),
  );
  assert.equal(conf.code, 65);
  assert.match(conf.err, /field "guest_confidence": expected one of proven, likely, guessed/);
});

Deno.test("docs/verdicts.md lists every detector with whether it rests on the boot pass", async () => {
  const doc = await Deno.readTextFile("docs/verdicts.md");
  const tree = resolvePolicy(POLICIES, "linux-3.12");
  const list = resolvePolicy(POLICIES, "linux-3.19");
  for (const d of DETECTORS) {
    const row = doc.split("\n").find((l) => l.startsWith(`| \`${d.id}\``));
    assert.ok(row, `docs/verdicts.md has no row for ${d.id}`);
    const cell = row.split("|")[2].trim();
    const expected = d.bootPass.reads(tree)
      ? "yes"
      : d.bootPass.reads(list)
      ? "linux-3.19 only"
      : "no";
    assert.equal(cell, expected, d.id);
  }
});
