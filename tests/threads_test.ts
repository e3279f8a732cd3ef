/**
 * `replay` and `check` give the same bytes whichever thread parses the trace: every command
 * line below runs with `--threads 1` (the reader on the main thread) and `--threads 2` (the
 * parse worker and the binary hand-over, src/trace/threaded_read.ts), and stdout, stderr and
 * the exit code must match exactly — on clean traces, a trace long enough to cross many
 * batches and groups, an invalid line deep in it, a truncated last line, bare-CR lines, gzip,
 * stdin and a replay stopped early.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { bundledTraces, cli, type CliRun } from "./cli_helpers.ts";
import { generateTrace } from "../src/gen/trace_gen.ts";
import { openEvents, THREAD_MIN_BYTES, ThreadedReader } from "../src/trace/threaded_read.ts";
import { TraceReader } from "../src/trace/read.ts";

async function bothWays(argv: string[], stdin = ""): Promise<CliRun> {
  const one = await cli([...argv, "--threads", "1"], stdin);
  const two = await cli([...argv, "--threads", "2"], stdin);
  const what = argv.join(" ");
  assert.equal(two.code, one.code, `exit code of ${what}`);
  assert.equal(two.err, one.err, `stderr of ${what}`);
  assert.ok(two.out === one.out, `stdout of ${what} differs`);
  return one;
}

const COMMANDS = [
  ["replay"],
  ["replay", "--json"],
  ["replay", "--quiet", "--policy", "linux-3.19"],
  ["check"],
  ["check", "--json", "--policy", "linux-3.12"],
];

Deno.test("replay and check print the same with the parse worker on every bundled trace", async () => {
  for (const name of bundledTraces()) {
    for (const c of COMMANDS) await bothWays([c[0], `traces/${name}`, ...c.slice(1)]);
  }
  await bothWays(["replay", "traces/pcie-bar-above-e820.jsonl", "--paranoid"]);
});

/** A generated trace of `events` events: long enough for many reader batches and groups. */
function generated(events: number): string[] {
  return [...generateTrace({ events, seed: 5 })];
}

