// Each detector's boundaries, both sides, on small hand-written traces. The expected findings
// follow from the kernel rule each detector states (p2m-semantics.md 2, 6, 9), not from a run.
import assert from "node:assert/strict";
import { TraceReader } from "../trace/read.ts";
import { type RunResult, runTrace } from "../replay/run.ts";
import type { Finding } from "./finding.ts";

const hex = (n: number) => `0x${n.toString(16)}`;

async function replay(
  policy: string,
  guest: { domain?: "dom0" | "domU"; nrPages?: number },
  events: Record<string, unknown>[],
  detector?: string,
): Promise<RunResult> {
  const header = {
    format: "p2mtrace",
    version: 1,
    producer: "hand",
    description: "detector boundaries",
    guest: { type: "pv", domain: guest.domain ?? "dom0", nr_pages: hex(guest.nrPages ?? 0x40000) },
  };
  const lines = [
    JSON.stringify(header),
    ...events.map((e, i) => JSON.stringify({ seq: i + 1, ...e })),
  ];
  return await runTrace(TraceReader.fromText("t.jsonl", lines.join("\n") + "\n"), {
    policy,
    detectors: detector ? [detector] : [],
  });
}

// These traces pin each detector's rule; most have no boot pass, so their findings are "cannot
// judge" (docs/verdicts.md, pinned in tests/verdicts_test.ts). The rule's boundaries are the
// same either way: both lists count here, in report order.
const of = (res: RunResult, id: string): Finding[] =>
  [...res.replayer.findings, ...res.replayer.unjudged]
    .sort((a, b) => a.seq - b.seq)
    .filter((f) => f.detector === id);
const ranges = (fs: Finding[]) => fs.map((f) => [f.range?.pfn, f.range?.endPfn]);

const GIB = 0x40000;
const e820 = (start: number, end: number, type = "ram") => ({
  kind: "e820",
  start: hex(start),
  size: hex(end - start),
  type,
});

// ---- lookup-zero ---------------------------------------------------------------------------

