import fc from "fast-check";
import assert from "node:assert/strict";
import { mmioHits } from "./device_mmio.ts";
import { isMmio, resourcePfns } from "../kernel/pci_resource.ts";
import { DEVICE_LOG_EDITS, type DeviceState, initialState, ModelDraft } from "../model/state.ts";
import { POLICIES } from "../policy/policies.ts";
import { resolvePolicy } from "../policy/policy.ts";
import type { PfnRange, Resource } from "../trace/event.ts";

/** The walk lookup-zero made before the index: every device, every resource, in order. */
function walk(devices: ReadonlyMap<string, DeviceState>, c: PfnRange) {
  const out = [];
  for (const dev of devices.values()) {
    for (const r of dev.resources) {
      if (!isMmio(r) || r.index > 12) continue;
      const s = resourcePfns(r);
      const pfn = Math.max(c.pfn, s.pfn), endPfn = Math.min(c.endPfn, s.endPfn);
      if (pfn < endPfn) out.push({ dev, r, span: s, hit: { pfn, endPfn } });
    }
  }
  return out;
}

// Resources on a small PFN scale, so they overlap each other and the ranges asked about.
const resource: fc.Arbitrary<Resource> = fc.tuple(
  fc.nat(16),
  fc.nat(64),
  fc.nat(40),
  fc.constantFrom(0x40200, 0x14220c, 0x40101, 0, 0x10000200, 0x20000200),
).map(([index, first, pages, flags]) => ({
  index,
  start: first * 4096 + (first % 3) * 100,
  end: (first + pages) * 4096 + 4095,
  flags,
}));
const devices = fc.array(fc.array(resource, { maxLength: 5 }), { maxLength: 8 });
const range = fc.tuple(fc.nat(110), fc.integer({ min: 1, max: 40 })).map(([pfn, n]) => ({
  pfn,
  endPfn: pfn + n,
}));

Deno.test("mmioHits finds what the walk over every device and resource finds, in its order (fast-check)", () => {
  fc.assert(
    fc.property(devices, fc.array(range, { minLength: 1, maxLength: 4 }), fc.nat(), (ds, rs, k) => {
      const map = new Map<string, DeviceState>();
      ds.forEach((resources, i) => map.set(`d${i}`, { device: `d${i}`, resources, seq: i }));
      const source = { devices: map, devicesEdits: ds.length };
      for (const r of rs) assert.deepStrictEqual(mmioHits(source, r), walk(map, r));
      // The same map edited in place (a draft kept across steps): a device replaced, one removed.
      if (map.size > 0) {
        const name = [...map.keys()][k % map.size];
        map.set(name, { device: name, resources: ds[(k + 1) % ds.length], seq: 99 });
        source.devicesEdits++;
        for (const r of rs) assert.deepStrictEqual(mmioHits(source, r), walk(map, r));
        map.delete([...map.keys()][(k + 2) % map.size]);
        source.devicesEdits++;
        for (const r of rs) assert.deepStrictEqual(mmioHits(source, r), walk(map, r));
      }
    }),
    { seed: 19, numRuns: 1500 },
  );
});

Deno.test("a model draft counts its device edits, so an index of its devices sees every edit", () => {
  const d = new ModelDraft(initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
    resolvePolicy(POLICIES, "linux-3.16"),
  ));
  const gpu: DeviceState = {
    device: "0000:01:00.0",
    seq: 1,
    resources: [{ index: 0, start: 0xc0000000, end: 0xc0ffffff, flags: 0x40200 }],
  };
  const at = { pfn: 0xc0000, endPfn: 0xc0001 };
  assert.equal(d.devicesEdits, 0);
  assert.deepEqual(mmioHits(d, at), []);
  d.setDevice(gpu);
  assert.equal(mmioHits(d, at).length, 1);
  d.setDevice({ ...gpu, resources: [{ ...gpu.resources[0], start: 0xd0000000, end: 0xd0ffffff }] });
  assert.deepEqual(mmioHits(d, at), []); // the same map, edited in place: not the old index
  d.removeDevice(gpu.device);
  d.setDevice(gpu);
  assert.equal(d.devicesEdits, 4);
  assert.equal(mmioHits(d, at).length, 1);
});

// A draft's index catches up with its device edits (devicesEditedSince) instead of being built
// again: after any run of adds, replacements, removals and re-adds (a re-added device walks
// last, as a Map puts it), the hits are the walk's, in the walk's order.
// Few names and mostly mapped resources, so that re-added devices overlap others often.
const mapped = fc.tuple(resource, fc.boolean()).map(([r, keep]) =>
  keep ? r : { ...r, index: r.index % 13, flags: 0x40200 }
);
const edit = fc.oneof(
  fc.record({
    op: fc.constant("set" as const),
    name: fc.nat(3),
    resources: fc.array(mapped, { maxLength: 4 }),
  }),
  fc.record({ op: fc.constant("remove" as const), name: fc.nat(3) }),
  fc.record({ op: fc.constant("ask" as const), at: range }),
);

function draft(): ModelDraft {
  return new ModelDraft(initialState(
    { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
    resolvePolicy(POLICIES, "linux-3.16"),
  ));
}

Deno.test("mmioHits on a draft kept across edits finds what the walk finds, in its order (fast-check)", () => {
  fc.assert(
    fc.property(
      fc.array(edit, { maxLength: 40 }),
      fc.array(range, { minLength: 1, maxLength: 3 }),
      (ops, rs) => {
        const d = draft();
        for (const o of ops) {
          if (o.op === "set") d.setDevice({ device: `d${o.name}`, resources: o.resources, seq: 1 });
          else if (o.op === "remove") d.removeDevice(`d${o.name}`);
          else assert.deepStrictEqual(mmioHits(d, o.at), walk(d.devices, o.at));
        }
        for (const r of rs) assert.deepStrictEqual(mmioHits(d, r), walk(d.devices, r));
      },
    ),
    { seed: 23, numRuns: 1500 },
  );
});

Deno.test("mmioHits after more device edits than a draft keeps builds its index again", () => {
  const d = draft();
  const at = { pfn: 0, endPfn: 200 };
  const dev = (i: number, first: number) => ({
    device: `d${i % 7}`,
    seq: i,
    resources: [{ index: 0, start: first * 4096, end: first * 4096 + 4095, flags: 0x40200 }],
  });
  d.setDevice(dev(0, 5));
  assert.deepStrictEqual(mmioHits(d, at), walk(d.devices, at));
  for (let i = 1; i <= DEVICE_LOG_EDITS + 3; i++) {
    if (i % 5 === 0) d.removeDevice(`d${i % 7}`);
    else d.setDevice(dev(i, (i * 37) % 150));
  }
  assert.equal(d.devicesEditedSince(1), undefined);
  assert.deepStrictEqual(mmioHits(d, at), walk(d.devices, at));
});
