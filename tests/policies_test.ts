/**
 * Each policy's distinguishing behaviour, pinned on the smallest trace that shows it.
 */
import assert from "node:assert/strict";
import { TraceReader } from "../src/trace/read.ts";
import { runTrace } from "../src/replay/run.ts";
import { K } from "../src/p2m/leaf_runs.ts";

const DOM0 = (nr: string) =>
  `{"format":"p2mtrace","version":1,"producer":"t","description":"x","guest":{"type":"pv","domain":"dom0","nr_pages":"${nr}"}}`;
const E820_1G = [
  '{"seq":1,"kind":"e820","start":"0x0","end":"0x9ffff","type":"ram"}',
  '{"seq":2,"kind":"e820","start":"0x100000","end":"0x3fffffff","type":"ram"}',
  '{"seq":3,"kind":"memory_setup"}',
];
const addBar = (seq: number, start: string, end: string, flags = "0x14220c", index = 0) =>
  `{"seq":${seq},"kind":"xen_add_device","device":"0000:01:00.0","resources":[{"index":${index},"start":"${start}","end":"${end}","flags":"${flags}"}]}`;

async function replay(policy: string, lines: string[], nr = "0x40000") {
  const r = TraceReader.fromText("t", [DOM0(nr), ...lines].join("\n") + "\n");
  const res = await runTrace(r, { policy });
  return { res, ids: res.replayer.findings.map((f) => `${f.detector}@${f.seq}`) };
}

const BAR_ABOVE = addBar(4, "0x80000000", "0x80003fff"); // 2 GiB, above a 1 GiB map

Deno.test("linux-3.12: a BAR above the last E820 entry looks up INVALID (bus address 0)", async () => {
  const { ids, res } = await replay("linux-3.12", [...E820_1G, BAR_ABOVE]);
  assert.deepEqual(ids, ["lookup-zero@4"]);
  assert.equal(res.state.p2m.structureAt(0x80000), "mid-missing");
});

Deno.test("linux-3.12: PFNs at or above MAX_P2M_PFN read INVALID", async () => {
  const { ids } = await replay("linux-3.12", [
    ...E820_1G,
    '{"seq":4,"kind":"lookup","pfn":"0x8000000"}',
  ]);
  assert.deepEqual(ids, ["lookup-zero@4"]);
});

Deno.test("linux-3.16: the same BAR is 1:1 through the shared mid-identity page; beyond the tree too", async () => {
  const { ids, res } = await replay("linux-3.16", [
    ...E820_1G,
    BAR_ABOVE,
    '{"seq":5,"kind":"lookup","pfn":"0x8000000"}',
  ]);
  assert.deepEqual(ids, []);
  assert.equal(res.state.p2m.structureAt(0x80000), "mid-identity");
  assert.equal(res.state.p2m.accounting.brkUsed, 9 + 2); // shared pages + one RAM GiB
});

Deno.test("seed-v1: a small BAR in a missing GiB aliases a 2 MiB slot into every missing GiB", async () => {
  const { ids, res } = await replay("seed-v1", [...E820_1G, BAR_ABOVE]);
  assert.deepEqual(ids, ["alias@4", "overreach@4"]);
  assert.equal(res.state.p2m.entry(0x80000 + 0x40000)[0], K.IDENTITY); // the same slot, the next GiB
});

Deno.test("seed-v1 walks an endpoint I/O BAR (flags 0x40101 != 0x100); seed-v1-fixed does not", async () => {
  const io = addBar(4, "0xe000", "0xe0ff", "0x40101");
  assert.deepEqual((await replay("seed-v1", [...E820_1G, io])).ids, ["io-as-memory@4"]);
  assert.deepEqual((await replay("seed-v1-fixed", [...E820_1G, io])).ids, []);
});

Deno.test("seed-v1:primitive=ideal writes exactly the BAR's PFNs: no alias, no overreach", async () => {
  const { ids, res } = await replay("seed-v1:primitive=ideal", [...E820_1G, BAR_ABOVE]);
  assert.deepEqual(ids, []);
  assert.equal(res.state.p2m.entry(0x80004)[0], K.INVALID);
  assert.equal(res.state.p2m.entry(0x80003)[0], K.IDENTITY);
});

Deno.test("seed-v1 writes identity beyond MAX_P2M_PFN (a kernel BUG) unless guard=max_p2m_pfn", async () => {
  const far = addBar(4, "0x9000000000", "0x9000003fff");
  assert.deepEqual((await replay("seed-v1", [...E820_1G, far])).ids, [
    "lookup-zero@4",
    "bug-out-of-range@4",
  ]);
  assert.deepEqual((await replay("seed-v1:guard=max_p2m_pfn", [...E820_1G, far])).ids, [
    "lookup-zero@4",
  ]);
});

