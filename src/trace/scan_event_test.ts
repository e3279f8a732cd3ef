import fc from "fast-check";
import assert from "node:assert/strict";
import { decodeBatches, EventEncoder } from "./event_codec.ts";
import { LineEncoder, SCANNED_KINDS } from "./scan_event.ts";
import { sameRecords } from "../../tests/support/same_records.ts";
import { parseRecord, TraceReader } from "./read.ts";
import { validateEvent } from "./validate.ts";
import { generateTrace } from "../gen/trace_gen.ts";
import { bundledTraces } from "../../tests/cli_helpers.ts";
import "../../tests/support/repo_root.ts";

/** The bytes `encoder` holds once its open batch is ended. */
function bytes(enc: EventEncoder): Uint8Array {
  enc.endBatch();
  const buf = new ArrayBuffer(enc.byteLength);
  enc.writeTo(buf);
  return new Uint8Array(buf);
}

/** What the reader makes of an event line: its record, or undefined when it rejects it. */
function readerRecord(text: string, line: number) {
  try {
    const obj = parseRecord(text);
    if ((obj as { kind?: unknown })?.kind === "end") return undefined;
    return validateEvent({ file: "t", line }, obj);
  } catch {
    return undefined;
  }
}

/**
 * The scanner's contract: it takes a line only when the reader would accept it, and then writes
 * exactly the bytes the encoder writes for the reader's record; a line it leaves writes nothing.
 * Returns whether it took the line.
 */
function sameAsReader(text: string, line = 7): boolean {
  const scanned = new EventEncoder();
  const seq = new LineEncoder(scanned).take(text, line);
  const e = readerRecord(text, line);
  if (seq < 0) {
    assert.equal(scanned.byteLength, new EventEncoder().byteLength, `left ${text} but wrote`);
    assert.equal(scanned.openEvents, 0);
    return false;
  }
  assert.ok(e !== undefined, `took a line the reader rejects: ${text}`);
  assert.equal(seq, e.seq, `seq of ${text}`);
  const read = new EventEncoder();
  read.event(e);
  assert.deepEqual(bytes(scanned), bytes(read), `encoding of ${text}`);
  return true;
}

Deno.test("scan_event takes the plain lines of the hot kinds, with every optional field", () => {
  for (
    const line of [
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x10"}',
      '{"seq":2,"time":301.099276,"kind":"decrease_reservation","pfn":"0x10","scratch_mfn":"0x1f3e0"}',
      '{"seq":3,"time":0.0,"kind":"increase_reservation","pfns":["0x8ae1c","0x8ae1d","0x8ae30","0x8ae1b"],"mfn":"0x2f33ec"}',
      '{"seq":4,"time":7,"kind":"balloon_retrieve","pfn":"0XABCdef","mfn":"0xffffffffff"}',
      '{"seq":5,"kind":"balloon_append","pfns":["0x1"]}',
      '{"seq":6,"time":1.5,"kind":"lookup","pfn":"0x3f656","by":"gntdev"}',
      '{"seq":7,"kind":"lookup","pfn":"0xd804e","iomap":true,"via":"pfn_to_mfn","observed":"0xFFFFFFFFFFFFFFFF","by":"igb"}',
      '{"seq":8,"kind":"lookup","pfn":"0x1","iomap":false,"via":"phys_to_machine"}',
      '{"seq":9,"kind":"mark","text":"0000:41:03.0 has no memory BAR, {}[],:\\u00e9"}'.replace(
        "\\u00e9",
        "é",
      ),
      '{"time":2.25,"kind":"mark","text":"","seq":10}',
      // Members the kind does not read, and unknown ones, are skipped as validation skips them.
      '{"seq":11,"kind":"decrease_reservation","pfn":"0x2","mfn":[1,"x"],"text":null,"x":{}}'
        .replace(',"x":{}', ',"x":-1.5e3'),
      '{"seq":12,"kind":"increase_reservation","pfns":["0x5"],"end_pfn":"junk","pages":[]}',
      '{"seq":13,"kind":"mark","text":"t","__proto__":"p","constructor":true,"é":[]}',
    ]
  ) {
    assert.ok(sameAsReader(line), `left ${line}`);
  }
});

