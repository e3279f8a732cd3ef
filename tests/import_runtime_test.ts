import assert from "node:assert/strict";
import { OutputError } from "../src/errors.ts";
import { importBpftrace, importP2mDump } from "../src/cli/import_runtime.ts";
import { memoryIo } from "../src/cli/io.ts";
import { TraceError, UsageError } from "../src/errors.ts";
import { BpftraceLineError } from "../src/import/bpftrace/line_format.ts";
import { P2mDumpError } from "../src/p2m/debugfs_parse.ts";
import { TraceReader } from "../src/trace/read.ts";
import type { TraceEvent, TraceHeader } from "../src/trace/event.ts";
import { assertGolden } from "./golden.ts";

const here = (p: string) => new URL(p, import.meta.url).pathname;
const fixture = (p: string) => here(`./fixtures/${p}`);
/**
 * A recorded trace to append to: a copy of what `record` wrote for the domU sysfs fixture, kept
 * as a fixture so that regenerating record's golden output never changes this test's input.
 */
const BASE_TRACE = fixture("bpftrace/recorded-domU-4.19.jsonl");

async function roundTrip(text: string): Promise<{ header: TraceHeader; events: TraceEvent[] }> {
  const r = TraceReader.fromText("out.jsonl", text);
  const header = await r.header();
  const events: TraceEvent[] = [];
  for await (const b of r.batches()) events.push(...b);
  assert.equal(r.end?.events, events.length);
  return { header, events };
}

/** Runs a command with FILE's text on stdin (FILE is `-`), so output does not depend on paths. */
async function viaStdin(
  run: typeof importBpftrace,
  file: string,
  args: string[],
): Promise<{ out: string; err: string }> {
  const io = memoryIo(await Deno.readTextFile(fixture(file)));
  assert.equal(await run(["-", ...args], io), 0);
  return { out: io.out(), err: io.err() };
}

Deno.test("import bpftrace turns a dom0 session into the golden trace", async () => {
  const { out, err } = await viaStdin(
    importBpftrace,
    "bpftrace/dom0-5.10-balloon-sriov-hotplug.txt",
    ["--nr-pages", "0x100000", "--kernel", "5.10.0-21-amd64", "--xen", "4.14.5"],
  );
  await assertGolden("import/bpftrace-dom0-5.10.jsonl", out);
  await assertGolden("import/bpftrace-dom0-5.10.stderr.txt", err);
  const { header, events } = await roundTrip(out);
  assert.equal(header.guest.domain, "dom0");
  assert.deepEqual(
    events.map((e) => e.kind),
    [
      "mark",
      "decrease_reservation",
      "mark",
      "increase_reservation",
      "increase_reservation",
      "set_p2m",
      "set_p2m",
      "xen_add_device",
      "xen_add_device",
      "pci_resource_assign",
      "pci_resource_assign",
      "set_p2m",
      "memory_hotplug",
      "mark",
      "set_p2m",
      "mark",
      "xen_remove_device",
    ],
  );
});

Deno.test("import bpftrace --trace appends to a copy of a recorded trace", async () => {
  const before = await Deno.readTextFile(BASE_TRACE);
  const { out, err } = await viaStdin(importBpftrace, "bpftrace/domU-4.19-balloon.txt", [
    "--trace",
    BASE_TRACE,
  ]);
  assert.equal(await Deno.readTextFile(BASE_TRACE), before, "the input trace is untouched");
  await assertGolden("import/bpftrace-domU-4.19-appended.jsonl", out);
  assert.equal(err, "");
  const { header, events } = await roundTrip(out);
  const base = await roundTrip(before);
  assert.deepEqual(header.guest, base.header.guest);
  assert.deepEqual(
    events.slice(0, base.events.length).map((e) => e.raw),
    base.events.map((e) => e.raw),
  );
  const added = events.slice(base.events.length);
  assert.deepEqual(added.map((e) => [e.seq, e.kind]), [
    [18, "mark"],
    [19, "increase_reservation"],
    [20, "mark"],
    [21, "decrease_reservation"],
  ]);
  const inc = added[1];
  assert.ok(inc.kind === "increase_reservation");
  assert.deepEqual(inc.ranges, [
    { pfn: 0x807ff, endPfn: 0x80800 },
    { pfn: 0x807fe, endPfn: 0x807ff },
    { pfn: 0x807fd, endPfn: 0x807fe },
    { pfn: 0x807fc, endPfn: 0x807fd },
  ]);
  assert.equal(inc.mfn, 0x3c2000);
});

