/**
 * `minimize` in bounded memory (`src/share/minimize_run.ts`): the trace is read again for each
 * pass and the events it reduces are held encoded. Below the relevance threshold the result is
 * the in-memory functions' (`minimize.ts`, `minimize_meaning.ts`), event for event and replay
 * for replay; above it, the relevant events alone are held and reduced, the meaning is kept, and
 * a trace whose reduction would pass the bounds stops with exit 65 naming the file and line.
 * Runtime: about 30 s.
 */
import assert from "node:assert/strict";
import { bundledTraces, cli } from "./cli_helpers.ts";
import { TraceReader } from "../src/trace/read.ts";
import type { TraceEvent, TraceHeader } from "../src/trace/event.ts";
import type { Policy } from "../src/policy/policy.ts";
import { choosePolicy } from "../src/replay/replayer.ts";
import { resolvePolicy } from "../src/policy/policy.ts";
import { POLICIES } from "../src/policy/policies.ts";
import { minimizeEvents, prefixToFinding } from "../src/share/minimize.ts";
import {
  evidenceEvents,
  firstFinding,
  minimizeKeepingMeaning,
  policyVerdicts,
  signatureOf,
} from "../src/share/minimize_meaning.ts";
import { MINIMIZE_LIMITS, minimizeMeaning, minimizeStrict } from "../src/share/minimize_run.ts";
import { MinimizeLimitError } from "../src/share/minimize_store.ts";
import { generateTrace } from "../src/gen/trace_gen.ts";

async function readAll(path: string) {
  const r = await TraceReader.open(path);
  const header = await r.header();
  const events: TraceEvent[] = [];
  for await (const b of r.batches()) events.push(...b);
  return { header, events };
}

/** The first policy under which the trace shows a finding, and that finding's detector. */
async function target(path: string): Promise<[string, string]> {
  const r = await cli(["compare", path, "--json"]);
  const c = JSON.parse(r.out) as {
    policies: { policy: string; findings: { detector: string }[] }[];
  };
  const p = c.policies.find((p) => p.findings.length > 0)!;
  return [p.policy, p.findings[0].detector];
}

const seqs = (es: readonly TraceEvent[]) => es.map((e) => e.seq);

/** `b` gives `a`'s first finding signature under `policy` and every policy's verdict. */
function sameMeaning(
  header: TraceHeader,
  policy: Policy,
  detector: string,
  a: readonly TraceEvent[],
  b: readonly TraceEvent[],
): boolean {
  const fb = firstFinding(header, policy, detector, b);
  return fb !== undefined &&
    JSON.stringify(signatureOf(fb)) ===
      JSON.stringify(signatureOf(firstFinding(header, policy, detector, a)!)) &&
    JSON.stringify([...policyVerdicts(header, b)]) ===
      JSON.stringify([...policyVerdicts(header, a)]);
}

async function sameAsInMemory(path: string, policyName: string, detector: string) {
  const policy = resolvePolicy(POLICIES, policyName);
  const open = () => TraceReader.open(path);
  const { header, events } = await readAll(path);

  const old = minimizeKeepingMeaning(header, events, policy, detector)!;
  const now = (await minimizeMeaning(open, path, policy, detector))!;
  // The prefix cut: the events up to the finding (seq at most the finding's) when they alone
  // keep the meaning, else the whole trace; the evidence events are kept apart.
  const original = firstFinding(header, policy, detector, events)!;
  const { keep } = evidenceEvents(original, events);
  const upTo = events.filter((e) => e.seq <= original.seq && !keep(e));
  const withEvidence = events.filter((e) => keep(e) || upTo.includes(e));
  const cutHolds = sameMeaning(header, policy, detector, events, withEvidence);
  assert.equal(now.list, cutHolds ? "prefix" : "all");
  assert.equal(now.reduced, cutHolds ? upTo.length : events.filter((e) => !keep(e)).length);
  assert.deepEqual(seqs(now.events), seqs(old.events));
  assert.equal(now.tests, old.tests);
  assert.equal(now.total, events.length);
  assert.ok(now.events.every((e) => e.raw !== undefined), "kept events are the lines as read");

  const prefix = (await prefixToFinding(await open(), policy, detector))!;
  const oldStrict = minimizeEvents(prefix.header, prefix.events, policy, detector);
  const strict = (await minimizeStrict(open, path, policy, detector))!;
  assert.deepEqual(seqs(strict.events), seqs(oldStrict.events));
  assert.equal(strict.tests, oldStrict.tests);
  assert.equal(strict.total, prefix.events.length);
  // --strict-minimal reduces the events up to the step the detector first fires at.
  assert.equal(strict.list, "prefix");
  assert.equal(strict.reduced, prefix.events.length);
}

