// The on-disk index (src/replay/trace_index.ts, src/cli/cached_trace.ts) is only a faster way
// to the same answer: `snapshot`, `lookup` and `diff` print the same bytes and exit the same
// with the index as with `--no-cache` (a replay from step 0), at checkpoints, between them, at
// the end, from the end (-N), on a cut-off trace; and an index file that is truncated, has a
// flipped byte, or belongs to a trace that changed is never trusted: it is ignored with a note
// and the answer is still the replay's.
import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import { generateTrace } from "../src/gen/trace_gen.ts";
import { AUTO_INDEX_BYTES, CACHE_MAX_INDEXES, writeAlias } from "../src/replay/index_cache.ts";
import { fileKey, indexLayout } from "../src/replay/trace_index.ts";
import "./support/repo_root.ts";

async function run(argv: string[], env: Record<string, string>) {
  const io = memoryIo("", env);
  const code = await main(argv, io);
  return { code, out: io.out(), err: io.err() };
}

async function traceFile(events: number, seed: number, tail = ""): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  const lines = [...generateTrace({ events, seed })];
  if (tail) lines.pop(); // a cut-off recording has no end record
  await Deno.writeTextFile(path, lines.join("\n") + "\n" + tail);
  return path;
}

/** The same command with the index and without: same stdout, stderr and exit. */
async function sameBothWays(argv: string[], env: Record<string, string>): Promise<string> {
  const cached = await run(argv, env);
  const plain = await run([...argv, "--no-cache"], env);
  assert.equal(cached.out, plain.out, `${argv.join(" ")}: stdout differs with the index`);
  assert.equal(cached.err, plain.err, `${argv.join(" ")}: stderr differs with the index`);
  assert.equal(cached.code, plain.code, `${argv.join(" ")}: exit differs with the index`);
  return cached.out;
}

/** The index files in the cache directory `dir` (not the aliases). */
function indexFiles(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".p2mindex"))
      .map((e) => `${dir}/${e.name}`);
  } catch {
    return [];
  }
}