Deno.test("import bpftrace reports a malformed line with file, line and field", async () => {
  const file = fixture("bpftrace/malformed-pfn.txt");
  await assert.rejects(
    () => importBpftrace([file, "--domain", "domU"], memoryIo()),
    (e: unknown) =>
      e instanceof BpftraceLineError && e.exitCode === 65 && e.field === "pfn" &&
      e.message ===
        `${file}:3: field "pfn": expected a "0x..." hex value of at most 16 digits, got "807ff"`,
  );
});

Deno.test("import bpftrace rejects an unknown script version and a foreign line format", async () => {
  await assert.rejects(
    () => importBpftrace(["-"], memoryIo("p2mtrace1 5 begin script=2\n")),
    {
      message: '-:1: field "script": expected 1 (this importer reads tools/p2mtrace.bt ' +
        "version 1), got 2",
    },
  );
  await assert.rejects(
    () => importBpftrace(["-"], memoryIo("p2mtrace2 5 begin script=2\n")),
    {
      message: '-:1: expected lines of format version 1 ("p2mtrace1 <nsecs> <kind> ' +
        'key=value..."), got "p2mtrace2"',
    },
  );
});

Deno.test("import p2m-dump writes a tree-format dump as a new trace", async () => {
  const { out, err } = await viaStdin(importP2mDump, "debugfs/dom0-3.16-tree.p2m", [
    "--domain",
    "dom0",
    "--kernel",
    "3.16.0-4-amd64",
    "--xen",
    "4.4.1",
    "--nr-pages",
    "0x80000",
  ]);
  await assertGolden("import/p2m-dump-dom0-3.16-tree.jsonl", out);
  assert.equal(err, "");
  const { events } = await roundTrip(out);
  assert.equal(events.length, 1);
  assert.ok(events[0].kind === "p2m_dump" && events[0].format === "tree");
});

Deno.test("import p2m-dump --trace appends a list-format dump to a copy", async () => {
  const before = await Deno.readTextFile(BASE_TRACE);
  const { out } = await viaStdin(importP2mDump, "debugfs/domU-4.19-list.p2m", [
    "--trace",
    BASE_TRACE,
  ]);
  assert.equal(await Deno.readTextFile(BASE_TRACE), before);
  await assertGolden("import/p2m-dump-domU-4.19-appended.jsonl", out);
  const { events } = await roundTrip(out);
  const last = events[events.length - 1];
  assert.ok(last.kind === "p2m_dump");
  assert.equal(last.seq, 18);
  assert.deepEqual(last.lines, [" [0x0->0x40000] pfn", " [0x40000->0x80800] missing"]);
});

Deno.test("import p2m-dump names the line of a malformed dump", async () => {
  const file = fixture("debugfs/malformed-gap.p2m");
  await assert.rejects(
    () => importP2mDump([file], memoryIo()),
    (e: unknown) =>
      e instanceof P2mDumpError &&
      e.message === `${file}:3: expected a range starting at 0x100 (where the previous type ` +
          "line ended), got 0x200",
  );
  await assert.rejects(() => importP2mDump(["-"], memoryIo("\n")), TraceError);
});

