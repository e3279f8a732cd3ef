import assert from "node:assert/strict";
import { OutputError } from "../src/errors.ts";
import { recordCommand } from "../src/cli/record.ts";
import { memoryIo } from "../src/cli/io.ts";
import { UsageError } from "../src/errors.ts";
import { TraceReader } from "../src/trace/read.ts";
import type { TraceEvent, TraceHeader } from "../src/trace/event.ts";
import { dumpRangeAt, parseP2mDump } from "../src/p2m/debugfs_parse.ts";
import { assertGolden } from "./golden.ts";
import { runEntry } from "./support/command_run.ts";

const fixture = (name: string) => new URL(`./fixtures/sysfs/${name}`, import.meta.url).pathname;

/** Reads a whole trace text with the real reader; throws on anything invalid. */
async function roundTrip(text: string): Promise<{ header: TraceHeader; events: TraceEvent[] }> {
  const r = TraceReader.fromText("out.jsonl", text);
  const header = await r.header();
  const events: TraceEvent[] = [];
  for await (const b of r.batches()) events.push(...b);
  assert.equal(r.end?.events, events.length);
  return { header, events };
}

async function record(name: string): Promise<{ out: string; err: string }> {
  const io = memoryIo();
  assert.equal(await recordCommand.run(["--root", fixture(name)], io), 0);
  return { out: io.out(), err: io.err() };
}

Deno.test("record --root of a v3.16 dom0 writes the golden trace", async () => {
  const { out, err } = await record("dom0-3.16-bar-above-ram");
  await assertGolden("record/dom0-3.16-bar-above-ram.jsonl", out);
  await assertGolden("record/dom0-3.16-bar-above-ram.stderr.txt", err);
});

Deno.test("record --root of a v3.16 dom0 round-trips through TraceReader", async () => {
  const { out } = await record("dom0-3.16-bar-above-ram");
  const { header, events } = await roundTrip(out);
  assert.deepEqual(
    { ...header.guest },
    {
      type: "pv",
      domain: "dom0",
      arch: "x86_64",
      pageSize: 4096,
      kernel: "3.16.0-4-amd64",
      xen: "4.4.1",
      nrPages: 0x80000,
    },
  );
  const kinds = events.map((e) => e.kind);
  assert.equal(kinds.filter((k) => k === "xen_add_device").length, 4);
  assert.equal(kinds.filter((k) => k === "p2m_dump").length, 1);
  assert.equal(kinds.indexOf("memory_setup") < kinds.indexOf("pci_host_bridge"), true);
  assert.equal(kinds.indexOf("xen_add_device") < kinds.indexOf("balloon_init"), true);
});

Deno.test("the dom0 fixture's dump agrees with its E820 map and BARs as a v3.16 kernel's", async () => {
  const { out } = await record("dom0-3.16-bar-above-ram");
  const { header, events } = await roundTrip(out);
  const raw = events.filter((e) => e.kind === "e820" && e.map === "raw");
  const dumpEvent = events.find((e) => e.kind === "p2m_dump");
  assert.ok(dumpEvent?.kind === "p2m_dump");
  const dump = parseP2mDump(dumpEvent.lines, { file: "out.jsonl", eventLine: dumpEvent.line });
  const type = (pfn: number) => dumpRangeAt(dump, pfn)?.type;

  // v3.16 sets everything from the end of the last raw E820 entry to MAX_P2M_PFN 1:1.
  const last = raw[raw.length - 1];
  assert.ok(last.kind === "e820");
  const aboveMap = Math.ceil((last.start + last.size) / 4096);
  assert.equal(aboveMap, 0x240000);
  assert.deepEqual(dumpRangeAt(dump, aboveMap), {
    pfn: aboveMap,
    endPfn: 0x7cfffff,
    type: "identity",
    level: "middle",
  });
  // Every memory BAR, ROM and bridge window of dom0's devices reads identity.
  for (const e of events) {
    const resources = e.kind === "xen_add_device"
      ? e.resources
      : e.kind === "pci_resource_assign"
      ? [e.resource]
      : [];
    for (const r of resources) {
      if ((r.flags & 0x200) === 0) continue;
      for (const pfn of [Math.floor(r.start / 4096), Math.floor(r.end / 4096)]) {
        assert.equal(type(pfn), "identity", `${hexs(pfn)} of ${JSON.stringify(r)}`);
      }
    }
  }
  // Non-RAM below the last entry is identity (rounded outward), RAM below nr_pages is mapped,
  // and the 98 pages released at 0x9e-0x100 were populated back at nr_pages.
  assert.equal(type(0x9d), "pfn");
  assert.equal(type(0x9e), "identity");
  assert.equal(type(0xff), "identity");
  assert.equal(type(0x100), "pfn");
  assert.equal(header.guest.nrPages, 0x80000);
  assert.equal(type(0x80061), "pfn");
  assert.equal(type(0x80062), "missing");
  assert.equal(type(0xbf77f), "missing");
  assert.equal(type(0xbf780), "identity");
  assert.equal(type(0xfffff), "identity");
  // RAM above nr_pages that became unusable (no extra memory: max_reservation = nr_pages).
  assert.equal(type(0x100000), "missing");
  assert.equal(type(0x23ffff), "missing");
});