async function sha256Hex(path: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", await Deno.readFile(path)));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

// 3000 events: intervals of 1024 after the one that ends with the boot pass (memory_setup),
// so four checkpoints, and within each interval one every 256 events; steps on both sides of
// each (bootSteps adds those the boot pass moves).
const STEPS = [
  "0",
  "1",
  "1023",
  "1024",
  "1025",
  "2047",
  "2048",
  "2999",
  "3000",
  "end",
  "-1",
  "-1024",
];

/** Steps around the checkpoints the boot pass moves: after it, and 1024 events later. */
async function bootSteps(trace: string): Promise<string[]> {
  const line = (await Deno.readTextFile(trace)).split("\n").find((l) =>
    l.includes('"memory_setup"')
  );
  assert.ok(line, "the trace has no boot pass");
  const seq = JSON.parse(line).seq as number;
  return [seq - 1, seq, seq + 1, seq + 1023, seq + 1024, seq + 1025].map(String);
}

/** The index file's layout: its directory's entries with each interval's record. */
function directoryOf(bytes: Uint8Array) {
  return indexLayout(bytes);
}

Deno.test("index: snapshot, lookup and diff print the same with the index as by a replay", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  const trace = await traceFile(3000, 11);
  const built = await run(["index", trace], env);
  assert.equal(built.code, 0, built.err);
  assert.match(
    built.out,
    /^indexed .*: 3000 events, 4 checkpoint\(s\) \(every 1024 events and after a boot pass\)/,
  );
  assert.equal(indexFiles(dir).length, 1);
  assert.match((await run(["index", trace], env)).out, /^up to date: /);
  // Steps on both sides of the checkpoints within intervals (seqs here are 1, 2, 3, ...).
  const subs: number[] = directoryOf(await Deno.readFile(indexFiles(dir)[0])).intervals
    .flatMap((iv) => iv.subs.map((s) => s.first));
  assert.equal(subs.length, 9, `checkpoints within intervals: ${subs}`);
  const subSteps = subs.filter((_, i) => i % 2 === 0).flatMap((f) => [f - 1, f, f + 1]);
  for (const at of [...STEPS, ...await bootSteps(trace), ...subSteps.map(String)]) {
    await sameBothWays(["snapshot", trace, "--at", at], env);
    await sameBothWays(["snapshot", trace, "--at", at, "--format", "debugfs"], env);
    for (const pfn of ["0x100", "0x2000", "0x40123", "0x3800000"]) {
      await sameBothWays(["lookup", trace, pfn, "--at", at, "--history"], env);
    }
    await sameBothWays(["lookup", trace, "0x41000", "--at", at, "--json"], env);
    await sameBothWays(["diff", trace, at, "1500"], env);
  }
  // Lookups whose last change lies intervals back (pages the balloon took in the first
  // interval), and histories spanning every interval.
  const lines = (await Deno.readTextFile(trace)).split("\n").slice(100, 1000);
  const taken = lines.filter((l) => l.includes('"decrease_reservation"')).slice(0, 4)
    .map((l) => JSON.parse(l).pfn as string);
  assert.equal(taken.length, 4);
  let older = 0;
  for (const pfn of taken) {
    for (const at of ["2500", "end"]) {
      const out = await sameBothWays(["lookup", trace, pfn, "--at", at], env);
      const m = /last changed: +step (\d+)/.exec(out);
      if (m && Number(m[1]) < 1024) older++;
      await sameBothWays(["lookup", trace, pfn, "--at", at, "--history", "--json"], env);
    }
  }
  assert.ok(older > 0, "no lookup was blamed on an earlier interval");
  // Blamed on a step of the interval the answer replays, before the checkpoint within it
  // that the replay starts from (read from the interval's change block, not replayed).
  let within = 0;
  const balloon = lines.slice(200).filter((l) => /"(de|in)crease_reservation"/.test(l));
  for (const l of balloon.filter((_, i) => i % 10 === 0).slice(0, 12)) {
    const { pfn, seq } = JSON.parse(l);
    if (typeof pfn !== "string") continue;
    for (const at of [...[-1, 1, 300, 600, 1500].map((d) => String(seq + d)), "end"]) {
      const out = await sameBothWays(["lookup", trace, pfn, "--at", at, "--json"], env);
      if (JSON.parse(out).last_change?.step === seq) within++;
      await sameBothWays(["lookup", trace, pfn, "--at", at, "--history"], env);
    }
  }
  assert.ok(within > 0, "no lookup was blamed on a step before the checkpoint it replays from");
  await sameBothWays(["snapshot", trace, "--at", "3001"], env); // past the end: usage error
  await sameBothWays(["diff", trace, "-4000", "end"], env); // before the start
});

// An answer parses the events it replays as one list when their lines are consecutive
// (trace_index.ts's #eventLines), and one by one otherwise: CRLF line ends (the CR is part of
// the line's length) and blank lines between events (no longer consecutive) answer as the
// replay does, with each event's own line number.
Deno.test("index: CRLF line ends and blank lines between events answer as the replay does", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  const trace = await Deno.makeTempFile({ suffix: ".jsonl" });
  const lines = [...generateTrace({ events: 3000, seed: 5 })];
  // Blank lines after some events (the first 1500 lines): those replays take the other way.
  const text = lines.map((l, i) =>
    i > 0 && i < 1500 && i % 97 === 0 ? `${l}\r\n \r\n` : `${l}\r\n`
  );
  await Deno.writeTextFile(trace, text.join(""));
  const built = await run(["index", trace], env);
  assert.equal(built.code, 0, built.err);
  for (const at of ["700", "1000", "1300", "2100", "2500", "2900", "end"]) {
    for (const pfn of ["0x100", "0x40123"]) {
      const out = await sameBothWays(["lookup", trace, pfn, "--at", at, "--history"], env);
      assert.match(out, /\(line \d+\)/);
    }
    await sameBothWays(["snapshot", trace, "--at", at, "--format", "json"], env);
  }
});

