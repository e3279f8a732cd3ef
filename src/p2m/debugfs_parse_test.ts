import assert from "node:assert/strict";
import { coalesce, dumpLines, dumpRangeAt, P2mDumpError, parseP2mDump } from "./debugfs_parse.ts";

const src = { file: "p2m" };

Deno.test("parseP2mDump() reads a v3.19+ list dump as half-open type ranges", () => {
  const dump = parseP2mDump([
    " [0x0->0x9e] pfn",
    " [0x9e->0x100] identity",
    " [0x100->0x80000] pfn",
    " [0x80000->0x80200] missing",
  ], src);
  assert.deepEqual(dump, {
    format: "list",
    endPfn: 0x80200,
    ranges: [
      { pfn: 0, endPfn: 0x9e, type: "pfn" },
      { pfn: 0x9e, endPfn: 0x100, type: "identity" },
      { pfn: 0x100, endPfn: 0x80000, type: "pfn" },
      { pfn: 0x80000, endPfn: 0x80200, type: "missing" },
    ],
  });
});

Deno.test("parseP2mDump() refines interleaved type and level lines into one set of ranges", () => {
  // As a v3.16 dom0 prints it: a type line first when both change at the same pfn.
  const dump = parseP2mDump([
    " [0x0->0x9e] pfn",
    " [0x9e->0x100] identity",
    " [0x100->0x80062] pfn",
    " [0x0->0x80200] level entry",
    " [0x80200->0xbf600] level middle",
    " [0x80062->0xbf780] missing",
    " [0xbf600->0xbf800] level entry",
    " [0xbf780->0x100000] identity",
    " [0xbf800->0x100000] level middle",
  ], src);
  assert.equal(dump.format, "tree");
  assert.equal(dump.endPfn, 0x100000);
  assert.equal(dump.inferredTail, undefined);
  assert.deepEqual(dump.ranges, [
    { pfn: 0, endPfn: 0x9e, type: "pfn", level: "entry" },
    { pfn: 0x9e, endPfn: 0x100, type: "identity", level: "entry" },
    { pfn: 0x100, endPfn: 0x80062, type: "pfn", level: "entry" },
    { pfn: 0x80062, endPfn: 0x80200, type: "missing", level: "entry" },
    { pfn: 0x80200, endPfn: 0xbf600, type: "missing", level: "middle" },
    { pfn: 0xbf600, endPfn: 0xbf780, type: "missing", level: "entry" },
    { pfn: 0xbf780, endPfn: 0xbf800, type: "identity", level: "entry" },
    { pfn: 0xbf800, endPfn: 0x100000, type: "identity", level: "middle" },
  ]);
});

Deno.test("parseP2mDump() types the unflushed tail of a tree dump as abnormal", () => {
  const dump = parseP2mDump([
    " [0x0->0x200] pfn",
    " [0x0->0x200] level entry",
    " [0x200->0x7cfffff] level top",
  ], src);
  assert.deepEqual(dump.inferredTail, { pfn: 0x200, endPfn: 0x7cfffff });
  assert.deepEqual(dump.ranges, [
    { pfn: 0, endPfn: 0x200, type: "pfn", level: "entry" },
    { pfn: 0x200, endPfn: 0x7cfffff, type: "abnormal", level: "top" },
  ]);
});

Deno.test("parseP2mDump() skips blank lines, accepts CRLF-trimmed and upper-case hex", () => {
  const dump = parseP2mDump(["", " [0x0->0xFF] pfn  ", "   "], src);
  assert.deepEqual(dump.ranges, [{ pfn: 0, endPfn: 0xff, type: "pfn" }]);
});

Deno.test("parseP2mDump() of an empty dump has no ranges", () => {
  assert.deepEqual(parseP2mDump([], src), { format: "list", ranges: [], endPfn: 0 });
});

Deno.test("parseP2mDump() rejects a line that is not a dump line, naming file and line", () => {
  assert.throws(
    () => parseP2mDump([" [0x0->0x10] pfn", "p2m dump follows"], { file: "x", firstLine: 5 }),
    (e: unknown) =>
      e instanceof P2mDumpError &&
      e.message ===
        'x:6: expected a p2m dump line " [0x<start>->0x<end>] <type>" or ' +
          '" [0x<start>->0x<end>] level <level>", got "p2m dump follows"',
  );
});

