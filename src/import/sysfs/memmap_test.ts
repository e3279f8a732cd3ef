import assert from "node:assert/strict";
import { parseMemmapEntry, reconstructRawMap } from "./memmap.ts";
import { SysfsFormatError } from "./format_error.ts";

Deno.test("reconstructRawMap() keeps a domU's unusable ranges below its last RAM", () => {
  const saved = [
    { start: 0x0, end: 0x9ffff, type: 1 },
    { start: 0x795bc000, end: 0x7969ffff, type: 5 },
    { start: 0x100000000, end: 0x18ffffffff, type: 1 },
    { start: 0x1900000000, end: 0x19ffffffff, type: 5 },
  ];
  const raw = reconstructRawMap(saved, { type: "pv", domain: "domU" });
  assert.deepEqual(raw.entries, [
    { start: 0x0, end: 0x9ffff, type: 1 },
    { start: 0x795bc000, end: 0x7969ffff, type: 5 },
    { start: 0x100000000, end: 0x19ffffffff, type: 1 },
  ]);
});

Deno.test("reconstructRawMap() keeps the ISA hole when RAM does not touch it", () => {
  const saved = [
    { start: 0x0, end: 0x9efff, type: 1 },
    { start: 0xa0000, end: 0xfffff, type: 2 },
    { start: 0x100000, end: 0x3fffffff, type: 1 },
  ];
  const raw = reconstructRawMap(saved, { type: "pv", domain: "domU" });
  assert.equal(raw.entries.length, 3);
  assert.deepEqual(raw.notes, []);
});

Deno.test("reconstructRawMap() takes an HVM guest's map as is, clipping overlaps", () => {
  const saved = [
    { start: 0x0, end: 0x9ffff, type: 1 },
    { start: 0x9f000, end: 0xfffff, type: 2 },
    { start: 0x100000, end: 0x1fffff, type: 5 },
  ];
  const raw = reconstructRawMap(saved, { type: "hvm", domain: "domU" });
  assert.deepEqual(raw.entries, [
    { start: 0x0, end: 0x9ffff, type: 1 },
    { start: 0xa0000, end: 0xfffff, type: 2 },
    { start: 0x100000, end: 0x1fffff, type: 5 },
  ]);
  assert.deepEqual(raw.notes, ["e820: [0x9f000-0xfffff] overlaps [0x0-0x9ffff]; clipped"]);
});

Deno.test("parseMemmapEntry() rejects an end below the start, naming the file", () => {
  assert.throws(
    () => parseMemmapEntry(4, { start: "0x2000\n", end: "0x1fff\n", type: "reserved\n" }),
    (e: unknown) =>
      e instanceof SysfsFormatError &&
      e.message === "/sys/firmware/memmap/4/end:1: expected an inclusive end not below start " +
          '0x2000, got "0x1fff"',
  );
});

Deno.test("parseMemmapEntry() maps unknown type strings to reserved and keeps the name", () => {
  const e = parseMemmapEntry(0, { start: "0x0\n", end: "0xfff\n", type: "Unknown E820 type\n" });
  assert.equal(e.type, 2);
  assert.equal(e.typeName, "Unknown E820 type");
});