Deno.test("index: a PFN changed twice within an earlier interval is blamed on the later step", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  // The balloon gives back pages it took early (increase_reservation) and takes them again,
  // both in one interval, then 1100 marks put that interval behind the last one.
  const lines = [...generateTrace({ events: 3000, seed: 11 })];
  lines.pop(); // the end record
  const pfns = lines.filter((l) => l.includes('"decrease_reservation"')).map((l) =>
    JSON.parse(l).pfn
  )
    .filter((p) => typeof p === "string").slice(100, 103); // taken intervals before
  let seq = 3000;
  for (const kind of ["increase_reservation", "decrease_reservation"]) {
    for (const pfn of pfns) lines.push(JSON.stringify({ seq: ++seq, kind, pfn }));
  }
  // Marks of multi-byte characters: an interval's bytes are not its characters.
  for (let i = 0; i < 1100; i++) {
    const text = i % 7 ? "x" : "h\u00e9 \u2603 \ud83d\ude00";
    lines.push(JSON.stringify({ seq: ++seq, kind: "mark", text }));
  }
  lines.push(JSON.stringify({ kind: "end", events: seq }));
  const trace = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeTextFile(trace, lines.join("\n") + "\n");
  assert.equal((await run(["index", trace], env)).code, 0);
  for (const [i, pfn] of pfns.entries()) {
    const out = await sameBothWays(["lookup", trace, pfn, "--json"], env);
    assert.equal(JSON.parse(out).last_change.step, 3004 + i, out);
    const all = await sameBothWays(["lookup", trace, pfn, "--history", "--json"], env);
    assert.equal(JSON.parse(all).history.length, 3, all);
  }
  for (const at of ["3007", "3014", "3500", "4099"]) {
    const out = await sameBothWays(["lookup", trace, pfns[0], "--at", at, "--json"], env);
    if (at === "3014") assert.match(out, /h\u00e9 \u2603/);
  }
});

Deno.test("index: a cut-off trace answers with the same note and exit 3 at the cut only", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  const trace = await traceFile(1500, 4, '{"seq":99999,"kind":"ma');
  const built = await run(["index", trace], env);
  assert.equal(built.code, 0, built.err);
  for (const at of ["1000", "1499", "1500", "end", "-1"]) {
    await sameBothWays(["snapshot", trace, "--at", at, "--format", "json"], env);
  }
  const end = await run(["lookup", trace, "0x100"], env);
  assert.equal(end.code, 3);
  assert.match(end.err, /cut off/);
});

