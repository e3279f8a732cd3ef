// A detector's `watches` lets the replayer skip it on steps that touched nothing it watches
// (replayer.ts). That is sound only if its `run` finds nothing on every such step: checked here
// by calling every detector on every step of the bundled traces and of generated balloon-driven
// traces, under every policy, and asserting that each skipped call would have returned nothing.
import assert from "node:assert/strict";
import { TraceReader } from "../trace/read.ts";
import { POLICIES } from "../policy/policies.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { initialState, ModelDraft } from "../model/state.ts";
import { WriteLog } from "../p2m/table.ts";
import { applyEvent } from "../replay/step.ts";
import { generateTrace } from "../gen/trace_gen.ts";
import { DETECTORS, stepBits } from "./detectors.ts";

const TRACES = new URL("../../traces/", import.meta.url);

const hex = (n: number) => `0x${n.toString(16)}`;
const GIB = 0x40000;

/** A trace of `events` for a PV guest of 1 GiB. */
function hand(domain: string, events: Record<string, unknown>[]): string {
  const header = {
    format: "p2mtrace",
    version: 1,
    producer: "hand",
    description: "watches",
    guest: { type: "pv", domain, nr_pages: hex(GIB) },
  };
  return [header, ...events.map((e, i) => ({ seq: i + 1, ...e }))]
    .map((o) => JSON.stringify(o)).join("\n");
}

async function traces(): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const f of Deno.readDir(TRACES)) {
    if (f.name.endsWith(".jsonl")) {
      out.push([f.name, await Deno.readTextFile(new URL(f.name, TRACES))]);
    }
  }
  out.sort((a, b) => a[0] < b[0] ? -1 : 1);
  // Steps the bundled traces lack: RAM below max_pfn made identity, the brk budget overrun.
  out.push([
    "ram made identity",
    hand("domU", [
      { kind: "e820", map: "raw", start: "0x0", size: "0x80000000", type: "ram" },
      { kind: "memory_setup" },
      { kind: "set_identity", pfn: hex(GIB - 2), end_pfn: hex(GIB + 2) },
    ]),
  ]);
  out.push([
    "brk overrun",
    hand("domU", [
      { kind: "set_identity", pfn: hex(GIB), end_pfn: hex(503 * GIB) },
      { kind: "set_identity", pfn: hex(504 * GIB + 5), end_pfn: hex(504 * GIB + 6) },
    ]),
  ]);
  out.push([
    "recorded lookup disagrees, retrieve of a page not ballooned",
    hand("dom0", [
      { kind: "lookup", pfn: "0x1000", via: "get_phys_to_machine", observed: "0xffffffffffffffff" },
      { kind: "balloon_retrieve", pfn: "0x2000", mfn: "0x5000" },
    ]),
  ]);
  for (const seed of [1, 2, 3]) {
    out.push([`generated seed ${seed}`, [...generateTrace({ events: 3000, seed })].join("\n")]);
  }
  return out;
}

/** Per detector id: [steps it was skipped on, steps it found something on]. */
async function skippedSteps(name: string, text: string): Promise<Map<string, [number, number]>> {
  const tally = new Map<string, [number, number]>(DETECTORS.map((d) => [d.id, [0, 0]]));
  for (const policyName of POLICIES.keys()) {
    const reader = TraceReader.fromText(name, text + "\n");
    const header = await reader.header();
    const log = new WriteLog();
    const d = new ModelDraft(initialState(header.guest, resolvePolicy(POLICIES, policyName)), log);
    for await (const batch of reader.batches()) {
      for (const event of batch) {
        log.clear();
        const brkBefore = d.p2m.accounting.brkUsed;
        const outcome = applyEvent(d, event);
        const bits = stepBits(outcome, brkBefore, d.p2m.accounting.brkUsed);
        const ctx = { event, state: d, outcome, brkBefore };
        for (const det of DETECTORS) {
          const w = det.watches;
          const found = det.run(ctx).length;
          const t = tally.get(det.id)!;
          if (found > 0) t[1]++;
          if (w === undefined || (bits & w.outcome) !== 0 || w.kinds.includes(event.kind)) continue;
          t[0]++;
          assert.equal(
            found,
            0,
            `${det.id} found something at ${name} seq ${event.seq} (${event.kind}) under ` +
              `${policyName}, a step outside what it watches`,
          );
        }
      }
    }
  }
  return tally;
}

Deno.test("every detector finds nothing on the steps its watches let the replayer skip", async () => {
  const total = new Map<string, [number, number]>();
  for (const [name, text] of await traces()) {
    for (const [id, [skipped, found]] of await skippedSteps(name, text)) {
      const t = total.get(id) ?? [0, 0];
      total.set(id, [t[0] + skipped, t[1] + found]);
    }
  }
  // Every detector declares what it watches, and is skipped on most steps of these traces.
  for (const det of DETECTORS) {
    assert.notEqual(det.watches, undefined, `${det.id} declares no watches`);
    assert.ok(total.get(det.id)![0] > 1000, `${det.id} skipped on only ${total.get(det.id)![0]}`);
  }
  // ... and each finds something somewhere, so the check above is not vacuous.
  for (const det of DETECTORS) {
    assert.ok(total.get(det.id)![1] > 0, `${det.id} found nothing in the corpus`);
  }
});
