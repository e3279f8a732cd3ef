import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { runEntry } from "./support/command_run.ts";
import { snapshotCommand } from "../src/cli/snapshot.ts";
import { lookupCommand } from "../src/cli/lookup.ts";
import { diffCommand } from "../src/cli/diff.ts";
import { runTrace } from "../src/replay/run.ts";
import { TraceReader } from "../src/trace/read.ts";
import "./support/repo_root.ts";

const TRACE = "traces/pcie-bar-above-e820.jsonl";
const TRACE_TEXT = Deno.readTextFileSync(TRACE);

// ---- snapshot ---------------------------------------------------------------------------------

Deno.test("snapshot --at 16 under linux-3.12 lists every P2M range with its class and structure", async () => {
  const r = await runEntry(snapshotCommand, [TRACE, "--at", "16", "--policy", "linux-3.12"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^ {2}0x180000-0x7ffffff +invalid +invalid +mid-missing \(shared\)$/m);
  await assertGolden("time_travel/snapshot.at16.linux-3.12.txt", r.out);
});

Deno.test("snapshot --format json is one line holding the documented snapshot document", async () => {
  const r = await runEntry(snapshotCommand, [TRACE, "--format", "json", "--policy", "linux-3.16"]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out.split("\n").length, 2);
  const o = JSON.parse(r.out);
  assert.equal(o.format, "p2mtrace-snapshot");
  assert.equal(o.version, 1);
  assert.equal(o.step, 21);
  assert.deepEqual(Object.keys(o), [
    "format",
    "version",
    "trace",
    "step",
    "events_applied",
    "event",
    "policy",
    "policy_options",
    "policy_source",
    "era",
    "guest",
    "max_pfn",
    "structure_limit",
    "p2m",
    "balloon",
    "extra",
    "hotplug",
    "e820",
    "boot",
    "devices",
    "bridges",
    "grants",
    "accounting",
  ]);
  await assertGolden("time_travel/snapshot.end.linux-3.16.json", r.out);
});

for (const policy of ["linux-3.12", "linux-3.16", "linux-3.19"]) {
  Deno.test(`snapshot --format debugfs under ${policy} prints the kernel's p2m dump at steps 0, 13 and end`, async () => {
    const parts: string[] = [];
    for (const at of ["0", "13", "end"]) {
      const r = await runEntry(snapshotCommand, [
        TRACE,
        "--at",
        at,
        "--format",
        "debugfs",
        "--policy",
        policy,
      ]);
      assert.equal(r.code, 0, r.err);
      assert.ok(
        r.out.split("\n").slice(0, -1).every((l) => /^ \[0x[0-9a-f]+->0x[0-9a-f]+\] /.test(l)),
      );
      parts.push(`== --at ${at}\n${r.out}`);
    }
    await assertGolden(`time_travel/snapshot.debugfs.${policy}.txt`, parts.join(""));
  });
}

Deno.test("snapshot --format debugfs of a v3.12 aliasing trace prints what p2m_dump_show prints: aliased GiBs stay 'top / missing'", async () => {
  // Under seed-v1 the BAR walk at step 16 writes identity into a mid-missing GiB: the v3.12
  // primitive swaps a slot of the shared p2m_mid_missing page, so lookups in every missing GiB
  // there answer identity. p2m_dump_show tests p2m_top[t] == p2m_mid_missing first and prints
  // those GiBs as level top, type missing.
  const r = await runEntry(snapshotCommand, [TRACE, "--format", "debugfs", "--policy", "seed-v1"]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.out.split("\n").slice(-4, -1), [
    " [0x140a00->0x180000] level middle",
    " [0x1408e4->0x7cfffff] missing",
    " [0x180000->0x7cfffff] level top",
  ]);
  await assertGolden("time_travel/snapshot.debugfs.seed-v1-aliasing.txt", r.out);
});

Deno.test("snapshot --format debugfs, fed back as a recorded p2m_dump, verifies line by line", async () => {
  for (const policy of ["linux-3.12", "linux-3.16", "linux-3.19"]) {
    const dump = await runEntry(snapshotCommand, [
      TRACE,
      "--format",
      "debugfs",
      "--policy",
      policy,
    ]);
    const lines = dump.out.split("\n").slice(0, -1);
    const body = TRACE_TEXT.trimEnd().split("\n").filter((l) => !l.startsWith('{"kind":"end"'));
    body.push(JSON.stringify({
      seq: 22,
      kind: "p2m_dump",
      format: policy === "linux-3.19" ? "list" : "tree",
      lines,
    }));
    const r = await runTrace(TraceReader.fromText("t", body.join("\n") + "\n"), { policy });
    const dumps = r.replayer.findings.filter((f) => f.detector === "divergence");
    assert.deepEqual(dumps, [], `${policy}: the dump diverges`);
    assert.equal(r.verified[0], r.verified[1]);
  }
});

Deno.test("snapshot reads stdin and names a step between seqs by its number", async () => {
  const text = TRACE_TEXT.split("\n").filter((l) =>
    !/"seq":1[0-2],/.test(l) && !l.startsWith('{"kind":"end"')
  )
    .join("\n");
  const r = await runEntry(snapshotCommand, ["-", "--at", "11", "--policy", "linux-3.12"], text);
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out.split("\n")[0],
    "snapshot of - at step 11 = step 9 (line 10) e820 [mem 0xe0000000-0xefffffff] reserved",
  );
});

