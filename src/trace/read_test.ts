import fc from "fast-check";
import assert from "node:assert/strict";
import {
  parseEventLine,
  parseRecord,
  RECORD_FIELD_NAMES,
  RECORD_STRING_VALUES,
  TraceReader,
} from "./read.ts";
import { ObjectKeysError, repeatedKey } from "./json_keys.ts";
import "../../tests/support/repo_root.ts";

/** parseRecord(text) must return what JSON.parse returns, or throw what it throws, but refuse a repeated key. */
function sameAsJsonParse(text: string): void {
  let want: unknown, wantError: unknown;
  try {
    want = JSON.parse(text);
  } catch (e) {
    wantError = e;
  }
  // A key given twice is refused, where JSON.parse would keep the last value (json_keys_test
  // pins repeatedKey itself against objects built with known keys).
  const repeated = wantError === undefined ? repeatedKey(text) : undefined;
  if (repeated !== undefined) {
    assert.throws(() => parseRecord(text), new ObjectKeysError("repeated-key", repeated));
    return;
  }
  if (wantError !== undefined) {
    assert.throws(() => parseRecord(text), (e: unknown) => {
      assert.ok(e instanceof SyntaxError);
      assert.equal(e.message, (wantError as Error).message);
      return true;
    });
    return;
  }
  const got = parseRecord(text);
  assert.deepStrictEqual(got, want);
  if (got !== null && typeof got === "object") {
    assert.deepEqual(Object.keys(got), Object.keys(want as object), "key order");
    assert.equal(Object.getPrototypeOf(got), Object.getPrototypeOf(want));
  }
}

