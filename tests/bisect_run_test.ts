import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { runEntry } from "./support/command_run.ts";
import { bisectCommand } from "../src/cli/bisect.ts";
import "./support/repo_root.ts";

const TRACE = "traces/pcie-bar-above-e820.jsonl";
const FIX = "tests/fixtures/bisect";

function run(script: string[], extra: string[] = []) {
  return runEntry(bisectCommand, [
    "run",
    TRACE,
    "--policy",
    "linux-3.12",
    ...extra,
    "--",
    "sh",
    `${FIX}/${script[0]}`,
    ...script.slice(1),
  ]);
}

function logLines(out: string): string[] {
  return out.split("\n").filter((l) => l.startsWith("bisect "));
}

async function tempLog(text: string): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".log" });
  await Deno.writeTextFile(path, text);
  return path;
}

Deno.test("bisect run: a command reading the snapshot file (exit 0 good, 1 bad) finds step 16", async () => {
  const r = await run(["device_present.sh", "0000:03:00.0"]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(logLines(r.out).slice(1), [
    "bisect good 0",
    "bisect bad 21",
    "bisect good 10",
    "bisect good 15",
    "bisect bad 18",
    "bisect bad 16",
  ]);
  assert.match(r.out, /^step 16 is the first bad step$/m);
  await assertGolden("bisect/run.device-present.txt", r.out);
});

Deno.test("bisect run: a command reading the snapshot on stdin, bad with exit 3", async () => {
  const r = await run(["stdin_has.sh", '"started":true']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^step 21 \(line 22\) .*: exit 3: bad$/m);
  assert.match(
    r.out,
    /^step 17 is the first bad step\n {2}event: +step 17 \(line 18\) balloon_init$/m,
  );
});

Deno.test("bisect run: skipped steps next to the culprit give the candidates it could be", async () => {
  const r = await run(["skip_steps.sh", "16", "15", "16"], [
    "--term-good",
    "old",
    "--term-bad",
    "new",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^step 15 \(line 16\) .*: exit 125: skip$/m);
  assert.match(r.out, /^the first 'new' step could be any of: steps 15, 16, 17$/m);
  await assertGolden("bisect/run.skip.txt", r.out);
});

Deno.test("bisect run: exit 128 and above aborts with status 2", async () => {
  const r = await run(["abort_at.sh", "10", "16"]);
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.out,
    /\nbisect run stopped: the command aborted at step 10: exit 128 \(128 and above abort a bisect run\)\n$/,
  );
  await assertGolden("bisect/run.abort.txt", r.out);
});

Deno.test("bisect run: a command killed by a signal aborts", async () => {
  const r = await run(["abort_at.sh", "10", "16", "kill"]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.out, /\nbisect run stopped: the command aborted at step 10: killed by SIGKILL\n$/);
});

Deno.test("bisect run: both endpoints are verified first", async () => {
  let r = await run(["device_present.sh", "0000:99:00.0"]);
  assert.equal(r.code, 1, r.err);
  assert.deepEqual(logLines(r.out).slice(1), ["bisect good 0", "bisect good 21"]);
  assert.match(r.out, /\nno bad step: the bad endpoint, step 21, is good\n$/);
  r = await run(["device_present.sh", "0000:03:00.0"], ["--good", "17"]);
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.out,
    /\nbisect run stopped: the good endpoint, step 17, is bad: the first bad step is at or before it \(choose an earlier --good\)\n$/,
  );
  r = await run(["skip_steps.sh", "16", "21"]);
  assert.equal(r.code, 2, r.err);
  assert.match(
    r.out,
    /\nbisect run stopped: the bad endpoint, step 21, cannot be tested \(exit 125\)\n$/,
  );
});

