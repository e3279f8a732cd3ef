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
  assert.deepEqual(o.missing, ["no raw E820 map", "no nr_pages"]);
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

// One verdict everywhere (src/detect/verdict.ts): a run that found nothing on a P2M that was
// never built could not have seen what its boot-pass detectors look for, so no surface calls
// it clean: check exits 4 (125 under --bisect-exit), compare and summarize say '?'/cannot judge,
// replay's summary says so, and the batch forms too. A detector that does not rest on the pass
// (io-as-memory) still judges alone. An auto-translated guest has no P2M to build: clean.
const NEVER_BUILT = [
  '{"format":"p2mtrace","version":1,"producer":"t","description":"a boot log without nr_pages",' +
  '"guest":{"type":"pv","domain":"dom0"}}',
  '{"seq":1,"kind":"e820","start":"0x0","end":"0x9ffff","type":"ram"}',
  '{"seq":2,"kind":"e820","start":"0x100000","end":"0x3fffffff","type":"ram"}',
  '{"seq":3,"kind":"memory_setup"}',
  '{"seq":4,"kind":"balloon_init"}',
].join("\n") + "\n";
const HVM_NO_MAP = '{"format":"p2mtrace","version":1,"producer":"t","description":"hvm",' +
  '"guest":{"type":"hvm","domain":"domU"}}\n{"seq":1,"kind":"balloon_init"}\n';

Deno.test("check: no finding on a P2M that was never built is 'cannot judge' (exit 4), not clean", async () => {
  const r = await cli(["check", "-", "--policy", "linux-3.12"], NEVER_BUILT);
  assert.equal(r.code, 4, r.out);
  assert.match(
    r.out,
    /cannot judge \(4 event\(s\), no findings, but the trace lacks what a verdict needs: no nr_pages\)/,
  );
  assert.match(
    r.out,
    /^note: bug-out-of-range, io-as-memory do not rest on the boot pass and found nothing; /m,
  );
  assert.doesNotMatch(r.out, /clean/);
  const json = JSON.parse((await cli(["check", "-", "--json"], NEVER_BUILT)).out);
  assert.equal(json.clean, false);
  assert.equal(json.verdict, "cannot-judge");
  assert.deepEqual(json.missing, ["no nr_pages"]);
  assert.equal((await cli(["check", "-", "--bisect-exit"], NEVER_BUILT)).code, 125);
  // A detector that reads only a resource's flags judges without the pass.
  const own = await cli(["check", "-", "--detector", "io-as-memory"], NEVER_BUILT);
  assert.equal(own.code, 0, own.out);
  assert.match(own.out, /: clean \(4 event\(s\), no findings\)/);
  // An auto-translated guest builds no P2M: finding nothing in it proves nothing either.
  const hvm = await cli(["check", "-"], HVM_NO_MAP);
  assert.equal(hvm.code, 4, hvm.out);
  assert.match(hvm.out, /cannot judge .*the guest is HVM: auto-translated, it builds no P2M/);
  assert.doesNotMatch(hvm.out, /\bclean\b/);
});