function hexs(n: number): string {
  return "0x" + n.toString(16);
}

Deno.test("record --root with missing files and an unprivileged view writes notes, not errors", async () => {
  const { out, err } = await record("domU-4.19-missing-files");
  await assertGolden("record/domU-4.19-missing-files.jsonl", out);
  await assertGolden("record/domU-4.19-missing-files.stderr.txt", err);
  const { header, events } = await roundTrip(out);
  assert.equal(header.guest.domain, "domU");
  assert.equal(events.some((e) => e.kind === "xen_add_device"), false);
  assert.equal(events.some((e) => e.kind === "p2m_dump"), false);
  const marks = events.filter((e) => e.kind === "mark").map((e) => e.kind === "mark" && e.text);
  assert.ok(marks.includes(
    "record: /sys/firmware/memmap/3/type: no such file: entry skipped",
  ));
});

Deno.test("record --root of a directory without an E820 map writes nothing and exits 66", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runEntry(recordCommand, ["--root", dir]);
    assert.equal(r.code, 66);
    assert.equal(r.out, "");
    assert.match(r.err, /note: \/sys\/firmware\/memmap: no such file/);
    assert.match(r.err, /cannot read: no \/sys\/firmware\/memmap or \/proc\/iomem there/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record --root on a missing directory exits 66 naming it", async () => {
  const r = await runEntry(recordCommand, ["--root", "/nonexistent-p2mtrace-root"]);
  assert.equal(r.code, 66);
  assert.equal(r.err, "p2mtrace: /nonexistent-p2mtrace-root: cannot read: --root: no such file\n");
});

/** Runs the real CLI under Deno with the given permission flags (Deno's refusals are real). */
async function recordUnder(perms: string[], args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      ...perms,
      new URL("../cli.ts", import.meta.url).pathname,
      "record",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout),
    err: new TextDecoder().decode(out.stderr),
  };
}

// Deno >= 1.43 treats /proc and /sys as privileged: --allow-read (with or without paths) is
// refused there, so a live record with it reads nothing. It must say so and fail, not write a
// trace of notes with exit 0.
Deno.test("record on the live system with --allow-read only exits 77 and asks for --allow-all", async () => {
  for (const perms of [["--allow-read"], ["--allow-read=/proc,/sys"]]) {
    const r = await recordUnder(perms, []);
    assert.equal(r.code, 77, `${perms}: ${r.err}`);
    assert.equal(r.out, "");
    assert.match(
      r.err,
      /\/proc\/iomem: refused by Deno \(it grants \/proc, \/sys, \/dev and \/etc only to --allow-all\)/,
    );
    assert.match(
      r.err,
      /no E820 map could be read .*Deno refused the reads: run it with --allow-all/,
    );
  }
});

Deno.test("record --root with read access elsewhere only exits 77 and asks for --allow-read", async () => {
  const r = await recordUnder(["--allow-read=/nonexistent-p2mtrace"], [
    "--root",
    "tests/fixtures/sysfs/dom0-3.16-bar-above-ram",
  ]);
  assert.equal(r.code, 77, r.err);
  assert.match(r.err, /Deno refused to read --root .*: add --allow-read/);
  const ok = await recordUnder(["--allow-read=tests/fixtures/sysfs"], [
    "--root",
    "tests/fixtures/sysfs/dom0-3.16-bar-above-ram",
  ]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /"kind":"e820"/);
});

Deno.test("record -o writes the file, refuses to overwrite it, and --force does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.jsonl`;
    const args = ["--root", fixture("dom0-3.16-bar-above-ram"), "-o", path];
    const io = memoryIo();
    assert.equal(await recordCommand.run(args, io), 0);
    assert.equal(io.out(), "");
    const written = await Deno.readTextFile(path);
    await roundTrip(written);
    await assert.rejects(
      () => recordCommand.run(args, memoryIo()),
      (e: unknown) =>
        e instanceof OutputError && /exists \(use --force to overwrite it\)/.test(e.message),
    );
    await Deno.writeTextFile(path, "old\n");
    assert.equal(await recordCommand.run([...args, "--force"], memoryIo()), 0);
    assert.equal(await Deno.readTextFile(path), written);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record rejects operands and unknown flags as usage errors", async () => {
  await assert.rejects(() => recordCommand.run(["/"], memoryIo()), UsageError);
  await assert.rejects(() => recordCommand.run(["--rot", "/"], memoryIo()), UsageError);
});