Deno.test("scan_event leaves the reader every line it would have to reject or read closer", () => {
  for (
    const line of [
      // Not one plain object.
      '{"seq":1,"kind":"mark","text":"x"} ',
      '{ "seq":1,"kind":"mark","text":"x"}',
      '{"seq": 1,"kind":"mark","text":"x"}',
      '{"seq":1,"kind":"mark","text":"x",}',
      '{"seq":1,"kind":"mark","text":"x"}{}',
      '{"seq":1,"kind":"mark","text":"x"',
      "{}",
      // An escape anywhere the scanner would have to decode, or a control character.
      '{"seq":1,"kind":"mark","text":"a\\"b"}',
      '{"seq":1,"kind":"mark","text":"x\\","y":"z"}',
      '{"seq":1,"kind":"mark","text":"tab\there"}',
      '{"seq":1,"kind":"lookup","pfn":"0x1","by":"a\\u0000"}',
      '{"seq":1,"kind":"mark","text":"x","o\\"k":1}',
      '{"seq":1,"kind":"mark","text":"x","other":"\\n"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x2","text":"\\\\"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x2","bad":["\\t"]}',
      '{"seq":1,"kind":"m\\u0061rk","text":"x"}',
      // A member twice (JSON.parse keeps the last).
      '{"seq":1,"kind":"mark","text":"x","text":"y"}',
      '{"seq":1,"seq":2,"kind":"mark","text":"x"}',
      // seq and time in any form but a plain integer and a plain decimal.
      '{"seq":1.0,"kind":"mark","text":"x"}',
      '{"seq":1e2,"kind":"mark","text":"x"}',
      '{"seq":-1,"kind":"mark","text":"x"}',
      '{"seq":01,"kind":"mark","text":"x"}',
      '{"seq":"1","kind":"mark","text":"x"}',
      '{"seq":1234567890123456,"kind":"mark","text":"x"}',
      '{"kind":"mark","text":"x"}',
      '{"seq":1,"time":1e3,"kind":"mark","text":"x"}',
      '{"seq":1,"time":-0.5,"kind":"mark","text":"x"}',
      '{"seq":1,"time":1.,"kind":"mark","text":"x"}',
      '{"seq":1,"time":00.5,"kind":"mark","text":"x"}',
      '{"seq":1,"time":0.1234567890123456,"kind":"mark","text":"x"}',
      '{"seq":1,"time":null,"kind":"mark","text":"x"}',
      // Other kinds, and forms the validator reads closer.
      '{"seq":1,"kind":"e820","start":"0x0","size":"0x1000"}',
      '{"kind":"end","events":1}',
      '{"seq":1,"kind":"Mark","text":"x"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":16}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x10000000000"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x00000000000001"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x1g"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x1","end_pfn":"0x3"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x1","pages":2}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x1","pfns":["0x2"]}',
      '{"seq":1,"kind":"decrease_reservation","pfns":[]}',
      '{"seq":1,"kind":"decrease_reservation","pfns":["0x1","0x2","0x1"]}',
      '{"seq":1,"kind":"decrease_reservation","pfns":[1,2]}',
      '{"seq":1,"kind":"decrease_reservation","pfns":"0x1"}',
      '{"seq":1,"kind":"decrease_reservation","pfn":"0x1","scratch_mfn":null}',
      '{"seq":1,"kind":"increase_reservation","pfn":"0x1","mfn":"0x10000000000"}',
      '{"seq":1,"kind":"balloon_append"}',
      '{"seq":1,"kind":"lookup","addr":"0x1000"}',
      '{"seq":1,"kind":"lookup","pfn":"0x1","addr":"0x1000"}',
      '{"seq":1,"kind":"lookup","pfn":"0x1","via":"pfn"}',
      '{"seq":1,"kind":"lookup","pfn":"0x1","iomap":1}',
      '{"seq":1,"kind":"lookup","pfn":"0x1","observed":"0x10000000000000000"}',
      '{"seq":1,"kind":"lookup","pfn":"0x1","observed":5}',
      '{"seq":1,"kind":"lookup","pfn":"0x1","by":7}',
      '{"seq":1,"kind":"mark"}',
      '{"seq":1,"kind":"mark","text":"' + "x".repeat(65537) + '"}',
      '{"seq":1,"kind":"decrease_reservation","pfns":[' +
      Array.from({ length: 65 }, (_, i) => `"0x${i.toString(16)}"`).join(",") + "]}",
    ]
  ) {
    assert.ok(!sameAsReader(line), `took ${line}`);
  }
});

