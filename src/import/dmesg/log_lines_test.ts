import assert from "node:assert/strict";
import { LogLineSplitter } from "./log_lines.ts";
import { utf16 } from "../../../tests/support/utf16.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("lines split across chunks, CRLF and a last line without newline", () => {
  const s = new LogLineSplitter();
  const out = [...s.push(enc("one\r\ntw")), ...s.push(enc("o\n\nthree\r")), ...s.end()];
  assert.deepEqual(out, ["one", "two", "", "three"]);
});

Deno.test("a multi-byte character split between chunks survives", () => {
  const bytes = enc("café\n");
  const s = new LogLineSplitter();
  const out = [...s.push(bytes.subarray(0, 4)), ...s.push(bytes.subarray(4)), ...s.end()];
  assert.deepEqual(out, ["café"]);
});

Deno.test("an overlong line is cut, never accumulated", () => {
  const s = new LogLineSplitter(10);
  const out = [
    ...s.push(enc("0123456789abcdef")),
    ...s.push(enc("ghij".repeat(1000))),
    ...s.push(enc("\nnext\n")),
    ...s.end(),
  ];
  assert.deepEqual(out, ["0123456789", "next"]);
});

Deno.test("invalid UTF-8 becomes replacement characters", () => {
  const s = new LogLineSplitter();
  assert.deepEqual([...s.push(new Uint8Array([0x61, 0xff, 0x0a])), ...s.end()], ["a\ufffd"]);
});

Deno.test("a lone CR ends a line (old Mac, some serial captures), as LF and CRLF do", () => {
  const s = new LogLineSplitter();
  const out = [...s.push(enc("one\rtwo\r\rthree\r")), ...s.push(enc("four")), ...s.end()];
  assert.deepEqual(out, ["one", "two", "", "three", "four"]);
});

Deno.test("CR then LF split between chunks is one line end; a run of CRs before LF too", () => {
  const s = new LogLineSplitter();
  const out = [
    ...s.push(enc("one\r")),
    ...s.push(enc("\ntwo\r\r")),
    ...s.push(enc("\nthree\r")),
    ...s.end(),
  ];
  assert.deepEqual(out, ["one", "two", "three"]);
});

Deno.test("an overlong CR-terminated line is cut and the next line kept", () => {
  const s = new LogLineSplitter(4);
  const out = [...s.push(enc("0123456789\rnext\r")), ...s.end()];
  assert.deepEqual(out, ["0123", "next"]);
});

Deno.test("UTF-16 logs (a BOM, or NULs in every pair) read as text, in any chunking", () => {
  const text = "[    0.000000] Linux version 6.1.0 — test\r\n".repeat(40) + "last";
  const want = [...Array(40)].map(() => "[    0.000000] Linux version 6.1.0 — test").concat("last");
  for (const [little, bom] of [[true, true], [false, true], [true, false], [false, false]]) {
    const bytes = utf16(text, little, bom);
    for (const size of [1, 3, 511, 512, 4096, bytes.length]) {
      const s = new LogLineSplitter();
      const out: string[] = [];
      for (let i = 0; i < bytes.length; i += size) out.push(...s.push(bytes.subarray(i, i + size)));
      out.push(...s.end());
      assert.deepEqual(out, want, `little ${little}, bom ${bom}, chunks of ${size}`);
    }
  }
});

Deno.test("a short log and a UTF-8 BOM; binary data stays UTF-8 (its NULs mark it garbled)", () => {
  const s = new LogLineSplitter();
  assert.deepEqual([...s.push(enc("\ufeffa\nb")), ...s.end()], ["a", "b"]);
  const bin = new Uint8Array(600).map((_, i) => (i % 7 === 0 ? 0 : i % 3 === 0 ? 0 : 0x41));
  const b = new LogLineSplitter();
  assert.ok([...b.push(bin), ...b.end()].join("").includes("\u0000"));
});

/** All lines of `text` through a splitter, fed in chunks of `size` bytes. */
function splitAll(text: string, size: number, maxLine?: number): string[] {
  const s = new LogLineSplitter(maxLine);
  const bytes = enc(text);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...s.push(bytes.subarray(i, i + size)));
  return [...out, ...s.end()];
}

