import assert from "node:assert/strict";
import { eraHintOf, laterEra } from "./era.ts";
import { DmesgImporter } from "./importer.ts";

Deno.test("eraHintOf() bounds the release by the lines only later kernels print", () => {
  assert.equal(eraHintOf("Remapped 3 page(s), last_pfn=1048579", 1)?.policy, "linux-3.18");
  assert.equal(eraHintOf("xen: Remapped 0 page(s)", 1)?.policy, "linux-3.19");
  assert.equal(
    eraHintOf("p2m virtual area at ffffc90000000000, size is 40000000", 1)?.policy,
    "linux-3.19",
  );
  assert.equal(eraHintOf("Hypervisor detected: Xen PV", 1)?.policy, "linux-4.3");
  assert.equal(eraHintOf("Hypervisor detected: Xen HVM", 1), undefined);
  assert.equal(eraHintOf("Released 0 pages of unused memory", 1), undefined);
});

Deno.test("laterEra() keeps the strongest lower bound, the first of equals", () => {
  const a = eraHintOf("Remapped 3 page(s), last_pfn=1048579", 4);
  const b = eraHintOf("p2m virtual area at x, size is 200000", 9);
  const c = eraHintOf("Remapped 0 page(s)", 10);
  assert.equal(laterEra(a, b)?.line, 9);
  assert.equal(laterEra(b, a)?.line, 9);
  assert.equal(laterEra(b, c)?.line, 9);
  assert.equal(laterEra(undefined, a)?.line, 4);
});

function importLines(lines: string[]) {
  const imp = new DmesgImporter("t.log");
  for (const l of lines) imp.push(l);
  return imp.finish();
}

// A log cut before its banner (a diff, a grep) replayed under the default linux-3.12 makes every
// v3.19+ count a false divergence: the tree era has no list and no deferred remap.
Deno.test("a log without 'Linux version' takes the policy of the latest era its lines prove", () => {
  const r = importLines([
    "[    0.000000] Released 0 page(s)",
    "[    0.000000] Hypervisor detected: Xen PV",
    "[    1.136828] p2m virtual area at (____ptrval____), size is 40000000",
    "[    1.401457] Remapped 728641 page(s)",
  ]);
  assert.equal(r.header.policy, "linux-4.3");
  const est = (r.header.extra?.estimated ?? []) as { field: string; how: string }[];
  assert.match(
    est.find((e) => e.field === "policy")?.how ?? "",
    /^linux-4\.3: no 'Linux version' banner; line 2: Hypervisor detected: Xen PV/,
  );
});

Deno.test("a banner decides the policy; era lines then change nothing", () => {
  const r = importLines([
    "[    0.000000] Linux version 3.18.1 (gcc) #1 SMP",
    "[    0.000000] Remapped 0 page(s), last_pfn=262144",
    "[    0.000000] p2m virtual area at x, size is 200000",
  ]);
  assert.equal(r.header.policy, "linux-3.18");
  const est = (r.header.extra?.estimated ?? []) as { field: string }[];
  assert.ok(!est.some((e) => e.field === "policy"));
});
