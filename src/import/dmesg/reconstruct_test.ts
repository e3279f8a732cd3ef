import assert from "node:assert/strict";
import { DmesgImporter } from "./importer.ts";
import { boundByLastPfn, fillCutMap } from "./reconstruct.ts";

const T = (m: string) => `[    0.000000] ${m}`;

Deno.test("fillCutMap adds only proven RAM that no printed entry covers, page-aligned", () => {
  const printed = [
    { start: 0, size: 0xa0000, type: 1 },
    { start: 0xe0000, size: 0x20000, type: 2 },
  ];
  const r = fillCutMap(printed, [
    // Overlaps the reserved entry: only the part above it is added.
    { start: 0xf0000, end: 0x40000000, line: 5, text: "a" },
    // Already added by the line above: nothing twice.
    { start: 0x100000, end: 0x200000, line: 6, text: "b" },
    // Less than a page once aligned: nothing.
    { start: 0x40000800, end: 0x40000f00, line: 7, text: "c" },
  ]);
  assert.deepEqual(r.added.map((a) => [a.start, a.end, a.line]), [[0x100000, 0x3fffffff, 5]]);
  assert.deepEqual(r.entries.map((e) => [e.start, e.size, e.type]), [
    [0, 0xa0000, 1],
    [0xe0000, 0x20000, 2],
    [0x100000, 0x3ff00000, 1],
  ]);
});

Deno.test("a cut-off printed map is completed from NUMA node ranges, each entry with its line", () => {
  // Issue 11 item 5: memblock's node ranges come from the map's RAM entries, so RAM they show
  // beyond the printed entries is proven; the header says which line proved each entry.
  const imp = new DmesgImporter("cut.log");
  for (
    const l of [
      T("Linux version 3.17.0 (gcc) #1 SMP"),
      T("Released 0 page(s)"),
      T("e820: BIOS-provided physical RAM map:"),
      T("Xen: [mem 0x0000000000000000-0x000000000009ffff] usable"),
      T("Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved"),
      "# [...] the paste breaks off here",
      T("  node   0: [mem 0x00001000-0x0009ffff]"),
      T("  node   0: [mem 0x00100000-0x3fffffff]"),
      T("Booting paravirtualized kernel on Xen"),
    ]
  ) imp.push(l);
  const r = imp.finish();
  assert.deepEqual(r.header.extra?.reconstructed, [{
    what: "e820",
    start: "0x100000",
    end: "0x3fffffff",
    type: "ram",
    line: 8,
    text: "node   0: [mem 0x00100000-0x3fffffff]",
  }]);
  const ends = r.events.flatMap((e) =>
    e.kind === "e820" && e.map === "raw" ? [e.start + e.size] : []
  );
  assert.equal(ends.at(-1), 0x40000000);
  assert.ok(r.warnings.some((w) => /printed E820 map is incomplete: 1 RAM entry/.test(w)));
});

Deno.test("System RAM in a conflict message proves RAM the excerpt of the map left out", () => {
  const imp = new DmesgImporter("excerpt.log");
  for (
    const l of [
      T("ACPI in unprivileged domain disabled"),
      T("Released 0 page(s)"),
      T("Xen: [mem 0x0000000000000000-0x000000000009ffff] usable"),
      T("Xen: [mem 0x00000000c7ffc000-0x00000000c7ffcfff] reserved"),
      T(
        "pci 0000:00:00.4: can't claim BAR 0 [mem 0x90004000-0x90007fff 64bit pref]: " +
          "address conflict with System RAM [mem 0x90000000-0x97ffffff]",
      ),
    ]
  ) imp.push(l);
  const r = imp.finish();
  const rec = r.header.extra?.reconstructed as { start: string; end: string; line: number }[];
  assert.deepEqual(rec.map((e) => [e.start, e.end, e.line]), [["0x90000000", "0x97ffffff", 5]]);
});