Deno.test("host-bridge: a window made 1:1 when the bridge appears covers a BAR assigned later", async () => {
  const lines = [
    ...E820_1G,
    '{"seq":4,"kind":"pci_host_bridge","bus":"0000:00","resources":[{"start":"0x80000000","end":"0x8fffffff","flags":"0x200200"}]}',
    addBar(5, "0x80000000", "0x80003fff"),
  ];
  assert.deepEqual((await replay("host-bridge:primitive=ideal", lines)).ids, []);
  assert.deepEqual((await replay("linux-3.12", lines)).ids, ["lookup-zero@5"]);
});

Deno.test("beyond-e820: identity above the map with 3.12 structures charges brk per GiB", async () => {
  const { ids, res } = await replay("beyond-e820", [...E820_1G, BAR_ABOVE]);
  assert.deepEqual(ids, ["brk-budget@3"]);
  assert.equal(res.state.p2m.entry(0x80000)[0], K.IDENTITY);
  // 7 shared pages, RAM's GiB 0, GiBs 1..511 need a mid and a mid-mfn page each, and the
  // range end (MAX_P2M_PFN - 1, not leaf-aligned) needs a split leaf.
  assert.equal(res.state.p2m.accounting.brkUsed, 7 + 2 + 2 * 511 + 1);
});

Deno.test("invalid-is-identity: no bus address 0, but extra memory reads 1:1", async () => {
  assert.deepEqual((await replay("invalid-is-identity", [...E820_1G, BAR_ABOVE])).ids, []);
  const domU = [
    '{"format":"p2mtrace","version":1,"producer":"t","description":"x","guest":{"type":"pv","domain":"domU","nr_pages":"0x20000"}}',
    ...E820_1G,
  ].join("\n") + "\n";
  const res = await runTrace(TraceReader.fromText("t", domU), { policy: "invalid-is-identity" });
  assert.deepEqual(res.replayer.findings.map((f) => `${f.detector}@${f.seq}`), [
    "balloon-identity@3",
  ]);
});

Deno.test("linux-3.16 loses a populate write into hot-added memory above the map; linux-3.19 does not", async () => {
  const lines = [
    ...E820_1G,
    '{"seq":4,"kind":"memory_hotplug","start":"0x40000000","size":"0x8000000"}',
    '{"seq":5,"kind":"increase_reservation","pfn":"0x40000","end_pfn":"0x40010","mfn":"0x123400"}',
  ];
  assert.deepEqual((await replay("linux-3.16", lines)).ids, ["identity-overlap@4", "lost-write@5"]);
  const { ids, res } = await replay("linux-3.19", lines);
  assert.deepEqual(ids, []);
  assert.deepEqual(res.state.p2m.entry(0x40001), [K.MFN, 0x123401]);
});

Deno.test("linux-3.12 balloons out to the scratch page's mfn; linux-3.16 to INVALID", async () => {
  const out =
    '{"seq":4,"kind":"decrease_reservation","pfn":"0x1000","end_pfn":"0x1004","scratch_mfn":"0x7777"}';
  assert.deepEqual((await replay("linux-3.12", [...E820_1G, out])).res.state.p2m.entry(0x1001), [
    K.SCRATCH,
    0x7777,
  ]);
  assert.deepEqual((await replay("linux-3.16", [...E820_1G, out])).res.state.p2m.entry(0x1001), [
    K.INVALID,
    0,
  ]);
});

Deno.test("lookup-zero on a BAR names the mapping paths that get bus address 0: _PAGE_IOMAP paths still work until v3.18", async () => {
  const paths = async (policy: string) => {
    const { res } = await replay(policy, [...E820_1G, BAR_ABOVE]);
    const f = res.replayer.findings.find((f) => f.detector === "lookup-zero");
    return f ? Object.fromEntries(f.evidence)["mapping paths"] : undefined;
  };
  // v3.12 dom0: ioremap and sysfs/proc PCI mmap bypass the P2M; driver mmap and /dev/mem do not.
  assert.equal(
    await paths("linux-3.12"),
    "bus address 0: remap_pfn_range/io_remap_pfn_range (driver mmap), /dev/mem; still work: " +
      "ioremap, sysfs/proc PCI mmap (_PAGE_IOMAP skips the P2M)",
  );
  // The same kernel with _PAGE_IOMAP ignored: every path reads the P2M.
  assert.match(String(await paths("linux-3.12:iomap=ignored")), /^bus address 0: ioremap, /);
});

Deno.test("brk-budget charges the P2M's own reservations and says extend_brk checks one limit for all of them", async () => {
  const { res } = await replay("beyond-e820", [
    '{"seq":1,"kind":"e820","start":"0x0","end":"0x9ffff","type":"ram"}',
    '{"seq":2,"kind":"e820","start":"0x100000","end":"0x83fffffff","type":"ram"}',
    '{"seq":3,"kind":"memory_setup"}',
  ], "0x840000");
  const f = res.replayer.findings.find((f) => f.detector === "brk-budget");
  assert.ok(f, "a 33 GiB dom0 needs ~958 private mids above its map (p2m-semantics.md 9e)");
  const ev = Object.fromEntries(f.evidence);
  assert.equal(Number(ev.reserved), 7 + 1000 + 6 + 3); // v3.12's P2M reservations only
  assert.match(ev.limit, /extend_brk checks one limit for all of them together/);
});
