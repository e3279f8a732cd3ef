import assert from "node:assert/strict";
import { parseResourceFile, splitResources } from "./pci.ts";

const line = (s: bigint, e: bigint, f: bigint) =>
  [s, e, f].map((v) => "0x" + v.toString(16).padStart(16, "0")).join(" ");

Deno.test("parseResourceFile() rejects flags at or above 2^32 and ends below starts", () => {
  assert.throws(() => parseResourceFile(line(0n, 0n, 1n << 32n) + "\n", "resource"), {
    message: `resource:1: expected IORESOURCE_* flags below 2^32, got "${line(0n, 0n, 1n << 32n)}"`,
  });
  assert.throws(() => parseResourceFile(line(0x2000n, 0x1000n, 0x200n) + "\n", "resource"), {
    message: `resource:1: expected an inclusive end not below the start, got ` +
      `"${line(0x2000n, 0x1000n, 0x200n)}"`,
  });
  assert.throws(() => parseResourceFile("", "resource"), {
    message: "resource:1: expected resource lines, got nothing",
  });
});

Deno.test("splitResources() keeps an UNSET BAR (flags without an address) and windows 13-16", () => {
  const lines = parseResourceFile(
    [
      line(0n, 0x3fffn, 0x20040200n),
      ...Array(12).fill(line(0n, 0n, 0n)),
      line(0xe000n, 0xefffn, 0x101n),
      line(0n, 0n, 0n),
      line(0n, 0n, 0n),
      line(0n, 0n, 0n),
    ].join("\n") + "\n",
    "resource",
  );
  const r = splitResources(lines);
  assert.deepEqual(r.bars, [{ index: 0, start: 0, end: 0x3fff, flags: 0x20040200 }]);
  assert.deepEqual(r.windows, [{ index: 13, start: 0xe000, end: 0xefff, flags: 0x101 }]);
  assert.equal(r.renumbered, false);
});
