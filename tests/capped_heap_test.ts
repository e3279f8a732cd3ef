/**
 * The commands that stream a whole trace run on a worker thread with a capped young generation
 * (`src/cli/capped_heap.ts`); what a user sees must not change: the same output, exit code,
 * standard input, closed pipes and an interrupt's exit status as `main()` gives in-process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { cli } from "./cli_helpers.ts";
import { runOnCappedHeap, streams } from "../src/cli/capped_heap.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const TRACE = `${ROOT}traces/pcie-bar-above-e820.jsonl`;

async function sub(args: string[], stdin?: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", `${ROOT}cli.ts`, ...args],
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const r = await child.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

Deno.test("a streaming command on its own thread prints what main() prints, with its exit code", async () => {
  const text = await Deno.readTextFile(TRACE);
  for (
    const [args, stdin] of [
      [["validate", TRACE, "--json"], undefined],
      [["validate", "-"], text],
      [["validate", "-"], "not json\n"],
      [["bisect", TRACE, "--detector", "lookup-zero"], undefined],
      [["map", "-", "--format", "text", "--at", "16"], text],
      [["map", `${ROOT}traces/no-such-trace.jsonl`], undefined],
      [["summarize", "-"], text],
      [["summarize", TRACE, "--json"], undefined],
      [["summarize", `${ROOT}traces`, "--jobs", "2"], undefined],
      [["compare", TRACE, "--json"], undefined],
      [["compare", "-"], text.slice(0, -20)], // cut off: exit 3
      // Questions that replay from step 0 (`sub` gives no environment: no cache directory).
      [["snapshot", TRACE, "--at", "12"], undefined],
      [["snapshot", "-", "--format", "debugfs"], text.slice(0, -20)], // cut off: exit 3
      [["lookup", TRACE, "0x1000", "--history"], undefined],
      [["diff", "-", "0", "end", "--json"], text],
    ] as const
  ) {
    assert.equal(streams(args, () => undefined), true, args.join(" "));
    const inProcess = await cli([...args], stdin ?? "");
    const r = await sub([...args], stdin);
    assert.equal(r.code, inProcess.code, `${args.join(" ")}: ${r.err}`);
    assert.equal(r.out, inProcess.out, args.join(" "));
    assert.equal(r.err, inProcess.err, args.join(" "));
  }
});

Deno.test("help, a command's --help and the cached question commands stay on the main thread", () => {
  assert.equal(streams(["help"]), false);
  assert.equal(streams(["check", "--help"]), false);
  // With a cache directory to read, the index may answer: start-up is then the cost.
  const cache = (name: string) => name === "P2MTRACE_CACHE_DIR" ? ROOT : undefined;
  assert.equal(streams(["lookup", TRACE, "0x1000"], cache), false);
  assert.equal(streams(["snapshot", TRACE, "--help"], () => undefined), false);
  assert.equal(streams(["replay", TRACE]), false);
  assert.equal(streams(["--version"]), false);
});

// Least privilege: reading a trace needs only read access to it. The thread's modules need read
// access to src/, which `--allow-read=TRACE` does not give: the command then runs on the main
// thread, with the same output, instead of failing with Deno's permission error (exit 70).
Deno.test("with read access to the trace alone, a streaming command runs on the main thread", async () => {
  for (
    const args of [
      ["validate", TRACE, "--json"],
      ["bisect", TRACE, "--detector", "lookup-zero"],
      ["map", TRACE, "--format", "text", "--at", "16"],
    ]
  ) {
    const inProcess = await cli(args, "");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", `--allow-read=${TRACE}`, `${ROOT}cli.ts`, ...args],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const dec = new TextDecoder();
    assert.equal(dec.decode(out.stderr), inProcess.err, args.join(" "));
    assert.equal(out.code, inProcess.code, args.join(" "));
    assert.equal(dec.decode(out.stdout), inProcess.out, args.join(" "));
  }
});

// A streaming command's thread that reaches its heap limit must end the command with a clear
// error, never wait forever. Deno 2.9.6 reports ERR_WORKER_OUT_OF_MEMORY only for a thread that
// never yielded; one that reached the limit after an awaited op (as every streaming command
// does) sent nothing and the process waited forever, or its thread exited 1 with no message.
// tests/support/oom_cli.ts is cli.ts's streaming path with a thread that allocates until its
// 48 MB old generation is full; a kill timer turns a hang into a failure.
Deno.test("a capped thread out of heap is a clear error and exit 70, never a hang", async () => {
  for (
    const [mode, flags, code] of [
      ["yielding", [], 70],
      ["busy", [], 70],
      ["unwatched", [], 70],
      ["yielding", ["--bisect-exit"], 128],
    ] as const
  ) {
    const killer = new AbortController();
    const timer = setTimeout(() => killer.abort(), 60_000);
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", `${ROOT}tests/support/oom_cli.ts`, mode, "48", ...flags],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: killer.signal,
    }).output();
    clearTimeout(timer);
    const err = new TextDecoder().decode(r.stderr);
    assert.ok(!killer.signal.aborted, `${mode}: hung (killed after 60 s)`);
    assert.equal(r.code, code, `${mode} ${flags}: ${err}`);
    assert.equal(
      err.split("\n")[0],
      "p2mtrace: map: out of memory: its thread's JavaScript heap reached the 48 MB V8 allows " +
        "it (the old generation)",
      mode,
    );
    assert.doesNotMatch(err, /\n\s+at |panicked|Uncaught/, mode);
  }
});

// bisect and map hold state bounded by the P2M (10-16 MB live at 10M events), and V8 grows a
// heap less eagerly under a smaller maximum: their thread's old generation is 512 MB. summarize
// and compare hold every finding until they print, so theirs follows the trace: 2000 MB. validate
// keeps V8's own limit, which is larger.
Deno.test("bisect and map run with a 512 MB old generation, summarize and compare 2000 MB, validate V8's own", async () => {
  const thread = new URL("./support/limits_thread.ts", import.meta.url);
  for (
    const [command, mb] of [["bisect", 512], ["map", 512], ["summarize", 2000], [
      "compare",
      2000,
    ]] as const
  ) {
    assert.equal(await runOnCappedHeap([command], { thread }), mb, command);
  }
  const mb = await runOnCappedHeap(["validate"], { thread });
  assert.ok(mb > 2000, `validate: ${mb} MB`);
});
