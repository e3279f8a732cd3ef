import assert from "node:assert/strict";
import {
  identityPagesOfPass,
  type MapEntry,
  reconstructRawMap,
  sanitizeRawMap,
  withheldFromDom0,
} from "./raw_map.ts";
import { KONRAD_2013_DOM0_E820 } from "../../../tests/support/real_maps.ts";

const KONRAD = KONRAD_2013_DOM0_E820;

const map = (rows: readonly (readonly [number, number, number])[]): MapEntry[] =>
  rows.map(([start, end, type]) => ({ start, size: end - start, type }));

Deno.test("the identity pass over Konrad's machine map gives the printed 283999 pages", () => {
  assert.equal(identityPagesOfPass(map(KONRAD), true), 283999);
});

Deno.test("the identity count rounds each chunk outward: PFN_DOWN of its start, PFN_UP of its end", () => {
  // a RAM entry starting mid-page ends the chunk at PFN_UP(0x100400) = 0x101: 0xa0..0x101
  const unalignedRam = map([[0, 0xa0000, 1], [0xa0000, 0x100000, 2], [0x100400, 0x200000, 1]]);
  assert.equal(identityPagesOfPass(unalignedRam, false), 97);
  // a RAM entry ending mid-page starts the chunk at PFN_DOWN(0x9fc00) = 0x9f: 0x9f..0x100
  const unalignedEnd = map([[0, 0x9fc00, 1], [0x9fc00, 0xa0000, 2], [0x100000, 0x200000, 1]]);
  assert.equal(identityPagesOfPass(unalignedEnd, false), 97);
  // a final non-RAM entry ending mid-page: PFN_UP(0x100800) = 0x101
  assert.equal(identityPagesOfPass(map([[0, 0x100000, 1], [0x100000, 0x100800, 2]]), false), 1);
});

Deno.test("a final non-RAM entry is part of the last chunk", () => {
  assert.equal(
    identityPagesOfPass(map([[0, 0x100000, 1], [0x100000, 0x101000, 2]]), false),
    1,
  );
});

Deno.test("dom0 treats unusable as RAM, a domU does not", () => {
  const m = map([[0, 0x100000, 1], [0x100000, 0x200000, 5], [0x200000, 0x300000, 1]]);
  assert.equal(identityPagesOfPass(m, true), 0);
  assert.equal(identityPagesOfPass(m, false), 0x100);
});

Deno.test("reconstructing dom0's raw map turns unusable back into RAM", () => {
  const printed = map([[0, 0x9e000, 1], [0x9ec00, 0x100000, 2], [0x100000, 0x80000000, 1], [
    0x80000000,
    0x100000000,
    5,
  ]]);
  const r = reconstructRawMap(printed, "dom0");
  assert.deepEqual(r.entries.map((e) => [e.start, e.size, e.type]), [
    [0, 0x9e000, 1],
    [0x9ec00, 0x61400, 2],
    [0x100000, 0xfff00000, 1],
  ]);
  assert.match(r.how, /unusable entries as RAM/);
});

Deno.test("a domU's ISA hole is merged back unless the printed count says otherwise", () => {
  const printed = map([[0, 0xa0000, 1], [0xa0000, 0x100000, 2], [0x100000, 0x40800000, 1]]);
  assert.deepEqual(reconstructRawMap(printed, "domU").entries, [{
    start: 0,
    size: 0x40800000,
    type: 1,
  }]);
  const kept = reconstructRawMap(printed, "domU", 96);
  assert.equal(kept.entries.length, 3);
  assert.match(kept.how, /ISA hole kept; its identity pass gives the printed 96/);
  const mismatch = reconstructRawMap(printed, "domU", 5);
  assert.match(mismatch.how, /gives 0 page\(s\), the log printed 5/);
});

Deno.test("sanitizeRawMap sorts and drops overlaps and empty entries", () => {
  const r = sanitizeRawMap([
    { start: 0x100000000, size: 0x30000000, type: 1 },
    { start: 0x120000000, size: 0x8000000, type: 2 },
    { start: 0, size: 0, type: 1 },
    { start: 0, size: 0x9f000, type: 1 },
  ]);
  assert.deepEqual(r.entries.map((e) => e.start), [0, 0x100000000]);
  assert.equal(r.dropped, 2);
});

// Xen 4.18 on EFI (real log 72): Xen's "EFI RAM map" has RAM to 0x9ffff, the kernel's map shows
// [0x80000, 0x100000) reserved: Xen kept [0x80000, 0xa0000) after printing its table. The
// kernel's "Remapped 440771 page(s)" counts those 32 pages; the table alone gives 440739.
Deno.test("withheldFromDom0() reserves table RAM the kernel's map shows reserved, not ISA or unusable", () => {
  const table = [
    { start: 0, size: 0xa0000, type: 1 },
    { start: 0xa0000, size: 0x60000, type: 2 },
    { start: 0x100000, size: 0x3ff00000, type: 1 },
  ];
  const printed = [
    { start: 0, size: 0x80000, type: 1 },
    { start: 0x80000, size: 0x80000, type: 2 },
    { start: 0x100000, size: 0x1ff00000, type: 1 },
    { start: 0x20000000, size: 0x20000000, type: 5 }, // unusable: the kernel's own clip
  ];
  const r = withheldFromDom0(table, printed);
  assert.deepEqual(r.withheld, [{ start: 0x80000, end: 0xa0000 }]);
  assert.deepEqual(r.entries.map((e) => [e.start, e.size, e.type]), [
    [0, 0x80000, 1],
    [0x80000, 0x20000, 2],
    [0xa0000, 0x60000, 2],
    [0x100000, 0x3ff00000, 1],
  ]);
  // The ISA reservation alone (every kernel adds it) changes nothing.
  const isaOnly = withheldFromDom0(table, [
    { start: 0, size: 0xa0000, type: 1 },
    { start: 0xa0000, size: 0x60000, type: 2 },
  ]);
  assert.deepEqual(isaOnly.withheld, []);
  assert.deepEqual(isaOnly.entries, table);
});
