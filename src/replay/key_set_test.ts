import { KeySet } from "./key_set.ts";
import fc from "fast-check";
import assert from "node:assert/strict";

// Short keys over a small alphabet collide often (same length, same prefix, same hash bucket);
// wide characters, lone surrogates and keys of 255+ characters take the other paths.
const key = fc.oneof(
  fc.string({ unit: fc.constantFrom("a", "b", ":", "0", "1"), maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 }),
  fc.constantFrom(
    "\ud800",
    "\udc00",
    "\u00ff",
    "\u0100",
    "y".repeat(200),
    "x".repeat(255),
    "x".repeat(300),
  ),
  fc.tuple(fc.nat(0x1000), fc.nat(0x1000)).map(([a, b]) => `lost-write:${a}:${a + b}`),
);

Deno.test("KeySet agrees with a Set<string> on every add and has (report each finding once)", () => {
  fc.assert(
    fc.property(
      fc.array(key, { maxLength: 300 }),
      fc.array(key, { maxLength: 50 }),
      (adds, probes) => {
        const s = new KeySet();
        const n = new Set<string>();
        for (const k of adds) {
          assert.equal(s.add(k), !n.has(k), `add(${JSON.stringify(k)})`);
          n.add(k);
          assert.equal(s.size, n.size);
        }
        for (const k of [...adds, ...probes]) assert.equal(s.has(k), n.has(k));
      },
    ),
    { seed: 1, numRuns: 300 },
  );
});

Deno.test("KeySet tells apart keys that differ in one character only, in any position", () => {
  // Every key of one and two characters over 0-255: dense enough that probe chains run through
  // keys of the same length that differ in their last (or first) character.
  const s = new KeySet();
  let n = 0;
  for (let a = 0; a < 256; a++) {
    assert.equal(s.add(String.fromCharCode(a)), true);
    n++;
    for (let b = 0; b < 256; b += 15) {
      assert.equal(s.add(String.fromCharCode(a, b)), true);
      n++;
    }
  }
  assert.equal(s.size, n);
  assert.equal(s.add("\u0000"), false);
});

Deno.test("KeySet keeps every key through many table and buffer doublings", () => {
  const s = new KeySet();
  for (let i = 0; i < 50_000; i++) assert.equal(s.add(`lost-write:${i}:${i + 1}`), true);
  assert.equal(s.size, 50_000);
  for (let i = 0; i < 50_000; i++) {
    assert.equal(s.add(`lost-write:${i}:${i + 1}`), false);
    assert.equal(s.has(`lost-write:${i}:${i + 2}`), false);
  }
});
