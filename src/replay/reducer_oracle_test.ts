// The reducer judged against facts worked out by hand from the kernel's code (p2m-semantics.md
// sections named per test), never against another run of the reducer. Each test replays a
// small trace through the public `runTrace` and reads the P2M entries, the balloon and the
// verifications the kernel's rule predicts. Where a rule has a boundary, both sides are pinned.
import assert from "node:assert/strict";
import { TraceReader } from "../trace/read.ts";
import { type RunResult, runTrace } from "./run.ts";
import type { StepRecord } from "./replayer.ts";
import { K } from "../p2m/leaf_runs.ts";
import { comparePolicies } from "./compare.ts";

interface Guest {
  domain?: "dom0" | "domU";
  nrPages?: number;
  kernel?: string;
}

/** A trace of `events` (format v1 objects without seq), numbered from 1. */
function traceText(guest: Guest, events: Record<string, unknown>[]): string {
  const g: Record<string, unknown> = {
    type: "pv",
    domain: guest.domain ?? "domU",
    nr_pages: `0x${(guest.nrPages ?? 0x80000).toString(16)}`,
  };
  if (guest.kernel) g.kernel = guest.kernel;
  const header = {
    format: "p2mtrace",
    version: 1,
    producer: "hand",
    description: "oracle",
    guest: g,
  };
  const lines = [JSON.stringify(header)];
  events.forEach((e, i) => lines.push(JSON.stringify({ seq: i + 1, ...e })));
  return lines.join("\n") + "\n";
}

interface Replayed extends RunResult {
  steps: StepRecord[];
}

async function replay(
  policy: string,
  guest: Guest,
  events: Record<string, unknown>[],
  atSeq?: number,
): Promise<Replayed> {
  const steps: StepRecord[] = [];
  const res = await runTrace(TraceReader.fromText("oracle.jsonl", traceText(guest, events)), {
    policy,
    atSeq,
    onStep: (r) => steps.push(r),
  });
  return { ...res, steps };
}

/** `[kind, frame]` of `pfn` in the final P2M. */
function entry(res: RunResult, pfn: number): [number, number] {
  const [k, b] = res.state.p2m.entry(pfn);
  return [k, k === K.MFN || k === K.FOREIGN || k === K.SCRATCH ? b : 0];
}

const hex = (n: number) => `0x${n.toString(16)}`;
const e820 = (start: number, end: number, type = "ram") => ({
  kind: "e820",
  start: hex(start),
  size: hex(end - start),
  type,
});
const anomalies = (res: Replayed) =>
  res.steps.flatMap((s) => s.outcome.anomalies.map((a) => a.message));
const failed = (res: Replayed) =>
  res.steps.flatMap((s) => s.outcome.verifications.filter((v) => !v.ok));
const detectors = (res: RunResult) => res.replayer.findings.map((f) => f.detector);

const MID = 0x80000000; // 2 GiB: RAM ends at nr_pages 0x80000 in most tests

// ---- boot pass (p2m-semantics.md 4.1: xen_set_identity_and_release, PFN_DOWN/PFN_UP) -------

Deno.test("boot pass: a RAM entry starting mid-page ends the gap at PFN_UP of its start (97 pages, not 96)", async () => {
  // gap [0xa0000, 0x100400): start_pfn = PFN_DOWN(0xa0000) = 0xa0, end_pfn = PFN_UP(0x100400) = 0x101
  const res = await replay("linux-3.12", {}, [
    e820(0, 0xa0000),
    e820(0xa0000, 0x100000, "reserved"),
    e820(0x100400, MID),
    {
      kind: "memory_setup",
      expect: { identity: 97, released: 97, identity_ranges: [{ pfn: "0xa0", end_pfn: "0x101" }] },
    },
  ]);
  assert.deepEqual(failed(res), []);
  assert.deepEqual(res.verified, [3, 3]);
  assert.equal(res.state.boot?.identity, 97);
  assert.equal(entry(res, 0x9f)[0], K.MFN_UNKNOWN);
  assert.equal(entry(res, 0xa0)[0], K.IDENTITY);
  assert.equal(entry(res, 0x100)[0], K.IDENTITY); // holds RAM from 0x100400 on, still 1:1
  assert.equal(entry(res, 0x101)[0], K.MFN_UNKNOWN);
});