Deno.test("bisect run --good/--bad search only between the endpoints", async () => {
  const r = await run(["device_present.sh", "0000:03:00.0"], ["--good", "14", "--bad", "17"]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(logLines(r.out).slice(1), [
    "bisect good 14",
    "bisect bad 17",
    "bisect good 15",
    "bisect bad 16",
  ]);
});

Deno.test("bisect run: usage errors", async () => {
  let r = await runEntry(bisectCommand, ["run", TRACE]);
  assert.equal(r.code, 64);
  assert.equal(
    r.err,
    "p2mtrace: bisect run: expected TRACE [options] -- CMD [ARGS...] (the command after '--')\n",
  );
  r = await runEntry(bisectCommand, ["run", TRACE, "--good", "16", "--bad", "16", "--", "true"]);
  assert.equal(r.code, 64);
  assert.equal(
    r.err,
    "p2mtrace: bisect run: the good endpoint (step 16) must come before the bad one (step 16)\n",
  );
  r = await runEntry(bisectCommand, ["run", TRACE, "--", "p2mtrace-no-such-command"]);
  assert.equal(r.code, 64);
  assert.equal(r.err, "p2mtrace: bisect run: command 'p2mtrace-no-such-command' not found\n");
});

Deno.test("bisect replay of a bisect run's output reaches the same first bad step", async () => {
  const session = await run(["device_present.sh", "0000:03:00.0"]);
  const path = await tempLog(session.out);
  try {
    const r = await runEntry(bisectCommand, ["replay", path]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(logLines(r.out), logLines(session.out));
    assert.match(r.out, /^step 16 is the first bad step$/m);
    await assertGolden("bisect/replay.device-present.txt", r.out.replace(path, "SESSION.log"));
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("bisect log keeps only the log lines of a saved session, and they replay", async () => {
  const session = await run(["device_present.sh", "0000:03:00.0"]);
  const log = await runEntry(bisectCommand, ["log", "-"], session.out);
  assert.equal(log.code, 0, log.err);
  assert.equal(log.out, logLines(session.out).join("\n") + "\n");
  const r = await runEntry(bisectCommand, ["replay", "-"], log.out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^step 16 is the first bad step$/m);
});

Deno.test("bisect replay of an edited log says which step to test next", async () => {
  const session = await run(["device_present.sh", "0000:03:00.0"]);
  const edited = session.out.split("\n").filter((l) => l !== "bisect bad 16").join("\n");
  const r = await runEntry(bisectCommand, ["replay", "-"], edited);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /\n2 step\(s\) left to test \(about 2 more run\(s\)\); next: step 16 \(line 17\) xen_add_device 0000:03:00\.0 \(5 resources\)\n$/,
  );
});

Deno.test("bisect replay rejects a log whose trace changed, and contradictory marks", async () => {
  const start = `bisect start ${TRACE} --policy linux-3.12 --sha256 ${"0".repeat(64)}\n`;
  let r = await runEntry(bisectCommand, ["replay", "-"], start);
  assert.equal(r.code, 65);
  assert.match(
    r.err,
    /^p2mtrace: -:1: the trace traces\/pcie-bar-above-e820\.jsonl has sha256 [0-9a-f]{64}, the log was made on 0{64}: the trace changed since/,
  );
  r = await runEntry(
    bisectCommand,
    ["replay", "-"],
    `bisect start ${TRACE}\nbisect bad 10\nbisect good 12\n`,
  );
  assert.equal(r.code, 65);
  assert.equal(r.err, "p2mtrace: -:3: 'bisect good 12': a good mark at or after a bad one\n");
  r = await runEntry(bisectCommand, ["replay", "-"], "bisect good 3\n");
  assert.equal(r.code, 65);
  assert.equal(r.err, "p2mtrace: -:1: 'bisect good' before 'bisect start'\n");
  r = await runEntry(bisectCommand, ["replay", "-"], `bisect start ${TRACE}\nbisect good 99\n`);
  assert.equal(r.code, 65);
  assert.match(r.err, /^p2mtrace: -:2: step 99 is past the end of the trace/);
});