Deno.test("a log flattened into one paragraph gives its lines back, at the kernel's prefixes", () => {
  const lines = [
    "[    0.000000] Linux version 6.1.0 (gcc) #1 SMP",
    "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
    "<6>[    0.000001] Released 0 page(s)",
    "(XEN) Command line: dom0_mem=4096M,max:4096M",
    "(XEN) (d1) [    0.100000] Linux version 5.10",
    "Nov 24 10:00:00 host kernel: [    1.500000] xen:balloon: Initialising balloon driver",
    "2022-09-19T20:25:36+0200 host kernel: Remapped 12 page(s)",
    "[Tue Nov 24 10:00:00 2026] Set 96 page(s) to 1-1 mapping",
    "> [    2.000000] pci 0000:00:02.0: reg 0x10: [mem 0xf0000000-0xf0ffffff]",
    "> > [    2.000001] pcifront pci-0: claiming resource 0000:00:00.0/0",
  ];
  // Chunks of every size, and a bound far below the paragraph's length: the boundaries are
  // found while the run streams, never after it was cut.
  for (const size of [7, 100, 4096]) {
    assert.deepEqual(splitAll(lines.join(" "), size, 200), lines, `chunks of ${size}`);
  }
  // A flattening that lost the blank too, before a printk time.
  assert.deepEqual(splitAll("[    0.5] a usable[    0.600000] b", 5), [
    "[    0.5] a usable",
    "[    0.600000] b",
  ]);
});

Deno.test("every kind of line start is found after a message, in a line of its own kind", () => {
  // One per prefix the kernel, Xen and the log tools put first on a line. lineStarts scans
  // each line first for a cheap hint of a start; a kind the hint missed would stay joined.
  const starts = [
    "[    1.000000] b",
    "[ +0.000012] b", // dmesg -d/-x delta
    "<6>[    1.0] b",
    "<4>xen: b",
    "<30>1 2026-12-07T10:00:00Z host kernel - - - b",
    "(XEN) b",
    "(early) b",
    "(d1) b",
    "(d12v3) b",
    "Nov 24 10:00:00 host kernel: b",
    "Nov 24 10:00:00.123 host kernel: b",
    "2022-09-19T20:25:36+0200 host kernel: b",
    "2022-09-19 20:25:36Z host kernel: b",
    "2022-09-19T20:25:36.5-07:00 host kernel: b",
    "[Tue Nov 24 10:00:00 2026] b",
    "-- Boot 0123456789abcdef0123456789abcdef --",
    "-- Reboot --",
    "-- Logs begin at Mon 2026-12-07. --",
    "-- Journal begins at Mon 2026-12-07. --",
    "-- No entries --",
  ];
  for (const start of starts) {
    for (const first of ["a", "a usable", "Xen: [mem 0x0-0x9ffff] usable", "pci 0000:01:00.0 up"]) {
      assert.deepEqual(splitAll(`${first} ${start}`, 5), [first, start], `${first} | ${start}`);
    }
  }
});

Deno.test("stacked prefixes of one line are not line starts; a message mentioning none either", () => {
  for (
    const line of [
      "(XEN) (d1) [    0.000000] Linux version 5.10",
      "<6>[    0.000000] Linux version 6.1",
      "Nov 24 10:00:00 host kernel: [    1.500000] Released 0 page(s)",
      "(d2v0) Nov 24 10:00:00 host kernel: <6>[    1.500000] x",
      "[    3.000000] (XEN) [    3.412001] Dom0 alloc.: 1 pages",
      "&lt;6&gt;[    0.000000] Linux version 6.1",
      "[    0.000000] rtc_cmos 00:02: setting system clock to 2022-09-19T18:25:36 UTC (1663611936)",
      "[    0.000000] 1-1 mapping on 9e->100 > 5",
    ]
  ) {
    assert.deepEqual(splitAll(line, 3), [line]);
  }
});

Deno.test("a gigabyte-style run with no line start is cut once and counted, in bounded memory", () => {
  const s = new LogLineSplitter(100);
  const chunk = enc("x".repeat(65536));
  const out: string[] = [...s.push(enc("[    0.000000] a\n"))];
  // 64 MiB of one line in 64 KiB chunks: only the first 100 characters are kept.
  for (let i = 0; i < 1024; i++) out.push(...s.push(chunk));
  out.push(...s.push(enc(" [    9.000000] after the run\nnext\n")), ...s.end());
  assert.deepEqual(out, [
    "[    0.000000] a",
    "x".repeat(100),
    "[    9.000000] after the run",
    "next",
  ]);
  assert.deepEqual(s.cuts, { count: 1, firstLine: 2 });
});

Deno.test("a line start cut by a chunk edge while a cut line is dropped is still found", () => {
  const text = "y".repeat(50) + " [    7.000000] z\n";
  for (const size of [1, 2, 13, 49, 55, 60]) {
    assert.deepEqual(
      splitAll(text, size, 20),
      ["y".repeat(20), "[    7.000000] z"],
      `size ${size}`,
    );
  }
});