Deno.test("index: a truncated or damaged index file is ignored with a note, never trusted", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  const trace = await traceFile(2100, 5);
  assert.equal((await run(["index", trace], env)).code, 0);
  const [file] = indexFiles(dir);
  const good = await Deno.readFile(file);
  const directory = directoryOf(good);
  const at = 2050;
  const intervals = directory.intervals;
  const u = intervals.findLastIndex((iv) => iv.first < at);
  const [earlier, used] = [intervals[u - 1], intervals[u]];
  // A PFN the balloon took in the earlier interval and the step's interval left alone: its
  // blame is read from the earlier interval's last-change block.
  const text = await Deno.readTextFile(trace);
  const taken = text.split("\n").filter((l) => l.includes('"decrease_reservation"'))
    .map((l) => JSON.parse(l)).filter((e) => e.seq > earlier.first && e.seq <= used.first)
    .map((e) => e.pfn as string);
  let blamed: string | undefined;
  for (const pfn of taken) {
    const out = (await run(["lookup", trace, pfn, "--at", `${at}`, "--no-cache"], env)).out;
    const step = Number(/last changed: +step (\d+)/.exec(out)?.[1]);
    if (step > earlier.first && step <= used.first) {
      blamed = pfn;
      break;
    }
  }
  assert.ok(blamed, "no PFN last changed in the earlier interval");
  const history = ["lookup", trace, "0x2000", "--at", `${at}`, "--history"];
  const blame = ["lookup", trace, blamed, "--at", `${at}`, "--json"];
  const snapshot = ["snapshot", trace, "--at", `${at}`];
  // Truncations, and single flipped bytes in the header, the directory (its fixed start, its
  // head, an interval's entry), the trailer, the record of the interval the lookup reads, its
  // state, a P2M mid and a leaf of it that a lookup reads (each page checked on its own
  // against the sum its parent holds), its event table, the page block a snapshot reads
  // whole, the region block and the last-change block of an earlier interval its blame
  // reads (blocks are checked when read, not all at open).
  const region = directory.regions.findLast((r) => r.pfn <= parseInt(blamed));
  assert.ok(region);
  const dirLen = new DataView(good.buffer).getUint32(good.length - 44, true);
  const dirAt = good.length - 44 - dirLen;
  const damages: [string, (b: Uint8Array) => Uint8Array, string[]][] = [
    ["truncated to half", (b) => b.slice(0, b.length >> 1), history],
    ["truncated by one byte", (b) => b.slice(0, b.length - 1), history],
    ["empty", () => new Uint8Array(), history],
    // The directory cut short, its trailer kept (its length then runs into the blocks).
    ["directory truncated", (b) => {
      const c = new Uint8Array(b.length - 72);
      c.set(b.subarray(0, dirAt + dirLen - 72));
      c.set(b.subarray(b.length - 44), c.length - 44);
      return c;
    }, history],
  ];
  // The checkpoint the lookup decodes (the interval's own, or the last one within it before
  // the step), and a mid and a leaf of its P2M (pooled pages: places of offset, length and
  // sum).
  const textAt = (at: readonly unknown[]) => {
    const [from, len] = at as number[];
    return new TextDecoder().decode(good.subarray(from, from + len));
  };
  const read = (at: readonly unknown[]) => JSON.parse(textAt(at));
  const state = used.subs.findLast((s) => s.first <= at)?.state ?? used.state;
  const p2m = read(state).p2m;
  const place = (places: number[], k: number) => places.slice(3 * (k - 3), 3 * (k - 3) + 3);
  // The first PFN in a private leaf: its mid and its leaf.
  const top: number[] = p2m.top;
  const t = top.findIndex((k) => k >= 3);
  assert.ok(t >= 0, "the P2M has no private mid");
  const mid = place(p2m.midAt, top[t]);
  const [slots, leaves]: [number[], number[]] = read(mid);
  const slot = slots.findIndex((k) => k >= 3);
  assert.ok(slot >= 0, "the mid has no private leaf");
  const leaf = place(leaves, slots[slot]);
  const pfn = "0x" + ((t << 18) + (slot << 9) + 5).toString(16);
  const leafLookup = ["lookup", trace, pfn, "--at", `${at}`];
  assert.ok(used.pages, "the interval's checkpoint placed no pages");
  const inBlocks: [number, string[]][] = [
    [used.record[0] + 5, history],
    [state[0] + 7, history],
    [mid[0] + 1, leafLookup],
    [leaf[0] + 1, leafLookup],
    [used.events[0] + 100, history],
    [used.pages[0] + 1, snapshot],
    [region.block[0] + 1, blame],
    [earlier.changes[0] + 1, blame],
    [dirAt + 2, history],
    [dirAt + 30, history],
    [dirAt + dirLen - 56 * directory.regions.length - 72 * (intervals.length - u) + 3, history],
  ];
  for (
    const [byte, argv] of [[3, history], [13, history], ...inBlocks, [good.length - 40, history], [
      good.length - 3,
      history,
    ]] as [number, string[]][]
  ) {
    damages.push([`byte ${byte} flipped`, (b) => {
      const c = b.slice();
      c[byte] ^= 0x5a;
      return c;
    }, argv]);
  }
  // A digit of a pooled page changed into another (still JSON): only the page's sum (a
  // lookup reads it on its own) or its block's hash (a snapshot reads the block) catches it.
  // The leaf's last run number, and the mid's last slot (which leaf the slot is).
  for (
    const byte of [
      leaf[0] + textAt(leaf).lastIndexOf("]") - 1,
      mid[0] + textAt(mid).indexOf("],[") - 1,
    ]
  ) {
    assert.match(String.fromCharCode(good[byte]), /\d/);
    for (const argv of [leafLookup, snapshot]) {
      damages.push([`digit at byte ${byte} changed (${argv[0]})`, (b) => {
        const c = b.slice();
        c[byte] ^= 1;
        return c;
      }, argv]);
    }
  }
  for (const [what, damage, argv] of damages) {
    const plain = await run([...argv, "--no-cache"], env);
    await Deno.writeFile(file, damage(good));
    const r = await run(argv, env);
    assert.equal(r.out, plain.out, `${what}: a different answer`);
    assert.equal(r.code, plain.code, what);
    assert.match(r.err, /^p2mtrace: note: ignoring the index cache file .*: /m, what);
    // The damaged file was replaced by a good one: the next run is quiet.
    const again = await run(argv, env);
    assert.equal(again.err, "", `${what}: not rebuilt`);
    assert.equal(again.out, plain.out);
  }
});

