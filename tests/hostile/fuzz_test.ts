/**
 * Seeded fuzzing of mutated bundled traces through the library entry points (the reader,
 * replay, validate, summarize, minimize's prefix search): whatever the mutation, each either
 * succeeds or throws a typed error a user can read (an error with an `exitCode` other than 70),
 * never a crash (RangeError, TypeError, stack overflow) and never an internal error.
 *
 * Contract pinned: issue 14, "every malformed record rejected with file, line and field".
 * Bounded: a fixed seed, 150 runs, and a 30 s time limit.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { TraceReader } from "../../src/trace/read.ts";
import { runTrace } from "../../src/replay/run.ts";
import { validateStream } from "../../src/share/validate.ts";
import { summarizeTrace } from "../../src/share/summarize.ts";
import { prefixToFinding } from "../../src/share/minimize.ts";
import { choosePolicy } from "../../src/replay/replayer.ts";
import { bundledTraces } from "../cli_helpers.ts";

const TRACES = bundledTraces().map((n) => Deno.readTextFileSync(`traces/${n}`).split("\n"));

/** One way to damage a trace's lines. */
type Mutation = (lines: string[]) => string[];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i) => (ls: string[]) => ls.filter((_, j) => j !== i % ls.length)),
  fc.nat().map(
    (i) => (ls: string[]) => [...ls.slice(0, i % ls.length + 1), ...ls.slice(i % ls.length)],
  ),
  fc.tuple(fc.nat(), fc.nat()).map(([i, j]) => (ls: string[]) => {
    const out = [...ls];
    const a = i % out.length, b = j % out.length;
    [out[a], out[b]] = [out[b], out[a]];
    return out;
  }),
  fc.tuple(fc.nat(), fc.nat(), fc.string({ maxLength: 4, unit: "binary" })).map(
    ([i, k, s]) => (ls: string[]) => {
      const out = [...ls];
      const l = out[i % out.length];
      const at = l.length === 0 ? 0 : k % l.length;
      out[i % out.length] = l.slice(0, at) + s + l.slice(at + 1);
      return out;
    },
  ),
  fc.tuple(fc.nat(), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 })).map(
    ([i, key, value]) => (ls: string[]) => {
      const out = [...ls];
      const j = i % out.length;
      try {
        const o = JSON.parse(out[j]);
        if (o !== null && typeof o === "object" && !Array.isArray(o)) {
          o[key] = value;
          out[j] = JSON.stringify(o);
        }
      } catch { /* not JSON: leave it */ }
      return out;
    },
  ),
  fc.nat().map((i) => (ls: string[]) => {
    const text = ls.join("\n");
    return text.slice(0, i % (text.length + 1)).split("\n");
  }),
);

function assertTyped(e: unknown, what: string): void {
  const code = (e as { exitCode?: unknown })?.exitCode;
  assert.ok(
    e instanceof Error && typeof code === "number" && code !== 70,
    `${what}: ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}`,
  );
}

async function attempt(what: string, f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    assertTyped(e, what);
  }
}

Deno.test("mutated bundled traces give a result or a typed error in every library entry point", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.nat({ max: TRACES.length - 1 }),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      async (t, ms) => {
        const text = ms.reduce((ls, m) => ls.length === 0 ? ls : m(ls), TRACES[t]).join("\n");
        const open = () => TraceReader.fromText("fuzz.jsonl", text);
        await attempt("replay", () => runTrace(open()));
        await attempt(
          "validate",
          () => validateStream("fuzz.jsonl", ReadableStream.from([new TextEncoder().encode(text)])),
        );
        await attempt("summarize", () => summarizeTrace("fuzz.jsonl", "0", open(), undefined));
        await attempt("minimize prefix", async () => {
          const r = open();
          const { policy } = choosePolicy(await r.header(), undefined);
          await prefixToFinding(r, policy, undefined);
        });
      },
    ),
    { seed: 14, numRuns: 150, interruptAfterTimeLimit: 30_000 },
  );
});