Deno.test("scan_event takes nearly every line of a generated trace and the bundled ones alike", async () => {
  const lines = [...generateTrace({ events: 20000, seed: 3 })];
  let taken = 0;
  for (let i = 1; i < lines.length; i++) if (sameAsReader(lines[i], i + 1)) taken++;
  assert.ok(taken > 0.95 * lines.length, `took ${taken} of ${lines.length} lines`);
  for (const name of bundledTraces()) {
    const text = (await Deno.readTextFile(`traces/${name}`)).split("\n");
    for (let i = 1; i < text.length; i++) if (text[i] !== "") sameAsReader(text[i], i + 1);
  }
});

// Property: on lines built from the fields of the hot kinds in every form, order and mix — and
// wrong types, escapes, whitespace, duplicates, unknown members — the scanner takes only what
// the reader accepts and writes the reader's record.
const hexDigits = fc.string({
  unit: fc.constantFrom(..."0123456789abcdefABCDEF"),
  minLength: 0,
  maxLength: 17,
});
const hex = fc.tuple(fc.constantFrom("0x", "0X", "0", "x", ""), hexDigits).map(([p, d]) => p + d);
const small = fc.integer({ min: 0, max: 40 }).map((n) => "0x" + n.toString(16));
const frameValue = fc.oneof(
  { weight: 2, arbitrary: hex.map((h) => JSON.stringify(h)) },
  { weight: 1, arbitrary: small.map((h) => JSON.stringify(h)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("16", "1.5", "null", "true", '"0x1\\u0030"', "[]", "-1", "1e3"),
  },
);
const number = fc.oneof(
  fc.nat().map(String),
  fc.double({ min: 0, max: 1e6, noNaN: true }).map(String),
  fc.tuple(fc.nat(99999), fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 17 })).map(
    ([i, f]) => f === "" ? String(i) : `${i}.${f}`,
  ),
  fc.constantFrom("0", "0.0", "-0", "1e2", "1.5E-3", "01", "1.", "9007199254740993", '"3"', "null"),
);
const freeText = fc.oneof(
  fc.string().map((s) => JSON.stringify(s)),
  fc.string({ unit: "binary", maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom(
    '"a\\"b"',
    '"x\\","y":"z"',
    '""',
    '"}"',
    '"],["',
    '"\\q"',
    '"\t"',
    '["\\x"]',
    '["\t"]',
  ),
  fc.constantFrom("7", "null", "[]"),
);
const pfnList = fc.array(fc.oneof(small, hex).map((h) => JSON.stringify(h)), { maxLength: 70 }).map(
  (l) => `[${l.join(",")}]`,
);
const member = fc.oneof(
  fc.constantFrom(...SCANNED_KINDS, "e820", "end", "Mark").map((k) => ["kind", JSON.stringify(k)]),
  number.map((v) => ["seq", v]),
  number.map((v) => ["time", v]),
  frameValue.map((v) => ["pfn", v]),
  fc.oneof(pfnList, frameValue).map((v) => ["pfns", v]),
  frameValue.map((v) => ["end_pfn", v]),
  frameValue.map((v) => ["pages", v]),
  frameValue.map((v) => ["mfn", v]),
  frameValue.map((v) => ["scratch_mfn", v]),
  frameValue.map((v) => ["addr", v]),
  fc.constantFrom('"pte"', '"pfn_to_mfn"', '"get_phys_to_machine"', '"phys_to_machine"', '"x"', "1")
    .map((v) => ["via", v]),
  fc.constantFrom("true", "false", "null", '"true"', "1").map((v) => ["iomap", v]),
  fc.oneof(hex.map((h) => JSON.stringify(h)), fc.constantFrom("5", "null")).map((v) => [
    "observed",
    v,
  ]),
  freeText.map((v) => ["by", v]),
  freeText.map((v) => ["text", v]),
  fc.tuple(
    fc.oneof(fc.string(), fc.constantFrom("__proto__", "x", "o\\u0041")),
    fc.oneof(freeText, number, fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v))),
  ).map(([k, v]) => [k.includes("\\") ? `"${k}"` : JSON.stringify(k), v, "raw"]),
);
/** Mostly a valid value (`good`), sometimes any (`any`). */
const mostly = (good: fc.Arbitrary<string>, any: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 4, arbitrary: good }, { weight: 1, arbitrary: any });
const goodFrame = fc.oneof(
  small,
  fc.tuple(fc.nat(12), fc.nat(0xfff)).map(([zeros, n]) =>
    "0x" + "0".repeat(zeros) + n.toString(16)
  ),
  fc.integer({ min: 0, max: 2 ** 40 - 1 }).map((n) => "0x" + n.toString(16)),
  fc.integer({ min: 0, max: 2 ** 40 - 1 }).map((n) => "0X" + n.toString(16).toUpperCase()),
).map((h) => JSON.stringify(h));
const goodTime = fc.oneof(
  fc.tuple(fc.nat(99999), fc.string({ unit: fc.constantFrom(..."0123456789"), maxLength: 9 }))
    .map(([i, f]) => f === "" ? String(i) : `${i}.${f}`),
  fc.double({ min: 0, max: 1e5, noNaN: true }).map(String),
);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** A record of the hot kinds, mostly valid, its members in any order, with some noise. */
const line = fc.record({
  kind: fc.constantFrom(...SCANNED_KINDS),
  seq: mostly(fc.nat(1e12).map(String), number),
  time: opt(mostly(goodTime, number)),
  pfns: fc.boolean(),
  pfn: mostly(goodFrame, frameValue),
  list: mostly(
    fc.array(small.map((h) => JSON.stringify(h)), { minLength: 1, maxLength: 8 }).map((l) =>
      `[${l.join(",")}]`
    ),
    fc.oneof(
      pfnList,
      // Long lists, with gaps or without: the scanner takes at most 64 PFNs, the reader 65536.
      fc.tuple(fc.nat(1000), fc.integer({ min: 60, max: 70 }), fc.integer({ min: 1, max: 2 }))
        .map(([from, n, step]) =>
          `[${
            Array.from({ length: n }, (_, i) => `"0x${(from + step * i).toString(16)}"`).join(",")
          }]`
        ),
    ),
  ),
  mfn: opt(mostly(goodFrame, frameValue)),
  via: opt(
    fc.constantFrom('"pte"', '"pfn_to_mfn"', '"get_phys_to_machine"', '"phys_to_machine"', '"x"'),
  ),
  iomap: opt(fc.constantFrom("true", "false", "null")),
  observed: opt(mostly(
    fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map((v) => `"0x${v.toString(16)}"`),
    fc.constantFrom('"0x"', "5", '"0x10000000000000000"'),
  )),
  text: mostly(fc.string({ maxLength: 20 }).map((t) => JSON.stringify(t)), freeText),
  noise: fc.array(
    fc.oneof(
      { weight: 3, arbitrary: member },
      // Members nobody reads, holding what JSON.parse refuses: a raw control character, a bad
      // escape (in a string or a list).
      fc.constantFrom('"\\q"', '"\t"', '["\\x"]', '["\t"]', '"ok"', '["ok",1]').map((v) => [
        '"other"',
        v,
        "raw",
      ]),
    ),
    { maxLength: 2 },
  ),
  dup: opt(fc.nat()),
  dupValue: fc.oneof(goodFrame, number, freeText),
  order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  space: fc.constantFrom("", "", "", "", "", " "),
}).map((r) => {
  const members: string[][] = [["seq", r.seq], ["kind", JSON.stringify(r.kind)]];
  if (r.time !== undefined) members.push(["time", r.time]);
  if (r.kind === "mark") members.push(["text", r.text]);
  else if (r.kind === "lookup") {
    members.push(["pfn", r.pfn]);
    if (r.via !== undefined) members.push(["via", r.via]);
    if (r.iomap !== undefined) members.push(["iomap", r.iomap]);
    if (r.observed !== undefined) members.push(["observed", r.observed]);
    if (r.mfn !== undefined) members.push(["by", r.text]);
  } else {
    members.push(r.pfns ? ["pfns", r.list] : ["pfn", r.pfn]);
    const m = r.kind === "decrease_reservation" ? "scratch_mfn" : "mfn";
    if (r.mfn !== undefined && r.kind !== "balloon_append") members.push([m, r.mfn]);
  }
  members.push(...r.noise);
  // A member twice: JSON.parse keeps the last.
  if (r.dup !== undefined) members.push([members[r.dup % members.length][0], r.dupValue]);
  // Shuffle by the generated order.
  for (let i = members.length - 1; i > 0; i--) {
    const j = r.order[i % r.order.length] % (i + 1);
    [members[i], members[j]] = [members[j], members[i]];
  }
  const text = members.map((m) =>
    (m[2] === "raw" ? m[0] : JSON.stringify(m[0])) + ":" + r.space + m[1]
  );
  return "{" + text.join(",") + "}";
});