Deno.test("parseP2mDump() rejects unknown type and level names", () => {
  assert.throws(
    () => parseP2mDump([" [0x0->0x10] mfn"], src),
    { message: 'p2m:1: expected a type name (identity, missing, pfn, abnormal), got "mfn"' },
  );
  assert.throws(
    () => parseP2mDump([" [0x0->0x10] level leaf"], src),
    {
      message: 'p2m:1: expected a level name (top, middle, entry, abnormal, error), got "leaf"',
    },
  );
});

Deno.test("parseP2mDump() rejects gaps, overlaps and a first range not at 0", () => {
  assert.throws(() => parseP2mDump([" [0x10->0x20] pfn"], src), {
    message: "p2m:1: expected a range starting at 0x0 (the first type line starts at PFN 0), " +
      "got 0x10",
  });
  assert.throws(() => parseP2mDump([" [0x0->0x20] pfn", " [0x10->0x30] missing"], src), {
    message: "p2m:2: expected a range starting at 0x20 (where the previous type line ended), " +
      "got 0x10",
  });
  assert.throws(() => parseP2mDump([" [0x0->0x20] level top", " [0x30->0x40] level entry"], src), {
    message: "p2m:2: expected a range starting at 0x20 (where the previous level line ended), " +
      "got 0x30",
  });
});

Deno.test("parseP2mDump() rejects empty ranges and frames at or above 2^40", () => {
  assert.throws(() => parseP2mDump([" [0x0->0x0] pfn"], src), {
    message: "p2m:1: expected an exclusive end above the start 0x0, got 0x0",
  });
  assert.throws(() => parseP2mDump([" [0x0->0x10000000001] pfn"], src), {
    message: "p2m:1: expected an end PFN no greater than 2^40, got 0x10000000001",
  });
});

Deno.test("parseP2mDump() rejects type lines that outrun the level lines", () => {
  assert.throws(
    () => parseP2mDump([" [0x0->0x10] level entry", " [0x0->0x20] pfn"], src),
    {
      message: "p2m:2: expected level lines reaching PFN 0x20 like the type lines (the kernel " +
        "flushes the level at the last PFN), got level lines ending at 0x10",
    },
  );
});

Deno.test("parseP2mDump() names the trace line and lines[i] for an event's lines", () => {
  assert.throws(
    () => parseP2mDump([" [0x0->0x10] pfn", "junk"], { file: "t.jsonl", eventLine: 42 }),
    (e: unknown) =>
      e instanceof P2mDumpError && e.field === "lines[1]" &&
      e.message.startsWith('t.jsonl:42: field "lines[1]": expected a p2m dump line'),
  );
});

Deno.test("dumpRangeAt() finds the range of a PFN at range edges", () => {
  const dump = parseP2mDump([" [0x0->0x10] pfn", " [0x10->0x20] missing"], src);
  assert.equal(dumpRangeAt(dump, 0)?.type, "pfn");
  assert.equal(dumpRangeAt(dump, 0xf)?.type, "pfn");
  assert.equal(dumpRangeAt(dump, 0x10)?.type, "missing");
  assert.equal(dumpRangeAt(dump, 0x1f)?.type, "missing");
  assert.equal(dumpRangeAt(dump, 0x20), undefined);
});

Deno.test("coalesce() keeps ranges whose level differs", () => {
  assert.deepEqual(
    coalesce([
      { pfn: 0, endPfn: 2, type: "missing", level: "entry" },
      { pfn: 2, endPfn: 4, type: "missing", level: "middle" },
    ]).length,
    2,
  );
});

Deno.test("dumpLines() keeps a last line without newline and drops only the final empty one", () => {
  assert.deepEqual(dumpLines("a\nb"), ["a", "b"]);
  assert.deepEqual(dumpLines("a\n\n"), ["a", ""]);
  assert.deepEqual(dumpLines(""), []);
});

Deno.test("parseP2mDump() reads the fixture dump of the v3.16 dom0", async () => {
  const text = await Deno.readTextFile(
    new URL(
      "../../tests/fixtures/sysfs/dom0-3.16-bar-above-ram/sys/kernel/debug/xen/mmu/p2m",
      import.meta.url,
    ),
  );
  const dump = parseP2mDump(dumpLines(text), src);
  assert.equal(dump.format, "tree");
  assert.equal(dump.endPfn, 0x7cfffff);
  // The 64-bit prefetchable BAR of 0000:01:00.0 at 0x380000000 is identity (v3.16 marks
  // everything above the last E820 entry 1:1).
  assert.deepEqual(dumpRangeAt(dump, 0x380000), {
    pfn: 0x240000,
    endPfn: 0x7cfffff,
    type: "identity",
    level: "middle",
  });
});