Deno.test("lookup-zero checks BARs 0-5, the ROM (6) and SR-IOV VF BARs 7-12, never bridge windows 13-16", async () => {
  // One MMIO resource per index, each 1 MiB above the last E820 entry (INVALID under v3.12).
  const resources = Array.from({ length: 17 }, (_, index) => ({
    index,
    start: hex(0x3800000000 + index * 0x100000),
    end: hex(0x3800000000 + index * 0x100000 + 0xfff),
    flags: "0x40200",
  }));
  const res = await replay("linux-3.12", {}, [
    { kind: "xen_add_device", device: "0000:03:00.0", resources },
  ], "lookup-zero");
  const flagged = of(res, "lookup-zero").map((f) => (f.range!.pfn - 0x3800000) / 0x100);
  assert.deepEqual(flagged, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
});

Deno.test("lookup-zero: a change making a BAR INVALID is flagged, the same change over a bridge window is not", async () => {
  const bar = { index: 0, start: hex(0x3800000000), end: hex(0x3800000fff), flags: "0x40200" };
  const window = { index: 14, start: hex(0x3900000000), end: hex(0x3900000fff), flags: "0x200" };
  const res = await replay("linux-3.12", {}, [
    { kind: "set_identity", pfn: "0x3800000", end_pfn: "0x3800001" },
    { kind: "set_identity", pfn: "0x3900000", end_pfn: "0x3900001" },
    { kind: "xen_add_device", device: "0000:00:01.0", resources: [bar, window] },
    { kind: "set_p2m", pfn: "0x3800000", end_pfn: "0x3800001", value: "invalid" },
    { kind: "set_p2m", pfn: "0x3900000", end_pfn: "0x3900001", value: "invalid" },
  ], "lookup-zero");
  assert.deepEqual(of(res, "lookup-zero").map((f) => [f.seq, f.range?.pfn]), [[4, 0x3800000]]);
});

Deno.test("lookup-zero: a BAR whose firmware value conflicts with E820 RAM is not claimed, so not flagged", async () => {
  // RAM [0, 2 GiB), nr_pages 1 GiB: [1 GiB, 2 GiB) is extra memory, INVALID after the pass.
  const bar = (start: number) => ({
    index: 0,
    start: hex(start),
    end: hex(start + 0xfff),
    flags: "0x40200",
  });
  const res = await replay("linux-3.12", {}, [
    e820(0, 2 * 0x40000000),
    { kind: "memory_setup", max_reservation: hex(GIB) },
    { kind: "xen_add_device", device: "0000:03:00.0", resources: [bar(0x7fff0000)] },
    { kind: "xen_add_device", device: "0000:04:00.0", resources: [bar(0x80000000)] },
  ], "lookup-zero");
  assert.deepEqual(of(res, "lookup-zero").map((f) => f.seq), [4]);
});

Deno.test("lookup-zero: _PAGE_IOMAP skips the P2M in dom0 or at and above 1 MiB (PFN 0x100), not below it in a domU", async () => {
  const events = (pfn: string) => [
    { kind: "set_p2m", pfn: "0xf0", end_pfn: "0x110", value: "invalid" },
    { kind: "lookup", pfn, via: "pte", iomap: true },
  ];
  assert.equal(
    of(await replay("linux-3.12", { domain: "domU" }, events("0xff"), "lookup-zero"), "lookup-zero")
      .length,
    1,
  );
  assert.equal(
    of(
      await replay("linux-3.12", { domain: "domU" }, events("0x100"), "lookup-zero"),
      "lookup-zero",
    ).length,
    0,
  );
  assert.equal(
    of(await replay("linux-3.12", { domain: "dom0" }, events("0xff"), "lookup-zero"), "lookup-zero")
      .length,
    0,
  );
  // without _PAGE_IOMAP every lookup goes through the P2M
  const plain = [events("0x100")[0], { kind: "lookup", pfn: "0x100", via: "pte" }];
  assert.equal(
    of(await replay("linux-3.12", { domain: "dom0" }, plain, "lookup-zero"), "lookup-zero").length,
    1,
  );
});

Deno.test("lookup-zero: under invalid-is-identity an INVALID entry answers 1:1, so no bus address 0", async () => {
  const events = [{ kind: "lookup", pfn: "0x90000", via: "pte" }];
  assert.equal(of(await replay("linux-3.12", {}, events), "lookup-zero").length, 1);
  assert.equal(of(await replay("invalid-is-identity", {}, events), "lookup-zero").length, 0);
});

// ---- ram-identity and balloon-identity -----------------------------------------------------

Deno.test("ram-identity: RAM below max_pfn turning identity is flagged; RAM above it is extra memory (balloon-identity)", async () => {
  const res = await replay("linux-3.12", { domain: "domU" }, [
    e820(0, 2 * 0x40000000),
    { kind: "memory_setup" },
    { kind: "set_identity", pfn: hex(GIB - 2), end_pfn: hex(GIB + 2) },
  ]);
  assert.deepEqual(ranges(of(res, "ram-identity")), [[GIB - 2, GIB]]);
  assert.deepEqual(ranges(of(res, "balloon-identity")), [[GIB, GIB + 2]]);
});

Deno.test("ram-identity: a PFN only partly inside RAM is not RAM; the first whole page is", async () => {
  // RAM starts at 0x100400: PFN 0x100 is partly RAM, PFN 0x101 wholly.
  const res = await replay("linux-3.12", {}, [
    e820(0, 0xa0000),
    e820(0x100400, 0x40000000),
    { kind: "set_identity", pfn: "0xff", end_pfn: "0x102" },
  ], "ram-identity");
  assert.deepEqual(ranges(of(res, "ram-identity")), [[0x101, 0x102]]);
});

// ---- brk-budget ----------------------------------------------------------------------------

Deno.test("brk-budget: using exactly the reserved brk pages is fine; one allocation more is the extend_brk BUG", async () => {
  // v3.12 reserves 7 + 2 * 500 + 6 + 3 = 1016 brk pages; a 1 GiB guest has used 9 (the 7 shared
  // pages and GiB 0's mid and mid-mfn). set_phys_range_identity costs 2 pages (mid, mid-mfn) per
  // GiB without a mid, plus a leaf for an unaligned end in a missing leaf.
  const res = await replay("linux-3.12", { domain: "domU" }, [
    { kind: "set_identity", pfn: hex(GIB), end_pfn: hex(503 * GIB) }, // 9 + 2 * 502 = 1013
    { kind: "set_identity", pfn: hex(503 * GIB + 5), end_pfn: hex(503 * GIB + 6) }, // + 3 = 1016
    { kind: "set_identity", pfn: hex(504 * GIB + 5), end_pfn: hex(504 * GIB + 6) }, // + 3 = 1019
  ], "brk-budget");
  assert.deepEqual(of(res, "brk-budget").map((f) => f.seq), [3]);
  assert.equal(res.state.p2m.accounting.brkUsed, 1019);
});

// ---- stale-identity ------------------------------------------------------------------------

Deno.test("stale-identity: a grant is justified only by a resource that still covers all of it", async () => {
  const dev = "0000:03:00.0";
  const bar = (end: number) => ({
    index: 2,
    start: hex(0x3800000000),
    end: hex(end),
    flags: "0x40200",
  });
  const shrink = {
    kind: "pci_resource_assign",
    device: dev,
    index: 2,
    start: hex(0x3800000000),
    end: hex(0x3800001fff),
    flags: "0x40200",
    action: "reassigned",
  };
  const res = await replay("seed-v1:primitive=ideal", {}, [
    { kind: "xen_add_device", device: dev, resources: [bar(0x3800003fff)] },
    shrink,
  ], "stale-identity");
  assert.deepEqual(of(res, "stale-identity").map((f) => f.seq), [2]);
  // the same BAR reassigned to where it was is still covered
  const same = await replay("seed-v1:primitive=ideal", {}, [
    { kind: "xen_add_device", device: dev, resources: [bar(0x3800003fff)] },
    { ...shrink, end: hex(0x3800003fff) },
  ], "stale-identity");
  assert.equal(of(same, "stale-identity").length, 0);
});
