// The on-disk index stores model states (state_codec.ts) and later answers from them instead of
// a replay from step 0, so a restored state must be the same state: at every step of a trace,
// decodeState(encodeState(s)) prints the same snapshot (text, JSON, the kernel's debugfs text),
// encodes to the same bytes, and replaying the rest of the trace from it gives the same step
// outcomes and the same final snapshot as the plain replay; likewise for each state written
// with its P2M pages kept apart in one pool for the whole trace (each page once, as the index
// writes them) and read back from there.
import assert from "node:assert/strict";
import fc from "fast-check";
import { generateTrace } from "../gen/trace_gen.ts";
import { replayOn, statesOf } from "../../tests/support/replay_states.ts";
import type { TraceEvent } from "../trace/event.ts";
import type { ModelState } from "./state.ts";
import { decodeState, encodeState, intsJson, PagePool, pageSum } from "./state_codec.ts";
import { snapshotDebugfs, snapshotJson, snapshotText } from "../report/snapshot_report.ts";
import { POLICIES } from "../policy/policies.ts";

function report(state: ModelState, index: number): string {
  const input = {
    trace: "t",
    point: { step: index, index },
    event: undefined,
    state,
    policySource: "option" as const,
  };
  return snapshotText(input) + JSON.stringify(snapshotJson(input)) + snapshotDebugfs(state.p2m);
}

/** The outcomes of `events` replayed from `state`, as JSON, and the final report. */
function continueFrom(state: ModelState, events: readonly TraceEvent[]): string {
  const { outcomes, final } = replayOn(state, events);
  return outcomes + report(final, -1);
}

/**
 * A file of pooled pages in memory: the pages a {@link PagePool} hands over, appended, and a
 * reader of them.
 */
class PoolFile {
  pool = new PagePool();
  bytes = new Uint8Array(0);
  #states = 0;
  /**
   * `s` encoded against the pool, its new pages appended to the file; every fifth state starts
   * a fresh pool (all its pages written again, the leaves' bytes taken from the last pool), as
   * the index's groups do.
   */
  encode(s: ModelState): Uint8Array {
    if (++this.#states % 5 === 0) this.pool = new PagePool(this.pool);
    this.pool.start(this.bytes.length);
    const state = encodeState(s, this.pool);
    const pages = this.pool.take();
    const grown = new Uint8Array(this.bytes.length + pages.length);
    grown.set(this.bytes);
    grown.set(pages, this.bytes.length);
    this.bytes = grown;
    return state;
  }
  /** The page at `at` (`len` bytes), checked against the sum its parent holds. */
  #page(at: number, len: number, sum: number): unknown {
    const bytes = this.bytes.subarray(at, at + len);
    assert.equal(pageSum(bytes), sum, `the page at ${at} does not match its sum`);
    return JSON.parse(new TextDecoder().decode(bytes));
  }
  read = (places: readonly number[]): unknown[] => {
    const out: unknown[] = [];
    for (let i = 0; i < places.length; i += 3) {
      out.push(this.#page(places[i], places[i + 1], places[i + 2]));
    }
    return out;
  };
  /** One page read on first use (a lookup's way: `stateAt(..., few)`). */
  lazy = (at: number, len: number, sum: number) => () => this.#page(at, len, sum);
}

async function checkRoundTrip(text: string, policy: string, every = 1): Promise<void> {
  const { states, events, header } = await statesOf(text, policy);
  const p = states[0].policy;
  // One pool for the states of the whole trace, as the index writes them (each page once).
  const file = new PoolFile();
  for (let i = 0; i < states.length; i++) {
    const bytes = encodeState(states[i]);
    const back = decodeState(bytes, header.guest, p);
    assert.deepEqual(encodeState(back), bytes, `step index ${i}: bytes differ after a round trip`);
    const state = file.encode(states[i]);
    const pooled = decodeState(state, header.guest, p, file.read);
    assert.deepEqual(encodeState(pooled), bytes, `step index ${i}: differs with pooled pages`);
    // Each leaf read when first needed: leaf i from the i-th place of the state's list.
    const lazy = decodeState(state, header.guest, p, file.read, file.lazy);
    assert.deepEqual(encodeState(lazy), bytes, `step index ${i}: differs with lazy leaves`);
    if (i % every === 0 || i === states.length - 1) {
      const rest = events.slice(i);
      for (const restored of [back, pooled]) {
        assert.equal(
          report(restored, i),
          report(states[i], i),
          `step index ${i}: snapshot differs`,
        );
        assert.equal(
          continueFrom(restored, rest),
          continueFrom(states[i], rest),
          `step index ${i} under ${policy}: replaying on from the restored state differs`,
        );
      }
    }
  }
}

Deno.test("state codec: a restored state replays like the original at every step (property)", async () => {
  const policies = [...POLICIES.keys()];
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: 0, max: 60 }),
      fc.constantFrom(...policies),
      async (seed, n, policy) => {
        const text = [...generateTrace({ events: n, seed })].join("\n") + "\n";
        await checkRoundTrip(text, policy, 6);
      },
    ),
    { numRuns: 8 },
  );
});

