// `summarize`: the import's uncertainty (guest decision, estimates, rebuilt entries, lines not
// understood), and `--format text` for mailing lists: every line within 72 columns, long values
// wrapped, never cut; the reproduce command reads back as the same words in sh. Runtime: ~10 s.

import assert from "node:assert/strict";
import { assertGolden } from "./golden.ts";
import { bundledTraces, cli } from "./cli_helpers.ts";
import { MAIL_WIDTH } from "../src/share/summary_text.ts";
import { summarizeTrace } from "../src/share/summarize.ts";
import { TraceReader } from "../src/trace/read.ts";
import { generateTrace } from "../src/gen/trace_gen.ts";
import { findingJson } from "../src/report/replay_report.ts";
import type { Finding } from "../src/detect/finding.ts";

function assertWidth(text: string, what: string): void {
  for (const line of text.split("\n")) {
    assert.ok(line.length <= MAIL_WIDTH, `${what}: ${line.length} columns: ${line}`);
  }
}

/** The text with line breaks and wrap indentation folded, to check nothing was cut. */
function folded(text: string): string {
  return text.replace(/\s+/g, "");
}

Deno.test("summarize --format text is the default and its golden output", async () => {
  const r = await cli(["summarize", "traces/pcie-bar-above-e820.jsonl", "--policy", "linux-3.12"]);
  assert.equal(r.code, 0, r.err);
  await assertGolden("share/summarize-pcie-bar-above-e820.txt", r.out);
  const t = await cli(["summarize", "traces/pcie-bar-above-e820.jsonl", "--format", "text"]);
  assert.equal(t.out, r.out);
  // what a mailed report must carry
  assert.match(r.out, /^p2mtrace \d+\.\d+\.\d+ summary of /);
  assert.match(r.out, /\nsha256 [0-9a-f]{64}\n/);
  assert.match(
    r.out,
    /\nEvidence of finding 1 \(lookup-zero, error\):\n {2}event +xen_add_device/,
  );
  assert.match(r.out, /\nEvery policy:\n {2}linux-3\.12 {11}BAD {11}lookup-zero at step 16\n/);
  assert.match(
    r.out,
    /\nReproduce:\n {2}p2mtrace replay traces\/pcie-bar-above-e820\.jsonl --policy linux-3\.12\n$/,
  );
});

for (const name of bundledTraces()) {
  Deno.test(`summarize --format text of ${name} fits 72 columns`, async () => {
    const r = await cli(["summarize", `traces/${name}`, "--format", "text"]);
    assert.equal(r.code, 0, r.err);
    assertWidth(r.out, name);
  });
}