Deno.test("snapshot --at past the last event is a usage error naming the last seq", async () => {
  const r = await runEntry(snapshotCommand, [TRACE, "--at", "99"]);
  assert.equal(r.code, 64);
  assert.equal(r.out, "");
  assert.equal(
    r.err,
    "p2mtrace: step 99 is past the end of the trace: its last event is seq 21 ('end' names the state after it)\n",
  );
});

Deno.test("snapshot rejects an unknown format and a bad step", async () => {
  let r = await runEntry(snapshotCommand, [TRACE, "--format", "xml"]);
  assert.equal(r.code, 64);
  assert.equal(r.err, "p2mtrace: snapshot: --format takes text, json or debugfs, got 'xml'\n");
  r = await runEntry(snapshotCommand, [TRACE, "--at", "last"]);
  assert.equal(r.code, 64);
  assert.equal(
    r.err,
    "p2mtrace: snapshot: --at takes a step number (a non-negative integer) or 'end', got 'last'\n",
  );
});

Deno.test("snapshot of a cut-off recording prints the last complete state and exits 3", async () => {
  const text = TRACE_TEXT.split("\n").slice(0, 14).join("\n") + '\n{"seq":14,"kind":"pci_ho';
  const r = await runEntry(snapshotCommand, ["-", "--policy", "linux-3.12"], text);
  assert.equal(r.code, 3);
  assert.match(r.out, /^snapshot of - at step 13 \(line 14\) memory_setup/);
  assert.match(r.err, /-:15: the recording was cut off/);
});

// ---- lookup -----------------------------------------------------------------------------------

Deno.test("lookup of a BAR PFN at step 16 under linux-3.12: PTE 0, answered by the shared mid-missing page", async () => {
  const r = await runEntry(lookupCommand, [
    TRACE,
    "0x3800000",
    "--at",
    "16",
    "--policy",
    "linux-3.12",
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /^ {2}pte \(pfn_pte\): +0: the whole PTE is 0 \(not present, frame 0\): bus address 0$/m,
  );
  assert.match(r.out, /^ {2}answered by: +mid-missing: /m);
  assert.match(r.out, /^ {2}what it is: .*0000:03:00\.0 BAR 1 \[mem 0x3800000000-0x3bffffffff\]/m);
  await assertGolden("time_travel/lookup.bar1.at16.linux-3.12.txt", r.out);
});

Deno.test("lookup --history lists every step that changed the PFN and blames the last", async () => {
  const r = await runEntry(lookupCommand, [TRACE, "0x9c", "--history", "--policy", "linux-3.12"]);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /^ {2}last changed: +step 13 \(line 14\) memory_setup max_reservation 0x100000: mfn -> identity$/m,
  );
  await assertGolden("time_travel/lookup.history.0x9c.linux-3.12.txt", r.out);
});

