/**
 * `minimize` keeps the meaning: on every bundled trace, the minimized trace gives the same first
 * finding (detector, PFN range, event kind) under the policy it was minimized for, the same
 * verdict under every policy in `compare`, keeps the E820 map and the boot pass, and says in its
 * header that it was minimized from the original's sha256. `--strict-minimal` keeps the old,
 * smallest result. Runtime: about 10 s.
 */
import assert from "node:assert/strict";
import { bundledTraces, cli } from "./cli_helpers.ts";
import { sha256File } from "../src/trace/sha.ts";

interface CompareJson {
  policies: { policy: string; verdict: string }[];
}
interface CheckJson {
  findings: { detector: string; kind: string; range?: { pfn: string; end_pfn: string } }[];
}

async function verdicts(path: string): Promise<Record<string, string>> {
  const r = await cli(["compare", path, "--json"]);
  const c = JSON.parse(r.out) as CompareJson;
  return Object.fromEntries(c.policies.map((p) => [p.policy, p.verdict]));
}

async function firstFinding(path: string, policy: string, detector: string) {
  const r = await cli(["check", path, "--json", "--policy", policy, "--detector", detector]);
  const f = (JSON.parse(r.out) as CheckJson).findings[0];
  return { detector: f.detector, kind: f.kind, range: f.range };
}

/** The first policy under which the trace shows a finding, and that finding's detector. */
async function target(path: string): Promise<[string, string]> {
  const r = await cli(["compare", path, "--json"]);
  const c = JSON.parse(r.out) as {
    policies: { policy: string; findings: { detector: string }[] }[];
  };
  const p = c.policies.find((p) => p.findings.length > 0)!;
  return [p.policy, p.findings[0].detector];
}

const dir = await Deno.makeTempDir({ prefix: "p2mtrace-minimize-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

for (const name of bundledTraces()) {
  Deno.test(`minimize ${name}: same finding signature and every policy's verdict`, async () => {
    const path = `traces/${name}`;
    const [policy, detector] = await target(path);
    const out = `${dir}/${name}`;
    const r = await cli(["minimize", path, "--policy", policy, "-o", out, "--force"]);
    assert.equal(r.code, 0, r.err);
    const text = await Deno.readTextFile(out);
    const header = JSON.parse(text.split("\n")[0]);
    assert.match(
      header.description,
      new RegExp(
        `^minimized from ${await sha256File(path)} \\(${path}\\): kept \\d+ of \\d+ event`,
      ),
    );
    assert.match(header.description, /the E820 map, the boot pass/);
    assert.equal(header.minimized.strict, false);
    const kinds = text.split("\n").slice(1).filter(Boolean).map((l) => JSON.parse(l).kind);
    assert.ok(kinds.includes("e820") && kinds.includes("memory_setup"), kinds.join(","));
    assert.deepEqual(await verdicts(out), await verdicts(path));
    assert.deepEqual(
      await firstFinding(out, policy, detector),
      await firstFinding(path, policy, detector),
    );
    const s = await cli(["summarize", out, "--format", "markdown"]);
    assert.match(s.out, /minimized from [0-9a-f]{64}/);
  });
}

Deno.test("minimize --strict-minimal keeps only what makes the detector fire", async () => {
  const path = "traces/pcie-bar-above-e820.jsonl";
  const out = `${dir}/strict.jsonl`;
  const r = await cli([
    "minimize",
    path,
    "--policy",
    "linux-3.12",
    "--strict-minimal",
    "-o",
    out,
    "--force",
  ]);
  assert.equal(r.code, 0, r.err);
  const lines = (await Deno.readTextFile(out)).trim().split("\n");
  const header = JSON.parse(lines[0]);
  assert.equal(header.minimized.strict, true);
  assert.match(header.description, /--strict-minimal/);
  // Fewer events than the 14 the meaning-keeping default keeps on this trace.
  assert.ok(lines.length - 2 < 14, `${lines.length - 2} events`);
});