Deno.test("index: a changed trace is not answered from the old index", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  const trace = await traceFile(1200, 6);
  assert.equal((await run(["index", trace], env)).code, 0);
  // Same length, other bytes (a lookup's driver named differently): the file's identity
  // changed, so the old index is not found; the answer is the new bytes' replay.
  const text = await Deno.readTextFile(trace);
  const at = text.lastIndexOf('"kind":"lookup","pfn":"0x') + 25;
  assert.ok(at > 25);
  const digit = text[at] === "1" ? "2" : "1";
  await Deno.writeTextFile(trace, text.slice(0, at) + digit + text.slice(at + 1));
  await sameBothWays(["lookup", trace, "0x100", "--at", "end", "--json"], env);
  const again = await run(["index", trace], env);
  assert.match(again.out, /^indexed /);
});

Deno.test("index: trace bytes that differ under the same file identity are caught by the interval's hash", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  const trace = await traceFile(1200, 6);
  assert.equal((await run(["index", trace], env)).code, 0);
  const indexed = await sha256Hex(trace);
  // Other bytes of the same length (a looked-up PFN's digit), then the alias of the new file
  // identity forged to the old bytes' SHA-256: only the span hash is left to notice.
  const text = await Deno.readTextFile(trace);
  const at = text.lastIndexOf('"kind":"lookup","pfn":"0x') + 25;
  await Deno.writeTextFile(
    trace,
    text.slice(0, at) + (text[at] === "1" ? "2" : "1") + text.slice(at + 1),
  );
  await writeAlias(dir, fileKey(Deno.statSync(trace)), indexed);
  const r = await run(["lookup", trace, "0x100", "--at", "end", "--json"], env);
  const plain = await run(["lookup", trace, "0x100", "--at", "end", "--json", "--no-cache"], env);
  assert.equal(r.out, plain.out);
  assert.match(r.err, /ignoring the index cache file .*: the trace's bytes differ/);
});

Deno.test("index: keyed by content: a copy of a trace finds the index of its bytes, without a rebuild", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  const trace = await traceFile(2100, 12);
  assert.equal((await run(["index", trace], env)).code, 0);
  const [file] = indexFiles(dir);
  const built = Deno.statSync(file).mtime;
  const copy = `${await Deno.makeTempDir()}/copy.jsonl`;
  await Deno.copyFile(trace, copy);
  const argv = ["lookup", copy, "0x2000", "--at", "2050", "--history"];
  const cached = await run(argv, env);
  const plain = await run([...argv, "--no-cache"], env);
  assert.equal(cached.out, plain.out);
  assert.equal(cached.err, "");
  assert.deepEqual(indexFiles(dir), [file], "the copy got an index of its own");
  // Found by hashing the copy, which now has an alias of its own: the next question does not
  // hash it again.
  const aliases = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".p2mid"));
  assert.equal(aliases.length, 2, "the copy was not answered from the index");
  assert.ok(Deno.statSync(file).mtime! >= built!, "the index was not touched on use");
  // `index` on the copy hashes it and finds the same file up to date.
  assert.match((await run(["index", copy], env)).out, /^up to date: /);
  // Another policy is another index.
  assert.match((await run(["index", copy, "--policy", "linux-3.16"], env)).out, /^indexed /);
  assert.equal(indexFiles(dir).length, 2);
});

