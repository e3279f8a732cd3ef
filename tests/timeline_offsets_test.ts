/**
 * The Timeline's two event indices (src/replay/event_lines.ts) give the same answers: byte
 * offsets into a regular trace file, read again on access, and event lines kept in memory
 * (stdin, gzip). A file changed after the build is an error naming it, never a wrong state.
 * Runtime: about 5 s.
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { TraceReader } from "../src/trace/read.ts";
import { Timeline } from "../src/replay/timeline.ts";
import { FileEventLines } from "../src/replay/event_lines.ts";
import { InputError } from "../src/errors.ts";
import type { StepPoint } from "../src/replay/steps.ts";
import type { ModelState } from "../src/model/state.ts";
import { snapshotDebugfs, snapshotJson } from "../src/report/snapshot_report.ts";
import { longTraceText } from "./support/bisect_trace_gen.ts";

function observable(state: ModelState, point: StepPoint): unknown {
  return {
    json: snapshotJson({ trace: "t", point, event: undefined, state, policySource: "option" }),
    debugfs: snapshotDebugfs(state.p2m),
    boot: state.boot,
  };
}

/** Builds both indices of `text` (written to a file) and compares every step. */
async function assertSameEveryStep(text: string | Uint8Array, opts: {
  policy: string;
  interval?: number;
  maxCheckpoints?: number;
}) {
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    await Deno.writeFile(path, typeof text === "string" ? new TextEncoder().encode(text) : text);
    const decoded = typeof text === "string" ? text : new TextDecoder().decode(text);
    const byOffset = await Timeline.build(await TraceReader.open(path), opts);
    const kept = await Timeline.build(TraceReader.fromText(path, decoded), opts);
    assert.equal(byOffset.eventIndex, "byte-offsets");
    assert.equal(kept.eventIndex, "kept-lines");
    assert.equal(byOffset.events, kept.events);
    assert.ok(byOffset.events > 0);
    const points = byOffset.index.points();
    // Forward, then backward (every access leaves the cache and goes back to a checkpoint).
    for (const p of [...points, ...points.slice().reverse()]) {
      assert.deepEqual(byOffset.eventAt(p.index), kept.eventAt(p.index));
      assert.deepEqual(
        observable(byOffset.stateAt(p.index), p),
        observable(kept.stateAt(p.index), p),
      );
    }
    assert.deepEqual(byOffset.findings, kept.findings);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("Timeline by byte offsets equals kept lines at every step of a bundled trace", async () => {
  const text = await Deno.readTextFile(
    new URL("../traces/pcie-bar-above-e820.jsonl", import.meta.url),
  );
  await assertSameEveryStep(text, { policy: "linux-3.12", interval: 2, maxCheckpoints: 4 });
});

Deno.test("Timeline by byte offsets equals kept lines at every step of a generated trace", async () => {
  await assertSameEveryStep(longTraceText(40), {
    policy: "linux-3.12",
    interval: 4,
    maxCheckpoints: 8,
  });
});

Deno.test("Timeline byte offsets count bytes, not characters: CRLF, blank lines, UTF-8 text", async () => {
  // A mark with multi-byte text and a blank line after every event, CRLF endings, no end record.
  const [header, ...records] = longTraceText(15).trimEnd().split("\n");
  const events = records.map((l) => JSON.parse(l)).filter((r) => r.kind !== "end");
  let seq = 0;
  const out = [header];
  for (const e of events) {
    out.push(JSON.stringify({ ...e, seq: ++seq }), "");
    out.push(JSON.stringify({ seq: ++seq, kind: "mark", text: "Größe 𝔵 ✓" }));
  }
  const renumbered = out;
  await assertSameEveryStep(renumbered.join("\r\n"), { policy: "linux-3.12", interval: 3 });
});

Deno.test("Timeline over gzip keeps the event lines and gives the same states", async () => {
  const text = longTraceText(50);
  const path = await Deno.makeTempFile({ suffix: ".jsonl.gz" });
  try {
    await Deno.writeFile(path, gzipSync(text));
    const gz = await Timeline.build(await TraceReader.open(path), { policy: "linux-3.12" });
    const kept = await Timeline.build(TraceReader.fromText(path, text), { policy: "linux-3.12" });
    assert.equal(gz.eventIndex, "kept-lines");
    for (const p of gz.index.points()) {
      assert.deepEqual(observable(gz.stateAt(p.index), p), observable(kept.stateAt(p.index), p));
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("a trace file changed after the Timeline was built is an error naming it", async () => {
  const text = longTraceText(50);
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  try {
    for (
      const change of [
        // Same size, other bytes, another modification time.
        () => Deno.writeTextFile(path, text.replace('"seq":5,', '"seq":6,')),
        // Appended to.
        () => Deno.writeTextFile(path, text + "\n"),
      ]
    ) {
      await Deno.writeTextFile(path, text);
      const t = await Timeline.build(await TraceReader.open(path), {
        policy: "linux-3.12",
        interval: 4,
      });
      assert.equal(t.eventIndex, "byte-offsets");
      t.stateAt(10);
      t.stateAt(9); // from the checkpoint before it: reads events again
      await new Promise((r) => setTimeout(r, 20)); // a later modification time
      await change();
      assert.throws(
        () => t.at(9),
        (e) =>
          e instanceof InputError && e.message.startsWith(`${path}: cannot read:`) &&
          /changed since it was indexed/.test(e.message),
      );
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("FileEventLines.index refuses bytes other than the trace reader read", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(path, 'h\n{"seq":1}\n');
    await assert.rejects(
      FileEventLines.index(path, "t.jsonl", Uint32Array.of(2), 1, "0".repeat(64)),
      (e) => e instanceof InputError && /^t\.jsonl: .*changed since it was indexed/.test(e.message),
    );
  } finally {
    await Deno.remove(path);
  }
});
