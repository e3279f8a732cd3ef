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

Deno.test("splitResources: the last four lines are the bridge windows (13-16) in a file of 11 lines (no SR-IOV) and of 17", () => {
  // sysfs `resource` prints PCI_NUM_RESOURCES lines: 6 BARs, the ROM, 6 IOV BARs when
  // CONFIG_PCI_IOV is set, then the 4 bridge windows.
  const file = (n: number, at: number) => {
    const lines = Array.from({ length: n }, (_, index) => ({ index, start: 0, end: 0, flags: 0 }));
    lines[at] = { index: at, start: 0xf6000000, end: 0xf70fffff, flags: 0x200 };
    return lines;
  };
  const noIov = splitResources(file(11, 8));
  assert.deepEqual(noIov.windows.map((r) => r.index), [14]);
  assert.deepEqual(noIov.bars, []);
  assert.equal(noIov.renumbered, true);
  const iov = splitResources(file(17, 14));
  assert.deepEqual(iov.windows.map((r) => r.index), [14]);
  assert.equal(iov.renumbered, false);
  // in a 17-line file line 8 is an IOV BAR, not a window
  assert.deepEqual(splitResources(file(17, 8)).bars.map((r) => r.index), [8]);
});
