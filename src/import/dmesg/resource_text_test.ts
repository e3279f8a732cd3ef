import assert from "node:assert/strict";
import { findResourceText, parseResourceText, resourceFlags } from "./resource_text.ts";

Deno.test("parseResourceText reads every %pR type word", () => {
  assert.equal(parseResourceText("[io  0x0000-0x0cf7]")?.type, "io");
  assert.equal(parseResourceText("[mem 0x000a0000-0x000bffff]")?.type, "mem");
  assert.deepEqual(
    [parseResourceText("[bus 00-ff]")?.start, parseResourceText("[bus 00-ff]")?.end],
    [0, 0xff],
  );
  const irq = parseResourceText("[irq 9]");
  assert.deepEqual([irq?.type, irq?.start, irq?.end], ["irq", 9, 9]);
  assert.equal(parseResourceText("[dma 4]")?.type, "dma");
});

Deno.test("parseResourceText keeps the attributes in kernel order", () => {
  const r = parseResourceText("[mem 0xfff00000-0x000fffff 64bit pref window disabled]");
  assert.deepEqual([r?.mem64, r?.pref, r?.window, r?.disabled], [true, true, true, true]);
  assert.ok(r!.end < r!.start, "a closed window prints base above limit");
  const w = parseResourceText("[mem 0xc0000000-0xfebfffff window]");
  assert.deepEqual([w?.window, w?.pref, w?.mem64, w?.disabled], [true, false, false, false]);
});

Deno.test("parseResourceText reads the size form as UNSET with start 0", () => {
  const r = parseResourceText("[mem size 0x00020000 64bit pref]");
  assert.deepEqual([r?.start, r?.end, r?.unset, r?.mem64, r?.pref], [0, 0x1ffff, true, true, true]);
  assert.equal(parseResourceText("[mem size 0x0]"), undefined);
});

Deno.test("parseResourceText reads %pr flags and unknown types", () => {
  assert.equal(parseResourceText("[mem 0xf0000000-0xf0ffffff flags 0x40200]")?.flags, 0x40200);
  const u = parseResourceText("[??? 0x00000000-0x00000fff flags 0x80000000]");
  assert.deepEqual([u?.type, u?.flags], ["unknown", 0x80000000]);
});

Deno.test("parseResourceText reads single addresses and bare ranges of old kernels", () => {
  const one = parseResourceText("[mem 0xfed00000]");
  assert.deepEqual([one?.start, one?.end], [0xfed00000, 0xfed00000]);
  const bare = parseResourceText("[0xfe000000-0xfe7fffff]");
  assert.deepEqual([bare?.type, bare?.start], ["unknown", 0xfe000000]);
});

Deno.test("parseResourceText clamps an end above 2^52 and rejects a start above it", () => {
  const r = parseResourceText("[mem 0x00000000-0xffffffffffffffff]");
  assert.deepEqual([r?.end, r?.clamped], [2 ** 52 - 1, true]);
  assert.equal(parseResourceText("[mem 0x10000000000000-0x10000000000fff]"), undefined);
});

Deno.test("parseResourceText rejects garbled text", () => {
  for (
    const t of [
      "[mem 0xzzzz0000-0xfebeffff pref]",
      "[mem 0xf0000000-0xf0ffffff sparkly]",
      "[mem 0xf0000000-",
      "[]",
      "[mem]",
      "[mem pref disabled]",
    ]
  ) assert.equal(parseResourceText(t), undefined, t);
});

Deno.test("findResourceText returns the text around the resource", () => {
  const f = findResourceText("BAR 0 [mem 0xf1800000-0xf1803fff 64bit]: assigned");
  assert.equal(f?.before, "BAR 0 ");
  assert.equal(f?.rest, ": assigned");
  assert.equal(findResourceText("no resource here"), undefined);
});

Deno.test("resourceFlags rebuilds the bits %pR does not print", () => {
  const f = (t: string, role: Parameters<typeof resourceFlags>[1]) =>
    resourceFlags(parseResourceText(t)!, role);
  assert.equal(f("[mem 0xf0000000-0xf0ffffff pref]", "bar"), 0x42208);
  assert.equal(f("[mem 0xf0000000-0xf0ffffff 64bit]", "bar"), 0x140204);
  assert.equal(f("[io  0x1000-0x1fff]", "bridge_window"), 0x100);
  assert.equal(f("[io  0x10000-0x1ffff]", "bridge_window"), 0x101);
  assert.equal(f("[mem 0xa0000000-0xafffffff pref]", "bridge_window"), 0x2200);
  assert.equal(f("[mem 0xfff00000-0x000fffff disabled]", "bridge_window"), 0x10000200);
  assert.equal(f("[io  0x0000-0x0cf7]", "root_window"), 0x100);
  assert.equal(f("[mem 0x380000000000-0x3807ffffffff window]", "root_window"), 0x200200);
  assert.equal(f("[mem 0xfebe0000-0xfebeffff pref]", "rom"), 0x4e200);
  assert.equal(f("[mem 0xf0000000-0xf0ffffff flags 0x1234]", "bar"), 0x1234);
});