const flat = fc.dictionary(
  fc.oneof(fc.constantFrom("seq", "kind", "pfn", "pfns", "__proto__", "a\\b", "é"), fc.string()),
  fc.oneof(
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(fc.string(), fc.integer(), fc.double()), { maxLength: 4 }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  { maxKeys: 6 },
);

Deno.test("parseRecord() equals JSON.parse on flat records, escapes and odd keys", () => {
  fc.assert(fc.property(flat, (o) => sameAsJsonParse(JSON.stringify(o))), {
    seed: 11,
    numRuns: 3000,
  });
});

Deno.test("parseRecord() equals JSON.parse, result or error, on damaged lines", () => {
  const damaged = fc.tuple(flat, fc.nat(), fc.string({ maxLength: 3 }), fc.nat(3)).map(
    ([o, at, s, mode]) => {
      const t = JSON.stringify(o);
      const i = at % (t.length + 1);
      return mode === 0
        ? t.slice(0, i)
        : mode === 1
        ? t.slice(0, i) + s + t.slice(i)
        : mode === 2
        ? t.slice(0, i) + t.slice(i + 1)
        : t + s;
    },
  );
  fc.assert(fc.property(damaged, sameAsJsonParse), { seed: 12, numRuns: 5000 });
});

Deno.test("parseRecord() takes JSON's number grammar exactly", () => {
  for (
    const n of [
      "0",
      "-0",
      "01",
      "-01",
      "1.",
      ".5",
      "-.5",
      "1e5",
      "1E+5",
      "1e-5",
      "1e",
      "1e+",
      "+1",
      "1.5e300",
      "1e400",
      "123456789012345678901234567890",
      "0x10",
      "Infinity",
      "NaN",
      "- 1",
      "1-2",
    ]
  ) {
    sameAsJsonParse(`{"v":${n}}`);
    sameAsJsonParse(`{"v":[${n},1]}`);
  }
  for (
    const t of ['{"a":"\u0001"}', '{"a":"\t"}', '{"a":tru}', '{"a":nul}', "{}", "{", '{"a":1}x']
  ) {
    sameAsJsonParse(t);
  }
});

Deno.test("keepEventText hands over each event's line, and parseEventLine gives the event back", async () => {
  for (const e of Deno.readDirSync("traces")) {
    if (!e.name.endsWith(".jsonl")) continue;
    const reader = await TraceReader.open(`traces/${e.name}`);
    const texts: string[] = [];
    reader.keepEventText((t) => texts.push(t));
    const events = [];
    for await (const b of reader.batches()) events.push(...b);
    assert.equal(texts.length, events.length, e.name);
    events.forEach((ev, i) =>
      assert.deepEqual(parseEventLine(reader.name, ev.line, texts[i]), ev, `${e.name}:${ev.line}`)
    );
  }
});

// The fast path hands out the field names and the common string values of trace records as
// literals (read.ts RECORD_FIELD_NAMES, RECORD_STRING_VALUES): a string of the same length that
// differs in any character must come out as itself, as JSON.parse gives it.
Deno.test("parseRecord() keeps every field name and value as written, known ones and their near misses", () => {
  const nearMisses = (name: string) => [
    name,
    name.slice(0, -1) + "Z",
    "Z" + name.slice(1),
    name + "s",
    name.slice(1),
  ];
  for (const name of RECORD_FIELD_NAMES) {
    for (const key of nearMisses(name)) {
      sameAsJsonParse(`{"${key}":1,"seq":2}`);
      sameAsJsonParse(`{"kind":"mark","${key}":"0x10"}`);
    }
  }
  for (const value of RECORD_STRING_VALUES) {
    for (const v of nearMisses(value)) {
      sameAsJsonParse(`{"seq":1,"kind":"${v}","via":"${v}"}`);
    }
  }
});

/** Every event a read gives, then the error that ended it (class and message) and the end. */
async function readAll(
  text: string,
  how: "batches" | "forEachEvent",
): Promise<[unknown[], string, unknown]> {
  const r = TraceReader.fromText("t.jsonl", text);
  const events: unknown[] = [];
  let error = "";
  try {
    if (how === "batches") { for await (const b of r.batches()) events.push(...b); }
    else await r.forEachEvent((e) => events.push(e));
  } catch (e) {
    error = `${(e as Error).constructor.name}: ${(e as Error).message}`;
  }
  return [events, error, r.end];
}

// compare and summarize read event by event (forEachEvent), the other commands in batches: both
// must give the same events, stop at the same damaged line with the same error (a cut-off
// last line after every complete event) and see the same end record. A malformed line ends the
// command with exit 65, so the events visited before it in its batch are never reported.
Deno.test("forEachEvent gives what batches gives: events, the error at a damaged line, the end record", async () => {
  for (const e of Deno.readDirSync("traces")) {
    if (!e.name.endsWith(".jsonl")) continue;
    const text = Deno.readTextFileSync(`traces/${e.name}`);
    const lines = text.split("\n");
    const middle = Math.floor(lines.length / 2);
    const variants = [
      text,
      text.slice(0, text.trimEnd().length - 3), // the last line cut off, no newline
      [...lines.slice(0, middle), '{"seq":', ...lines.slice(middle)].join("\n"), // malformed
      [...lines.slice(0, middle), "", "  ", ...lines.slice(middle)].join("\n"), // blank lines
      text + '{"kind":"end","events":1}\n', // a wrong end record
    ];
    for (const [i, v] of variants.entries()) {
      const want = await readAll(v, "batches");
      const got = await readAll(v, "forEachEvent");
      if (want[1].startsWith("TraceError")) {
        // Before a malformed line's error (or a wrong end record's), batches drops the events of its batch; each event
        // has been visited already. Either way the read ends with that error.
        assert.deepEqual(got[0].slice(0, want[0].length), want[0], e.name);
        assert.deepEqual([got[1], got[2]], [want[1], want[2]], e.name);
      } else assert.deepEqual(got, want, `${e.name} variant ${i}`);
      if (i === 1) assert.match(want[1], /^CutOffError/, e.name);
      if (i === 2 || i === 4) assert.match(want[1], /^TraceError/, e.name);
    }
  }
});
