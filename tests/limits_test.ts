/**
 * README's "Limits" table, checked row by row (issue 14: every bound stated with the exit code
 * that enforces it, and each claim covered by a test). Each row of the table must have an entry
 * here: a check run on the spot (the input just inside and just past the bound where that is
 * cheap) and/or the tests elsewhere that prove it, which must exist. A row added to the README
 * without a check, or a check whose row is gone, fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { cli } from "./cli_helpers.ts";
import { header, hostileCases, trace } from "./hostile/corpus.ts";
import {
  holdIfReadOnce,
  MAX_HELD_BYTES,
  MAX_LINE_BYTES,
  maybeGunzip,
  readFailure,
  readLineBatches,
} from "../src/trace/lines.ts";
import {
  MAX_DUMP_LINES,
  MAX_NESTING,
  MAX_PFN_LIST,
  MAX_RESOURCES,
  MAX_TEXT,
} from "../src/trace/validate.ts";
import { MAX_IMPORT_BYTES } from "../src/cli/import_runtime.ts";
import { MINIMIZE_LIMITS } from "../src/share/minimize_run.ts";
import { MAX_BYTES_BEFORE_KERNEL_LINE } from "../src/import/dmesg/importer.ts";
import { MAX_LOG_LINE } from "../src/import/dmesg/log_lines.ts";
import { MAX_MEMBERS } from "../src/trace/json_keys.ts";
import { MAX_SYSFS_FILE_BYTES } from "../src/import/sysfs/reader.ts";
import { MAX_JOURNAL_RECORD } from "../src/import/dmesg/journal_json.ts";
import { GROUP_BYTES, SLOTS, THREAD_MIN_BYTES } from "../src/trace/threaded_read.ts";

const README = await Deno.readTextFile(new URL("../README.md", import.meta.url));

/** The Limits table: first column to the whole row. */
function limitRows(): Map<string, string> {
  const section = README.slice(README.indexOf("## Limits"));
  const body = section.slice(0, section.indexOf("\n## ", 3));
  const rows = new Map<string, string>();
  for (const line of body.split("\n")) {
    const m = /^\|\s*([^|]+?)\s*\|/.exec(line);
    if (m && m[1] !== "bound" && !/^-+$/.test(m[1])) rows.set(m[1], line);
  }
  return rows;
}

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "p2mtrace-limits-" });
  try {
    await f(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `argv` on `text` written to a temporary file (`T` in argv). */
async function onFile(text: string | Uint8Array, argv: string[]) {
  let r = { code: -1, out: "", err: "" };
  await withDir(async (dir) => {
    const path = `${dir}/t.jsonl`;
    if (typeof text === "string") await Deno.writeTextFile(path, text);
    else await Deno.writeFile(path, text);
    r = await cli(argv.map((a) => a === "T" ? path : a));
  });
  return r;
}

async function writeBig(path: string, head: string, bytes: number, tail = ""): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true });
  try {
    const enc = new TextEncoder();
    await f.write(enc.encode(head));
    const block = new Uint8Array(1 << 20).fill(0x61);
    for (let left = bytes; left > 0; left -= block.length) {
      await f.write(block.subarray(0, Math.min(left, block.length)));
    }
    await f.write(enc.encode(tail));
  } finally {
    f.close();
  }
}

const corpus = new Map(hostileCases().map((c) => [c.name, c]));

/** Tests elsewhere that prove a row: `file: test name` (the name must be in the file). */
async function provenBy(refs: string[]): Promise<void> {
  for (const ref of refs) {
    const [file, name] = ref.split(": ", 2);
    const text = await Deno.readTextFile(new URL(file, import.meta.url));
    assert.ok(text.includes(`"${name}`), `${file} has no test "${name}"`);
  }
}

/** Hostile corpus cases that prove a row, with the exit code the row states. */
function inCorpus(names: string[], exit: number): void {
  for (const n of names) {
    const c = corpus.get(n);
    assert.ok(c, `no hostile case ${n}`);
    assert.equal(c.exit, exit, n);
  }
}

const mark = (extra: string) => trace([`{"seq":4,"kind":"mark","text":"x"${extra}}`]);

