import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { bundledTraces, cli } from "./cli_helpers.ts";

for (const name of bundledTraces()) {
  Deno.test(`validate ${name}: no problems`, async () => {
    const r = await cli(["validate", `traces/${name}`]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^no problems$/m);
  });
}

Deno.test("validate reports every problem with severity, count and first line, and exits 65", async () => {
  const text = [
    '{"format":"p2mtrace","version":1,"producer":"t","description":"x","guest":{"type":"pv","domain":"dom0"}}',
    '{"seq":1,"kind":"mark","text":"a","comment":"kept"}',
    '{"seq":1,"kind":"x"}',
    "not json",
    '{"seq":3,"kind":"set_identity","pfn":"zz"}',
    '{"seq":4,"kind":"set_identity","pfn":"yy"}',
    '{"seq":5,"kind":"e820","start":"0x0","size":"0x1000","type":"ram"}',
    '{"seq":6,"kind":"e820","start":"0x800","size":"0x1000","type":"ram"}',
    '{"seq":7',
  ].join("\n");
  const r = await cli(["validate", "-"], text);
  assert.equal(r.code, 65);
  await assertGolden("share/validate-problems.txt", r.out);
  const j = await cli(["validate", "-", "--json"], text);
  assert.equal(j.code, 65);
  const o = JSON.parse(j.out);
  assert.equal(o.ok, false);
  assert.deepEqual(o.problems.map((p: { name: string }) => p.name), [
    "no-nr-pages",
    "unknown-field",
    "unknown-kind",
    "not-json",
    "bad-field:pfn",
    "e820-overlap",
    "cut-off",
  ]);
});

Deno.test("minimize keeps the fewest events that still show the finding, verbatim", async () => {
  const r = await cli([
    "minimize",
    "traces/bar-overlaps-extra-memory.jsonl",
    "--policy",
    "seed-v1",
    "--detector",
    "lost-write",
  ]);
  assert.equal(r.code, 0, r.err);
  await assertGolden("share/minimize-bar-overlaps-extra-memory.lost-write.jsonl", r.out);
  // lost-write rests on the boot pass (docs/verdicts.md): the result keeps an E820 entry and
  // memory_setup, without which the finding could not be judged.
  assert.match(r.err, /to 4 in \d+ replay\(s\): write of mfn to 0x3f0000-0x3f01ff/);
  // the minimized trace reproduces the finding and is a valid trace
  const again = await cli(["check", "-", "--policy", "seed-v1", "--detector", "lost-write"], r.out);
  assert.equal(again.code, 1);
  assert.equal((await cli(["validate", "-"], r.out)).code, 0);
  // every kept line is a line of the original trace
  // (as JSON values: the writer prints a time of 0.0 as 0)
  const canonical = (line: string) => JSON.stringify(JSON.parse(line));
  const original = new Set(
    (await Deno.readTextFile("traces/bar-overlaps-extra-memory.jsonl")).trimEnd().split("\n")
      .map(canonical),
  );
  for (const line of r.out.trimEnd().split("\n").slice(1, -1)) {
    assert.ok(original.has(canonical(line)), line);
  }
});

Deno.test("minimize without --detector keeps the first finding; exits 1 when there is none", async () => {
  const r = await cli(["minimize", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-3.12"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /up to the first lookup-zero finding/);
  const clean = await cli([
    "minimize",
    "traces/pcie-bar-above-e820.jsonl",
    "--policy",
    "linux-3.16",
  ]);
  assert.equal(clean.code, 1);
  assert.match(clean.err, /has no finding under linux-3\.16: nothing to minimize/);
});

Deno.test("minimize -o does not overwrite an existing file without --force", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/m.jsonl`;
    await Deno.writeTextFile(out, "precious\n");
    const args = [
      "minimize",
      "traces/pcie-bar-above-e820.jsonl",
      "--policy",
      "linux-3.12",
      "-o",
      out,
    ];
    const r = await cli(args);
    assert.equal(r.code, 74);
    assert.equal(
      r.err,
      `p2mtrace: ${out}: cannot write: it exists (use --force to overwrite it)\n`,
    );
    assert.equal(await Deno.readTextFile(out), "precious\n");
    assert.equal((await cli([...args, "--force"])).code, 0);
    assert.match(await Deno.readTextFile(out), /^\{"format":"p2mtrace"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summarize prints a paste-ready summary (Markdown and JSON)", async () => {
  const r = await cli([
    "summarize",
    "traces/pcie-bar-above-e820.jsonl",
    "--policy",
    "linux-3.12",
    "--format",
    "markdown",
  ]);
  assert.equal(r.code, 0, r.err);
  await assertGolden("share/summarize-pcie-bar-above-e820.md", r.out);
  const j = await cli(["summarize", "traces/pcie-bar-above-e820.jsonl", "--json"]);
  assert.equal(j.code, 0);
  await assertGolden(
    "share/summarize-pcie-bar-above-e820.json",
    JSON.stringify(JSON.parse(j.out), null, 1) + "\n",
  );
});
