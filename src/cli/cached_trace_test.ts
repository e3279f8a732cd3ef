// The index build runs on a thread of its own (buildIndexOnCappedHeap): what it throws must
// reach the command as the same error a build on this thread throws — a trace's error as the
// replay reports it (class, message, exit code), an unwritable cache as IndexUnusable — and a
// build that succeeds names the same file with the same bytes.
import assert from "node:assert/strict";
import { buildIndexOnCappedHeap } from "./cached_trace.ts";
import { buildTraceIndex, IndexUnusable } from "../replay/trace_index.ts";
import { TraceError } from "../errors.ts";
import { generateTrace } from "../gen/trace_gen.ts";
import "../../tests/support/repo_root.ts";

/** The first byte offset where `a` and `b` differ (-1: none): a quick failure on a large file. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("it did not fail");
}

Deno.test("index build thread: a trace's error and a cache's error cross as the same class and message", async () => {
  const lines = [...generateTrace({ events: 2000, seed: 2 })];
  lines[1200] = '{"seq":"x","kind":"mark","text":"bad"}';
  const trace = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(trace, lines.join("\n") + "\n");
  const dir = await Deno.makeTempDir();
  try {
    const here = await failure(buildTraceIndex(trace, trace, undefined, dir));
    const there = await failure(buildIndexOnCappedHeap(trace, trace, undefined, dir));
    assert.ok(here instanceof TraceError, String(here));
    assert.ok(there instanceof TraceError, `the thread's error is a ${there.constructor.name}`);
    assert.equal(there.message, here.message);
    assert.equal((there as TraceError).exitCode, here instanceof TraceError ? here.exitCode : -1);
    const missing = `${dir}/no/such/dir`;
    const unusable = await failure(
      buildIndexOnCappedHeap("traces/pcie-bar-above-e820.jsonl", "t", undefined, missing),
    );
    assert.ok(
      unusable instanceof IndexUnusable,
      `a ${unusable.constructor.name}: ${unusable.message}`,
    );
  } finally {
    await Deno.remove(trace);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("index build thread: the same file, byte for byte, as a build on this thread", async () => {
  const trace = "traces/pcie-bar-above-e820.jsonl";
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  try {
    const here = await buildTraceIndex(trace, trace, "linux-3.16", a);
    const there = await buildIndexOnCappedHeap(trace, trace, "linux-3.16", b);
    assert.equal(there.path.slice(b.length), here.path.slice(a.length));
    assert.equal(there.sha256, here.sha256);
    assert.equal(
      firstDifference(await Deno.readFile(there.path), await Deno.readFile(here.path)),
      -1,
    );
  } finally {
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

Deno.test("index build thread: a trace of 4 MiB or more is parsed on one more thread, the same bytes", async () => {
  const trace = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(
    trace,
    [...generateTrace({ events: 40_000, seed: 4 })].join("\n") + "\n",
  );
  const a = await Deno.makeTempDir(), b = await Deno.makeTempDir();
  try {
    assert.ok(
      (await Deno.stat(trace)).size >= 4 << 20,
      "the trace is too small for the parse thread",
    );
    const here = await buildTraceIndex(trace, trace, undefined, a, { threads: 1 });
    const there = await buildIndexOnCappedHeap(trace, trace, undefined, b);
    assert.equal(
      firstDifference(await Deno.readFile(there.path), await Deno.readFile(here.path)),
      -1,
    );
  } finally {
    await Deno.remove(trace);
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});