Deno.test("boundByLastPfn: last_pfn is the end of the kernel map's RAM (e820_end_pfn), capped at max_arch_pfn", () => {
  // Kernel rule (arch/x86/kernel/e820.c e820_end_pfn): the highest (addr + size) >> PAGE_SHIFT of
  // the RAM entries, then min(that, max_arch_pfn); printed "last_pfn = %#lx max_arch_pfn = %#lx".
  const map = [
    { start: 0, size: 0xa0000, type: 1 },
    { start: 0x100000, size: 0x7ff00800, type: 1 }, // ends mid-page: the page is not counted
    { start: 0xfee00000, size: 0x1000, type: 2 }, // reserved above: not RAM
  ];
  const lp = (pfn: number, maxArchPfn = 2 ** 34) => ({ pfn, maxArchPfn, line: 9, text: "t" });
  assert.equal(boundByLastPfn(map, lp(0x80000))?.verdict, "agrees");
  assert.deepEqual(boundByLastPfn(map, lp(0x100000)), {
    verdict: "map-short",
    lastPfn: 0x100000,
    mapEndPfn: 0x80000,
    line: 9,
    text: "t",
  });
  assert.equal(boundByLastPfn(map, lp(0x40000))?.verdict, "map-beyond");
  // A capped value hides the real end: no verdict.
  assert.equal(boundByLastPfn(map, lp(0x1000000, 0x1000000)), undefined);
  assert.equal(boundByLastPfn([{ start: 0xa0000, size: 0x60000, type: 2 }], lp(0x100)), undefined);
});

Deno.test("a printed map that ends short of last_pfn is incomplete: said, estimated, and it bounds nr_pages", () => {
  // The excerpt of real log 32 (Debian 3.16 PV domU) with its last map entry cut off: the kernel's
  // own last_pfn proves RAM up to 0xfa000, the remaining entries stop at 0x100.
  const imp = new DmesgImporter("cut-32.log");
  for (
    const l of [
      T("Linux version 3.16.0-4-amd64 (debian-kernel@lists.debian.org) #1 SMP Debian 3.16.7"),
      T("ACPI in unprivileged domain disabled"),
      T("e820: BIOS-provided physical RAM map:"),
      T("Xen: [mem 0x0000000000000000-0x000000000009ffff] usable"),
      T("Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved"),
      "# [...] one line lost",
      T("e820: last_pfn = 0xfa000 max_arch_pfn = 0x400000000"),
    ]
  ) imp.push(l);
  const r = imp.finish();
  const said = /printed E820 map is incomplete: the kernel's RAM ends at pfn 0xfa000 \(line 7/;
  assert.ok(r.warnings.some((w) => said.test(w)), r.warnings.join("\n"));
  const est = r.header.extra?.estimated as { field: string; how: string }[];
  assert.ok(est.some((e) => e.field === "e820" && /last_pfn, line 7/.test(e.how)));
  // nr_pages' upper bound is the kernel map's RAM end, which last_pfn gives, not the cut map's.
  assert.equal(r.header.guest.nrPages, 0xfa000);
  // Nothing is invented: the raw map has only the printed RAM.
  assert.equal(r.header.extra?.reconstructed, undefined);
});

Deno.test("a printed map whose RAM ends at last_pfn is not flagged", () => {
  const imp = new DmesgImporter("whole.log");
  for (
    const l of [
      T("ACPI in unprivileged domain disabled"),
      T("Released 0 page(s)"),
      T("Xen: [mem 0x0000000000000000-0x000000000009ffff] usable"),
      T("Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved"),
      T("Xen: [mem 0x0000000000100000-0x00000000f9ffffff] usable"),
      T("e820: last_pfn = 0xfa000 max_arch_pfn = 0x400000000"),
    ]
  ) imp.push(l);
  const r = imp.finish();
  assert.equal(r.warnings.some((w) => /incomplete/.test(w)), false);
  const est = (r.header.extra?.estimated ?? []) as { field: string }[];
  assert.equal(est.some((e) => e.field === "e820"), false);
});