Deno.test("state codec: every bundled trace round-trips at every step (one policy per era)", async () => {
  for await (const f of Deno.readDir("traces")) {
    if (!f.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(`traces/${f.name}`);
    for (const policy of ["linux-3.12", "linux-3.16", "linux-3.19"]) {
      await checkRoundTrip(text, policy, 7);
    }
  }
});

Deno.test("intsJson: the bytes of JSON.stringify for every safe integer, -0 and the 2^53 edges", () => {
  const value = fc.oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.maxSafeInteger(),
    fc.maxSafeNat(),
    fc.integer(),
    fc.constantFrom(
      -0,
      0,
      9,
      10,
      99,
      100,
      2 ** 31 - 1,
      2 ** 31,
      -(2 ** 31),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
      99_999_999,
      100_000_000,
      2 ** 31 + 1,
      4_294_967_296,
      1e15 + 7,
      -(1e8 + 1),
    ),
  );
  fc.assert(
    fc.property(fc.array(value, { maxLength: 600 }), (vs) => {
      assert.deepEqual(intsJson(vs), new TextEncoder().encode(JSON.stringify(vs)));
    }),
    { numRuns: 2000 },
  );
  assert.throws(() => intsJson([1, 0.5]), /not an integer/);
  assert.throws(() => intsJson([2 ** 53]), /not an integer/);
});

/**
 * The pool's pages as format 7 defined them when it was written with `JSON.stringify`: a leaf
 * `JSON.stringify(runs)`, a mid `[slots, places]` with its leaves renumbered 3, 4, ... in order
 * of first use (0-2 kept) and their places (offset, length, sum) in that order; each page's sum
 * its pageSum. A namer of the same pages, kept here as the reference the pool's bytes must equal.
 */
class ReferencePool {
  #ids = new Map<object, number>();
  #at: number[][] = [];
  #pages: Uint8Array[] = [];
  #next = 0;
  #last = new Map<number, { page: object; ids: readonly number[] }>();
  /** Pages placed from now on are at `at` on ({@link ReferencePool.bytes} gives them). */
  start(at: number): void {
    this.#next = at;
    this.#pages = [];
  }
  #place(bytes: Uint8Array): number {
    this.#at.push([this.#next, bytes.length, pageSum(bytes)]);
    this.#pages.push(bytes);
    this.#next += bytes.length;
    return 2 + this.#at.length;
  }
  leaf(page: object, runs: readonly number[]): number {
    let id = this.#ids.get(page);
    if (id === undefined) {
      this.#ids.set(page, id = this.#place(new TextEncoder().encode(JSON.stringify(runs))));
    }
    return id;
  }
  mid(
    page: object,
    leaves: (like?: { page: object; ids: readonly number[] }) => number[],
    at = -2,
  ) {
    let id = this.#ids.get(page);
    if (id === undefined) {
      const ids = leaves(this.#last.get(at));
      if (at !== -2) this.#last.set(at, { page, ids });
      const local = new Map<number, number>();
      const places: number[] = [];
      const slots = ids.map((k) => {
        if (k < 3) return k;
        let l = local.get(k);
        if (l === undefined) {
          local.set(k, l = 3 + local.size);
          places.push(...this.#at[k - 3]);
        }
        return l;
      });
      const text = `[${JSON.stringify(slots)},${JSON.stringify(places)}]`;
      this.#ids.set(page, id = this.#place(new TextEncoder().encode(text)));
    }
    return id;
  }
  /** The pages placed since the last start, in order. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#pages.reduce((n, p) => n + p.length, 0));
    let w = 0;
    for (const p of this.#pages) {
      out.set(p, w);
      w += p.length;
    }
    return out;
  }
}

Deno.test("PagePool: page bytes and sums equal the JSON.stringify reference of format 7 (property)", async () => {
  const { p2mPageIds } = await import("../p2m/table.ts");
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.integer({ min: 1, max: 80 }),
      fc.constantFrom("linux-3.12", "linux-3.16", "linux-3.19"),
      fc.integer({ min: 0, max: 7 }),
      async (seed, n, policy, skew) => {
        const text = [...generateTrace({ events: n, seed })].join("\n") + "\n";
        const { states } = await statesOf(text, policy);
        // One pool per group of states, as the index's groups (a fresh one copies the last's
        // leaves); offsets start unaligned, as a page block's do.
        let pool = new PagePool();
        let ref = new ReferencePool();
        let at = 16 + skew;
        for (let i = 0; i < states.length; i++) {
          if (i % 3 === 0 && i > 0) {
            pool = new PagePool(pool);
            ref = new ReferencePool();
          }
          pool.start(at);
          ref.start(at);
          p2mPageIds(states[i].p2m, ref);
          const state = encodeState(states[i], pool);
          const bytes = pool.take();
          assert.deepEqual(bytes, ref.bytes(), `state ${i}: pages differ from the reference`);
          at += bytes.length + state.length;
        }
      },
    ),
    { numRuns: 30 },
  );
});