Deno.test("lookup --history under linux-3.16 blames the boot pass for identity above the E820 map", async () => {
  const r = await runEntry(lookupCommand, [
    TRACE,
    "0x3c00000",
    "--history",
    "--policy",
    "linux-3.16",
  ]);
  assert.equal(r.code, 0, r.err);
  await assertGolden("time_travel/lookup.history.0x3c00000.linux-3.16.txt", r.out);
});

Deno.test("lookup --addr keeps the page offset in the bus address", async () => {
  const r = await runEntry(lookupCommand, [
    TRACE,
    "--addr",
    "0xf0000010",
    "--policy",
    "linux-3.12",
    "--json",
  ]);
  assert.equal(r.code, 0, r.err);
  const o = JSON.parse(r.out);
  assert.equal(o.pfn, "0xf0000");
  assert.equal(o.addr, "0xf0000010");
  assert.equal(o.bus_address, "0xf0000010");
  await assertGolden("time_travel/lookup.addr.linux-3.12.json", r.out);
});

Deno.test("lookup rejects a missing PFN, a PFN with --addr, and a bad PFN", async () => {
  let r = await runEntry(lookupCommand, [TRACE]);
  assert.equal(r.code, 64);
  assert.equal(
    r.err,
    "p2mtrace: lookup: expected TRACE PFN (or TRACE --addr ADDR), got 1 operand(s) (see 'p2mtrace help lookup')\n",
  );
  r = await runEntry(lookupCommand, [TRACE, "0x10", "--addr", "0x1000"]);
  assert.equal(r.code, 64);
  r = await runEntry(lookupCommand, [TRACE, "0x10000000000"]);
  assert.equal(r.code, 64);
  assert.match(r.err, /PFN takes a frame number below 2\^40/);
});

// ---- diff -------------------------------------------------------------------------------------

Deno.test("diff 12 13 under linux-3.16 lists the boot pass's changes with both values and exits 1", async () => {
  const r = await runEntry(diffCommand, [TRACE, "12", "13", "--policy", "linux-3.16"]);
  assert.equal(r.code, 1, r.err);
  assert.match(r.out, /^ {2}0x440000-0x7ffffff \(129761280 pages\) invalid -> identity$/m);
  await assertGolden("time_travel/diff.12-13.linux-3.16.txt", r.out);
});

Deno.test("diff of two steps with the same P2M exits 0", async () => {
  const r = await runEntry(diffCommand, [TRACE, "16", "end", "--policy", "linux-3.12"]);
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    "--- step 16 (line 17) xen_add_device 0000:03:00.0 (5 resources)\n" +
      "+++ step 21 (line 22) lookup pfn 0x3c00000 via pte by nvidia: remap_pfn_range of BAR 3\n" +
      "no P2M entry differs; traces/pcie-bar-above-e820.jsonl under linux-3.12:iomap=honoured\n",
  );
});

Deno.test("diff B A shows the values the other way round", async () => {
  const ab = await runEntry(diffCommand, [TRACE, "0", "end", "--json", "--policy", "linux-3.12"]);
  const ba = await runEntry(diffCommand, [TRACE, "end", "0", "--json", "--policy", "linux-3.12"]);
  assert.equal(ab.code, 1);
  const x = JSON.parse(ab.out), y = JSON.parse(ba.out);
  assert.deepEqual(
    y.ranges,
    x.ranges.map((r: Record<string, string>) => ({ ...r, a: r.b, b: r.a })),
  );
  await assertGolden("time_travel/diff.0-end.linux-3.12.json", ab.out);
});
