/**
 * `collectMap` learns which steps changed the state from the replayer's edit count instead of
 * freezing a state per step. The reference is the simple form: a snapshot after every step,
 * compared by identity (`ModelDraft.finish` returns the same state when nothing changed). The
 * frames it keeps once it samples "every change", its count of changed steps and the `--at`
 * frame must be those the reference gives.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { boundRanges, CAPTURE_RANGES, collectMap, mergedCount } from "./collect.ts";
import type { LaneRange } from "./lanes.ts";
import { TraceReader } from "../trace/read.ts";
import { ForwardPass } from "../replay/forward.ts";

const HEADER = '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
  '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}';

/** Boot, then a mix of steps that change the state (identity, balloon) and steps that do not. */
function trace(): string {
  const lines = [
    HEADER,
    '{"seq":1,"kind":"e820","map":"raw","start":"0x0","end":"0x3fffffff","type":"ram"}',
    '{"seq":2,"kind":"memory_setup"}',
  ];
  let seq = 3;
  for (let i = 0; i < 60; i++) {
    const pfn = (0x80000 + i).toString(16);
    if (i % 3 === 0) lines.push(`{"seq":${seq++},"kind":"lookup","pfn":"0x${i + 0x100}"}`);
    else if (i % 3 === 1) lines.push(`{"seq":${seq++},"kind":"mark","text":"m${i}"}`);
    else {
      lines.push(
        `{"seq":${seq++},"kind":"set_identity","pfn":"0x${pfn}","end_pfn":"0x${
          (0x80001 + i).toString(16)
        }"}`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** The indices of the steps that changed the state, by a snapshot after every step. */
async function changedByIdentity(text: string): Promise<number[]> {
  const pass = await ForwardPass.open(TraceReader.fromText("t", text), { policy: "linux-3.12" });
  let prev = pass.state();
  const out: number[] = [];
  let index = 0;
  for await (const _ of pass.steps()) {
    index++;
    const s = pass.state();
    if (s !== prev) out.push(index);
    prev = s;
  }
  return out;
}

Deno.test("map keeps the frames of changed steps, as a snapshot per step would tell them", async () => {
  const text = trace();
  const changed = await changedByIdentity(text);
  assert.ok(changed.length > 10 && changed.length < 40, `${changed.length} changed steps`);
  const m = await collectMap([{ reader: TraceReader.fromText("t", text), policy: "linux-3.12" }], {
    maxFrames: 40,
  });
  assert.equal(m.sampling, "every change");
  assert.equal(m.changedSteps, changed.length);
  // Frame 40 is the one that passed maxFrames while every step was kept: thinning keeps the
  // last frame whatever it is.
  const inner = m.frames.slice(1, -1).map((f) => f.index).filter((i) => i !== 40);
  assert.deepEqual(inner, changed.filter((i) => i !== m.events));
});

// The step asked for stays even when it was first kept as a sampled frame (it was thinned away
// before, leaving no initial frame).
Deno.test("map --at N shows the state after the last event with seq <= N", async () => {
  const text = trace();
  for (const at of [2, 10, 11]) {
    const m = await collectMap(
      [{ reader: TraceReader.fromText("t", text), policy: "linux-3.12" }],
      { maxFrames: 8, at },
    );
    const f = m.frames[m.initial];
    assert.equal(f.step, at);
    assert.equal(f.index, at);
    const want = await collectMap(
      [{
        reader: TraceReader.fromText("t", text.split("\n").slice(0, at + 1).join("\n") + "\n"),
        policy: "linux-3.12",
      }],
      { maxFrames: 8, at: "end" },
    );
    // The at-frame's lanes read what the end of the trace cut at N reads.
    const lanes = (mm: typeof m, i: number) =>
      mm.frames[i].lanes[0].map((id) => JSON.stringify(mm.states.ranges(id)));
    assert.deepEqual(lanes(m, m.initial), lanes(want, want.initial));
  }
});

/**
 * The reference of `boundRanges`' grouping, written from its rule: a range at least `g` pages
 * long stands alone; consecutive shorter ones group while they share a row and the group's first
 * PFN and the range's last PFN lie in one `g`-aligned block.
 */
function referenceCount(rs: readonly LaneRange[], g: number): number {
  const groups: LaneRange[][] = [];
  let open: LaneRange[] | undefined;
  for (const r of rs) {
    if (r.endPfn - r.pfn >= g) {
      open = undefined;
      groups.push([r]);
      continue;
    }
    const first = open?.[0];
    if (
      open && first && first.row === r.row &&
      Math.floor(first.pfn / g) === Math.floor((r.endPfn - 1) / g)
    ) open.push(r);
    else groups.push(open = [r]);
  }
  return groups.length;
}

Deno.test("mergedCount counts the groups boundRanges builds, and boundRanges picks the least g", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ len: fc.integer({ min: 1, max: 70 }), gap: fc.nat(5), row: fc.nat(1) }),
        {
          maxLength: 3000,
        },
      ),
      fc.constantFrom(2, 4, 16, 64),
      (spec, g) => {
        let pfn = 0;
        const rs: LaneRange[] = spec.map((x) => {
          pfn += x.gap;
          const r = { pfn, endPfn: pfn + x.len, cls: "c", label: "l", row: x.row };
          pfn += x.len;
          return r;
        });
        assert.equal(mergedCount(rs, g), referenceCount(rs, g));
        const b = boundRanges(rs);
        if (rs.length <= CAPTURE_RANGES) assert.equal(b, rs);
        else {
          let least = 2;
          while (referenceCount(rs, least) > CAPTURE_RANGES) least *= 2;
          assert.equal(b.length, referenceCount(rs, least));
        }
      },
    ),
    { seed: 18, numRuns: 60 },
  );
});