async function withFile(
  name: string,
  data: string | Uint8Array,
  f: (path: string) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/${name}`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(path, data);
    else await Deno.writeFile(path, data);
    await f(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const LONG = generated(12000);

Deno.test("a long trace: the same steps, summary, findings and exit with the worker", async () => {
  await withFile("long.jsonl", LONG.join("\n") + "\n", async (path) => {
    const r = await bothWays(["replay", path, "--json"]);
    const steps = r.out.split("\n").filter((l) => l.startsWith('{"seq":')).length;
    assert.equal(steps, 12000, "one line per step");
    await bothWays(["replay", path]);
    await bothWays(["check", path]);
    await bothWays(["check", path, "--json", "--policy", "linux-3.16"]);
    await bothWays(["replay", path, "--at", "7000"]); // stops early: the worker is stopped
  });
});

Deno.test("an invalid line deep in the trace stops both at the same step with the same error", async () => {
  for (
    const bad of [
      '{"seq":9000,"kind":"lookup","pfn":"0xzz"}',
      "{not json",
      '{"seq":1,"kind":"mark","text":"x"}',
      // Lines of the kinds the worker scans straight into its batches (scan_event.ts).
      '{"seq":9001,"kind":"decrease_reservation","pfns":["0x10","0x11","0x10"]}',
      '{"seq":9001,"kind":"lookup","pfn":"0x1","iomap":"yes"}',
      '{"seq":9001,"kind":"increase_reservation","pfn":"0x1","mfn":"0x10000000000"}',
      '{"seq":9001,"kind":"mark","text":"a\tb","text":"c"}',
      '{"seq":9001,"kind":"decrease_reservation","pfn":"0x1","note":["\\q"]}',
      '{"seq":9001,"kind":"balloon_append","pfn":"0x1","note":"\\q"}',
    ]
  ) {
    const lines = [...LONG];
    lines[9001] = bad;
    await withFile("bad.jsonl", lines.join("\n") + "\n", async (path) => {
      const r = await bothWays(["replay", path]);
      assert.equal(r.code, 65);
      assert.match(r.err, /bad\.jsonl:9002: /);
      assert.ok(r.out.includes("\nstep 8000 "), "steps before the bad line's batch are printed");
      await bothWays(["check", path, "--json"]);
      await bothWays(["check", path, "--bisect-exit"]);
    });
  }
});

/**
 * {@link LONG} with every line but the header and end record rewritten, line by line, into
 * another form of the same record: members in reverse order (the worker's scanner takes it),
 * an unknown member holding an escape, a space after each colon, `time` as an exponent (the
 * scanner leaves those to the reader).
 */
function rewritten(): string[] {
  return LONG.map((text, i) => {
    if (i === 0 || i === LONG.length - 1) return text;
    const o = JSON.parse(text);
    switch (i % 5) {
      case 0:
        return JSON.stringify(Object.fromEntries(Object.entries(o).reverse()));
      case 1:
        return JSON.stringify({ ...o, note: "tab\there" });
      case 2:
        return JSON.stringify(o).replaceAll('":', '": ');
      case 3:
        return o.time === undefined
          ? text
          : JSON.stringify(o).replace(/"time":[^,]*/, `"time":${o.time.toExponential()}`);
      default:
        return text;
    }
  });
}

Deno.test("lines the worker scans and lines it leaves to the reader: the same steps and errors", async () => {
  const lines = rewritten();
  await withFile("forms.jsonl", lines.join("\n") + "\n", async (path) => {
    const r = await bothWays(["replay", path, "--json"]);
    const steps = r.out.split("\n").filter((l) => l.startsWith('{"seq":')).length;
    assert.equal(steps, 12000, "every rewritten line is a valid event");
    await bothWays(["check", path, "--json"]);
  });
  // A line after the end record: scanned, and refused as the reader refuses it.
  const after = [...LONG, '{"seq":20000,"kind":"mark","text":"late"}'];
  await withFile("after.jsonl", after.join("\n") + "\n", async (path) => {
    assert.match((await bothWays(["replay", path])).err, /after the end record/);
  });
});

Deno.test("a truncated last line, bare CRs, an empty file and a bad header are reported alike", async () => {
  const cut = LONG.join("\n").slice(0, -20); // the last line loses its end and its newline
  await withFile("cut.jsonl", cut, async (path) => {
    const r = await bothWays(["replay", path, "--quiet"]);
    assert.equal(r.code, 3);
    await bothWays(["check", path]);
  });
  await withFile("cr.jsonl", LONG.slice(0, 50).join("\r") + "\r", async (path) => {
    assert.match((await bothWays(["replay", path])).err, /carriage returns/);
  });
  await withFile("crlf.jsonl", LONG.slice(0, 50).join("\r\n") + "\r\n", async (path) => {
    assert.equal((await bothWays(["check", path])).code, 0);
  });
  await withFile("empty.jsonl", "", async (path) => {
    assert.equal((await bothWays(["replay", path])).code, 65);
  });
  await withFile("header.jsonl", '{"format":"p2mtrace","version":2}\n', async (path) => {
    assert.match((await bothWays(["check", path])).err, /version/);
  });
  assert.equal((await bothWays(["replay", "no/such/trace.jsonl"])).code, 66);
});

Deno.test("gzip traces (and a gzip stream with trailing data) read the same on the worker", async () => {
  const text = LONG.slice(0, 3000).join("\n") + "\n";
  await withFile("t.jsonl.gz", gzipSync(text), async (path) => {
    await bothWays(["replay", path, "--json"]);
  });
  const trailing = new Uint8Array([...gzipSync(text), 1, 2, 3, 4]);
  await withFile("u.jsonl.gz", trailing, async (path) => {
    const r = await bothWays(["check", path]);
    assert.equal(r.code, 65);
    assert.match(r.err, /trailing data after the gzip stream/);
  });
});

Deno.test("standard input is handed to the worker and read the same", async () => {
  const text = LONG.slice(0, 2000).join("\n") + "\n";
  await bothWays(["replay", "-", "--json"], text);
  await bothWays(["check", "-"], text.slice(0, -30));
});

Deno.test("--threads takes 1 or 2", async () => {
  const r = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--threads", "0"]);
  assert.equal(r.code, 64);
  assert.match(r.err, /--threads takes 1 \(parse on the main thread\) or 2/);
});

Deno.test("openEvents() parses on a second thread only for a file of THREAD_MIN_BYTES or more", async () => {
  const small = await openEvents("traces/pcie-bar-above-e820.jsonl", new ReadableStream());
  assert.ok(small instanceof TraceReader);
  // replay and check never ask for the digest, so the bytes are not hashed.
  await assert.rejects(() => small.sha256(), /opened without hashing/);
  assert.ok((await openEvents("-", ReadableStream.from([]))) instanceof TraceReader);
  const lines: string[] = [];
  let size = 0;
  for (const l of generateTrace({ events: 1e6, seed: 3 })) {
    lines.push(l);
    size += l.length + 1;
    if (size > THREAD_MIN_BYTES) break;
  }
  await withFile("big.jsonl", lines.join("\n") + "\n", async (path) => {
    const big = await openEvents(path, new ReadableStream());
    assert.ok(big instanceof ThreadedReader);
    big.close?.();
    assert.ok(
      (await openEvents(path, new ReadableStream(), { threads: 1 })) instanceof TraceReader,
    );
  });
});

Deno.test("with read access to the trace alone, --threads 2 reads on the main thread, silently", async () => {
  await withFile("long.jsonl", LONG.slice(0, 3000).join("\n") + "\n", async (path) => {
    const run = async (threads: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--no-prompt",
          `--allow-read=${path}`,
          "cli.ts",
          "check",
          path,
          "--threads",
          threads,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, out: dec.decode(out.stdout), err: dec.decode(out.stderr) };
    };
    const [one, two] = [await run("1"), await run("2")];
    assert.deepEqual(two, one);
    assert.equal(two.err, "");
  });
});
