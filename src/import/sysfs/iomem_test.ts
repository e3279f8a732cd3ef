import assert from "node:assert/strict";
import { addressesHidden, hostBridgeWindows, parseIomem } from "./iomem.ts";

Deno.test("parseIomem() rejects a line that is not a resource line", () => {
  assert.throws(() => parseIomem("00000000-00000fff : reserved\nhello\n", "/proc/iomem"), {
    message: '/proc/iomem:2: expected a resource line "<start>-<end> : <name>", got "hello"',
  });
});

Deno.test("parseIomem() rejects indentation deeper than one level below its parent", () => {
  assert.throws(() => parseIomem("    00000000-00000fff : reserved\n", "/proc/iomem"), {
    message: "/proc/iomem:1: expected an indentation of two spaces per level, at most 0 " +
      "spaces here, got 4 spaces",
  });
});

Deno.test("hostBridgeWindows() finds root windows nested under e820 reserved ranges", () => {
  const roots = parseIomem(
    [
      "0009e000-000fffff : reserved",
      "  000a0000-000bffff : PCI Bus 0000:00",
      "c0000000-febfffff : PCI Bus 0000:00",
      "  f6000000-f70fffff : PCI Bus 0000:01",
      "d0000000-dfffffff : PCI Bus 0000:80",
    ].join("\n"),
    "/proc/iomem",
  );
  const w = hostBridgeWindows(roots, 0x200200);
  assert.deepEqual([...w.keys()], ["0000:00", "0000:80"]);
  assert.deepEqual(w.get("0000:00")?.map((r) => r.start), [0xa0000, 0xc0000000]);
});

Deno.test("addressesHidden() is false for an empty file and for real addresses", () => {
  assert.equal(addressesHidden([]), false);
  assert.equal(addressesHidden(parseIomem("00000000-00000fff : reserved\n", "x")), false);
});
