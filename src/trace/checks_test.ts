// Both sides of every check that spans records (format v1, traces/README.md): what must be
// accepted next to what must be rejected, read through the strict reader as a user's file is.
import assert from "node:assert/strict";
import { CutOffError, TraceError } from "../errors.ts";
import { TraceReader } from "./read.ts";
import { MAX_E820_ENTRIES } from "./checks.ts";

const HEADER = '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
  '"guest":{"type":"pv","domain":"domU","nr_pages":"0x1000"}}';

/** Reads a trace whose body is `lines`; returns the event count or the error. */
async function read(lines: string[], terminated = true): Promise<number | Error> {
  const text = [HEADER, ...lines].join("\n") + (terminated ? "\n" : "");
  const r = TraceReader.fromText("t.jsonl", text);
  let n = 0;
  try {
    for await (const b of r.batches()) n += b.length;
  } catch (e) {
    return e as Error;
  }
  return n;
}

const mark = (seq: number) => `{"seq":${seq},"kind":"mark","text":"m"}`;
const e820 = (seq: number, start: number, size: number) =>
  `{"seq":${seq},"kind":"e820","start":"0x${start.toString(16)}","size":"0x${
    size.toString(16)
  }","type":"ram"}`;

function assertTraceError(got: number | Error, line: number, field: string | undefined) {
  assert.ok(got instanceof TraceError, `expected a TraceError, got ${got}`);
  assert.equal(got.position.line, line);
  assert.equal(got.field, field);
}

Deno.test("seq must increase: a larger seq is read, an equal or a smaller one is malformed", async () => {
  assert.equal(await read([mark(1), mark(5), mark(6)]), 3);
  assertTraceError(await read([mark(1), mark(5), mark(5)]), 4, "seq");
  assertTraceError(await read([mark(1), mark(5), mark(4)]), 4, "seq");
  assertTraceError(await read([mark(7), mark(2)]), 3, "seq");
});

Deno.test("the end record counts exactly the events before it: more or fewer is malformed", async () => {
  assert.equal(await read([mark(1), mark(2), '{"kind":"end","events":2}']), 2);
  assertTraceError(await read([mark(1), mark(2), '{"kind":"end","events":3}']), 4, "events");
  assertTraceError(await read([mark(1), mark(2), '{"kind":"end","events":1}']), 4, "events");
  assertTraceError(await read([mark(1), mark(2), '{"kind":"end","events":0}']), 4, "events");
});

Deno.test("the end record is last: a blank line may follow it, a record may not", async () => {
  assert.equal(await read([mark(1), '{"kind":"end","events":1}', "", "  "]), 1);
  assertTraceError(await read([mark(1), '{"kind":"end","events":1}', mark(2)]), 4, undefined);
});

Deno.test("raw E820 entries may touch but not overlap, not even by one byte", async () => {
  assert.equal(await read([e820(1, 0, 0x1000), e820(2, 0x1000, 0x1000)]), 2);
  assertTraceError(await read([e820(1, 0, 0x1001), e820(2, 0x1000, 0x1000)]), 3, "start");
  assertTraceError(await read([e820(1, 0x1000, 0x1000), e820(2, 0, 0x1001)]), 3, "start");
  // a printed (sanitized) map may repeat the raw one: only raw entries are checked
  const printed =
    '{"seq":3,"kind":"e820","map":"kernel","start":"0x0","size":"0x1000","type":"ram"}';
  assert.equal(await read([e820(1, 0, 0x1000), e820(2, 0x1000, 0x1000), printed]), 3);
});

Deno.test("at most MAX_E820_ENTRIES raw E820 entries are read; one more is malformed", async () => {
  const entries = Array.from(
    { length: MAX_E820_ENTRIES + 1 },
    (_, i) => e820(i + 1, i * 0x1000, 0x1000),
  );
  assert.equal(await read(entries.slice(0, MAX_E820_ENTRIES)), MAX_E820_ENTRIES);
  assertTraceError(await read(entries), MAX_E820_ENTRIES + 2, undefined);
});

Deno.test("a last line cut off without a newline is a cut-off recording; a terminated bad line is malformed", async () => {
  const cut = await read([mark(1), mark(2), '{"seq":3,"kind":"ma'], false);
  assert.ok(cut instanceof CutOffError, `got ${cut}`);
  assert.equal(cut.eventsRead, 2);
  const bad = await read([mark(1), mark(2), '{"seq":3,"kind":"ma'], true);
  assert.ok(bad instanceof TraceError && !(bad instanceof CutOffError), `got ${bad}`);
  assert.equal(bad.position.line, 4);
});

Deno.test("a PFN range is non-empty and below 2^40; a pfns list names each PFN once", async () => {
  const ident = (pfn: string, end: string) =>
    `{"seq":1,"kind":"set_identity","pfn":"${pfn}","end_pfn":"${end}"}`;
  assert.equal(await read([ident("0x10", "0x11")]), 1);
  assertTraceError(await read([ident("0x10", "0x10")]), 2, "end_pfn");
  assert.equal(await read([ident("0xffffffffff", "0x10000000000")]), 1);
  assert.ok(await read([ident("0x10000000000", "0x10000000001")]) instanceof TraceError);
  const pfns = (list: string) => `{"seq":1,"kind":"decrease_reservation","pfns":[${list}]}`;
  assert.equal(await read([pfns('"0x5","0x6"')]), 1);
  assert.ok(await read([pfns('"0x5","0x5"')]) instanceof TraceError);
});

Deno.test("a resource's end is inclusive: [start, end] of one byte has size 1", async () => {
  // An e820 event given by start and inclusive end: 0x0-0xfff is one page, touching 0x1000.
  const byEnd = '{"seq":1,"kind":"e820","start":"0x0","end":"0xfff","type":"ram"}';
  assert.equal(await read([byEnd, e820(2, 0x1000, 0x1000)]), 2);
  const r = TraceReader.fromText("t.jsonl", [HEADER, byEnd].join("\n") + "\n");
  for await (const b of r.batches()) {
    const e = b[0];
    assert.ok(e.kind === "e820");
    assert.equal(e.size, 0x1000);
  }
});

Deno.test("a file whose lines end in a bare CR is refused as CR line ends, not as a cut-off line", async () => {
  // Classic Mac line ends: no LF anywhere, so the whole file is one line of records.
  const text = [HEADER, mark(1), mark(2)].join("\r") + "\r";
  let err: unknown;
  try {
    for await (const _ of TraceReader.fromText("cr.jsonl", text).batches()) { /* read all */ }
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof TraceError, `got ${err}`);
  assert.equal(err.position.line, 1);
  assert.match(err.message, /bare carriage returns \(CR line ends\)/);
  // CRLF stays valid.
  assert.equal(await read([mark(1), mark(2)].map((l) => l + "\r")), 2);
});
