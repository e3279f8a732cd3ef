import assert from "node:assert/strict";
import { LogLineSplitter } from "./log_lines.ts";

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
