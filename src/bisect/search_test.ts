import assert from "node:assert/strict";
import { BisectMarkError, BisectSearch } from "./search.ts";

Deno.test("BisectSearch probes the middle of the gap, the lower one on a tie", () => {
  const s = new BisectSearch(22);
  s.mark(0, "good");
  s.mark(21, "bad");
  assert.deepEqual(s.result(), { kind: "open", next: 10, left: 20 });
  s.mark(10, "good");
  assert.deepEqual(s.result(), { kind: "open", next: 15, left: 10 });
});

Deno.test("BisectSearch: skipped steps between the last good and the first bad make the answer ambiguous", () => {
  const s = new BisectSearch(10);
  s.mark(0, "good");
  s.mark(9, "bad");
  s.mark(4, "skip");
  s.mark(5, "skip");
  s.mark(3, "good");
  s.mark(6, "bad");
  assert.deepEqual(s.result(), { kind: "ambiguous", positions: [4, 5, 6] });
});

Deno.test("BisectSearch: a skip away from the culprit does not matter", () => {
  const s = new BisectSearch(10);
  s.mark(0, "good");
  s.mark(9, "bad");
  s.mark(2, "skip");
  s.mark(5, "good");
  s.mark(6, "bad");
  assert.deepEqual(s.result(), { kind: "found", position: 6 });
});

Deno.test("BisectSearch: position 0 marked bad is the answer; missing endpoints are asked for", () => {
  const s = new BisectSearch(5);
  assert.deepEqual(s.result(), { kind: "needs", mark: "good" });
  s.mark(2, "good");
  assert.deepEqual(s.result(), { kind: "needs", mark: "bad" });
  const t = new BisectSearch(5);
  t.mark(0, "bad");
  assert.deepEqual(t.result(), { kind: "found", position: 0 });
});

Deno.test("BisectSearch rejects contradictory marks and positions out of range", () => {
  const s = new BisectSearch(10);
  s.mark(3, "bad");
  assert.throws(() => s.mark(3, "good"), BisectMarkError);
  assert.throws(() => s.mark(7, "good"), /a good mark at or after a bad one/);
  s.mark(1, "good");
  assert.throws(() => s.mark(1, "bad"), /a bad mark at or before a good one/);
  assert.throws(() => s.mark(10, "skip"), RangeError);
});
