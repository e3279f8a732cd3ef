import assert from "node:assert/strict";
import { cli } from "./cli_helpers.ts";

const HEADER = '{"format":"p2mtrace","version":1,"producer":"test","description":"bad input",' +
  '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}';

function trace(...lines: string[]): string {
  return [HEADER, ...lines].join("\n") + "\n";
}

async function replayStdin(text: string) {
  return await cli(["replay", "-", "--policy", "linux-3.12"], text);
}

Deno.test("malformed JSON: exit 65 naming the line", async () => {
  const r = await replayStdin(trace('{"seq":1,"kind":"mark","text":"ok"}', '{"seq":2,"kind":'));
  assert.equal(r.code, 65);
  assert.equal(r.out, "");
  assert.equal(
    r.err,
    'p2mtrace: -:3: expected one JSON object per line, got invalid JSON "{\\"seq\\":2,\\"kind\\":"\n',
  );
});

Deno.test("a key given twice in one object: exit 65 naming line and key, on either thread", async () => {
  // JSON.parse keeps the last value of a repeated key: the event would silently change kind.
  const cases: [string, string][] = [
    ['{"seq":1,"kind":"lookup","pfn":"0x10","kind":"mark","text":"x"}', "kind"],
    ['{"seq":1,"kind":"mark","text":"x","note":"a","note":"b"}', "note"],
    ['{"seq": 1, "kind": "mark", "text": "a", "text": "b"}', "text"],
    [
      '{"seq":1,"kind":"xen_add_device","device":"0000:03:00.0","resources":[{"index":0,' +
      '"start":"0x0","end":"0xfff","flags":512,"flags":256}]}',
      "resources[0].flags",
    ],
  ];
  for (const threads of ["1", "2"]) {
    for (const [line, field] of cases) {
      const r = await cli(
        ["replay", "-", "--policy", "linux-3.12", "--threads", threads],
        trace('{"seq":0,"kind":"mark","text":"before"}', line),
      );
      assert.equal(r.code, 65, `${threads}: ${line}`);
      assert.equal(
        r.err,
        `p2mtrace: -:3: field "${field}": expected each key once in an object, got it twice ` +
          "(JSON keeps only the last value, so the others would be lost)\n",
      );
    }
  }
  const header = HEADER.replace('"type":"pv",', '"type":"pv","type":"hvm",');
  const r = await replayStdin(header + '\n{"seq":1,"kind":"mark","text":"x"}\n');
  assert.equal(r.code, 65);
  assert.match(r.err, /^p2mtrace: -:1: field "guest.type": expected each key once in an object/);
  const v = await cli(["validate", "-"], trace('{"seq":1,"kind":"mark","text":"x","text":"y"}'));
  assert.equal(v.code, 65);
  assert.match(v.out, /repeated-key/);
});

Deno.test("unknown event kind: names the kind, the line and the known kinds", async () => {
  const r = await replayStdin(trace('{"seq":1,"kind":"teleport"}'));
  assert.equal(r.code, 65);
  assert.match(
    r.err,
    /^p2mtrace: -:2: field "kind": expected a known event kind \(e820, memory_setup, .*mark, or end\), got "teleport"\n$/,
  );
});

Deno.test("wrong field type: names the field and what was expected", async () => {
  const r = await replayStdin(trace('{"seq":1,"kind":"set_identity","pfn":"zz"}'));
  assert.equal(r.code, 65);
  assert.match(r.err, /-:2: field "pfn": expected a frame number below 2\^40 .*got "zz"/);
});

Deno.test("nested field errors name the path", async () => {
  const r = await replayStdin(trace(
    '{"seq":1,"kind":"xen_add_device","device":"0000:03:00.0","resources":[{"index":0,"start":"0x0","end":"0xfff","flags":"big"}]}',
  ));
  assert.equal(r.code, 65);
  assert.match(r.err, /-:2: field "resources\[0\]\.flags": expected numeric IORESOURCE_\* flags/);
});

Deno.test("overlapping raw E820 entries: exit 65 naming both lines", async () => {
  const r = await replayStdin(trace(
    '{"seq":1,"kind":"e820","start":"0x0","end":"0x9ffff","type":"ram"}',
    '{"seq":2,"kind":"e820","start":"0x9f000","end":"0xfffff","type":"reserved"}',
  ));
  assert.equal(r.code, 65);
  assert.match(
    r.err,
    /-:3: field "start": expected a raw E820 entry that does not overlap line 2 \[0x0-0x9ffff\], got \[0x9f000-0xfffff\]/,
  );
});

