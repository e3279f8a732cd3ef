import assert from "node:assert/strict";
import { e820TypeFromText, looksLikeE820, parseKernelE820, parseXenE820Row } from "./e820_text.ts";

Deno.test("parseKernelE820 reads the v3.8+ [mem] form with an inclusive end", () => {
  assert.deepEqual(
    parseKernelE820("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"),
    { who: "BIOS-e820", start: 0, size: 0x9fc00, type: 1 },
  );
  assert.deepEqual(parseKernelE820("user: [mem 0x0000000000100000-0x000000005fffffff] usable"), {
    who: "user",
    start: 0x100000,
    size: 0x5ff00000,
    type: 1,
  });
  assert.equal(
    parseKernelE820("reserve setup_data: [mem 0x0000000000100000-0x0000000000100fff] usable")
      ?.who,
    "reserve setup_data",
  );
  assert.equal(
    parseKernelE820("e820: [mem 0x0000000000000000-0x0000000000000fff] reserved")?.who,
    "e820",
  );
});

Deno.test("parseKernelE820 reads the pre-3.8 form with an exclusive end", () => {
  assert.deepEqual(parseKernelE820("BIOS-e820: 0000000000000000 - 000000000009f000 (usable)"), {
    who: "BIOS-e820",
    start: 0,
    size: 0x9f000,
    type: 1,
  });
  assert.deepEqual(parseKernelE820("Xen: 00000000dfe90000 - 00000000dfea3000 (ACPI data)"), {
    who: "Xen",
    start: 0xdfe90000,
    size: 0x13000,
    type: 3,
  });
});

Deno.test("parseKernelE820 rejects truncated, reversed and non-map lines", () => {
  for (
    const t of [
      "Xen: [mem 0x0000000000100000-0x00000000",
      "Xen: [mem 0x0000000000100000-0x000000000000ffff] usable",
      "Xen: [mem 0x0000000100000000-0x000000012fffffff] unusab",
      "[mem 0x90000000-0xc7ffbfff] available for PCI devices",
      "e820: update [mem 0x00000000-0x00000fff] usable ==> reserved",
    ]
  ) assert.equal(parseKernelE820(t), undefined, t);
});

Deno.test("parseXenE820Row reads both Xen table forms", () => {
  assert.deepEqual(parseXenE820Row("00000000bae7f000 - 00000000bb000000 (usable)"), {
    who: "xen-table",
    start: 0xbae7f000,
    size: 0x181000,
    type: 1,
  });
  assert.deepEqual(parseXenE820Row("[000000fd00000000, 000000ffffffffff] (reserved)"), {
    who: "xen-table",
    start: 0xfd00000000,
    size: 0x300000000,
    type: 2,
  });
  assert.equal(parseXenE820Row("00000000fee00000 - 00000000fee0 (reserved)"), undefined);
});

Deno.test("e820TypeFromText knows every printed type name", () => {
  assert.deepEqual(
    [
      "usable",
      "reserved",
      "ACPI data",
      "ACPI NVS",
      "unusable",
      "persistent (type 7)",
      "type 20",
      "soft reserved",
    ].map(e820TypeFromText),
    [1, 2, 3, 4, 5, 7, 20, 0xefffffff],
  );
  assert.equal(e820TypeFromText("type 0"), undefined);
});

Deno.test("looksLikeE820 spots cut-off map lines for the report", () => {
  assert.equal(looksLikeE820("BIOS-e820: [mem 0x000000000009fc00-0x00000000000"), true);
  assert.equal(looksLikeE820(" Xen: 0000000000000000 - 0000".trim()), true);
  assert.equal(looksLikeE820("Xen version: 4.1.2"), false);
});

Deno.test("parseXenE820Row reads a type Xen has no name for, printed bare as 'type N'", () => {
  // xen/arch/x86/e820.c print_e820_memory_map: the five known types are printed "(usable)",
  // "(reserved)"...; its default case prints "type %u" without parentheses.
  assert.deepEqual(parseXenE820Row("00000000dfe9e000 - 00000000dfea0000 type 9"), {
    who: "xen-table",
    start: 0xdfe9e000,
    size: 0x2000,
    type: 9,
  });
  assert.deepEqual(parseXenE820Row("[0000000100000000, 000000017fffffff] type 12"), {
    who: "xen-table",
    start: 0x100000000,
    size: 0x80000000,
    type: 12,
  });
  assert.equal(parseXenE820Row("0000000000000000 - 000000000009ec00 typo 9"), undefined);
});
