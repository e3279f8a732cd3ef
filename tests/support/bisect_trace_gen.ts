/**
 * Generated traces for the timeline and bisect tests: a fast-check arbitrary of whole traces
 * (header, raw E820 map, boot pass, then random runtime events of every kind that writes the
 * P2M or the state detectors read) and a seeded generator of long traces for memory
 * measurements. Every generated trace is valid format v1 text, so tests go through the real
 * reader. Seqs have random gaps (as minimized traces do) so step naming is exercised.
 *
 * @module
 */

import fc from "fast-check";
import { DETECTOR_IDS } from "../../src/detect/detectors.ts";
import {
  balloonIdentityPredicate,
  type BisectPredicate,
  detectorPredicate,
  PFN_CLASSES,
  pfnIsPredicate,
  returnsZeroPredicate,
} from "../../src/bisect/predicate.ts";

const MIB = 0x100000;
const GIB = 0x40000000;

/** The policies every generated trace is replayed under. */
export const GEN_POLICIES = [
  "linux-3.12",
  "seed-v1",
  "seed-v1-fixed",
  "host-bridge",
  "beyond-e820",
  "invalid-is-identity",
  "linux-3.16",
  "linux-3.19",
] as const;

type Obj = Record<string, unknown>;

const hex = (n: number) => "0x" + n.toString(16);

/** PFN anchors where interesting things happen (low memory, the E820 end, a BAR area, MAX_P2M_PFN). */
const ANCHORS = [0x0, 0x9c, 0x100, 0x3ff00, 0x40000, 0xfff00, 0x100000, 0x3800000, 0x7fffe00];

const pfnArb = fc.tuple(fc.constantFrom(...ANCHORS), fc.integer({ min: 0, max: 0x600 }))
  .map(([a, d]) => a + d);
const lenArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 0x300 }) },
  { weight: 1, arbitrary: fc.constantFrom(0x200, 0x40000, 0x41000) },
);
/** The PFN fields of a balloon event: one `pfn` + `pages` range, or a `pfns` list. */
const rangesArb: fc.Arbitrary<Obj> = fc.oneof(
  fc.tuple(pfnArb, fc.integer({ min: 1, max: 0x80 })).map(([p, n]) => ({
    pfn: hex(p),
    pages: hex(n),
  })),
  fc.uniqueArray(pfnArb, { minLength: 1, maxLength: 4 }).map((ps) => ({ pfns: ps.map(hex) })),
);
const barArb = fc.record({
  index: fc.constantFrom(0, 1, 2, 3, 5),
  startPfn: pfnArb,
  pages: fc.integer({ min: 1, max: 0x400 }),
  flags: fc.constantFrom(0x40200, 0x14220c, 0x40101, 0x200),
}).map((b) => ({
  index: b.index,
  start: hex(b.flags === 0x40101 ? 0xe000 : b.startPfn * 4096),
  end: hex(b.flags === 0x40101 ? 0xe07f : (b.startPfn + b.pages) * 4096 - 1),
  flags: hex(b.flags),
}));
const deviceArb = fc.constantFrom("0000:03:00.0", "0000:04:00.0", "0000:05:00.1");

/** One runtime event (without seq). */
export const runtimeEventArb: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({ pfn: pfnArb, n: lenArb }).map(({ pfn, n }) => ({
    kind: "set_identity",
    pfn: hex(pfn),
    end_pfn: hex(pfn + n),
  })),
  fc.record({
    pfn: pfnArb,
    n: lenArb,
    value: fc.constantFrom("mfn", "invalid", "identity", "foreign"),
    mfn: fc.integer({ min: 0, max: 0xfffff }),
    primitive: fc.constantFrom(
      "set_phys_to_machine",
      "__set_phys_to_machine",
      "early_set_phys_to_machine",
    ),
  }).map((r) => {
    const o: Obj = {
      kind: "set_p2m",
      pfn: hex(r.pfn),
      end_pfn: hex(r.pfn + r.n),
      value: r.value,
      primitive: r.primitive,
    };
    if (r.value === "mfn" || r.value === "foreign") o.mfn = hex(r.mfn);
    return o;
  }),
  fc.constant({ kind: "balloon_init" }),
  rangesArb.map((r) => ({ kind: "balloon_append", ...r })),
  fc.record({ r: rangesArb, scratch: fc.option(fc.integer({ min: 1, max: 0xfff })) }).map((
    r,
  ) => {
    const o: Obj = { kind: "decrease_reservation", ...r.r };
    if (r.scratch !== null) o.scratch_mfn = hex(r.scratch);
    return o;
  }),
  fc.record({ r: rangesArb, mfn: fc.option(fc.integer({ min: 0, max: 0xfffff })) }).map((
    r,
  ) => {
    const o: Obj = { kind: "increase_reservation", ...r.r };
    if (r.mfn !== null) o.mfn = hex(r.mfn);
    return o;
  }),
  rangesArb.map((r) => ({ kind: "balloon_retrieve", ...r })),
  fc.integer({ min: 8, max: 40 }).map((s) => ({
    kind: "memory_hotplug",
    start: hex(s * 128 * MIB),
    size: hex(128 * MIB),
  })),
  fc.constant({
    kind: "pci_host_bridge",
    bus: "0000:00",
    resources: [
      { start: "0xc0000000", end: "0xfebfffff", flags: "0x200200" },
      { start: "0x3800000000", end: "0x3fffffffff", flags: "0x200200" },
    ],
  }),
  fc.record({ device: deviceArb, bars: fc.array(barArb, { maxLength: 3 }) }).map((r) => ({
    kind: "xen_add_device",
    device: r.device,
    resources: r.bars.filter((b, i) => r.bars.findIndex((c) => c.index === b.index) === i),
  })),
  deviceArb.map((device) => ({ kind: "xen_remove_device", device })),
  fc.record({
    device: deviceArb,
    bar: barArb,
    action: fc.constantFrom("assigned", "reassigned", "released"),
  }).map((r) => ({ kind: "pci_resource_assign", device: r.device, ...r.bar, action: r.action })),
  fc.record({ pfn: pfnArb, via: fc.constantFrom("pte", "pfn_to_mfn"), iomap: fc.boolean() }).map((
    r,
  ) => ({ kind: "lookup", pfn: hex(r.pfn), via: r.via, iomap: r.iomap })),
  fc.constant({ kind: "mark", text: "checkpoint" }),
);