Deno.test("scan_event takes only what the reader accepts, as the reader reads it (fast-check)", () => {
  fc.assert(fc.property(line, (text) => void sameAsReader(text)), { seed: 17, numRuns: 4000 });
});

const HEADER = '{"format":"p2mtrace","version":1,"producer":"t","description":"t",' +
  '"guest":{"type":"pv","domain":"dom0"}}';

/** What a reader yields: its batches (records less `raw`) and its error, as text. */
async function readAll(
  text: string,
  cuts: number[],
  scanned: boolean,
): Promise<{ batches: unknown[]; error?: string; end?: number }> {
  // Read in chunks cut at `cuts`: a batch of lines per chunk.
  const bytes = new TextEncoder().encode(text);
  const at = [0, ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b), bytes.length];
  const chunks = at.slice(1).map((end, i) => bytes.slice(at[i], end));
  const reader = await TraceReader.open("-", ReadableStream.from(chunks));
  const batches: unknown[] = [];
  const enc = new EventEncoder();
  const take = () => {
    const buf = new ArrayBuffer(enc.byteLength);
    enc.writeTo(buf);
    batches.push(...decodeBatches(buf));
  };
  try {
    if (scanned) {
      for await (const _ of reader.batchesInto(new LineEncoder(enc))) take();
    } else {
      for await (const b of reader.batches()) batches.push(b.map(({ raw: _, ...e }) => e));
    }
  } catch (e) {
    if (scanned) take();
    return { batches, error: `${(e as Error).constructor.name}: ${(e as Error).message}` };
  }
  return { batches, end: reader.end?.events };
}

