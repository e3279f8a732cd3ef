/**
 * The packed lane store against the reference it replaced: states keyed by their JSON text. Ids
 * are equal exactly when the JSON texts are, a state reads back as it went in, and `retain`
 * keeps what the kept frames refer to (renumbered in order of first reference), so `map`'s
 * frames and output cannot differ from the simple form.
 */

import fc from "fast-check";
import assert from "node:assert/strict";
import { LaneStore } from "./lane_store.ts";
import type { LaneRange } from "./lanes.ts";

const range: fc.Arbitrary<LaneRange> = fc.record({
  pfn: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constant(2 ** 40 - 1), fc.constant(2 ** 33)),
  endPfn: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant(2 ** 40), fc.constant(2 ** 32 + 1)),
  cls: fc.constantFrom("ram", "invalid", "mixed"),
  label: fc.constantFrom("a", "b", "3 ranges too small to draw one by one (x)", "a\u0000b"),
  row: fc.integer({ min: 0, max: 3 }),
}, { requiredKeys: ["pfn", "endPfn", "cls", "label", "row"] });

const states = fc.array(fc.array(range, { maxLength: 4 }), { minLength: 1, maxLength: 30 });

for (const [name, hash] of [["", undefined], [" (every hash colliding)", () => 7]] as const) {
  Deno.test(`lane store ids are equal exactly when the states' JSON texts are${name}`, () => {
    fc.assert(
      fc.property(states, (list) => {
        const store = new LaneStore(hash);
        const byJson = new Map<string, number>();
        for (const s of list) {
          const id = store.id(s);
          const key = JSON.stringify(s);
          const seen = byJson.get(key);
          if (seen === undefined) {
            assert.ok(![...byJson.values()].includes(id), `new state ${key} got an old id`);
            byJson.set(key, id);
          } else assert.equal(id, seen);
          assert.equal(JSON.stringify(store.ranges(id)), key);
        }
        assert.equal(store.size, byJson.size);
      }),
      { seed: 16, numRuns: 300 },
    );
  });
}

Deno.test("lane store retain keeps the referred states, renumbered in order of first reference", () => {
  fc.assert(
    fc.property(states, fc.array(fc.nat(), { maxLength: 10 }), (list, picks) => {
      const store = new LaneStore();
      const ids = list.map((s) => store.id(s));
      const frames = picks.map((p) => [ids[p % ids.length], ids[(p * 7) % ids.length]]);
      const texts = frames.map((f) => f.map((id) => JSON.stringify(store.ranges(id))));
      const kept = store.retain(frames);
      const order: number[] = [];
      for (const f of frames) for (const id of f) if (!order.includes(id)) order.push(id);
      assert.equal(store.size, order.length);
      kept.forEach((f, i) =>
        f.forEach((id, j) => {
          assert.equal(id, order.indexOf(frames[i][j]));
          assert.equal(JSON.stringify(store.ranges(id)), texts[i][j]);
        })
      );
      // After retain, an equal state still finds its id; a new one gets the next.
      for (const s of list) {
        const key = JSON.stringify(s);
        const id = store.id(s);
        const keptIndex = texts.flat().indexOf(key);
        if (keptIndex >= 0) assert.equal(JSON.stringify(store.ranges(id)), key);
      }
    }),
    { seed: 17, numRuns: 300 },
  );
});