Deno.test("import + check: a log proving the guest both PV and HVM/PVH is 'cannot judge' (exit 4)", async () => {
  // A PV domU's log with one HVM-only line added (the platform PCI device: no PV or PVH guest
  // has it): two logs in one file, or one edited. (The HVM callback vector would not do: a
  // PVHv1 guest of this era prints it beside the PV entry's lines, see import_dmesg_test.)
  const log = (await Deno.readTextFile(
    new URL("./fixtures/dmesg/domU-3.16-pcifront.log", import.meta.url),
  )).replace(
    "Booting paravirtualized kernel on Xen\n",
    "Booting paravirtualized kernel on Xen\n" +
      "[    0.000000] Xen Platform PCI: I/O protocol version 1\n",
  );
  assert.match(log, /Xen Platform PCI/);
  const pvOnly = await cli(["import", "dmesg", "-"], log.replace(/^.*Xen Platform PCI.*\n/m, ""));
  assert.equal((await cli(["check", "-"], pvOnly.out)).code, 1, "the PV log alone is judged");
  const imported = await cli(["import", "dmesg", "-"], log);
  assert.equal(imported.code, 0, imported.err);
  const header = JSON.parse(imported.out.split("\n")[0]);
  assert.equal(header.guest.type, "unknown");
  assert.equal(header.guest_confidence, "guessed");
  assert.deepEqual(header.guest_conflict.map((l: string) => l.slice(0, 8)), [
    "line 6: ",
    "line 38:",
  ]);
  assert.match(imported.err, /proven PV and proven HVM\/PVH lines/);
  const c = await cli(["check", "-"], imported.out);
  assert.equal(c.code, 4, c.out);
  assert.match(
    c.out,
    /cannot judge .*the log proves the guest both PV and HVM\/PVH \(line 6: ACPI in unprivileged domain disabled vs line 38: Xen Platform PCI/,
  );
  assert.equal((await cli(["check", "-", "--bisect-exit"], imported.out)).code, 125);
});

Deno.test("compare, replay and summarize give the same verdict: never 'clean' when the pass never ran", async () => {
  const c = await cli(["compare", "-"], NEVER_BUILT);
  assert.equal(c.code, 0);
  assert.doesNotMatch(c.out, /^ {2}\S+ +clean/m, c.out);
  assert.match(
    c.out,
    /^ {2}linux-3\.12 +\? +cannot judge \(no nr_pages\): nothing found on a P2M/m,
  );
  const cj = JSON.parse((await cli(["compare", "-", "--json"], NEVER_BUILT)).out);
  for (const p of cj.policies) assert.equal(p.verdict, "cannot-judge", p.policy);
  assert.deepEqual(cj.policies[0].missing, ["no nr_pages"]);

  const r = await cli(["replay", "-", "--policy", "linux-3.12", "--quiet"], NEVER_BUILT);
  assert.match(r.out, /^verdict: {2}cannot judge \(no nr_pages\): nothing found on a P2M/m);
  const rj = (await cli(["replay", "-", "--json", "--quiet"], NEVER_BUILT)).out.trim();
  assert.equal(JSON.parse(rj).summary.verdict, "cannot-judge");

  const text = (await cli(["summarize", "-"], NEVER_BUILT)).out;
  assert.doesNotMatch(text, /\bclean\b/, text);
  assert.match(
    text,
    /none, and cannot judge: bug-out-of-range,\s+io-as-memory do not rest on the boot pass/,
  );
  const md = (await cli(["summarize", "-", "--format", "markdown"], NEVER_BUILT)).out;
  assert.doesNotMatch(md, /\| clean \|/, md);
  assert.match(md, /\| linux-3\.12 \| cannot judge \| no nr_pages \|/);
  const sj = JSON.parse((await cli(["summarize", "-", "--json"], NEVER_BUILT)).out);
  for (const v of Object.values(sj.verdicts)) assert.equal(v, "cannot-judge");

  const hvm = JSON.parse((await cli(["compare", "-", "--json"], HVM_NO_MAP)).out);
  for (const p of hvm.policies) assert.equal(p.verdict, "cannot-judge", p.policy);
});

Deno.test("check and summarize of several traces: the never-built one is cannot-judge, not clean", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a-never-built.jsonl`, NEVER_BUILT);
    await Deno.writeTextFile(`${dir}/b-hvm.jsonl`, HVM_NO_MAP);
    const c = await cli(["check", dir, "--jobs", "1"]);
    assert.equal(c.code, 4, c.out + c.err);
    assert.match(c.out, /^cannot-judge +\S+a-never-built\.jsonl/m);
    assert.match(c.out, /^cannot-judge +\S+b-hvm\.jsonl/m);
    const s = await cli(["summarize", dir, "--jobs", "1"]);
    assert.match(s.out, /^cannot-judge +\S+a-never-built\.jsonl.*linux-3\.12=cannot-judge/m);
    assert.doesNotMatch(s.out.split("\n").find((l) => l.includes("never-built"))!, /=clean/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
