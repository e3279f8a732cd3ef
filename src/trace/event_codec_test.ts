import fc from "fast-check";
import assert from "node:assert/strict";
import { decodeBatches, EventEncoder } from "./event_codec.ts";
import type { PfnRange, Resource, TraceEvent } from "./event.ts";
import { TraceReader } from "./read.ts";
import "../../tests/support/repo_root.ts";
import { sameRecords } from "../../tests/support/same_records.ts";

function roundTrip(batches: TraceEvent[][], shared = false): TraceEvent[][] {
  const enc = new EventEncoder();
  if (!shared) return [...decodeBatches(enc.encode(batches))];
  for (const b of batches) enc.add(b);
  const buf = new SharedArrayBuffer(enc.byteLength + 64);
  enc.writeTo(buf);
  return [...decodeBatches(buf)];
}

const TOP = 2 ** 52 - 1;
const FRAME_TOP = 2 ** 40 - 1;
const r = (pfn: number, endPfn: number): PfnRange => ({ pfn, endPfn });
const res = (index: number, name?: string): Resource =>
  name === undefined
    ? { index, start: TOP - 0xfff, end: TOP, flags: 0xffffffff }
    : { index, start: 0, end: 0xfff, flags: 0x200, name };

/** Every kind, every optional field absent and present, the largest values each field takes. */
const EVERY_KIND: TraceEvent[] = [
  { seq: 0, line: 2, kind: "e820", start: 0, size: TOP, type: 1, map: "raw" },
  {
    seq: 1,
    line: 3,
    time: 0.5,
    kind: "e820",
    start: TOP - 1,
    size: 1,
    type: 0xffffffff,
    map: "user",
  },
  { seq: 2, line: 4, kind: "e820", start: 4096, size: 4096, type: 12, map: "kernel" },
  { seq: 3, line: 5, kind: "memory_setup" },
  { seq: 4, line: 6, kind: "memory_setup", maxReservation: FRAME_TOP },
  {
    seq: 5,
    line: 7,
    time: 1,
    kind: "memory_setup",
    expect: {
      identity: 1,
      released: 2,
      remapped: 3,
      populated: 4,
      p2mAreaSize: FRAME_TOP,
      identityRanges: [r(0x9e, 0x100)],
      releasedRanges: [],
      populatedRanges: [r(0, 1), r(FRAME_TOP - 1, FRAME_TOP)],
    },
  },
  { seq: 6, line: 8, kind: "memory_setup", expect: { released: 7, populatedRanges: [r(1, 2)] } },
  { seq: 7, line: 9, kind: "memory_setup", maxReservation: 0, expect: {} },
  { seq: 8, line: 10, kind: "set_identity", range: r(0, 2 ** 40) },
  {
    seq: 9,
    line: 11,
    kind: "set_p2m",
    range: r(1, 2),
    value: "mfn",
    primitive: "early_set_phys_to_machine",
    mfn: FRAME_TOP - 1,
  },
  {
    seq: 10,
    line: 12,
    kind: "set_p2m",
    range: r(1, 2),
    value: "invalid",
    primitive: "set_phys_to_machine",
  },
  {
    seq: 11,
    line: 13,
    kind: "set_p2m",
    range: r(1, 2),
    value: "identity",
    primitive: "__set_phys_to_machine",
  },
  {
    seq: 12,
    line: 14,
    kind: "set_p2m",
    range: r(1, 9),
    value: "foreign",
    primitive: "set_phys_to_machine",
    mfn: 5,
  },
  { seq: 13, line: 15, kind: "balloon_init" },
  { seq: 14, line: 16, time: 2, kind: "balloon_append", ranges: [r(3, 4), r(1, 3)] },
  { seq: 15, line: 17, kind: "balloon_retrieve", ranges: [r(3, 4)] },
  { seq: 16, line: 18, kind: "balloon_retrieve", ranges: [r(3, 4)], mfn: 0 },
  {
    seq: 17,
    line: 19,
    kind: "increase_reservation",
    ranges: [r(FRAME_TOP, FRAME_TOP + 1)],
    mfn: FRAME_TOP,
  },
  { seq: 18, line: 20, time: 3.25, kind: "increase_reservation", ranges: [r(1, 5), r(9, 10)] },
  { seq: 19, line: 21, kind: "decrease_reservation", ranges: [r(3, 4)] },
  { seq: 20, line: 22, time: 0, kind: "decrease_reservation", ranges: [r(3, 4)], scratchMfn: 7 },
  { seq: 21, line: 23, kind: "memory_hotplug", start: 2 ** 32, size: 2 ** 30 },
  { seq: 22, line: 24, kind: "pci_host_bridge", bus: "0000:00", resources: [] },
  {
    seq: 23,
    line: 25,
    kind: "pci_host_bridge",
    bus: "ffff:ff",
    resources: [res(0, "PCI Bus 0000:00"), res(16)],
  },
  { seq: 24, line: 26, kind: "xen_add_device", device: "0000:03:00.0", resources: [res(0)] },
  {
    seq: 25,
    line: 27,
    kind: "xen_add_device",
    device: "0000:03:10.1",
    resources: [res(7, "BAR ⚡")],
    xenFlags: 0xffffffff,
    physfn: "0000:03:00.0",
  },
  {
    seq: 26,
    line: 28,
    kind: "xen_add_device",
    device: "0000:03:00.0",
    resources: [],
    physfn: "0000:03:00.0",
  },
  { seq: 27, line: 29, kind: "xen_remove_device", device: "0000:03:00.0" },
  {
    seq: 28,
    line: 30,
    kind: "pci_resource_assign",
    device: "0000:03:00.0",
    resource: res(6),
    action: "failed",
  },
  {
    seq: 29,
    line: 31,
    kind: "pci_resource_assign",
    device: "0000:03:00.0",
    resource: res(13, ""),
    action: "assigned",
  },
  { seq: 30, line: 32, kind: "lookup", pfn: 0, offset: 0, via: "pte", iomap: false },
  {
    seq: 31,
    line: 33,
    time: 9.75,
    kind: "lookup",
    pfn: FRAME_TOP,
    offset: 4095,
    via: "phys_to_machine",
    iomap: true,
    observed: 2n ** 64n - 1n,
    by: "nvidia 🎮 \u0000 \ud800",
  },
  {
    seq: 32,
    line: 34,
    kind: "lookup",
    pfn: 1,
    offset: 0,
    via: "get_phys_to_machine",
    iomap: false,
    observed: 0n,
  },
  { seq: 33, line: 35, kind: "lookup", pfn: 1, offset: 0, via: "pfn_to_mfn", iomap: true, by: "" },
  { seq: 34, line: 36, kind: "p2m_dump", format: "tree", lines: [] },
  { seq: 35, line: 37, kind: "p2m_dump", format: "list", lines: ["a", "", "ü".repeat(200)] },
  { seq: 36, line: 38, kind: "mark", text: "" },
  { seq: 37, line: 39, kind: "mark", text: "x".repeat(65536) + "é\udc00" },
  { seq: 2 ** 53 - 1, line: 2 ** 53 - 1, time: Number.MAX_VALUE, kind: "mark", text: "end" },
];

