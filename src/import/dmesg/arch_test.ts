import assert from "node:assert/strict";
import { archCaveat, decideArch } from "./arch.ts";
import { DmesgImporter } from "./importer.ts";

const e = (arch: "x86_64" | "x86_32" | "x86_32_pae", proven: boolean, line: number) => ({
  arch,
  proven,
  line,
  text: `l${line}`,
});

Deno.test("decideArch: a kernel rule beats the release's name; PAE refines 32-bit", () => {
  // A release named x86_64 but max_arch_pfn 1 << 24 (MAX_ARCH_PFN of a 32-bit PAE kernel).
  assert.deepEqual(decideArch([e("x86_64", false, 1), e("x86_32_pae", true, 9)]), {
    arch: "x86_32_pae",
    confidence: "proven",
    because: ["line 9: l9"],
  });
  assert.equal(decideArch([e("x86_32", true, 3), e("x86_32_pae", false, 1)]).arch, "x86_32_pae");
  assert.equal(decideArch([e("x86_32", false, 1)]).confidence, "likely");
  assert.equal(decideArch([e("x86_64", true, 2)]).arch, "x86_64");
  // Two kernels in one file: kept 32-bit (cautious) and said to conflict.
  const both = decideArch([e("x86_64", true, 2), e("x86_32", true, 40)]);
  assert.deepEqual([both.arch, both.confidence], ["x86_32", "conflicting"]);
  assert.equal(archCaveat(decideArch([])), undefined);
});

Deno.test("a 32-bit PAE guest is recorded as such, estimated as x86_64 and warned about", () => {
  // The lines real log 41 (2.6.35 i686 PAE on EC2) prints: MAX_ARCH_PFN 1 << (36 - 12), HIGHMEM
  // and LOWMEM (32-bit arch/x86/mm only), the HighMem zone (ZONE_HIGHMEM: 32-bit x86 only).
  const imp = new DmesgImporter("pae.log");
  for (
    const l of [
      " Linux version 2.6.35.11-83.9.amzn1.i686 (mockbuild@build) (gcc version 4.4.4) #1 SMP",
      " ACPI in unprivileged domain disabled",
      " released 0 pages of unused memory",
      " BIOS-provided physical RAM map:",
      "  Xen: 0000000000000000 - 00000000000a0000 (usable)",
      "  Xen: 00000000000a0000 - 0000000000100000 (reserved)",
      "  Xen: 0000000000100000 - 0000000026700000 (usable)",
      " last_pfn = 0x26700 max_arch_pfn = 0x1000000",
      " 0MB HIGHMEM available.",
      " 615MB LOWMEM available.",
    ]
  ) imp.push(l);
  const r = imp.finish();
  const arch = r.header.extra?.kernel_arch as { arch: string; confidence: string };
  assert.deepEqual([arch.arch, arch.confidence], ["x86_32_pae", "proven"]);
  assert.equal(r.header.guest.arch, "x86_64"); // what the model replays
  const est = r.header.extra?.estimated as { field: string; how: string }[];
  assert.ok(est.some((x) => x.field === "arch" && /32-bit PAE .*not modelled/.test(x.how)));
  assert.ok(r.warnings.some((w) => /32-bit PAE/.test(w)));
  assert.ok(r.events.some((x) => x.kind === "mark" && /32-bit PAE/.test(x.text)));
});

Deno.test("an x86_64 guest gets no arch caveat", () => {
  const imp = new DmesgImporter("x64.log");
  for (
    const l of [
      "[    0.000000] ACPI in unprivileged domain disabled",
      "[    0.000000] Released 0 page(s)",
      "[    0.000000] Xen: [mem 0x0000000000000000-0x000000007fffffff] usable",
      "[    0.000000] e820: last_pfn = 0x80000 max_arch_pfn = 0x400000000",
    ]
  ) imp.push(l);
  const r = imp.finish();
  assert.equal((r.header.extra?.kernel_arch as { arch: string }).arch, "x86_64");
  const est = (r.header.extra?.estimated ?? []) as { field: string }[];
  assert.equal(est.some((x) => x.field === "arch"), false);
});
