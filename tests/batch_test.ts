/**
 * `check` and `summarize` over several traces or a directory: one line per trace in a stable
 * order, the same output whatever `--jobs`, and the documented exit rule.
 */

import assert from "node:assert/strict";
import { bundledTraces, cli } from "./cli_helpers.ts";

const ALL = bundledTraces().map((n) => `traces/${n}`);

Deno.test("check DIR prints one line per bundled trace, sorted by path, and exits 1 when any has findings", async () => {
  const r = await cli(["check", "traces", "--jobs", "1"]);
  assert.equal(r.code, 1, r.err);
  const lines = r.out.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.split(/ +/)[1]), ALL);
  // Each line agrees with the single-trace check of the same file.
  for (const [i, file] of ALL.entries()) {
    const one = await cli(["check", file, "--json"]);
    const res = JSON.parse(one.out);
    assert.equal(lines[i].startsWith(res.clean ? "clean " : "found "), true, lines[i]);
    assert.match(lines[i], new RegExp(`${res.policy}: ${res.events} event\\(s\\)`));
    if (!res.clean) {
      const f = res.findings[0];
      assert.match(
        lines[i],
        new RegExp(`first ${f.detector} at step ${f.seq} \\(line ${f.line}\\)$`),
      );
    }
  }
  assert.match(r.err, /^check: 8 trace\(s\): \d+ found, \d+ clean\n$/);
});

Deno.test("check over workers (--jobs 2) gives byte-identical output to --jobs 1", async () => {
  const files = [...ALL, "no/such.jsonl", ...ALL.slice(0, 3)];
  const one = await cli(["check", ...files, "--jobs", "1", "--policy", "linux-3.16"]);
  const two = await cli(["check", ...files, "--jobs", "2", "--policy", "linux-3.16"]);
  assert.equal(two.out, one.out);
  assert.equal(two.err, one.err);
  assert.equal(two.code, one.code);
  assert.equal(one.out.trimEnd().split("\n").length, files.length);
});

Deno.test("check of traces that cannot be checked says why per line; exit is the first such code when nothing is found", async () => {
  const r = await cli([
    "check",
    "traces/endpoint-io-bar.jsonl",
    "tests/fixtures/dmesg/empty.log",
    "no/such.jsonl",
    "--jobs",
    "1",
  ]);
  assert.equal(r.code, 65);
  assert.deepEqual(r.out.trimEnd().split("\n"), [
    "clean      traces/endpoint-io-bar.jsonl  linux-3.12: 16 event(s)",
    "malformed  tests/fixtures/dmesg/empty.log  tests/fixtures/dmesg/empty.log:1: expected a trace header, got an empty file",
    "unreadable no/such.jsonl  no/such.jsonl: cannot read: no such file",
  ]);
  assert.equal(r.err, "check: 3 trace(s): 1 clean, 1 malformed, 1 unreadable\n");
});

Deno.test("check --json over several traces: each trace's own object with its exit, one per line", async () => {
  const r = await cli(["check", "traces/endpoint-io-bar.jsonl", "no/such.jsonl", "--json"]);
  const objs = r.out.trimEnd().split("\n").map((l) => JSON.parse(l));
  const single = JSON.parse((await cli(["check", "traces/endpoint-io-bar.jsonl", "--json"])).out);
  assert.deepEqual(objs[0], { ...single, exit: 0 });
  assert.deepEqual(objs[1], {
    trace: "no/such.jsonl",
    exit: 66,
    error: "no/such.jsonl: cannot read: no such file",
  });
});

Deno.test("a file name with control characters cannot forge a batch line", async () => {
  const r = await cli(["check", "traces/endpoint-io-bar.jsonl", "x\nclean      y\x1b[2J"]);
  const lines = r.out.trimEnd().split("\n");
  assert.equal(lines.length, 2);
  assert.match(lines[1], /^unreadable x\\nclean {6}y\\u001b\[2J /);
});

Deno.test("summarize DIR: one line per trace with its verdict under the policy and every policy's verdict", async () => {
  const r = await cli(["summarize", "traces", "--jobs", "2"]);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.split(/ +/)[1]), ALL);
  const one = JSON.parse((await cli(["summarize", ALL[7], "--json"])).out);
  const verdicts = Object.entries(one.verdicts).map(([p, v]) => `${p}=${v}`).join(" ");
  assert.equal(
    lines[7],
    `${one.verdicts[one.policy].padEnd(10)} ${ALL[7]}  sha256:${one.sha256.slice(0, 12)}  ` +
      `pv dom0 3.12.6  ${one.events} event(s), ${one.bars_above_e820.length} BAR(s) above E820  ` +
      verdicts,
  );
});

Deno.test("a directory with no trace files is 66; bad --jobs is 64; --bisect-exit takes one trace", async () => {
  let r = await cli(["check", "docs"]);
  assert.equal(r.code, 66);
  assert.equal(
    r.err,
    "p2mtrace: docs: cannot read: no trace files (*.jsonl, *.jsonl.gz) in this directory\n",
  );
  r = await cli(["summarize", "docs"]);
  assert.equal(r.code, 66);
  for (const bad of ["0", "-1", "two", "1.5", "100000"]) {
    r = await cli(["check", "traces", `--jobs=${bad}`]);
    assert.equal(r.code, 64, bad);
    assert.match(r.err, /--jobs must be a whole number from 1 to 9999/);
  }
  r = await cli(["check", "traces", "--bisect-exit"]);
  assert.notEqual(r.code, 0);
  assert.notEqual(r.code, 1);
});