for (const name of bundledTraces()) {
  Deno.test(`minimize ${name}: the bounded runner keeps what the in-memory functions keep`, async () => {
    const path = `traces/${name}`;
    await sameAsInMemory(path, ...(await target(path)));
  });

  Deno.test(`minimize ${name}: the relevant events alone keep the meaning`, async () => {
    const path = `traces/${name}`;
    const [policyName, detector] = await target(path);
    const policy = resolvePolicy(POLICIES, policyName);
    const open = () => TraceReader.open(path);
    const { header, events } = await readAll(path);
    const limits = { ...MINIMIZE_LIMITS, relevantFrom: 0 };
    const r = (await minimizeMeaning(open, path, policy, detector, limits))!;
    const before = signatureOf(firstFinding(header, policy, detector, events)!);
    const after = firstFinding(header, policy, detector, r.events);
    assert.ok(after, "the finding is kept");
    assert.deepEqual(signatureOf(after), before);
    assert.deepEqual(policyVerdicts(header, r.events), policyVerdicts(header, events));
    const strict = (await minimizeStrict(open, path, policy, detector, limits))!;
    assert.ok(firstFinding(header, policy, detector, strict.events), "the detector still fires");
  });
}

Deno.test("minimize: a finding caused by an event that is not evidence cuts after that event", async () => {
  // lost-write under seed-v1 rests on an increase_reservation: the prefix must end with it.
  await sameAsInMemory("traces/bar-overlaps-extra-memory.jsonl", "seed-v1", "lost-write");
});

// A generated trace: a boot, balloon waves, lookups, hotplug, and at 90% a GPU with a BAR above
// the E820 map (lookup-zero under linux-3.12).
const dir = await Deno.makeTempDir({ prefix: "p2mtrace-minimize-bounded-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const generated = `${dir}/generated.jsonl`;
await Deno.writeTextFile(
  generated,
  [...generateTrace({ events: 20_000, seed: 3 })].join("\n") + "\n",
);

Deno.test("minimize holds only the relevant events of a long trace, and says when they do not fit", async () => {
  const open = () => TraceReader.open(generated);
  const { header } = await readAll(generated);
  const { policy } = choosePolicy(header, "linux-3.12");
  // Every event up to the finding, encoded, needs about 1 MB; the relevant ones a tenth of it.
  const limits = { ...MINIMIZE_LIMITS, heldBytes: 256 * 1024 };
  const r = (await minimizeMeaning(open, generated, policy, "lookup-zero", limits))!;
  assert.equal(r.list, "relevant");
  assert.equal(r.total, 20_000);
  assert.ok(r.events.length < 30, `${r.events.length} events kept`);
  const s = (await minimizeStrict(open, generated, policy, "lookup-zero", limits))!;
  assert.equal(s.list, "relevant");
  assert.deepEqual(s.events.map((e) => e.kind), ["e820", "memory_setup", "xen_add_device"]);
  // Without the relevance cut the same bound is passed: exit 65 naming the file and the line.
  const whole = { ...limits, relevantFrom: Infinity };
  await assert.rejects(
    () => minimizeMeaning(open, generated, policy, "lookup-zero", whole),
    (e: unknown) =>
      e instanceof MinimizeLimitError && e.exitCode === 65 &&
      new RegExp(
        `^minimize: ${generated}:\\d+: the events to reduce \\(\\d+ so far\\) need ` +
          "more than 256 KiB held",
      ).test(e.message),
  );
});

Deno.test("minimize stops with exit 65 when delta debugging would pass its replay budget", async () => {
  const path = "traces/bar-overlaps-extra-memory.jsonl";
  const r = await cli(["minimize", path, "--policy", "seed-v1", "--detector", "lost-write"]);
  assert.equal(r.code, 0, r.err);
  const open = () => TraceReader.open(path);
  const policy = resolvePolicy(POLICIES, "seed-v1");
  const limits = { ...MINIMIZE_LIMITS, replayedEvents: 100 };
  await assert.rejects(
    () => minimizeMeaning(open, path, policy, "lost-write", limits),
    (e: unknown) =>
      e instanceof MinimizeLimitError && e.exitCode === 65 &&
      /^minimize: traces\/bar-overlaps-extra-memory\.jsonl:\d+: delta debugging stopped after \d+ replay\(s\) of \d+ event\(s\) in all \(at most 100\)/
        .test(e.message),
  );
});
