import assert from "node:assert/strict";
import { POLICIES, policyForKernel } from "./policies.ts";

Deno.test("policyForKernel follows docs/kernel-versions.md for every release from 2.6.32 to 6.x", () => {
  const table: [string, string][] = [
    ["2.6.32-5-xen-amd64", "linux-3.12"],
    ["3.0.101", "linux-3.12"],
    ["3.8.0upstream-06471", "linux-3.12"],
    ["3.12.6", "linux-3.12"],
    ["3.15.10", "linux-3.12"],
    ["3.16.0-4-amd64", "linux-3.16"],
    ["3.17.0-rc4-vgt+", "linux-3.16"],
    ["3.17.4", "linux-3.16"],
    ["3.18.30", "linux-3.18"],
    ["3.19.8", "linux-3.19"],
    ["4.0.5", "linux-3.19"],
    ["4.2.8", "linux-3.19"],
    ["4.3.0", "linux-4.3"],
    ["4.9.227", "linux-4.3"],
    ["5.10.13", "linux-4.3"],
    ["6.12.21-gentoo", "linux-4.3"],
  ];
  for (const [release, policy] of table) {
    assert.equal(policyForKernel(release), policy, release);
    assert.ok(POLICIES.has(policy), policy);
  }
  assert.equal(policyForKernel("unknown"), undefined);
});

Deno.test("each released kernel's policy runs its own era: structure, _PAGE_IOMAP, boot pass", () => {
  const era = (name: string) => POLICIES.get(name)!.base.kernel;
  assert.deepEqual(
    ["linux-3.12", "linux-3.16", "linux-3.18", "linux-3.19", "linux-4.3"].map((n) => [
      era(n).structure,
      era(n).pageIomap,
      era(n).bootPass,
    ]),
    [
      ["T12", true, "release-populate"],
      ["T16", true, "release-populate"],
      ["T16", false, "remap"],
      ["L19", false, "remap"],
      ["L19", false, "remap"],
    ],
  );
});