// Lines of every sort: scanned, left to the reader, rejected, blank, end records.
const traceLine = fc.oneof(
  { weight: 6, arbitrary: line },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '{"seq":SEQ,"kind":"decrease_reservation","pfn":"0x10"}',
      '{"seq":SEQ,"time":1.5,"kind":"lookup","pfn":"0x1","by":"x"}',
      '{"seq":SEQ,"kind":"e820","start":"0x0","size":"0x1000","type":"ram"}',
      '{"seq":SEQ,"kind":"mark","text":"a\\u00e9"}',
      '{"seq":SEQ,"kind":"increase_reservation","pfns":["0x1","0x2"],"mfn":"0x5"}',
    ),
  },
  fc.constantFrom("", "   ", '{"kind":"end","events":3}', "{not json", '{"seq":0,"kind":"mark"}'),
);
const trace = fc.tuple(
  fc.array(traceLine, { maxLength: 30 }),
  fc.boolean(),
  fc.nat(40),
  fc.array(fc.nat(), { maxLength: 6 }),
).map(([lines, terminated, cut, cuts]) => {
  let seq = 0;
  const body = lines.map((l) => l.replace("SEQ", String(++seq)));
  const text = [HEADER, ...body].join("\n");
  return { text: terminated ? text + "\n" : text.slice(0, text.length - cut), cuts };
});

Deno.test("TraceReader.batchesInto with the scanner: the batches and errors of batches() (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(trace, async ({ text, cuts }) => {
      const want = await readAll(text, cuts, false);
      const got = await readAll(text, cuts, true);
      sameRecords(got, want);
    }),
    { seed: 18, numRuns: 600 },
  );
});

Deno.test("TraceReader.batchesInto: scanned lines meet the checks across lines, as in batches()", async () => {
  const fast = (seq: number) => `{"seq":${seq},"kind":"decrease_reservation","pfn":"0x${seq}"}`;
  for (
    const [body, error] of [
      [[fast(1), fast(2), '{"kind":"end","events":2}', fast(3)], /:5: .*after the end record/],
      [[fast(1), fast(5), fast(3)], /:4: .*greater than the previous event's 5/],
      [[fast(1), '{"seq":7,"kind":"set_identity","pfn":"0x1"}', fast(7)], /:4: .*seq/],
      [[fast(1), fast(2), '{"seq":3,"kind":"lookup","pfn":"0xzz"}', fast(4)], /:4: .*pfn/],
      [[fast(1), '{"kind":"end","events":1}'], undefined],
    ] as const
  ) {
    for (const cuts of [[], [HEADER.length + 3, HEADER.length + 60]]) {
      const text = [HEADER, ...body].join("\n") + "\n";
      const want = await readAll(text, cuts, false);
      sameRecords(await readAll(text, cuts, true), want);
      if (error === undefined) assert.equal(want.error, undefined);
      else assert.match(want.error ?? "", error);
    }
  }
  const cut = [HEADER, fast(1), fast(2), '{"seq":3,"kind":"dec'].join("\n");
  const want = await readAll(cut, [], false);
  assert.match(want.error ?? "", /CutOffError/);
  sameRecords(await readAll(cut, [], true), want);
});