const CHECKS: Record<string, (row: string) => Promise<void>> = {
  "line length": async (row) => {
    assert.match(row, new RegExp(`${MAX_LINE_BYTES / (1 << 20)} MiB.*\\| 65,`));
    // One byte past the cap, sent in pieces: refused without building the line.
    const piece = new Uint8Array(1 << 20).fill(0x61);
    const parts = Array.from({ length: MAX_LINE_BYTES / piece.length }, () => piece);
    parts.push(new Uint8Array([0x61, 10]));
    await assert.rejects(
      async () => {
        for await (const _ of readLineBatches("t", ReadableStream.from(parts))) { /* read */ }
      },
      (e: Error & { exitCode?: number }) =>
        e.exitCode === 65 && /t:1: .*a line of at most/.test(e.message),
    );
    inCorpus(["line-100mb", "no-newline-80mb"], 65);
  },
  "input read twice from a pipe": async (row) => {
    assert.equal(MAX_HELD_BYTES, 256 * 1024 * 1024);
    assert.match(row, /at most 256 MiB.*\| 65 naming the line, "save it to a file"/);
    const held = await holdIfReadOnce("-", ReadableStream.from([new Uint8Array(9).fill(10)]), 8);
    await assert.rejects(
      new Response(held!.stream()).text(),
      (e: Error & { exitCode?: number }) =>
        e.exitCode === 65 && /^-:9: expected at most 8 bytes .*save it to a file/.test(e.message),
    );
    await provenBy([
      "read_once_test.ts: a FIFO and stdin read twice give what the file gives",
      "read_once_test.ts: a binary pipe fails the first pass at once",
      "read_once_test.ts: what is held is bounded",
    ]);
  },
  "decompressed size": async (row) => {
    assert.match(row, /100 times.*\| 65 "a gzip bomb\?"; data after the last member: 65/);
    const bomb = gzipSync(new Uint8Array(70 << 20).fill(10), { level: 9 });
    let err: unknown;
    try {
      for await (const _ of await maybeGunzip(ReadableStream.from([bomb]))) { /* read */ }
    } catch (e) {
      err = e;
    }
    const e = readFailure("b.gz", 1, err);
    assert.equal(e.exitCode, 65);
    assert.match(e.message, /gzip bomb/);
    await provenBy([
      "untrusted_test.ts: gzip: members concatenated are read whole; data after the stream is 65",
      "../src/trace/lines_test.ts: data after the gzip stream: 65 naming the compressed byte",
    ]);
  },
  "text encoding": async (row) => {
    assert.match(row, /UTF-8 only.*\| 65 naming the line; `validate` reports `bad-encoding`/);
    const r = await onFile(
      new Uint8Array([
        ...new TextEncoder().encode(header() + "\n"),
        ...new TextEncoder().encode('{"seq":1,"kind":"mark","text":"'),
        0xff,
        ...new TextEncoder().encode('"}\n'),
      ]),
      ["replay", "T"],
    );
    assert.equal(r.code, 65, r.err);
    assert.match(r.err, /t\.jsonl:2: expected UTF-8 text/);
  },
  "nesting depth": async (row) => {
    assert.match(row, new RegExp(`${MAX_NESTING} deep.*\\| 65 naming line and field`));
    const nest = (d: number) => "[".repeat(d - 1) + "1" + "]".repeat(d - 1);
    assert.equal((await onFile(mark(`,"junk":${nest(MAX_NESTING)}`), ["validate", "T"])).code, 0);
    const r = await onFile(mark(`,"junk":${nest(MAX_NESTING + 1)}`), ["replay", "T"]);
    assert.equal(r.code, 65);
    assert.match(r.err, /t\.jsonl:5: field "junk"/);
  },
  "object keys": async (row) => {
    assert.match(
      row,
      new RegExp(
        `each key once.*at most ${
          MAX_MEMBERS.toLocaleString("en")
        } members.*\\| 65 naming line and key`,
      ),
    );
    const keys = (n: number) => Array.from({ length: n }, (_, i) => `,"k${i}":0`).join("");
    // mark has seq, kind and text: 3 members before the extra ones.
    assert.equal((await onFile(mark(keys(MAX_MEMBERS - 3)), ["validate", "T"])).code, 0);
    const many = await onFile(mark(keys(MAX_MEMBERS - 2)), ["replay", "T"]);
    assert.equal(many.code, 65);
    assert.match(many.err, new RegExp(`t\\.jsonl:5: expected at most ${MAX_MEMBERS} members`));
    const twice = await onFile(mark(',"text":"y"'), ["replay", "T"]);
    assert.equal(twice.code, 65);
    assert.match(twice.err, /t\.jsonl:5: field "text": expected each key once in an object/);
    inCorpus(["keys-repeated-kind", "keys-members-1025", "keys-members-4m"], 65);
  },
  "numbers": async (row) => {
    assert.match(row, /below 2\^40.*below 2\^52.*\| 65 naming line and field/);
    const lookup = (addr: string) => trace([`{"seq":4,"kind":"lookup","addr":"${addr}"}`]);
    assert.equal((await onFile(lookup("0xfffffffffffff"), ["validate", "T"])).code, 0);
    const r = await onFile(lookup("0x10000000000000"), ["replay", "T"]);
    assert.equal(r.code, 65);
    assert.match(r.err, /t\.jsonl:5: field "addr": expected a byte address below 2\^52/);
    const range = (end: string) =>
      trace([`{"seq":4,"kind":"set_identity","pfn":"0x0","end_pfn":"${end}"}`]);
    assert.equal((await onFile(range("0x10000000000"), ["validate", "T"])).code, 0);
    assert.equal((await onFile(range("0x10000000001"), ["replay", "T"])).code, 65);
    inCorpus(
      ["number-too-large-seq", "range-mfn-range-reaches-2^40", "address-lookup-addr-2^52"],
      65,
    );
  },
  "list sizes": async (row) => {
    assert.match(
      row,
      /65,536 PFNs per event, 64 resources per event, 1,000,000 `p2m_dump` lines, 65,536-character strings.*\| 65 naming line and field/,
    );
    assert.equal(MAX_PFN_LIST, 65536);
    assert.equal(MAX_RESOURCES, 64);
    assert.equal(MAX_DUMP_LINES, 1_000_000);
    assert.equal(MAX_TEXT, 65536);
    const dump = (n: number) =>
      trace([
        JSON.stringify({
          seq: 4,
          kind: "p2m_dump",
          format: "list",
          lines: Array(n).fill(" [0x0->0x1] pfn"),
        }),
      ]);
    const r = await onFile(dump(MAX_DUMP_LINES + 1), ["replay", "T"]);
    assert.equal(r.code, 65);
    assert.match(r.err, /t\.jsonl:5: field "lines"/);
    inCorpus(
      ["structure-pfns-too-many", "structure-resources-too-many", "structure-text-too-long"],
      65,
    );
  },
  "header `policy`": async (row) => {
    assert.match(row, /\| 65 naming line 1 and field `policy` \(125 under `check --bisect-exit`\)/);
    const text = trace([], header({ policy: "linux-9.99" }));
    const r = await onFile(text, ["check", "T"]);
    assert.equal(r.code, 65);
    assert.match(r.err, /t\.jsonl:1: field "policy"/);
    assert.equal((await onFile(text, ["check", "T", "--bisect-exit"])).code, 125);
  },
  "`import dmesg` input": async (row) => {
    assert.equal(MAX_BYTES_BEFORE_KERNEL_LINE, 16 * 1024 * 1024);
    assert.equal(MAX_LOG_LINE, 4096);
    assert.match(
      row,
      /within its first 16 MiB; lines are cut at 4,096 characters\s*\| 65 "not-a-log"/,
    );
    await provenBy([
      "import_endless_test.ts: every fixture log shows a line of a kernel in its first 4 KiB",
      "import_endless_test.ts: /dev/zero, random bytes and yes(1) end in 65 at the bound",
    ]);
  },
  "`import bpftrace`, `import p2m-dump` input": async (row) => {
    assert.match(row, new RegExp(`${MAX_IMPORT_BYTES / (1 << 20)} MiB of text\\s*\\| 65`));
    await withDir(async (dir) => {
      // Lines of 1 MiB, one byte past the limit in all.
      const f = await Deno.open(`${dir}/big.txt`, { write: true, create: true });
      const line = new Uint8Array((1 << 20) - 1 + 1).fill(0x61);
      line[line.length - 1] = 10;
      for (let i = 0; i < MAX_IMPORT_BYTES / line.length; i++) await f.write(line);
      await f.write(new TextEncoder().encode("a\n"));
      f.close();
      const r = await cli(["import", "p2m-dump", `${dir}/big.txt`]);
      assert.equal(r.code, 65, r.err);
      assert.match(r.err, /big\.txt:\d+: expected an input of at most/);
    });
  },
  "`import dmesg` line length": async (row) => {
    assert.match(row, new RegExp(`${MAX_LOG_LINE} characters .*JSON record line: 65,536`));
    assert.equal(MAX_JOURNAL_RECORD, 65536);
    // One line of 1 MiB with no line start, between two lines that hold a map and a count.
    const text = "[    0.000000] Xen: [mem 0x0000000000000000-0x000000003fffffff] usable\n" +
      "x".repeat(1 << 20) + "\n[    0.100000] Released 0 page(s)\n";
    const r = await onFile(text, ["import", "dmesg", "T"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, new RegExp(`line 2: 1 line\\(s\\) longer than ${MAX_LOG_LINE} characters`));
    assert.match(r.out, /"notes":\[[^\]]*line 2: 1 line\(s\) longer than 4096/);
    await provenBy([
      "../src/import/dmesg/log_lines_test.ts: a gigabyte-style run with no line start is cut once",
      "../src/import/dmesg/log_lines_test.ts: a log flattened into one paragraph gives its lines back",
    ]);
  },
  "`record` file": async (row) => {
    assert.match(row, new RegExp(`at most ${MAX_SYSFS_FILE_BYTES / (1 << 20)} MiB.*\\| a note`));
    await withDir(async (dir) => {
      await Deno.mkdir(`${dir}/proc`);
      await writeBig(`${dir}/proc/iomem`, "", MAX_SYSFS_FILE_BYTES + 1);
      const r = await cli(["record", "--root", dir]);
      assert.match(r.err, new RegExp(`/proc/iomem: larger than ${MAX_SYSFS_FILE_BYTES} bytes`));
    });
    await provenBy(["untrusted_test.ts: record --root refuses a symlink out of the root"]);
  },
  "`bisect run --timeout SECONDS`": async (row) => {
    assert.match(
      row,
      /at most 86,400 .*\| the command's process group is killed and the step is marked skip/,
    );
    const r = await cli([
      "bisect",
      "run",
      "traces/pcie-bar-above-e820.jsonl",
      "--timeout",
      "86401",
      "--",
      "true",
    ]);
    assert.equal(r.code, 64, r.err);
    await provenBy(["untrusted_test.ts: bisect run --timeout kills a hanging predicate's group"]);
  },
  "interrupt (SIGINT/SIGTERM)": async (row) => {
    assert.match(row, /\| 130 \/ 143/);
    await provenBy([
      "untrusted_test.ts: SIGTERM during a write removes the temporary file",
      "untrusted_test.ts: bisect run: SIGTERM kills the predicate's group",
    ]);
  },
  "parse thread (`replay`, `check`)": async (row) => {
    assert.equal(THREAD_MIN_BYTES, 4 * 1024 * 1024);
    assert.match(row, /a trace file of 4 MiB or more/);
    assert.equal(SLOTS, 4);
    assert.equal(GROUP_BYTES, 256 * 1024);
    assert.match(row, /at most 4 groups of about 256 KiB/);
    await provenBy([
      "threads_test.ts: openEvents() parses on a second thread only for a file of THREAD_MIN_BYTES or more",
      "threads_test.ts: with read access to the trace alone, --threads 2 reads on the main thread, silently",
      "threads_test.ts: standard input is handed to the worker and read the same",
    ]);
  },
  "heap of a streaming command's thread": async (row) => {
    assert.match(row, /`bisect` and `map`: 512 MB of old generation/);
    assert.match(row, /`summarize` and `compare`: 2000 MB/);
    assert.match(row, /\| 70 "out of memory: its thread's JavaScript heap reached the 512 MB V8/);
    await provenBy([
      "capped_heap_test.ts: bisect and map run with a 512 MB old generation, summarize and compare 2000 MB, validate V8's own",
      "capped_heap_test.ts: a capped thread out of heap is a clear error and exit 70, never a hang",
    ]);
  },
  "`minimize` held events and replays": async (row) => {
    assert.equal(MINIMIZE_LIMITS.heldBytes, 192 * 2 ** 20);
    assert.match(row, /at most 192 MiB/);
    assert.equal(MINIMIZE_LIMITS.relevantFrom, 4096);
    assert.match(row, /over 4,096 events before the finding/);
    assert.equal(MINIMIZE_LIMITS.replayedEvents, 5e8);
    assert.match(row, /stop at 500 million replayed events/);
    assert.match(row, /\| 65 naming the file and the line reached/);
    await provenBy([
      "minimize_bounded_test.ts: minimize holds only the relevant events of a long trace, and says when they do not fit",
      "minimize_bounded_test.ts: minimize stops with exit 65 when delta debugging would pass its replay budget",
    ]);
  },
  "closed stdout (a pipe into head)": async (row) => {
    assert.match(row, /\| 0, no message/);
    await provenBy(["untrusted_test.ts: a closed stdout ends quietly with status 0"]);
  },
  "full disk (stdout to /dev/full)": async (row) => {
    assert.match(row, /\| 74 with a message/);
    await provenBy([
      "untrusted_test.ts: a closed stdout ends quietly with status 0; /dev/full is 74",
    ]);
  },
};

Deno.test("every row of README's Limits table has a check here, and every check a row", () => {
  assert.deepEqual([...limitRows().keys()].sort(), Object.keys(CHECKS).sort());
});

for (const [name, check] of Object.entries(CHECKS)) {
  Deno.test(`README Limits: ${name}`, async () => {
    const row = limitRows().get(name);
    assert.ok(row, `no row ${name}`);
    await check(row);
  });
}