Deno.test("index: the cache is bounded: a build removes the least recently used indices beyond the limit", async () => {
  const dir = await Deno.makeTempDir();
  const env = { P2MTRACE_CACHE_DIR: dir };
  // Older indices (of other traces) filling the cache to its limit, oldest first.
  for (let i = 0; i < CACHE_MAX_INDEXES; i++) {
    const f = `${dir}/old-${String(i).padStart(2, "0")}.p2mindex`;
    await Deno.writeFile(f, new Uint8Array(64));
    await Deno.utime(f, 1000 + i, 1000 + i);
  }
  await Deno.writeFile(`${dir}/build.p2mindex.1.x.tmp`, new Uint8Array(8));
  await Deno.utime(`${dir}/build.p2mindex.1.x.tmp`, 1000, 1000);
  await Deno.writeTextFile(`${dir}/README`, "not the cache's");
  const trace = await traceFile(1200, 13);
  assert.equal((await run(["index", trace], env)).code, 0);
  const names = indexFiles(dir).map((p) => p.slice(dir.length + 1)).sort();
  assert.equal(names.length, CACHE_MAX_INDEXES);
  assert.ok(!names.includes("old-00.p2mindex"), "the least recently used index was kept");
  assert.ok(names.includes("old-01.p2mindex"));
  assert.ok(names.some((n) => !n.startsWith("old-")), "the new index was removed");
  assert.ok(!Deno.readDirSync(dir).some((e) => e.name.endsWith(".tmp")), "a dead build's file");
  assert.equal(Deno.readTextFileSync(`${dir}/README`), "not the cache's");
});

Deno.test("index: stdin and gzip are not indexed; 'index -' is a usage error", async () => {
  const env = { P2MTRACE_CACHE_DIR: await Deno.makeTempDir() };
  const r = await run(["index", "-"], env);
  assert.equal(r.code, 64);
  assert.match(r.err, /stdin cannot be indexed/);
  const none = await run(["index", "traces/pcie-bar-above-e820.jsonl"], {});
  assert.equal(none.code, 74);
  assert.match(none.err, /no cache directory/);
});

Deno.test("index: a large trace is indexed on first use; an unwritable cache is said once and skipped", async () => {
  const events = Math.ceil(AUTO_INDEX_BYTES / 115);
  const trace = await traceFile(events, 8);
  assert.ok(Deno.statSync(trace).size >= AUTO_INDEX_BYTES);
  const dir = await Deno.makeTempDir();
  const argv = ["diff", trace, "1000", "-1", "--json"];
  const plain = await run([...argv, "--no-cache"], { P2MTRACE_CACHE_DIR: dir });
  assert.equal(indexFiles(dir).length, 0, "--no-cache wrote an index");
  const first = await run(argv, { P2MTRACE_CACHE_DIR: dir });
  assert.equal(first.out, plain.out);
  assert.equal(first.err, "");
  assert.equal(indexFiles(dir).length, 1, "first use built no index");
  // A cache directory below a regular file cannot be created.
  const blocked = `${trace}/cache`;
  const r = await run(argv, { P2MTRACE_CACHE_DIR: blocked });
  assert.equal(r.out, plain.out);
  assert.equal(r.code, plain.code);
  assert.equal(r.err.match(/note: not using the index cache/g)?.length, 1, r.err);
});

Deno.test("index: without --allow-write (or --allow-env) a large trace is answered by a replay, with one note", async () => {
  const events = Math.ceil(AUTO_INDEX_BYTES / 115);
  const trace = await traceFile(events, 9);
  const home = await Deno.makeTempDir();
  const deno = Deno.execPath();
  for (
    const [flags, why] of [[["--allow-read"], /no cache directory/], [
      ["--allow-read", "--allow-env"],
      /no write access/,
    ]] as const
  ) {
    const out = await new Deno.Command(deno, {
      args: ["run", ...flags, "cli.ts", "lookup", trace, "0x100", "--at", "-2"],
      env: {
        HOME: home,
        NO_COLOR: "1",
        DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
      },
      clearEnv: true,
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, err);
    assert.match(err, why);
    assert.equal(err.split("\n").filter((l) => l.includes("note:")).length, 1, err);
    assert.equal(indexFiles(`${home}/.cache/p2mtrace`).length, 0);
  }
});
