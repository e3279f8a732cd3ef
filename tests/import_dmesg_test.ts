import { createHash } from "node:crypto";
/**
 * `p2mtrace import dmesg` end to end, in-process: every fixture log against its golden trace
 * and stderr report, every produced trace through the trace reader, the -o/--force rules, the
 * data errors, and the public logs of tests/fixtures/real-logs.
 *
 * @module
 */

import assert from "node:assert/strict";
import { importCommand } from "../src/cli/import.ts";
import { memoryIo } from "../src/cli/io.ts";
import { reportError } from "../src/cli/report_error.ts";
import type { E820Event, MemorySetupEvent, TraceEvent, TraceHeader } from "../src/trace/event.ts";
import { TraceReader } from "../src/trace/read.ts";
import { assertGolden } from "./golden.ts";
import { utf16 } from "./support/utf16.ts";

const FIXTURES = new URL("./fixtures/dmesg/", import.meta.url);
const GOLDEN = new URL("./golden/", import.meta.url);

/**
 * assertGolden when the environment may be read (it checks UPDATE_GOLDEN); without
 * --allow-env the same comparison, read-only, so the tests also pass with --allow-read only.
 */
async function golden(name: string, actual: string): Promise<void> {
  const env = await Deno.permissions.query({ name: "env", variable: "UPDATE_GOLDEN" });
  if (env.state === "granted") return assertGolden(name, actual);
  const expected = await Deno.readTextFile(new URL(name, GOLDEN));
  assert.equal(actual, expected, `output differs from tests/golden/${name}`);
}
const REAL_LOGS = decodeURIComponent(new URL("./fixtures/real-logs", import.meta.url).pathname);

const fixture = (name: string) => decodeURIComponent(new URL(name, FIXTURES).pathname);

/** Runs the command as main() would: errors become a message and an exit code. */
async function run(args: string[], stdin = "") {
  const io = memoryIo(stdin);
  let code: number;
  try {
    code = await importCommand.run(args, io);
  } catch (e) {
    code = reportError(e, io);
  }
  return { code, out: io.out(), err: io.err() };
}

/** Reads a trace back with the project's own reader; fails on any error. */
async function readBack(text: string): Promise<{ header: TraceHeader; events: TraceEvent[] }> {
  const r = TraceReader.fromText("t.jsonl", text);
  const header = await r.header();
  const events: TraceEvent[] = [];
  for await (const batch of r.batches()) events.push(...batch);
  assert.equal(r.end?.events, events.length, "the end record counts the events");
  return { header, events };
}

const GOLDEN_FIXTURES = [
  "dom0-3.12-serial",
  "dom0-3.0-mail-quoted",
  "dom0-5.10-journalctl",
  "dom0-6.8-xen-timestamps",
  "domU-3.16-pcifront",
  "domU-4.19-syslog",
  "domU-6.1-dmesg-T",
  "hvm-3.2-crlf",
  "truncated",
  "garbled",
];

for (const name of GOLDEN_FIXTURES) {
  Deno.test(`import dmesg ${name}.log matches its golden trace and report`, async () => {
    const path = fixture(`${name}.log`);
    const r = await run(["dmesg", path]);
    assert.equal(r.code, 0, r.err);
    await golden(`import/dmesg-${name}.jsonl`, r.out);
    await golden(`import/dmesg-${name}.stderr`, r.err.replaceAll(path, "<LOG>"));
    const { events } = await readBack(r.out);
    assert.deepEqual(events.map((e) => e.seq), events.map((_, i) => i + 1));
    const again = await run(["dmesg", path]);
    assert.equal(again.out, r.out, "the same log gives a byte-identical trace");
  });
}

