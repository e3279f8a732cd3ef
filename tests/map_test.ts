/**
 * `p2mtrace map`: the text and SVG pictures of the bundled PCIe trace are pinned (golden), the
 * text tells the trace's story in 72 columns, long traces stay bounded, and mistakes are
 * usage errors. The browser side is tests/map_browser_test.ts.
 *
 * Runtime: about 5 s.
 */
import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { cli } from "./cli_helpers.ts";

const PCIE = "traces/pcie-bar-above-e820.jsonl";
const COMPARE = ["--compare", "linux-3.12,linux-3.16"];

Deno.test("map --format text pins the bundled trace under linux-3.12 and linux-3.16", async () => {
  const r = await cli(["map", PCIE, ...COMPARE, "--format", "text"]);
  assert.equal(r.code, 0, r.err);
  await assertGolden("map/pcie-bar-above-e820.compare.txt", r.out);
  const ascii = await cli(["map", PCIE, ...COMPARE, "--format", "text", "--ascii", "--at", "16"]);
  await assertGolden("map/pcie-bar-above-e820.compare.step16.ascii.txt", ascii.out);
  assert.match(ascii.out, /^[\x20-\x7e\n]*$/, "--ascii output is ASCII");
});

Deno.test("map --format text fits its width: 72 columns by default, --width N", async () => {
  for (
    const [args, width] of [[[], 72], [["--width", "40"], 40], [["--width", "120"], 120]] as const
  ) {
    const r = await cli(["map", PCIE, ...COMPARE, "--format", "text", ...args]);
    for (const line of r.out.split("\n")) {
      assert.ok([...line].length <= width, `${[...line].length} > ${width}: ${line}`);
    }
  }
});

// The kernel rule the picture shows: under linux-3.12 the BARs' GiBs point at the shared
// mid-missing page (every lookup INVALID, a PTE of 0); v3.16's boot pass makes everything above
// the E820 map 1:1 (mid-identity). The finding columns must read INVALID under 3.12 and
// identity under 3.16.
Deno.test("map --format text: the BAR columns read INVALID under 3.12, identity under 3.16", async () => {
  const r = await cli(["map", PCIE, ...COMPARE, "--format", "text", "--ascii"]);
  const lines = r.out.split("\n");
  const block = (spec: string) => lines.slice(lines.findIndex((l) => l.startsWith(spec)));
  const b12 = block("linux-3.12"), b16 = block("linux-3.16");
  const row = (b: string[], title: string) => b.find((l) => l.startsWith(title))!.padEnd(72);
  const marks = [...row(b12, " findings")].flatMap((c, i) => (c === "!" ? [i] : []));
  assert.ok(marks.length >= 2, "the BARs' finding is drawn");
  for (const i of marks) {
    assert.equal(row(b12, " P2M entry")[i], ".", `column ${i} INVALID under 3.12`);
    assert.equal(row(b12, " answered by")[i], ".", `column ${i} mid-missing under 3.12`);
    assert.equal(row(b16, " P2M entry")[i], "=", `column ${i} identity under 3.16`);
    assert.equal(row(b16, " answered by")[i], "I", `column ${i} mid-identity under 3.16`);
  }
  assert.equal(row(b16, " findings").slice(13).trim(), "", "no finding under 3.16");
  assert.match(lines.find((l) => l.startsWith("BARs"))!, /P/);
});