const LAYOUTS: [number, number, string][][] = [
  [[0, 0x9c000, "ram"], [0x9c000, 0x100000, "reserved"], [0x100000, GIB, "ram"]],
  [
    [0, 0xa0000, "ram"],
    [0x100000, 0xbf780000, "ram"],
    [0xbf780000, 0xc0000000, "acpi"],
    [0x100000000, 0x140000000, "ram"],
  ],
];

/** A whole trace description; {@link traceText} turns it into text. */
export interface GenTrace {
  /** `dom0` or `domU`. */
  domain: "dom0" | "domU";
  /** nr_pages in the header. */
  nrPages: number;
  /** Index into the E820 layouts. */
  layout: number;
  /** Boot pass present. */
  boot: boolean;
  /** Runtime events. */
  events: Obj[];
  /** Seq gap before each event (0: consecutive). */
  gaps: number[];
  /** Write the end record. */
  end: boolean;
}

/** Arbitrary whole traces with up to `maxEvents` runtime events. */
export function traceArb(maxEvents = 24): fc.Arbitrary<GenTrace> {
  return fc.record({
    domain: fc.constantFrom<"dom0" | "domU">("dom0", "domU"),
    nrPages: fc.constantFrom(0x40000, 0x100000),
    layout: fc.integer({ min: 0, max: LAYOUTS.length - 1 }),
    boot: fc.boolean(),
    events: fc.array(runtimeEventArb, { maxLength: maxEvents }),
    gaps: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 64, maxLength: 64 }),
    end: fc.boolean(),
  });
}

/** The trace as JSON Lines text. */
export function traceText(t: GenTrace): string {
  const lines: string[] = [JSON.stringify({
    format: "p2mtrace",
    version: 1,
    producer: "bisect_trace_gen",
    guest: { type: "pv", domain: t.domain, nr_pages: hex(t.nrPages) },
    description: "generated",
  })];
  let seq = 0;
  let n = 0;
  const push = (o: Obj) => {
    seq += 1 + (t.gaps[n % t.gaps.length] ?? 0);
    n++;
    lines.push(JSON.stringify({ seq, ...o }));
  };
  for (const [s, e, type] of LAYOUTS[t.layout]) {
    push({ kind: "e820", start: hex(s), end: hex(e - 1), type });
  }
  if (t.boot) push({ kind: "memory_setup" });
  for (const e of t.events) push(e);
  if (t.end) lines.push(JSON.stringify({ kind: "end", events: n }));
  return lines.join("\n") + "\n";
}

/**
 * A long deterministic trace (for memory measurements): boot, then `events` runtime events
 * cycling through ballooning, writes and devices over 4 GiB of PFNs.
 */
export function longTraceText(events: number, seed = 1): string {
  let x = seed >>> 0 || 1;
  const rnd = (n: number) => {
    // xorshift32: deterministic, good enough to spread writes.
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  const gen: GenTrace = {
    domain: "dom0",
    nrPages: 0x100000,
    layout: 1,
    boot: true,
    events: [{ kind: "balloon_init" }],
    gaps: [0],
    end: true,
  };
  for (let i = 0; i < events; i++) {
    const pfn = rnd(0x100000);
    switch (i % 5) {
      case 0:
        gen.events.push({ kind: "decrease_reservation", pfn: hex(pfn), pages: "0x10" });
        break;
      case 1:
        gen.events.push({
          kind: "increase_reservation",
          pfn: hex(pfn),
          pages: "0x10",
          mfn: hex(rnd(0xfffff)),
        });
        break;
      case 2:
        gen.events.push({
          kind: "set_p2m",
          pfn: hex(pfn),
          end_pfn: hex(pfn + 1 + rnd(64)),
          value: "mfn",
          mfn: hex(rnd(0xfffff)),
        });
        break;
      case 3: {
        const start = 0xf0000000 + rnd(0x100) * 0x10000;
        gen.events.push({
          kind: "xen_add_device",
          device: `0000:0${1 + rnd(8)}:00.0`,
          resources: [{ index: 0, start: hex(start), end: hex(start + 0xffff), flags: "0x40200" }],
        });
        break;
      }
      default:
        gen.events.push({ kind: "lookup", pfn: hex(pfn), via: "pte" });
    }
  }
  return traceText(gen);
}

/** PFNs the generated traces touch in interesting ways (RAM, boundaries, BARs above the map). */
export const probePfnArb: fc.Arbitrary<number> = fc.constantFrom(
  0x9c,
  0x100,
  0x3ff80,
  0x40000,
  0x40100,
  0x100000,
  0x3800000,
);

/** Any built-in bisect predicate over {@link probePfnArb}. */
export const predicateArb: fc.Arbitrary<BisectPredicate> = fc.oneof(
  fc.constantFrom(...DETECTOR_IDS).map(detectorPredicate),
  probePfnArb.map(returnsZeroPredicate),
  fc.tuple(probePfnArb, fc.constantFrom(...PFN_CLASSES)).map(([p, c]) => pfnIsPredicate(p, c)),
  fc.constant(balloonIdentityPredicate()),
);