Deno.test("imports never write over the trace they append to", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const trace = `${dir}/t.jsonl`;
    await Deno.copyFile(BASE_TRACE, trace);
    await assert.rejects(
      () =>
        importP2mDump(
          [fixture("debugfs/domU-4.19-list.p2m"), "--trace", trace, "-o", trace, "--force"],
          memoryIo(),
        ),
      (e: unknown) => e instanceof OutputError && /never modifies its input/.test(e.message),
    );
    const out = `${dir}/out.jsonl`;
    const args = [fixture("debugfs/domU-4.19-list.p2m"), "--trace", trace, "-o", out];
    assert.equal(await importP2mDump(args, memoryIo()), 0);
    await roundTrip(await Deno.readTextFile(out));
    await assert.rejects(
      () => importP2mDump(args, memoryIo()),
      /exists \(use --force to overwrite it\)/,
    );
    assert.equal(await Deno.readTextFile(trace), await Deno.readTextFile(BASE_TRACE));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import options are checked as usage errors", async () => {
  await assert.rejects(() => importP2mDump([], memoryIo()), UsageError);
  await assert.rejects(() => importBpftrace(["-", "--domain", "dom1"], memoryIo("")), {
    message: 'import bpftrace: --domain must be dom0 or domU, got "dom1"',
  });
  await assert.rejects(
    () => importBpftrace(["-", "--trace", BASE_TRACE, "--type", "hvm"], memoryIo("")),
    { message: "import bpftrace: --type describes a new trace; with --trace the header is copied" },
  );
  await assert.rejects(() => importBpftrace(["-", "--nr-pages", "lots"], memoryIo("")), UsageError);
  await assert.rejects(() => importP2mDump(["-", "--trace", "-"], memoryIo("")), {
    message: "import p2m-dump: FILE and --trace cannot both be - (standard input)",
  });
});

Deno.test("import p2m-dump --trace - copies the base trace as it arrives, never holding it whole", async () => {
  // The copy streams: while the base trace (a pipe still being written) is open, the events
  // read so far are already on stdout. A copy that kept every event first would print nothing
  // before the end of its input, and its memory would grow with the trace.
  const EVENTS = 100_000;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      here("../cli.ts"),
      "import",
      "p2m-dump",
      fixture("debugfs/domU-4.19-list.p2m"),
      "--trace",
      "-",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const chunks: string[] = [];
  let seenWhileOpen = false;
  let inputOpen = true;
  const marker = `"seq":${EVENTS / 2},`;
  let sawMarker!: () => void;
  const markerSeen = new Promise<void>((resolve) => (sawMarker = resolve));
  const drained = (async () => {
    const dec = new TextDecoder();
    let tail = "";
    for await (const bytes of child.stdout) {
      const text = dec.decode(bytes, { stream: true });
      chunks.push(text);
      if ((tail + text).includes(marker)) {
        if (inputOpen) seenWhileOpen = true;
        sawMarker();
      }
      tail = text.slice(-marker.length);
    }
    sawMarker();
  })();
  const w = child.stdin.getWriter();
  const enc = new TextEncoder();
  await w.write(enc.encode((await Deno.readTextFile(BASE_TRACE)).split("\n")[0] + "\n"));
  const lines: string[] = [];
  for (let seq = 1; seq <= EVENTS; seq++) lines.push(`{"seq":${seq},"kind":"mark","text":"m"}`);
  await w.write(enc.encode(lines.join("\n") + "\n"));
  // A generous liveness bound, not a timing: the half-way event must come out before the input
  // ends (it does within a second; a copy that waits for the end never prints it).
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    markerSeen,
    new Promise((resolve) => (timer = setTimeout(resolve, 60_000))),
  ]);
  clearTimeout(timer);
  inputOpen = false;
  await w.close();
  await drained;
  const status = await child.status;
  assert.equal(status.code, 0, await stderr);
  assert.ok(seenWhileOpen, "no copied event reached stdout before the base trace ended");
  const { events } = await roundTrip(chunks.join(""));
  assert.equal(events.length, EVENTS + 1);
  assert.equal(events[EVENTS].kind, "p2m_dump");
  assert.equal(events[EVENTS].seq, EVENTS + 1);
});
