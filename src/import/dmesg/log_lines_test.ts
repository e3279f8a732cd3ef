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