Deno.test("boot pass: a RAM entry ending mid-page starts the gap at PFN_DOWN of its end", async () => {
  // gap [0x9fc00, 0x100000): 0x9f -> 0x100, 97 pages; PFN 0x9f is part RAM and becomes 1:1
  const res = await replay("linux-3.12", {}, [
    e820(0, 0x9fc00),
    e820(0x9fc00, 0xa0000, "reserved"),
    e820(0x100000, MID),
    { kind: "memory_setup", expect: { identity: 97, released: 97 } },
  ]);
  assert.deepEqual(failed(res), []);
  assert.equal(entry(res, 0x9e)[0], K.MFN_UNKNOWN);
  assert.equal(entry(res, 0x9f)[0], K.IDENTITY);
  assert.equal(entry(res, 0xff)[0], K.IDENTITY);
  assert.equal(entry(res, 0x100)[0], K.MFN_UNKNOWN);
});

Deno.test("boot pass: a non-RAM last entry is made 1:1 up to PFN_UP of its end; above it stays INVALID (v3.12)", async () => {
  const res = await replay("linux-3.12", {}, [
    e820(0, MID),
    e820(MID, MID + 0x100800, "reserved"),
    { kind: "memory_setup", expect: { identity: 0x101 } },
  ]);
  assert.deepEqual(failed(res), []);
  assert.equal(entry(res, 0x7ffff)[0], K.MFN_UNKNOWN);
  assert.equal(entry(res, 0x80000)[0], K.IDENTITY);
  assert.equal(entry(res, 0x80100)[0], K.IDENTITY);
  assert.equal(entry(res, 0x80101)[0], K.INVALID);
});

Deno.test("boot pass: only dom0 counts E820_UNUSABLE as RAM", async () => {
  const map = [e820(0, 0xa0000), e820(0xa0000, 0x100000, "unusable"), e820(0x100000, MID)];
  const domU = await replay("linux-3.12", { domain: "domU" }, [...map, { kind: "memory_setup" }]);
  assert.equal(domU.state.boot?.identity, 0x60);
  assert.equal(entry(domU, 0xa0)[0], K.IDENTITY);
  const dom0 = await replay("linux-3.12", { domain: "dom0" }, [
    ...map,
    { kind: "memory_setup", max_reservation: "0x80000" },
  ]);
  assert.equal(dom0.state.boot?.identity, 0);
  assert.equal(entry(dom0, 0xa0)[0], K.MFN_UNKNOWN);
});

Deno.test("boot pass: released pages are populated back above nr_pages, never more than were released", async () => {
  // 0x60 pages released behind the ISA hole; RAM runs 0x100 pages past nr_pages (0x80000), so
  // xen_populate_chunk fills [0x80000, 0x80060) and leaves [0x80060, 0x80100) INVALID.
  const res = await replay("linux-3.12", {}, [
    e820(0, 0xa0000),
    e820(0xa0000, 0x100000, "reserved"),
    e820(0x100000, MID + 0x100000),
    { kind: "memory_setup", expect: { identity: 0x60, released: 0x60, populated: 0x60 } },
  ]);
  assert.deepEqual(failed(res), []);
  assert.equal(entry(res, 0x8005f)[0], K.MFN_UNKNOWN);
  assert.equal(entry(res, 0x80060)[0], K.INVALID);
  assert.equal(res.state.maxPfn, 0x80060);
});

Deno.test("boot pass: RAM beyond nr_pages in the same entry becomes extra memory (balloon space)", async () => {
  // One RAM entry of 2 GiB, nr_pages 1 GiB: mem_end = 1 GiB splits the entry; the top half is
  // extra memory, put on the balloon list by balloon_init.
  const res = await replay("linux-3.12", { nrPages: 0x40000 }, [
    e820(0, MID),
    { kind: "memory_setup" },
    { kind: "balloon_init" },
  ]);
  assert.deepEqual(res.state.extra.toArray(), [0x40000, 0x80000]);
  assert.deepEqual(res.state.balloon.toArray(), [0x40000, 0x80000]);
  assert.equal(entry(res, 0x3ffff)[0], K.MFN_UNKNOWN);
  assert.equal(entry(res, 0x40000)[0], K.INVALID);
});

