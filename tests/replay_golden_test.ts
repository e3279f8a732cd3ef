import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { bundledTraces, cli } from "./cli_helpers.ts";
import { P2m } from "../src/p2m/table.ts";
import { K } from "../src/p2m/leaf_runs.ts";
import { POLICIES } from "../src/policy/policies.ts";

for (const name of bundledTraces()) {
  const base = name.replace(/\.jsonl$/, "");
  Deno.test(`replay ${name}: text output matches the golden file`, async () => {
    const r = await cli(["replay", `traces/${name}`]);
    assert.equal(r.code, 0, r.err);
    await assertGolden(`replay/${base}.txt`, r.out);
  });
  Deno.test(`replay ${name} --json: output matches the golden file and every line is JSON`, async () => {
    const r = await cli(["replay", `traces/${name}`, "--json"]);
    assert.equal(r.code, 0, r.err);
    for (const line of r.out.trimEnd().split("\n")) JSON.parse(line);
    await assertGolden(`replay/${base}.json`, r.out);
  });
}

Deno.test("replay pcie-bar-above-e820 under linux-3.12 reports bus address 0 at the xen_add_device step", async () => {
  const r = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-3.12"]);
  assert.equal(r.code, 0);
  assert.match(
    r.out,
    /^step 16 \(line 17\) xen_add_device 0000:03:00\.0 \(5 resources\)\n {2}FINDING lookup-zero/m,
  );
  await assertGolden("replay/pcie-bar-above-e820.linux-3.12.txt", r.out);
});

Deno.test("replay pcie-bar-above-e820 under linux-3.16 reports no finding", async () => {
  const r = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-3.16"]);
  assert.equal(r.code, 0);
  assert.doesNotMatch(r.out, /FINDING/);
  assert.match(r.out, /^findings: 0 \(0 error\(s\), 0 warning\(s\)\)$/m);
  await assertGolden("replay/pcie-bar-above-e820.linux-3.16.txt", r.out);
});

Deno.test("replay --quiet prints only the summary", async () => {
  const r = await cli([
    "replay",
    "traces/pcie-bar-above-e820.jsonl",
    "--policy",
    "linux-3.12",
    "--quiet",
  ]);
  assert.equal(r.code, 0);
  assert.ok(r.out.startsWith("== summary ==\n"));
  assert.doesNotMatch(r.out, /^step /m);
});

Deno.test("replay --at 13 stops after the boot pass", async () => {
  const r = await cli([
    "replay",
    "traces/pcie-bar-above-e820.jsonl",
    "--policy",
    "linux-3.12",
    "--at",
    "13",
  ]);
  assert.equal(r.code, 0);
  assert.match(r.out, /13 event\(s\) replayed, last seq 13; stopped at --at/);
  assert.doesNotMatch(r.out, /^step 14/m);
});

Deno.test("replay --detector selects detectors", async () => {
  const r = await cli([
    "replay",
    "traces/pcie-bar-above-e820.jsonl",
    "--policy",
    "seed-v1",
    "--quiet",
    "--detector",
    "io-as-memory",
  ]);
  assert.equal(r.code, 0);
  assert.match(
    r.out,
    /^findings: 1 \(0 error\(s\), 1 warning\(s\)\)\n {2}step 16 \(line 17\) io-as-memory: /m,
  );
});

Deno.test("replay is byte-identical on a second run", async () => {
  const a = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--json"]);
  const b = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--json"]);
  assert.equal(a.out, b.out);
});

Deno.test("replay --policy list describes every policy", async () => {
  const r = await cli(["replay", "--policy", "list"]);
  assert.equal(r.code, 0);
  for (
    const p of [
      "linux-3.12",
      "seed-v1",
      "seed-v1-fixed",
      "host-bridge",
      "beyond-e820",
      "invalid-is-identity",
      "linux-3.16",
      "linux-3.19",
    ]
  ) {
    assert.match(r.out, new RegExp(`^${p}: `, "m"));
  }
});

Deno.test("replay --paranoid: every bundled trace keeps every invariant under every policy", async () => {
  for (const name of bundledTraces()) {
    for (const policy of POLICIES.keys()) {
      const plain = await cli(["replay", `traces/${name}`, "--policy", policy]);
      const paranoid = await cli(["replay", `traces/${name}`, "--policy", policy, "--paranoid"]);
      assert.equal(paranoid.code, plain.code, `${name} ${policy}: ${paranoid.err}`);
      assert.equal(paranoid.out, plain.out, `${name} ${policy}`);
    }
  }
});

Deno.test("replay --paranoid stops with exit 70 naming what broke and when", async () => {
  // Break the shared missing leaf page (one object for every table), as a model bug would.
  const missing =
    (P2m.build("T12", 0) as unknown as { midMissing: { slots: { runs: number[] }[] } })
      .midMissing.slots[0];
  missing.runs[1] = K.IDENTITY;
  try {
    const r = await cli([
      "replay",
      "traces/pcie-bar-above-e820.jsonl",
      "--policy",
      "linux-3.16",
      "--paranoid",
    ]);
    assert.equal(r.code, 70);
    assert.equal(r.out, "");
    assert.equal(
      r.err,
      "p2mtrace: internal error: P2M (T16) shared missing leaf page: was written (runs 0,1,0) " +
        "in the initial state under linux-3.16; this is a bug in p2mtrace: please report it " +
        "with the trace\n",
    );
  } finally {
    missing.runs[1] = K.INVALID;
  }
});
