import assert from "node:assert/strict";
import {
  formatUnrecognised,
  lineShape,
  MAX_LINES_PER_PATTERN,
  MAX_PATTERNS,
  UnrecognisedLines,
} from "./unrecognised.ts";

Deno.test("lines of the same shape are counted together with their first lines", () => {
  const u = new UnrecognisedLines();
  for (let i = 0; i < 8; i++) u.add(`Xen: [mem 0x${i}000-0x${i}fff] unusab`, 10 + i);
  u.add("e820: lacanning 1 areas", 3);
  const p = u.patterns();
  assert.equal(p.length, 2);
  assert.deepEqual([p[0].count, p[0].lines.length, p[0].lines[0]], [8, MAX_LINES_PER_PATTERN, 10]);
  assert.equal(u.total, 9);
});

Deno.test("the report is bounded: further shapes are counted as other", () => {
  const u = new UnrecognisedLines();
  const word = (i: number) =>
    [...i.toString(26)].map((d) => "klmnopqrstuvwxyzghijabcdef"[parseInt(d, 26)]).join("");
  for (let i = 0; i < MAX_PATTERNS + 5; i++) u.add(`xen oddity ${word(i)}`, i);
  assert.equal(u.patterns().length, MAX_PATTERNS);
  assert.equal(u.overflow, 5);
  assert.match(formatUnrecognised(u, "f"), /\(other patterns\)\n$/);
});

Deno.test("lineShape hides devices, buses and numbers", () => {
  assert.equal(
    lineShape("pci_bus 0000:84: busn_res: can not insert [bus 84-ff]"),
    "pci_bus <bus>: busn_res: can not insert [bus <n>-ff]",
  );
  assert.equal(
    lineShape("Freeing bad80-badf4 pfn range: 116 pages freed"),
    "Freeing <hex>-<hex> pfn range: <n> pages freed",
  );
});

Deno.test("nothing to report gives no text", () => {
  assert.equal(formatUnrecognised(new UnrecognisedLines(), "f"), "");
});

Deno.test("the report says so first when most relevant lines were not understood", () => {
  const u = new UnrecognisedLines();
  for (let i = 0; i < 6; i++) u.add(`Xen: [mem 0x${i}000-0x${i}fff] unusab`, 10 + i);
  assert.match(
    formatUnrecognised(u, "b.log", 10),
    /^b\.log: most relevant lines were not understood \(6 of 10\)/,
  );
  assert.match(formatUnrecognised(u, "b.log", 100), /^b\.log: 6 relevant line\(s\) not understood/);
});