Deno.test("an address past 52 bits is rejected", async () => {
  const r = await replayStdin(
    trace('{"seq":1,"kind":"e820","start":"0x10000000000000","size":"0x1000","type":"ram"}'),
  );
  assert.equal(r.code, 65);
  assert.match(r.err, /field "start": expected a byte address below 2\^52/);
});

Deno.test("a 2^30-page identity range is accepted and replays at once", async () => {
  const r = await replayStdin(
    trace('{"seq":1,"kind":"set_identity","pfn":"0x0","pages":"0x40000000"}'),
  );
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /set_phys_range_identity\(0, 40000000\) returned 0/); // v3.12 rejects pfn_e >= MAX_P2M_PFN
});

Deno.test("truncated last line: replay stops before it, prints the summary, exits 3", async () => {
  const text = trace('{"seq":1,"kind":"mark","text":"one"}') + '{"seq":2,"kind":"ma';
  const r = await replayStdin(text);
  assert.equal(r.code, 3);
  assert.match(r.out, /1 event\(s\) replayed, last seq 1; CUT OFF/);
  assert.equal(
    r.err,
    "p2mtrace: -:3: the recording was cut off: the last line has no newline and is not complete JSON; 1 complete event(s) before it were used\n",
  );
});

Deno.test("a recording cut off inside its header is unusable (65), for replay and validate", async () => {
  const cut = '{"format":"p2mtrace","version":1,"produc';
  const r = await replayStdin(cut);
  assert.equal(r.code, 65);
  assert.equal(r.out, "");
  assert.equal(
    r.err,
    "p2mtrace: -:1: expected a complete trace header, got a cut-off line (no newline, not " +
      'complete JSON): invalid JSON "{\\"format\\":\\"p2mtrace\\",\\"version\\":1,\\"produc"\n',
  );
  assert.equal((await cli(["check", "-", "--bisect-exit"], cut)).code, 125);
  const v = await cli(["validate", "-"], cut);
  assert.equal(v.code, 65);
  assert.match(
    v.out,
    /^bad-header +error +1 +1 +the header line is cut off: no newline, not JSON$/m,
  );
  assert.doesNotMatch(v.out, /no-end-record/);
});

Deno.test("a last line without newline that is complete JSON is accepted", async () => {
  const text = trace('{"seq":1,"kind":"mark","text":"one"}') + '{"kind":"end","events":1}';
  const r = await replayStdin(text);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /complete \(end record present\)/);
});

Deno.test("seq must increase", async () => {
  const r = await replayStdin(
    trace('{"seq":2,"kind":"mark","text":"a"}', '{"seq":2,"kind":"mark","text":"b"}'),
  );
  assert.equal(r.code, 65);
  assert.match(
    r.err,
    /-:3: field "seq": expected a value greater than the previous event's 2, got 2/,
  );
});

Deno.test("nothing may follow the end record, and its count must match", async () => {
  let r = await replayStdin(
    trace(
      '{"seq":1,"kind":"mark","text":"a"}',
      '{"kind":"end","events":1}',
      '{"seq":2,"kind":"mark","text":"b"}',
    ),
  );
  assert.equal(r.code, 65);
  assert.match(r.err, /-:4: expected nothing after the end record/);
  r = await replayStdin(trace('{"seq":1,"kind":"mark","text":"a"}', '{"kind":"end","events":5}'));
  assert.equal(r.code, 65);
  assert.match(
    r.err,
    /-:3: field "events": expected 1 \(the number of event records before it\), got 5/,
  );
});

Deno.test("header problems: wrong format, future version, empty input", async () => {
  let r = await replayStdin('{"format":"other","version":1}\n');
  assert.equal(r.code, 65);
  assert.match(r.err, /-:1: field "format": expected "p2mtrace"/);
  r = await replayStdin(HEADER.replace('"version":1', '"version":2') + "\n");
  assert.equal(r.code, 65);
  assert.match(r.err, /field "version": expected 1/);
  r = await replayStdin("");
  assert.equal(r.code, 65);
  assert.match(r.err, /-:1: expected a trace header, got an empty file/);
});

