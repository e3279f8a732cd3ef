// jsonParts prints what JSON.stringify would, byte for byte: `compare --json` (and anything else
// printed through it) must not change by a byte for being printed in parts. A HeldJsonArray
// prints as the array of the values pushed into it, however its blocks fall.
import assert from "node:assert/strict";
import fc from "fast-check";
import { HeldJsonArray, jsonParts } from "./json_parts.ts";

const text = (v: unknown) => [...jsonParts(v)].join("");

// Values with what JSON.stringify treats apart: keys left out, nulls in arrays, toJSON, class
// instances, numeric keys (which come first), lone surrogates.
const odd = fc.oneof(
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(Symbol("s")),
  fc.constant(NaN),
  fc.constant(-0),
  fc.constant(new Date(0)),
  fc.constant({ toJSON: () => "via toJSON" }),
  fc.constant(new Map([[1, 2]])),
  fc.constant("\ud800 \u2028 \u0000 \u0085"),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue({ maxDepth: 2 }),
    odd,
    fc.array(tie("v"), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string(), fc.nat().map(String)), tie("v"), { maxKeys: 5 }),
  ),
})).v;

Deno.test("jsonParts: the parts join to JSON.stringify's text for any value it has one for", () => {
  fc.assert(
    fc.property(value, (v) => {
      fc.pre(JSON.stringify(v) !== undefined);
      assert.equal(text(v), JSON.stringify(v));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("jsonParts: a HeldJsonArray prints as the array of what was pushed, across blocks", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), odd), { maxLength: 40 }),
      fc.integer({ min: 1, max: 200 }),
      (items, blockChars) => {
        const held = new HeldJsonArray(blockChars);
        for (const x of items) held.push(x);
        assert.equal(held.length, items.length);
        const wrap = { before: 1, items: held, after: [held] };
        assert.equal(text(wrap), JSON.stringify({ before: 1, items, after: [items] }));
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("jsonParts: a long value comes out in pieces, not as one string", () => {
  const held = new HeldJsonArray();
  const items = Array.from({ length: 20000 }, (_, i) => ({ seq: i, message: "x".repeat(20) }));
  for (const x of items) held.push(x);
  const parts = [...jsonParts({ findings: held, also: items })];
  assert.ok(parts.length > 10, `${parts.length} parts`);
  assert.equal(parts.join(""), JSON.stringify({ findings: items, also: items }));
});