Deno.test("boot pass runs once: a second memory_setup is an anomaly and changes nothing", async () => {
  const res = await replay("linux-3.12", {}, [
    e820(0, 0xa0000),
    e820(0x100000, MID),
    { kind: "memory_setup" },
    e820(MID, MID + 0x100000, "reserved"),
    { kind: "memory_setup" },
  ]);
  assert.equal(res.state.boot?.identity, 0x60);
  assert.equal(entry(res, 0x80000)[0], K.INVALID);
  assert.ok(anomalies(res).some((m) => /second memory_setup/.test(m)), anomalies(res).join("; "));
});

// ---- recorded boot counts and ranges (replaying vs recorded, both sides) ------------------

const ISA_MAP = [e820(0, 0xa0000), e820(0xa0000, 0x100000, "reserved"), e820(0x100000, MID)];

Deno.test("boot counts agree only when equal, and each count is checked against its own number", async () => {
  const ok = await replay("linux-3.12", {}, [
    ...ISA_MAP,
    { kind: "memory_setup", expect: { identity: 0x60, released: 0x60, populated: 0 } },
  ]);
  assert.deepEqual(failed(ok), []);
  for (
    const expect of [{ identity: 0x61 }, { identity: 0x5f }, { released: 0x61 }, {
      populated: 0x60,
    }]
  ) {
    const bad = await replay("linux-3.12", {}, [...ISA_MAP, { kind: "memory_setup", expect }]);
    assert.equal(failed(bad).length, 1, JSON.stringify(expect));
    assert.ok(detectors(bad).includes("divergence"));
  }
});

Deno.test("a printed range list agrees only with both ends of every range and the same length", async () => {
  const good = [{ pfn: "0xa0", end_pfn: "0x100" }];
  const run = (identity_ranges: unknown[]) =>
    replay("linux-3.12", {}, [...ISA_MAP, { kind: "memory_setup", expect: { identity_ranges } }]);
  assert.deepEqual(failed(await run(good)), []);
  assert.equal(failed(await run([{ pfn: "0xa0", end_pfn: "0xff" }])).length, 1);
  assert.equal(failed(await run([{ pfn: "0x9f", end_pfn: "0x100" }])).length, 1);
  assert.equal(failed(await run([])).length, 1);
  assert.equal(failed(await run([...good, { pfn: "0x200", end_pfn: "0x201" }])).length, 1);
});

Deno.test("boot counts of a release/populate kernel are not compared under a remap policy", async () => {
  // the recording's kernel (3.12) does release/populate; linux-3.19 models the remap pass
  const res = await replay("linux-3.19", { kernel: "3.12.0" }, [
    ...ISA_MAP,
    { kind: "memory_setup", expect: { identity: 0x60, released: 0x60 } },
  ]);
  assert.deepEqual(res.verified, [0, 0]);
  assert.ok(res.steps[3].outcome.messages.some((m) => /boot counts not compared/.test(m)));
  const same = await replay("linux-3.12", { kernel: "3.12.0" }, [
    ...ISA_MAP,
    { kind: "memory_setup", expect: { identity: 0x60, released: 0x60 } },
  ]);
  assert.deepEqual(same.verified, [2, 2]);
});

// ---- recorded lookups --------------------------------------------------------------------

Deno.test("a recorded PTE of 0 for a PFN holding a real frame is a divergence; a non-zero one agrees", async () => {
  const look = (observed: string) => ({ kind: "lookup", pfn: "0x1000", via: "pte", observed });
  const zero = await replay("linux-3.12", {}, [look("0x0")]);
  assert.equal(failed(zero).length, 1);
  const some = await replay("linux-3.12", {}, [look("0x80000001234567")]);
  assert.deepEqual(failed(some), []);
  assert.deepEqual(some.verified, [1, 1]);
});

// ---- balloon (p2m-semantics.md 5: decrease/increase_reservation) --------------------------

Deno.test("balloon out under v3.12: every PFN maps the one scratch frame; under v3.16 INVALID", async () => {
  const events = [{
    kind: "decrease_reservation",
    pfns: ["0x1000", "0x1001", "0x2000"],
    scratch_mfn: "0x777",
  }];
  const v312 = await replay("linux-3.12", {}, events);
  for (const pfn of [0x1000, 0x1001, 0x2000]) {
    assert.deepEqual(entry(v312, pfn), [K.SCRATCH, 0x777]);
  }
  assert.deepEqual(v312.state.balloon.toArray(), [0x1000, 0x1002, 0x2000, 0x2001]);
  const v316 = await replay("linux-3.16", {}, events);
  for (const pfn of [0x1000, 0x1001, 0x2000]) assert.equal(entry(v316, pfn)[0], K.INVALID);
});