Deno.test("a JSON value that is not an object is rejected", async () => {
  const r = await replayStdin(trace("[1,2,3]"));
  assert.equal(r.code, 65);
  assert.match(r.err, /-:2: expected an event object, got \[1,2,3\]/);
});

Deno.test("a PFN listed twice in one batch is rejected", async () => {
  const r = await replayStdin(
    trace('{"seq":1,"kind":"decrease_reservation","pfns":["0x10","0x11","0x10"]}'),
  );
  assert.equal(r.code, 65);
  assert.match(r.err, /field "pfns\[2\]": expected each PFN once per event/);
});

Deno.test("CRLF line ends and blank lines replay like LF", async () => {
  const lf = trace('{"seq":1,"kind":"set_identity","pfn":"0x80000","end_pfn":"0x80010"}');
  const crlf = "\r\n" + lf.replaceAll("\n", "\r\n\r\n");
  const a = await replayStdin(lf);
  const b = await replayStdin(crlf);
  assert.equal(a.code, 0);
  assert.equal(b.code, 0, b.err);
  assert.equal(b.out.replace(/line \d+/g, "line N"), a.out.replace(/line \d+/g, "line N"));
});

Deno.test("a gzipped trace replays exactly like the plain one", async () => {
  const plain = await Deno.readFile("traces/pcie-bar-above-e820.jsonl");
  const gz = new Uint8Array(
    await new Response(ReadableStream.from([plain]).pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/t.jsonl.gz`, gz);
    const a = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--quiet"]);
    const b = await cli(["replay", `${dir}/t.jsonl.gz`, "--quiet"]);
    assert.equal(b.code, 0, b.err);
    assert.equal(
      b.out.replace(`${dir}/t.jsonl.gz`, "X"),
      a.out.replace("traces/pcie-bar-above-e820.jsonl", "X"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// check and summarize take a directory as a batch of traces (tests/batch_test.ts).
Deno.test("a missing file or a directory exits 66; usage errors exit 64", async () => {
  let r = await cli(["replay", "no/such/trace.jsonl"]);
  assert.equal(r.code, 66);
  assert.equal(r.err, "p2mtrace: no/such/trace.jsonl: cannot read: no such file\n");
  for (
    const argv of [
      ["replay", "traces"],
      ["compare", "traces"],
      ["validate", "traces"],
      ["minimize", "traces"],
      ["snapshot", "traces"],
      ["lookup", "traces", "0x10"],
      ["diff", "traces", "0", "1"],
      ["bisect", "traces", "--detector", "lookup-zero"],
      ["import", "dmesg", "traces"],
    ]
  ) {
    r = await cli(argv);
    assert.equal(r.code, 66, argv.join(" "));
    assert.equal(r.err, "p2mtrace: traces: cannot read: is a directory\n", argv.join(" "));
  }
  r = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--bogus"]);
  assert.equal(r.code, 64);
  assert.match(r.err, /replay: Unknown option '--bogus'/);
  r = await cli(["replay"]);
  assert.equal(r.code, 64);
  r = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-9.9"]);
  assert.equal(r.code, 64);
  assert.match(r.err, /unknown policy 'linux-9\.9'; known policies: linux-3\.12, /);
  r = await cli(["replay", "traces/pcie-bar-above-e820.jsonl", "--at", "x"]);
  assert.equal(r.code, 64);
  r = await cli(["nosuchcommand"]);
  assert.equal(r.code, 64);
});

// Without nr_pages the boot pass cannot run: that is a gap in what the trace holds (findings
// that rest on the pass say "cannot judge"), not a finding of its own and not a crash.
Deno.test("memory_setup without nr_pages says the boot pass cannot run, not a crash", async () => {
  const text = HEADER.replace(',"nr_pages":"0x40000"', "") + "\n" +
    '{"seq":1,"kind":"memory_setup"}\n';
  const r = await replayStdin(text);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /kernel: the boot pass cannot run: memory_setup needs the header's guest\.nr_pages/,
  );
  assert.match(r.out, /\nboot: {5}the boot pass did not run: no raw E820 map, no nr_pages\n/);
  assert.doesNotMatch(r.out, /FINDING/);
});

Deno.test("a hostile 16-digit hex value does not become a huge allocation", async () => {
  const r = await replayStdin(trace('{"seq":1,"kind":"set_identity","pfn":"0xffffffffffffffff"}'));
  assert.equal(r.code, 65);
  assert.match(r.err, /field "pfn": expected a frame number below 2\^40/);
});