Deno.test("event codec round-trips every kind and field, key order included", () => {
  for (const shared of [false, true]) {
    sameRecords(roundTrip([EVERY_KIND], shared), [EVERY_KIND]);
    // One event per batch, empty batches between: the batch boundaries come back too.
    const split = EVERY_KIND.flatMap((e) => [[e], []]);
    sameRecords(roundTrip(split, shared), split);
  }
});

Deno.test("event codec keeps -0, lone surrogates and strings longer than one decode call", () => {
  const [[e]] = roundTrip([[{ seq: 0, line: 1, time: -0, kind: "mark", text: "\ud83d" }]]);
  assert.ok(e.kind === "mark" && Object.is(e.time, -0) && e.text === "\ud83d");
  const long = "\u{1f600}".repeat(5000) + "\ud83d";
  const [[m]] = roundTrip([[{ seq: 0, line: 1, kind: "mark", text: long }]]);
  assert.ok(m.kind === "mark" && m.text === long);
});

Deno.test("event codec: one encoder, many groups: each write starts afresh", () => {
  const enc = new EventEncoder();
  const buf = new SharedArrayBuffer(1 << 20);
  for (let i = 0; i < EVERY_KIND.length; i++) {
    enc.add([EVERY_KIND[i]]);
    enc.add(EVERY_KIND.slice(0, i));
    enc.writeTo(buf);
    sameRecords([...decodeBatches(buf)], [[EVERY_KIND[i]], EVERY_KIND.slice(0, i)]);
    assert.equal(enc.batches, 0);
  }
});

Deno.test("event codec: the bundled traces' events come back as the reader read them, less raw", async () => {
  for (const name of ["pcie-bar-above-e820.jsonl", "bar-reassigned-after-add.jsonl"]) {
    const reader = await TraceReader.open(`traces/${name}`);
    await reader.header();
    const batches: TraceEvent[][] = [];
    for await (const b of reader.batches()) {
      batches.push(b.map(({ raw: _, ...e }) => e as TraceEvent));
    }
    assert.ok(batches.flat().length > 10);
    sameRecords(roundTrip(batches), batches);
  }
});