Deno.test("map --format svg pins the picture of the bundled trace", async () => {
  const r = await cli(["map", PCIE, ...COMPARE, "--format", "svg"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns=/);
  await assertGolden("map/pcie-bar-above-e820.compare.svg", r.out);
});

Deno.test("map HTML is self-contained: no external script, stylesheet, image or URL", async () => {
  const r = await cli(["map", PCIE, ...COMPARE]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^<!DOCTYPE html>/);
  assert.doesNotMatch(r.out, /\b(src|href)=|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  // The same bytes on every run.
  assert.equal((await cli(["map", PCIE, ...COMPARE])).out, r.out);
});

Deno.test("map of a long trace keeps at most 251 steps and a bounded page", async () => {
  const gen = await cli(["generate", "--events", "1000", "--seed", "7"]);
  assert.equal(gen.code, 0, gen.err);
  const r = await cli(["map", "-", ...COMPARE], gen.out);
  assert.equal(r.code, 0, r.err);
  const data = JSON.parse(
    /<script type="application\/json" id="map-data">([^]*?)<\/script>/.exec(r.out)![1],
  ) as { frames: { index: number }[] };
  assert.ok(data.frames.length <= 251, `${data.frames.length} frames`);
  assert.equal(data.frames[0].index, 0);
  assert.equal(data.frames[data.frames.length - 1].index, 1000);
  assert.match(r.out, /steps: (every change|sampled changes)/);
  assert.ok(r.out.length < 1_000_000, `${r.out.length} bytes`);
});

Deno.test("map mistakes are usage errors (64) naming the option", async () => {
  const cases: [string[], RegExp][] = [
    [["--format", "png"], /--format takes html, svg or text/],
    [["--format", "text", "--width", "10"], /--width takes a number of columns from 40/],
    [["--policy", "linux-3.12", "--compare", "linux-3.16"], /--policy or --compare, not both/],
    [["--at", "99"], /step 99 is past the end of the trace: its last event is seq 21/],
    [["--compare", "linux-9.9"], /linux-9\.9/],
  ];
  for (const [args, re] of cases) {
    const r = await cli(["map", PCIE, ...args]);
    assert.equal(r.code, 64, `${args.join(" ")}: ${r.err}`);
    assert.match(r.err, re);
  }
  const missing = await cli(["map", "traces/no-such.jsonl"]);
  assert.equal(missing.code, 66);
});

// The map's per-frame verdict is the shared one (src/detect/verdict.ts): a policy reads "no
// findings so far" only when the P2M was built and nothing was found. A trace whose E820 map is
// recorded but whose boot pass never runs (no memory_setup event) found nothing that proves
// anything: every surface (text, SVG, the HTML page's frames) says cannot judge, with why.
Deno.test("map never reads clean on a P2M the boot pass never built (text, SVG, HTML)", async () => {
  const trace = [
    JSON.stringify({
      format: "p2mtrace",
      version: 1,
      producer: "test",
      description: "an E820 map, no memory_setup",
      guest: { type: "pv", domain: "dom0", nr_pages: "0x100000" },
    }),
    '{"seq":1,"kind":"e820","start":"0x0","end":"0x9ffff","type":"ram"}',
    '{"seq":2,"kind":"e820","start":"0x100000","end":"0xbfffffff","type":"ram"}',
    '{"seq":3,"kind":"lookup","pfn":"0x10"}',
    '{"kind":"end","events":3}',
  ].join("\n") + "\n";
  const text = await cli(["map", "-", "--format", "text", "--width", "200"], trace);
  assert.equal(text.code, 0, text.err);
  const line = text.out.split("\n").find((l) => l.startsWith("linux-3.12:iomap=honoured: "))!;
  assert.equal(
    line,
    "linux-3.12:iomap=honoured: cannot judge (no memory_setup event before this step): " +
      "no findings, on a P2M not built by this step",
  );
  const svg = await cli(["map", "-", "--format", "svg"], trace);
  assert.match(svg.out, /class="pv cj" id="verdict-0">cannot judge \(no memory_setup/);
  assert.doesNotMatch(svg.out, /no findings so far/);
  const html = await cli(["map", "-"], trace);
  const data = JSON.parse(
    /<script type="application\/json" id="map-data">([^]*?)<\/script>/.exec(html.out)![1],
  ) as { frames: { verdicts: [string, string][] }[] };
  assert.deepEqual(data.frames.map((f) => f.verdicts[0][0]), [
    "cannot-judge",
    "cannot-judge",
    "cannot-judge",
    "cannot-judge",
  ]);
  // Built and nothing found: clean (the bundled trace under 3.16, at its end).
  const built = await cli(["map", PCIE, ...COMPARE, "--format", "text", "--width", "200"]);
  assert.ok(built.out.includes("linux-3.16:iomap=honoured: no findings so far"), built.out);
});