Deno.test("summarize --format text wraps long inputs within 72 columns and cuts nothing", async () => {
  const long = "x".repeat(150);
  const description = `A description with a ${long} word and ` +
    "many ordinary words ".repeat(30);
  const source = ["type pv: " + "a very long deciding line ".repeat(8), "dom0: " + "y".repeat(90)];
  const header = {
    format: "p2mtrace",
    version: 1,
    producer: "a producer whose name alone is longer than any mail line: " + "z".repeat(80),
    id: "id-" + "q".repeat(100),
    guest: { type: "pv", domain: "dom0", nr_pages: "0x100000", kernel: "k".repeat(90) },
    description,
    guest_confidence: "guessed",
    guest_source: source,
    estimated: [{ field: "nr_pages", how: "w".repeat(120) }],
    relevant_lines: 10,
    unrecognised_lines: 9,
  };
  const events = (await Deno.readTextFile("traces/pcie-bar-above-e820.jsonl")).split("\n").slice(1);
  const dir = await Deno.makeTempDir();
  // a long path with a space and a shell metacharacter: the command must quote and continue it
  const sub = `${dir}/${"d".repeat(60)}/with space $HOME`;
  await Deno.mkdir(sub, { recursive: true });
  const file = `${sub}/${"t".repeat(70)}.jsonl`;
  try {
    await Deno.writeTextFile(file, JSON.stringify(header) + "\n" + events.join("\n"));
    const policy = "seed-v1:primitive=ideal,ram=e820";
    const r = await cli(["summarize", file, "--policy", policy]);
    assert.equal(r.code, 0, r.err);
    assertWidth(r.out, "long inputs");
    const flat = folded(r.out);
    for (const part of [description, ...source, header.producer, header.estimated[0].how]) {
      assert.ok(flat.includes(folded(part)), `cut: ${part.slice(0, 40)}`);
    }
    assert.match(r.out, /\nlog lines {6}9 of 10 relevant line\(s\) not understood: most of/);
    // The reproduce command, run by sh with printf in place of p2mtrace, gives back the words.
    const cmd = r.out.slice(r.out.indexOf("\nReproduce:\n") + 12).replace(
      /^ {2}p2mtrace/,
      "printf '%s\\n'",
    );
    const sh = await new Deno.Command("sh", { args: ["-c", cmd], stdout: "piped" }).output();
    assert.equal(
      new TextDecoder().decode(sh.stdout),
      ["replay", file, "--policy", policy, ""].join("\n"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summarize shows how the import decided the guest and what it estimated", async () => {
  const f = "tests/fixtures/verdicts/estimated-facts.jsonl";
  const md = await cli(["summarize", f, "--policy", "linux-3.12", "--format", "markdown"]);
  assert.match(
    md.out,
    /\n\| guest type \| likely \(not proven\), from: type pv: Booting paravirtualized kernel on Xen; dom0: /,
  );
  assert.match(md.out, /\n\| estimated \| nr_pages \(the end of the last RAM entry/);
  assert.match(
    md.out,
    /\n\| reconstructed \| e820 \[mem 0x100000000-0x43fffffff\] ram from line 57: NODE_DATA\(1\)/,
  );
  assert.match(md.out, /\n\| log lines \| 7 of 120 relevant line\(s\) not understood \|/);
  assert.match(md.out, /\*\*lookup-zero\*\* \(lowered confidence: guest type likely/);
  const j = JSON.parse((await cli(["summarize", f, "--json"])).out);
  assert.deepEqual(j.import, {
    guest_confidence: "likely",
    guest_source: [
      "type pv: Booting paravirtualized kernel on Xen",
      "dom0: xen: registering gsi (dom0 ACPI interrupt routing)",
    ],
    estimated: [{
      field: "nr_pages",
      how: "the end of the last RAM entry minus 'Remapped 0 page(s)' (an upper bound)",
    }],
    reconstructed: [{
      what: "e820",
      start: "0x100000000",
      end: "0x43fffffff",
      type: "ram",
      line: 57,
      text: "NODE_DATA(1) allocated [mem 0x43fffb000-0x43fffffff]",
    }],
    relevant_lines: 120,
    unrecognised_lines: 7,
  });
  // a hand-written trace has no import row and no import object
  const plain = JSON.parse(
    (await cli(["summarize", "traces/pcie-bar-above-e820.jsonl", "--json"])).out,
  );
  assert.equal(plain.import, undefined);
});

Deno.test("summarize without a map: no BARs above it, the verdict cannot judge", async () => {
  const f = "tests/fixtures/verdicts/no-map-no-nr-pages.jsonl";
  const md = await cli(["summarize", f, "--policy", "linux-3.12", "--format", "markdown"]);
  assert.doesNotMatch(md.out, /\| BARs above the E820 map/);
  assert.match(md.out, /\n\| guest \| pv dom0, Linux 3\.12\.6, Xen 4\.3\.1, no nr_pages \|/);
  assert.match(md.out, /\n\| E820 \| none in the trace: the boot pass cannot run without it \|/);
  assert.match(md.out, /\n\| linux-3\.12 \| cannot judge \| lookup-zero at step 16 \|/);
  assert.match(md.out, /\*\*lookup-zero\*\* cannot judge \(no raw E820 map, no nr_pages\)/);
  const t = await cli(["summarize", f, "--policy", "linux-3.12"]);
  assert.doesNotMatch(t.out, /BARs above the E820 map:/);
  assert.match(t.out, /\n {2}linux-3\.12 {11}cannot judge {2}lookup-zero at step 16\n/);
  assertWidth(t.out, f);
  const j = JSON.parse((await cli(["summarize", f, "--json"])).out);
  assert.deepEqual(j.bars_above_e820, []);
  assert.equal(j.verdicts["linux-3.12"], "cannot-judge");
  assert.equal(j.cannot_judge[0].detector, "lookup-zero");
});

Deno.test("summarize's times are the earliest and latest, whatever the event order", async () => {
  const text = [
    '{"format":"p2mtrace","version":1,"producer":"t","description":"x",' +
    '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
    '{"seq":1,"time":5.5,"kind":"mark","text":"a"}',
    '{"seq":2,"time":0.25,"kind":"mark","text":"b"}',
    '{"seq":3,"time":3,"kind":"mark","text":"c"}',
  ].join("\n") + "\n";
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/t.jsonl`, text);
    const r = await cli(["summarize", `${dir}/t.jsonl`, "--format", "markdown"]);
    assert.match(r.out, /\n\| time \| 0\.25 s to 5\.5 s after boot \|/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("summarize --format rejects other formats, and --json with --format", async () => {
  const bad = await cli(["summarize", "traces/pcie-bar-above-e820.jsonl", "--format", "html"]);
  assert.equal(bad.code, 64);
  assert.match(bad.err, /--format must be text or markdown, not 'html'/);
  const both = await cli([
    "summarize",
    "traces/pcie-bar-above-e820.jsonl",
    "--format",
    "text",
    "--json",
  ]);
  assert.equal(both.code, 64);
});

// `summarize --json` holds the listed policy's findings as deflated JSON text and prints in parts
// (src/report/json_parts.ts): the same findings, in the same order, as a summary that keeps
// every finding as an object, and compact JSON as JSON.stringify writes it.
for (
  const [name, text, policy] of [
    ["generated", [...generateTrace({ events: 60000, seed: 3 })].join("\n") + "\n", "linux-3.16"],
    ["no-nr-pages", Deno.readTextFileSync("tests/fixtures/verdicts/no-nr-pages.jsonl"), undefined],
  ] as const
) {
  Deno.test(`summarize --json lists every finding of its policy, held as text (${name})`, async () => {
    const r = await cli(
      ["summarize", "-", "--json", ...(policy ? ["--policy", policy] : [])],
      text,
    );
    assert.equal(r.code, 0, r.err);
    const o = JSON.parse(r.out);
    assert.equal(r.out, JSON.stringify(o) + "\n");
    const s = await summarizeTrace("-", "x", TraceReader.fromText("-", text), policy);
    const mine = s.comparison.results[s.policyIndex];
    // Compared as text: a deep-equal failure on hundreds of findings takes minutes to print.
    const same = (a: unknown, fs: Finding[]) => {
      const want = JSON.stringify(fs.map(findingJson));
      assert.ok(JSON.stringify(a) === want, `${JSON.stringify(a)?.length} != ${want.length} chars`);
    };
    same(o.findings, mine.findings);
    if (mine.unjudged.length > 0) same(o.cannot_judge, mine.unjudged);
    else assert.equal(o.cannot_judge, undefined);
    assert.ok(name === "generated" ? o.findings.length > 500 : o.cannot_judge.length > 1);
  });
}