/** A copy with ordinary prototypes (fast-check's records may have none), keys in order. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v === null || typeof v !== "object") return v;
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(v)) o[k] = plain((v as Record<string, unknown>)[k]);
  return o;
}

// Property: any event the types allow round-trips, whatever mix of optional fields it has.
const frame = fc.integer({ min: 0, max: FRAME_TOP });
const addr = fc.integer({ min: 0, max: TOP });
const text = fc.string({ unit: "binary", maxLength: 40 });
const ranges = fc.array(frame.map((p) => r(p, p + 1)), { minLength: 1, maxLength: 5 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const resource = fc.record(
  { index: fc.nat(63), start: addr, end: addr, flags: fc.nat(0xffffffff), name: text },
  { requiredKeys: ["index", "start", "end", "flags"] },
);
const body: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({
    kind: fc.constant("e820"),
    start: addr,
    size: addr,
    type: fc.nat(0xffffffff),
    map: fc.constantFrom("raw", "kernel", "user"),
  }),
  fc.record({
    kind: fc.constant("memory_setup"),
    maxReservation: frame,
    expect: fc.record({ identity: frame, populated: frame, releasedRanges: ranges }, {
      requiredKeys: [],
    }),
  }, { requiredKeys: ["kind"] }),
  fc.record({ kind: fc.constant("set_identity"), range: ranges.map((x) => x[0]) }),
  fc.record({
    kind: fc.constant("set_p2m"),
    range: ranges.map((x) => x[0]),
    value: fc.constantFrom("mfn", "invalid", "identity", "foreign"),
    primitive: fc.constantFrom(
      "set_phys_to_machine",
      "__set_phys_to_machine",
      "early_set_phys_to_machine",
    ),
    mfn: frame,
  }, { requiredKeys: ["kind", "range", "value", "primitive"] }),
  fc.record({ kind: fc.constantFrom("balloon_append", "balloon_init") }).chain((k) =>
    k.kind === "balloon_init" ? fc.constant(k) : ranges.map((rs) => ({ ...k, ranges: rs }))
  ),
  fc.record({
    kind: fc.constantFrom("balloon_retrieve", "increase_reservation"),
    ranges,
    mfn: frame,
  }, { requiredKeys: ["kind", "ranges"] }),
  fc.record({ kind: fc.constant("decrease_reservation"), ranges, scratchMfn: frame }, {
    requiredKeys: ["kind", "ranges"],
  }),
  fc.record({ kind: fc.constant("memory_hotplug"), start: addr, size: addr }),
  fc.record({
    kind: fc.constant("pci_host_bridge"),
    bus: text,
    resources: fc.array(resource, { maxLength: 3 }),
  }),
  fc.record({
    kind: fc.constant("xen_add_device"),
    device: text,
    resources: fc.array(resource, { maxLength: 3 }),
    xenFlags: fc.nat(0xffffffff),
    physfn: text,
  }, { requiredKeys: ["kind", "device", "resources"] }),
  fc.record({ kind: fc.constant("xen_remove_device"), device: text }),
  fc.record({
    kind: fc.constant("pci_resource_assign"),
    device: text,
    resource,
    action: fc.constantFrom("assigned", "reassigned", "claimed", "released", "failed"),
  }),
  fc.record({
    kind: fc.constant("lookup"),
    pfn: frame,
    offset: fc.nat(4095),
    via: fc.constantFrom("pte", "pfn_to_mfn", "get_phys_to_machine", "phys_to_machine"),
    iomap: fc.boolean(),
    observed: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    by: text,
  }, { requiredKeys: ["kind", "pfn", "offset", "via", "iomap"] }),
  fc.record({
    kind: fc.constant("p2m_dump"),
    format: fc.constantFrom("tree", "list"),
    lines: fc.array(text, { maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant("mark"), text }),
);
const event = fc.tuple(fc.nat(), fc.nat(), opt(fc.double({ min: 0, noNaN: true })), body).map(
  ([seq, line, time, b]) => {
    const e: Record<string, unknown> = time === undefined ? { seq, line } : { seq, line, time };
    if (b.kind === "memory_setup" && b.expect !== undefined) {
      // The validator builds `expect` in its fixed order; so does the decoder.
      const x = b.expect as Record<string, unknown>;
      const ordered: Record<string, unknown> = {};
      for (const k of ["identity", "populated", "releasedRanges"]) if (k in x) ordered[k] = x[k];
      b = { ...b, expect: ordered };
    }
    return plain(Object.assign(e, b)) as TraceEvent;
  },
);

Deno.test("event codec round-trips arbitrary events (fast-check)", () => {
  fc.assert(
    fc.property(fc.array(fc.array(event, { maxLength: 8 }), { maxLength: 4 }), (batches) => {
      sameRecords(roundTrip(batches), batches);
    }),
    { seed: 16, numRuns: 500 },
  );
});