Deno.test("import dmesg 3.12 dom0: the BAR above the last E820 entry reaches xen_add_device", async () => {
  const { header, events } = await readBack(
    (await run(["dmesg", fixture("dom0-3.12-serial.log")])).out,
  );
  assert.equal(header.guest.nrPages, 0x100000);
  assert.equal(
    header.raw.nr_pages_source,
    "(XEN) Dom0 alloc.: 1025492 pages to be allocated + 16384 pages of the allocated chunk " +
      "+ 6700 initrd pages",
  );
  const lastRaw = events.filter((e): e is E820Event => e.kind === "e820" && e.map === "raw").at(
    -1,
  )!;
  const gpu = events.find((e) => e.kind === "xen_add_device" && e.device === "0000:01:00.0");
  assert.ok(gpu?.kind === "xen_add_device");
  const bar = gpu.resources.find((r) => r.index === 1)!;
  assert.ok(bar.start >= lastRaw.start + lastRaw.size, "BAR 1 lies above the last raw entry");
  assert.equal(bar.flags, 0x14220c);
  const ms = events.find((e): e is MemorySetupEvent => e.kind === "memory_setup")!;
  assert.equal(ms.maxReservation, 0x100000);
  assert.deepEqual(ms.expect?.populatedRanges, [{ pfn: 0x100000, endPfn: 0x1408e9 }]);
});

