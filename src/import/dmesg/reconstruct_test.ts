import assert from "node:assert/strict";
import { DmesgImporter } from "./importer.ts";
import { fillCutMap } from "./reconstruct.ts";

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