Deno.test("a retrieve over several ranges maps consecutive MFNs across the ranges", async () => {
  const res = await replay("linux-3.16", {}, [
    { kind: "decrease_reservation", pfns: ["0x1000", "0x1001", "0x3000", "0x3001"] },
    { kind: "balloon_retrieve", pfns: ["0x1000", "0x1001", "0x3000", "0x3001"], mfn: "0x5000" },
  ]);
  assert.deepEqual(entry(res, 0x1000), [K.MFN, 0x5000]);
  assert.deepEqual(entry(res, 0x1001), [K.MFN, 0x5001]);
  assert.deepEqual(entry(res, 0x3000), [K.MFN, 0x5002]);
  assert.deepEqual(entry(res, 0x3001), [K.MFN, 0x5003]);
  assert.deepEqual(res.state.balloon.toArray(), []);
  assert.deepEqual(anomalies(res), []);
});

Deno.test("taking a page off the balloon that is not on it is an anomaly, even one page of a range", async () => {
  const res = await replay("linux-3.16", {}, [
    { kind: "decrease_reservation", pfn: "0x1000", end_pfn: "0x1003" },
    { kind: "increase_reservation", pfn: "0x1000", end_pfn: "0x1004", mfn: "0x9000" },
  ]);
  assert.deepEqual(anomalies(res), ["1 PFN(s) taken off the balloon list were not on it"]);
  const clean = await replay("linux-3.16", {}, [
    { kind: "decrease_reservation", pfn: "0x1000", end_pfn: "0x1004" },
    { kind: "increase_reservation", pfn: "0x1000", end_pfn: "0x1004", mfn: "0x9000" },
  ]);
  assert.deepEqual(anomalies(clean), []);
});

Deno.test("ballooning a page out twice without taking it back is an anomaly", async () => {
  const res = await replay("linux-3.16", {}, [
    { kind: "decrease_reservation", pfn: "0x1000", end_pfn: "0x1002" },
    { kind: "decrease_reservation", pfn: "0x1001", end_pfn: "0x1003" },
  ]);
  assert.deepEqual(anomalies(res), ["1 PFN(s) were already ballooned"]);
});

// ---- memory hotplug ----------------------------------------------------------------------

Deno.test("hot-added memory covers [PFN_DOWN(start), PFN_DOWN(start + size)) exactly; v3.19 sets it INVALID first", async () => {
  const res = await replay("linux-3.19", {}, [
    e820(0, MID),
    { kind: "memory_setup" },
    { kind: "memory_hotplug", start: "0x100000000", size: "0x8000000" },
  ]);
  assert.deepEqual(res.state.hotplug.toArray(), [0x100000, 0x108000]);
  assert.deepEqual(res.state.balloon.toArray().slice(-2), [0x100000, 0x108000]);
  assert.equal(entry(res, 0x107fff)[0], K.INVALID);
});

// ---- PCI: the seed patch's BAR walk and the host-bridge rule (p2m-semantics.md 9b-9d) ------

const BAR_ABOVE = { index: 2, start: "0x3800000000", end: "0x3800003fff", flags: "0x14220c" };
const BAR_PFN = 0x3800000;

Deno.test("the seed BAR walk runs on xen_add_device in dom0 only (the notifier is dom0's)", async () => {
  const add = { kind: "xen_add_device", device: "0000:03:00.0", resources: [BAR_ABOVE] };
  const dom0 = await replay("seed-v1", { domain: "dom0" }, [add]);
  assert.equal(entry(dom0, BAR_PFN)[0], K.IDENTITY);
  assert.equal(entry(dom0, BAR_PFN + 3)[0], K.IDENTITY);
  // (beyond the BAR too: v3.12's set_phys_to_machine on a missing GiB overreaches, see alias)
  const domU = await replay("seed-v1", { domain: "domU" }, [add]);
  assert.equal(entry(domU, BAR_PFN)[0], K.INVALID);
  assert.deepEqual(domU.steps[0].outcome.rules, []);
});