Deno.test("import dmesg reads stdin and gzip like a file", async () => {
  const path = fixture("domU-3.16-pcifront.log");
  const text = await Deno.readTextFile(path);
  const fromFile = await run(["dmesg", path]);
  const fromStdin = await run(["dmesg", "-"], text);
  assert.equal(fromStdin.code, 0);
  assert.equal(fromStdin.out, fromFile.out);
  assert.equal((await run(["dmesg", "-", "-o", "-"], text)).out, fromFile.out);
  const dir = await Deno.makeTempDir();
  try {
    const gz = `${dir}/log.gz`;
    const bytes = new Response(
      new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
    );
    await Deno.writeFile(gz, new Uint8Array(await bytes.arrayBuffer()));
    assert.equal((await run(["dmesg", gz])).out, fromFile.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import dmesg: a log with CR-only line ends imports as with LF", async () => {
  for (const name of ["domU-3.16-pcifront", "dom0-3.12-serial"]) {
    const text = await Deno.readTextFile(fixture(`${name}.log`));
    const lf = await run(["dmesg", "-"], text.replaceAll("\r\n", "\n"));
    const cr = await run(["dmesg", "-"], text.replaceAll("\r\n", "\n").replaceAll("\n", "\r"));
    assert.equal(cr.code, 0, cr.err);
    // The id and source.sha256 hash the bytes read, which differ in their line ends.
    const unhashed = (t: string) => t.replace(/[0-9a-f]{64}/g, "<sha256>");
    assert.equal(unhashed(cr.out), unhashed(lf.out), `${name}: the same trace`);
    assert.equal(cr.err, lf.err, `${name}: the same report`);
  }
});

/**
 * Time-only prefixes (a timestamp, no host or program) as capture tools, `ts`, serial
 * consoles and trimmed journals write them, alone or stacked on the kernel's own time, and
 * RFC 5424 syslog: whatever follows the time is the kernel message, also when it reads
 * `driver device: ...` (dev_printk: `pcifront pci-0: claiming resource ...`).
 */
const TIME_ONLY_PREFIXES = [
  "2015-08-04T10:00:00+0200 ",
  "2015-08-04T10:00:00.123456+02:00 ",
  "2015-08-04 10:00:00,123 ",
  "2015-08-04T10:00:00Z [    0.517009] ",
  "Tue 2015-08-04 10:00:00 CEST ",
  "Aug  4 10:00:00 ",
  "Aug  4 10:00:00.123456 [    0.517009] ",
  "1438675200.123456 ",
  "10:00:00.123 ",
  "[10:00:00.123] ",
  "[2015-08-04 10:00:00.123] ",
  "2015/08/04 10:00:00 ",
  "[Aug 4 10:00] ",
  "[  +0.000012] ",
  "12: [    0.517009] ",
  "<6>1 2015-08-04T10:00:00.123+02:00 guest1 kernel - - - ",
  '<14>1 2015-08-04T10:00:00Z guest1 kernel - - [timeQuality tzKnown="1"] ',
];

Deno.test("import dmesg: dev_printk lines after a time-only prefix are kernel lines", async () => {
  const text = await Deno.readTextFile(fixture("domU-3.16-pcifront.log"));
  const bare = text.replace(/^\[ *\d+\.\d+\] /gm, "");
  const events = (out: string) =>
    out.split("\n").slice(1).map((l) => l.replace(/,"time":[0-9.e-]+/, "")).join("\n");
  const expected = await run(["dmesg", "-"], bare);
  assert.equal(expected.code, 0, expected.err);
  assert.match(expected.out, /"action":"claimed"/);
  for (const prefix of TIME_ONLY_PREFIXES) {
    const r = await run(["dmesg", "-"], bare.replace(/^(?=.)/gm, prefix));
    assert.equal(r.code, 0, `${prefix}: ${r.err}`);
    assert.equal(events(r.out), events(expected.out), `'${prefix}': the same events`);
  }
});

/** Ways a log's text reaches us re-encoded: saved by Windows tools, copied from web pages. */
const REENCODINGS: Record<string, (text: string) => Uint8Array> = {
  // Windows PowerShell 5.1's '>' and Out-File, Notepad's "Unicode": UTF-16LE with a BOM.
  "utf-16le with BOM": (t) => utf16(t, true, true),
  "utf-16be with BOM": (t) => utf16(t, false, true),
  "utf-16le without BOM": (t) => utf16(t, true, false),
  // Copied from a rendered page: runs of blanks come back as no-break spaces, zero-width spaces.
  "no-break spaces": (t) =>
    new TextEncoder().encode(t.replace(/ {2}/g, "\u00a0 ").replace(/: /g, ":\u200b ")),
  // Pasted with line numbers (an editor, a bug tracker), continuation and plain lines too.
  "numbered 'N: '": (t) => new TextEncoder().encode(numbered(t, (n) => `${n}: `)),
  "numbered 'LN '": (t) => new TextEncoder().encode(numbered(t, (n) => `L${n} `)),
  // Copied from a page's HTML source or an escaped archive.
  "html entities": (t) =>
    new TextEncoder().encode(
      t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
        / {2}/g,
        " &nbsp;",
      ),
    ),
};

/** Every line of `text` numbered from 1 (the last newline ends a line, it starts none). */
function numbered(text: string, style: (n: number) => string): string {
  const lines = text.split("\n");
  const ended = lines.at(-1) === "";
  if (ended) lines.pop();
  return lines.map((l, i) => style(i + 1) + l).join("\n") + (ended ? "\n" : "");
}

Deno.test("import dmesg: a log re-encoded (UTF-16, no-break spaces, HTML entities, line numbers) imports the same", async () => {
  for (
    const name of ["domU-3.16-pcifront", "dom0-3.12-serial", "dom0-3.0-mail-quoted", "truncated"]
  ) {
    const text = await Deno.readTextFile(fixture(`${name}.log`));
    const plain = await run(["dmesg", "-"], text);
    assert.equal(plain.code, 0, plain.err);
    // The same trace but for the hash of the bytes read.
    const events = (out: string) => out.replace(/[0-9a-f]{64}/g, "<sha256>");
    for (const [how, encode] of Object.entries(REENCODINGS)) {
      const io = { ...memoryIo(""), stdin: ReadableStream.from([encode(text)]) };
      let code: number;
      try {
        code = await importCommand.run(["dmesg", "-"], io);
      } catch (e) {
        code = reportError(e, io);
      }
      assert.equal(code, 0, `${name}, ${how}: ${io.err()}`);
      assert.equal(events(io.out()), events(plain.out), `${name}, ${how}: the same trace`);
    }
  }
});

Deno.test("import dmesg -o never overwrites without --force", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = fixture("domU-4.19-syslog.log");
    const out = `${dir}/trace.jsonl`;
    const first = await run(["dmesg", log, "-o", out]);
    assert.equal(first.code, 0);
    assert.equal(first.out, "");
    const written = await Deno.readTextFile(out);
    await readBack(written);
    await Deno.writeTextFile(out, "precious\n");
    const refused = await run(["dmesg", log, "-o", out]);
    assert.equal(refused.code, 74);
    assert.equal(
      refused.err,
      `p2mtrace: ${out}: cannot write: it exists (use --force to overwrite it)\n`,
    );
    assert.equal(await Deno.readTextFile(out), "precious\n");
    const forced = await run(["dmesg", log, "--output", out, "--force"]);
    assert.equal(forced.code, 0);
    assert.equal(await Deno.readTextFile(out), written);
    const self = await run(["dmesg", out, "-o", out, "--force"]);
    assert.equal(self.code, 74);
    assert.match(self.err, /it is an input of this command \(p2mtrace never modifies its input\)/);
    assert.equal(await Deno.readTextFile(out), written);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import dmesg creates no output file when the log is unusable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/trace.jsonl`;
    const r = await run(["dmesg", fixture("empty.log"), "-o", out]);
    assert.equal(r.code, 65);
    await assert.rejects(Deno.stat(out), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import dmesg: empty, binary and unrelated input are data errors (65)", async () => {
  for (const name of ["empty", "binary-garbage", "no-kernel-lines"]) {
    const path = fixture(`${name}.log`);
    const r = await run(["dmesg", path]);
    assert.equal(r.code, 65, name);
    assert.equal(r.out, "", name);
    await golden(`import/dmesg-${name}.stderr`, r.err.replaceAll(path, "<LOG>"));
  }
});

Deno.test("import dmesg --boot picks a boot of a multi-boot journal", async () => {
  const path = fixture("dom0-5.10-journalctl.log");
  const second = await run(["dmesg", path, "--boot", "2"]);
  assert.equal(second.code, 0, second.err);
  const { header } = await readBack(second.out);
  assert.equal(header.guest.kernel, "5.10.0-21-amd64");
  const none = await run(["dmesg", path, "--boot", "3"]);
  assert.equal(none.code, 65);
  assert.match(none.err, /holds 2 boot\(s\), so there is no boot 3/);
});

Deno.test("import dmesg --nr-pages sets nr_pages and removes the estimate mark", async () => {
  const r = await run(["dmesg", fixture("domU-6.1-dmesg-T.log"), "--nr-pages", "0x80000"]);
  const { header, events } = await readBack(r.out);
  assert.equal(header.guest.nrPages, 0x80000);
  assert.equal(header.raw.nr_pages_source, "given with --nr-pages");
  assert.ok(!events.some((e) => e.kind === "mark" && /estimate/.test(e.text)));
  assert.doesNotMatch(r.err, /estimate/);
});

Deno.test("import usage errors exit 64 and name the problem", async () => {
  const cases: [string[], RegExp][] = [
    [[], /import: expected a format \(dmesg, bpftrace, p2m-dump\)/],
    [["sysfs"], /import: no format 'sysfs'; known: dmesg, bpftrace, p2m-dump/],
    [["dmesg"], /import dmesg: expected LOG, got 0 operand\(s\)/],
    [["dmesg", "a", "b"], /expected LOG, got 2 operand\(s\)/],
    [["dmesg", "a", "--frobnicate"], /import dmesg: Unknown option '--frobnicate'/],
    [["dmesg", "a", "--boot", "0"], /--boot expects a positive integer, got '0'/],
    [["dmesg", "a", "--nr-pages", "lots"], /--nr-pages expects a page count/],
  ];
  for (const [args, re] of cases) {
    const r = await run(args);
    assert.equal(r.code, 64, args.join(" "));
    assert.match(r.err, re);
  }
});

Deno.test("import dmesg of a missing file exits 66", async () => {
  const r = await run(["dmesg", fixture("no-such.log")]);
  assert.equal(r.code, 66);
  assert.match(r.err, /no-such\.log: cannot read: no such file/);
});

Deno.test("import --help and import dmesg --help print help", async () => {
  const top = memoryIo();
  assert.equal(await importCommand.run(["dmesg", "--help"], top), 0);
  assert.match(top.out(), /^usage: p2mtrace import dmesg LOG/);
  assert.match(importCommand.help, /formats:\n {2}dmesg {2}/);
  assert.match(importCommand.help, /--nr-pages N/, "main() shows this for 'import dmesg --help'");
});

// ---- the public logs (provenance beside each, in NAME.provenance.md) -----------------------

const realLogs = [...Deno.readDirSync(REAL_LOGS)].filter((e) => e.name.endsWith(".log")).map((e) =>
  e.name
).sort();

async function realTrace(prefix: string) {
  const name = realLogs.find((n) => n.startsWith(prefix));
  assert.ok(name, `${prefix} is in ${REAL_LOGS}`);
  const r = await run(["dmesg", `${REAL_LOGS}/${name}`]);
  assert.equal(r.code, 0, r.err);
  return { ...(await readBack(r.out)), err: r.err };
}

Deno.test({
  name: "real log 01 (Konrad, dom0 3.8): counts 283999, nr_pages 0x1acb65, raw map from (XEN)",
  fn: async () => {
    const { header, events, err } = await realTrace("01-");
    assert.deepEqual([header.guest.type, header.guest.domain, header.guest.nrPages], [
      "pv",
      "dom0",
      0x1acb65,
    ]);
    assert.deepEqual([header.guest.kernel, header.guest.xen, header.policy], [
      "3.8.0upstream-06471-g2ef14f4-dirty",
      "4.1.5-pre",
      "linux-3.12",
    ]);
    const raw = events.filter((e): e is E820Event => e.kind === "e820" && e.map === "raw");
    assert.equal(raw.length, 21);
    assert.deepEqual([raw[0].start, raw[0].size], [0, 0x9ec00]);
    assert.equal(raw.at(-1)!.start + raw.at(-1)!.size, 0x23fe00000);
    const ms = events.find((e): e is MemorySetupEvent => e.kind === "memory_setup")!;
    assert.deepEqual([ms.expect?.identity, ms.expect?.released, ms.expect?.populated], [
      283999,
      283999,
      283999,
    ]);
    assert.equal(ms.expect?.identityRanges?.length, 6);
    assert.deepEqual(ms.expect?.releasedRanges?.[5], { pfn: 0xbb000, endPfn: 0x100000 });
    assert.ok(events.indexOf(ms) > events.indexOf(raw.at(-1)!), "raw map before memory_setup");
    assert.equal(events.filter((e) => e.kind === "e820" && e.map === "kernel").length, 22);
    assert.ok(events.some((e) => e.kind === "mark" && /Domain 0 \(vcpu#0\) crashed/.test(e.text)));
    assert.match(err, /lacanning/, "the garbled line is reported, not dropped");
  },
});

Deno.test({
  name: "real log 02 (3.2 PV domU): old Xen map format, zero counts, balloon",
  fn: async () => {
    const { header, events } = await realTrace("02-");
    assert.deepEqual([header.guest.type, header.guest.domain, header.guest.xen], [
      "pv",
      "domU",
      "4.1.2",
    ]);
    const kernel = events.filter((e) => e.kind === "e820" && e.map === "kernel");
    assert.equal(kernel.length, 3);
    const raw = events.filter((e): e is E820Event => e.kind === "e820" && e.map === "raw");
    assert.deepEqual(raw.map((e) => [e.start, e.size, e.type]), [[0, 0x80800000, 1]]);
    const ms = events.find((e): e is MemorySetupEvent => e.kind === "memory_setup")!;
    assert.deepEqual(ms.expect, { identity: 0, released: 0 });
    assert.equal(events.filter((e) => e.kind === "balloon_init").length, 1);
    assert.equal(header.guest.nrPages, 0x80800);
    assert.ok(events.some((e) => e.kind === "mark" && /estimate/.test(e.text)));
  },
});

Deno.test({
  name: "real log 04 (6.12 PV domU, pcifront): remapped 553565, claimed BARs, 4 root buses",
  fn: async () => {
    const { header, events } = await realTrace("04-");
    assert.deepEqual([header.guest.type, header.guest.domain, header.policy], [
      "pv",
      "domU",
      "linux-4.3",
    ]);
    assert.equal(header.guest.xen, "4.18.4-pre");
    const ms = events.find((e): e is MemorySetupEvent => e.kind === "memory_setup")!;
    assert.deepEqual(ms.expect, { released: 0, remapped: 553565, p2mAreaSize: 0xc600000 });
    assert.equal(header.guest.nrPages, 0x1800000);
    const bridges = events.filter((e) => e.kind === "pci_host_bridge");
    assert.deepEqual(bridges.map((e) => e.kind === "pci_host_bridge" && e.bus), [
      "0000:83",
      "0000:84",
      "0000:86",
      "0000:87",
    ]);
    const claims = events.filter((e) => e.kind === "pci_resource_assign");
    assert.equal(claims.length, 10);
    assert.ok(claims.every((e) => e.kind === "pci_resource_assign" && e.action === "claimed"));
    const rom = claims.find((e) =>
      e.kind === "pci_resource_assign" && e.device === "0000:87:00.0" && e.resource.index === 6
    );
    assert.deepEqual(rom?.kind === "pci_resource_assign" && rom.resource, {
      index: 6,
      start: 0xfb700000,
      end: 0xfb7fffff,
      flags: 0x4e200,
    });
    assert.ok(!events.some((e) => e.kind === "xen_add_device"), "no notifier in a domU");
    assert.ok(events.every((e) => e.time === undefined), "the log has no timestamps");
  },
});

Deno.test({
  name: "real log 12 (5.18 HVM hot-plug fragment): no map, no boot pass, so unusable (65)",
  fn: async () => {
    // Issue 11 item 2: a trace of one BAR assignment and no memory map replays nothing the
    // kernel did to the P2M; the message quotes the lines it did find.
    const name = realLogs.find((n) => n.startsWith("12-"))!;
    const r = await run(["dmesg", `${REAL_LOGS}/${name}`]);
    assert.equal(r.code, 65);
    assert.equal(r.out, "");
    assert.match(r.err, /no E820 map and no line of the Xen boot pass/);
    assert.match(r.err, /its first relevant line\(s\):\n +\d+: .*0000:00:04\.0/);
  },
});

Deno.test("import dmesg hashes a large input exactly, in bounded memory", async () => {
  const head = await Deno.readTextFile(fixture("domU-4.19-syslog.log"));
  const filler = "Nov 24 10:00:03 guest1 kernel: [    5.000000] random: crng init done\n";
  const text = head + filler.repeat(Math.ceil((16 * 2 ** 20) / filler.length));
  const r = await run(["dmesg", "-"], text);
  assert.equal(r.code, 0, r.err);
  const { header } = await readBack(r.out);
  const expected = createHash("sha256").update(text).digest("hex");
  assert.equal(header.id, `sha256:${expected}`);
  assert.equal((header.raw.source as Record<string, unknown>).sha256, expected);
});

/**
 * A line as a 72-column mail client or terminal wraps it: cut at the last blank before the
 * column, the rest on new lines of their own, without the line's prefix.
 */
function mailWrapped(line: string, width = 72): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(" ", width);
    if (cut <= 0) break;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut + 1);
  }
  return [...out, rest];
}

Deno.test("import dmesg: the hypervisor's lines a mail wrapped (command line, Dom0 alloc, ramdisk) read as printed", async () => {
  // Xen prints each of these on one console line (vprintk_common); the wrap is the mail's.
  const text = await Deno.readTextFile(
    `${REAL_LOGS}/40-denis-2023-xen-4.14-dom0-mem-max-xl-dmesg.log`,
  );
  const wrapped = (t: string, width: number) =>
    t.split("\n").flatMap((l) =>
      /^\(XEN\) (?:Command line:| Dom0 alloc\.:| Init\. ramdisk:)/.test(l)
        ? mailWrapped(l, width)
        : [l]
    ).join("\n");
  // Without the builder's lines, dom0_mem= on the command line is what gives nr_pages.
  const noAlloc = text.split("\n").filter((l) => !/Dom0 alloc\.:|Init\. ramdisk:/.test(l)).join(
    "\n",
  );
  // The wrapped file has more lines: the line numbers cited after a wrap are the file's own.
  const same = (out: string) =>
    out.replace(/[0-9a-f]{64}/g, "<sha256>").replace(/\bline \d+/g, "line N")
      .replace(/"lines":\d+/, '"lines":N');
  for (const [name, log] of [["whole", text], ["no builder lines", noAlloc]]) {
    const plain = await run(["dmesg", "-"], log);
    assert.equal(plain.code, 0, plain.err);
    const { header } = await readBack(plain.out);
    if (name !== "whole") {
      assert.match(String(header.raw.nr_pages_source), /dom0_mem/, "dom0_mem decides");
    }
    // 40 columns wraps the command line over three lines, the builder's lines once.
    for (const width of [72, 40]) {
      const w = wrapped(log, width);
      assert.notEqual(w, log);
      const r = await run(["dmesg", "-"], w);
      assert.equal(r.code, 0, r.err);
      assert.equal(same(r.out), same(plain.out), `${name}, wrapped at ${width}`);
    }
  }
});

/**
 * A PVHv1 domU's lines (Linux 3.16 on Xen 4.4, `pvh=1`): the PV entry's (the boot pass, the
 * `Xen:` map, the banner, xen_arch_setup's ACPI line) and the HVM callback vector.
 */
const PVH_V1_DOMU = [
  "[    0.000000] Linux version 3.16.0-4-amd64 (debian-kernel@lists.debian.org) (gcc version 4.8.4 (Debian 4.8.4-1) ) #1 SMP Debian 3.16.7-ckt11-1+deb8u3 (2015-08-04)",
  "[    0.000000] Command line: root=/dev/xvda1 ro console=hvc0",
  "[    0.000000] Released 0 pages of unused memory",
  "[    0.000000] Set 0 page(s) to 1-1 mapping",
  "[    0.000000] e820: BIOS-provided physical RAM map:",
  "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
  "[    0.000000] Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved",
  "[    0.000000] Xen: [mem 0x0000000000100000-0x000000003fffffff] usable",
  "[    0.000000] NX (Execute Disable) protection: active",
  "[    0.000000] e820: last_pfn = 0x40000 max_arch_pfn = 0x400000000",
  "[    0.000000] ACPI in unprivileged domain disabled",
  "[    0.000000] Zone ranges:",
  "[    0.000000]   DMA32    [mem 0x01000000-0xffffffff]",
  "[    0.000000] Booting paravirtualized kernel on Xen",
  "[    0.000000] Xen version: 4.4.1 (preserve-AD)",
  "[    0.000000] Xen HVM callback vector for event delivery is enabled",
  "[    0.100000] xen:balloon: Initialising balloon driver",
].join("\n") + "\n";

Deno.test("import dmesg: a PVHv1 domU (PV entry lines and the callback vector) is PVH, with no P2M to judge, not a conflict", async () => {
  const r = await run(["dmesg", "-"], PVH_V1_DOMU);
  assert.equal(r.code, 0, r.err);
  const { header, events } = await readBack(r.out);
  assert.deepEqual([header.guest.type, header.guest.domain], ["pvh", "domU"]);
  assert.equal(header.raw.guest_conflict, undefined);
  assert.equal(header.raw.guest_confidence, "proven");
  assert.match(JSON.stringify(header.raw.notes), /PVHv1 guest \(Linux 3\.16\.0-4-amd64\)/);
  // Auto-translated: no boot pass to replay, no nr_pages needed.
  assert.equal(events.some((e) => e.kind === "memory_setup"), false);
  const io = memoryIo(r.out);
  const { main } = await import("../src/cli/main.ts");
  assert.equal(await main(["check", "-"], io), 4);
  assert.match(io.out() + io.err(), /the guest is PVH: auto-translated, it builds no P2M/);
});

Deno.test("import dmesg: a PVHv1 dom0 (Xen 4.4 dom0pvh=1) is PVH dom0, not a conflict", async () => {
  // xen_register_gsi prints for a PVHv1 dom0 too: its xen_pv_domain() was true (v3.14-v4.10).
  const log = [
    "(XEN) Xen version 4.4.1 (mockbuild@example.org) (gcc (GCC) 4.8.2) debug=n",
    "(XEN) Command line: dom0pvh=1 dom0_mem=2048M",
    "(XEN) *** LOADING DOMAIN 0 ***",
    ...PVH_V1_DOMU.split("\n").filter((l) => !l.includes("unprivileged")),
    "[    0.400000] xen: registering gsi 9 triggering 0 polarity 0",
  ].join("\n");
  const r = await run(["dmesg", "-"], log);
  assert.equal(r.code, 0, r.err);
  const { header } = await readBack(r.out);
  assert.deepEqual([header.guest.type, header.guest.domain], ["pvh", "dom0"]);
  assert.equal(header.raw.guest_conflict, undefined);
  assert.match(JSON.stringify(header.raw.notes), /PVHv1 guest \(Linux 3\.16\.0-4-amd64\)/);
});
