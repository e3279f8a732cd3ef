import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { assertGolden } from "./golden.ts";
import { runEntry } from "./support/command_run.ts";
import { bisectCommand } from "../src/cli/bisect.ts";
import "./support/repo_root.ts";

const TRACE = "traces/pcie-bar-above-e820.jsonl";

Deno.test("bisect --detector lookup-zero under linux-3.12 names the xen_add_device step as the first bad step", async () => {
  const r = await runEntry(bisectCommand, [
    TRACE,
    "--detector",
    "lookup-zero",
    "--policy",
    "linux-3.12",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /^step 16 is the first bad step\n {2}event: +step 16 \(line 17\) xen_add_device 0000:03:00\.0 \(5 resources\)\n {2}last good: step 15 \(line 16\)/m,
  );
  assert.match(r.out, /^later: +lookup-zero reports again at step\(s\) 20, 21; /m);
  assert.match(
    r.out,
    /^command: +p2mtrace bisect traces\/pcie-bar-above-e820\.jsonl --detector lookup-zero --policy linux-3\.12$/m,
  );
  const sha = createHash("sha256").update(Deno.readFileSync(TRACE)).digest("hex");
  assert.match(r.out, new RegExp(`^sha256: +${sha}$`, "m"));
  await assertGolden("bisect/lookup-zero.linux-3.12.txt", r.out);
});

Deno.test("bisect --pfn X --returns-zero: bad from step 0, holds again at the linux-3.16 boot pass", async () => {
  const r = await runEntry(bisectCommand, [
    TRACE,
    "--pfn",
    "0x3800000",
    "--returns-zero",
    "--policy",
    "linux-3.16",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /^step 0 is the first bad step: the property is bad before the first event$/m,
  );
  assert.match(
    r.out,
    /^later: +good again from step 13 \(line 14\) memory_setup max_reservation 0x100000; good at the end \(step 21\)$/m,
  );
  await assertGolden("bisect/returns-zero.linux-3.16.txt", r.out);
});

Deno.test("bisect with custom terms quotes them in every message", async () => {
  const r = await runEntry(bisectCommand, [
    TRACE,
    "--pfn",
    "0x9c",
    "--is",
    "identity",
    "--term-good",
    "ram",
    "--term-bad",
    "hole",
    "--policy",
    "linux-3.12",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^step 13 is the first 'hole' step$/m);
  assert.match(r.out, /^ {2}last 'ram': step 12 \(line 13\)/m);
  assert.match(r.out, /^why it is 'hole':$/m);
  await assertGolden("bisect/is-identity.terms.linux-3.12.txt", r.out);
});

Deno.test("bisect --json gives the result as one object", async () => {
  const r = await runEntry(bisectCommand, [
    TRACE,
    "--detector",
    "lookup-zero",
    "--policy",
    "linux-3.12",
    "--json",
  ]);
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  assert.deepEqual(o.first_bad, {
    step: 16,
    line: 17,
    kind: "xen_add_device",
    event: "xen_add_device 0000:03:00.0 (5 resources)",
  });
  assert.deepEqual(o.runs, [{ verdict: "good", from: 0, to: 15 }, {
    verdict: "bad",
    from: 16,
    to: 21,
  }]);
  await assertGolden("bisect/lookup-zero.linux-3.12.json", r.out);
});

Deno.test("bisect exits 1 when no step is bad", async () => {
  const r = await runEntry(bisectCommand, [
    TRACE,
    "--detector",
    "lookup-zero",
    "--policy",
    "linux-3.16",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.out, /\n\nno bad step: every step from 0 to 21 is good\n$/);
});

Deno.test("bisect --balloon-identity on stdin finds the identity write over ballooned pages", async () => {
  const text = [
    '{"format":"p2mtrace","version":1,"producer":"test","description":"balloon then identity",' +
    '"guest":{"type":"pv","domain":"domU","nr_pages":"0x40000"}}',
    '{"seq":1,"kind":"decrease_reservation","pfn":"0x3f000","pages":"0x10"}',
    '{"seq":2,"kind":"mark","text":"nothing"}',
    '{"seq":3,"kind":"set_identity","pfn":"0x3f008","end_pfn":"0x3f100"}',
    '{"seq":4,"kind":"increase_reservation","pfn":"0x3f000","pages":"0x10","mfn":"0x1000"}',
    '{"kind":"end","events":4}',
  ].join("\n") + "\n";
  const r = await runEntry(
    bisectCommand,
    ["-", "--balloon-identity", "--policy", "linux-3.16"],
    text,
  );
  assert.equal(r.code, 0, r.err);
  const sha = createHash("sha256").update(text).digest("hex");
  assert.match(r.out, new RegExp(`^sha256: +${sha}$`, "m"));
  assert.match(r.out, /^step 3 is the first bad step$/m);
  assert.match(
    r.out,
    /^ {2}8 ballooned\/extra-memory PFN\(s\) look up identity: 0x3f008-0x3f00f \(8 pages\)$/m,
  );
  await assertGolden("bisect/balloon-identity.stdin.linux-3.16.txt", r.out);
});

Deno.test("bisect usage errors name what is wrong", async () => {
  const cases: [string[], string][] = [
    [
      [TRACE],
      "bisect: give one predicate: --detector ID, --pfn X --returns-zero, --pfn X --is CLASS, or --balloon-identity (or 'bisect run' with a command)",
    ],
    [
      [TRACE, "--detector", "lookup-zero", "--balloon-identity"],
      "bisect: give one predicate: --detector ID, --pfn X --returns-zero, --pfn X --is CLASS, or --balloon-identity (or 'bisect run' with a command)",
    ],
    [
      [TRACE, "--returns-zero", "--balloon-identity"],
      "bisect: --returns-zero and --is need --pfn X",
    ],
    [[TRACE, "--pfn", "0x10"], "bisect: --pfn X takes exactly one of --returns-zero or --is CLASS"],
    [
      [TRACE, "--pfn", "0x10", "--is", "ram"],
      "bisect: --is takes identity, invalid, mapped, foreign, got 'ram'",
    ],
    [[TRACE, "--detector", "nope"], "unknown detector 'nope'; known: "],
    [
      [TRACE, "--balloon-identity", "--term-bad", "no good"],
      "bisect: --term-bad takes a word (letters, digits, - and _), got 'no good'",
    ],
    [
      [TRACE, "--balloon-identity", "--term-good", "x", "--term-bad", "x"],
      "bisect: --term-good and --term-bad must differ",
    ],
  ];
  for (const [argv, message] of cases) {
    const r = await runEntry(bisectCommand, argv);
    assert.equal(r.code, 64, argv.join(" "));
    assert.ok(r.err.startsWith(`p2mtrace: ${message}`), r.err);
  }
});