Deno.test("seed-v1 walks an endpoint I/O BAR (0x40101 != IORESOURCE_IO) as memory; seed-v1-fixed skips it", async () => {
  const io = { index: 0, start: "0xe000", end: "0xe0ff", flags: "0x40101" };
  const add = { kind: "xen_add_device", device: "0000:03:00.0", resources: [io] };
  const seed = await replay("seed-v1", { domain: "dom0" }, [add]);
  assert.deepEqual(seed.steps[0].outcome.rules.map((r) => [r.source, r.ioAsMemory]), [[
    "0000:03:00.0 BAR 0",
    true,
  ]]);
  assert.ok(detectors(seed).includes("io-as-memory"));
  const fixed = await replay("seed-v1-fixed", { domain: "dom0" }, [add]);
  assert.deepEqual(fixed.steps[0].outcome.rules, []);
  // a bridge's 16-bit I/O window is exactly 0x100: seed-v1 skips that one too
  const window = {
    kind: "xen_add_device",
    device: "0000:00:01.0",
    resources: [{ ...io, index: 13, flags: "0x100" }],
  };
  assert.deepEqual(
    (await replay("seed-v1", { domain: "dom0" }, [window])).steps[0].outcome.rules,
    [],
  );
});

Deno.test("host-bridge windows=all walks a bridge window on assignment (13-16), not an SR-IOV VF BAR (7-12)", async () => {
  const assign = (index: number) => ({
    kind: "pci_resource_assign",
    device: "0000:00:01.0",
    index,
    start: "0x3800000000",
    end: "0x38000fffff",
    flags: "0x200",
    action: "assigned",
  });
  for (const index of [7, 12]) {
    const res = await replay("host-bridge:windows=all", { domain: "dom0" }, [assign(index)]);
    assert.equal(entry(res, BAR_PFN)[0], K.INVALID, `index ${index}`);
  }
  for (const index of [13, 16]) {
    const res = await replay("host-bridge:windows=all", { domain: "dom0" }, [assign(index)]);
    assert.equal(entry(res, BAR_PFN)[0], K.IDENTITY, `index ${index}`);
  }
});

Deno.test("a failed or released assignment takes the resource from the device; a reassignment replaces it", async () => {
  const add = { kind: "xen_add_device", device: "0000:03:00.0", resources: [BAR_ABOVE] };
  const move = (action: string) => ({
    kind: "pci_resource_assign",
    device: "0000:03:00.0",
    index: 2,
    start: "0x3900000000",
    end: "0x3900003fff",
    flags: "0x14220c",
    action,
  });
  for (const action of ["failed", "released"]) {
    const res = await replay("linux-3.12", { domain: "dom0" }, [add, move(action)]);
    assert.deepEqual(res.state.devices.get("0000:03:00.0")?.resources, [], action);
  }
  const res = await replay("linux-3.12", { domain: "dom0" }, [add, move("reassigned")]);
  assert.deepEqual(res.state.devices.get("0000:03:00.0")?.resources.map((r) => r.start), [
    0x3900000000,
  ]);
});

// ---- replay control ------------------------------------------------------------------------

Deno.test("--at N replays every event with seq <= N and stops before the next", async () => {
  const events = [
    { kind: "set_identity", pfn: "0x80000", end_pfn: "0x80001" },
    { kind: "set_identity", pfn: "0x80001", end_pfn: "0x80002" },
    { kind: "set_identity", pfn: "0x80002", end_pfn: "0x80003" },
  ];
  const res = await replay("linux-3.12", {}, events, 2);
  assert.equal(res.ending, "stopped");
  assert.equal(entry(res, 0x80001)[0], K.IDENTITY);
  assert.equal(entry(res, 0x80002)[0], K.INVALID);
});

Deno.test("compare names the step at which each detector first fired, not the last", async () => {
  const look = (pfn: string) => ({ kind: "lookup", pfn });
  // The boot pass runs first (a RAM map to 2 GiB), so the verdicts can be judged.
  const boot = [
    { kind: "e820", start: "0x0", end: "0x7fffffff", type: "ram" },
    { kind: "memory_setup" },
  ];
  const text = traceText({}, [
    ...boot,
    look("0x90000"),
    { kind: "mark", text: "x" },
    look("0x90001"),
  ]);
  const c = await comparePolicies(TraceReader.fromText("t", text), ["linux-3.12"]);
  assert.equal(c.results[0].findings.filter((f) => f.detector === "lookup-zero").length, 2);
  assert.equal(c.results[0].first.get("lookup-zero"), 3);
});
