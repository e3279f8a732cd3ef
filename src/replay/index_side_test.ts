// The trace side of an index build (index_side.ts) comes from the read that parses the trace,
// on the parse thread or on the build's own: each interval's event table (offset, length,
// line, seq) and each part's span and SHA-256 must be exactly what a second read of the file
// finds (event_lines.ts's lineSpans, which the build used before), on traces with CRLF
// endings, blank lines, multi-byte UTF-8, an early cut after the boot pass and a cut-off last
// line; and both threads must write the same bytes.
import assert from "node:assert/strict";
import { generateTrace } from "../gen/trace_gen.ts";
import { buildTraceIndex, indexLayout } from "./trace_index.ts";
import { lineSpans } from "./event_lines.ts";
import { sha256File } from "../trace/sha.ts";
import "../../tests/support/repo_root.ts";

/** The first byte offset where `a` and `b` differ (-1: none): a quick failure on a large file. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/**
 * A generated trace made awkward: CRLF on some lines, blank lines (once thousands in a row),
 * non-ASCII mark texts.
 */
async function awkwardTrace(events: number, cutOff: boolean): Promise<string> {
  const lines = [...generateTrace({ events, seed: 5 })];
  if (cutOff) lines.pop();
  const out: string[] = [];
  lines.forEach((l, i) => {
    let t = l.replace(
      /"kind":"mark","text":"[^"]*"/,
      '"kind":"mark","text":"h\u00e9 \u2713 \ud83d\ude00"',
    );
    if (i % 7 === 3) t += "\r";
    out.push(t);
    if (i % 11 === 5) out.push("");
    // Many lines read ahead of the next event: the line queue grows.
    if (i === 1500) { for (let b = 0; b < 5000; b++) out.push(b % 2 ? "" : " "); }
  });
  const path = await Deno.makeTempFile({ suffix: ".jsonl" });
  const text = out.join("\n") + (cutOff ? '\n{"seq":999999,"kind":"ma' : "\n");
  await Deno.writeTextFile(path, text);
  return path;
}

for (const cutOff of [false, true]) {
  Deno.test(`index build: tables and part hashes equal a second read's, either thread${cutOff ? ", cut off" : ""}`, async () => {
    const trace = await awkwardTrace(3500, cutOff);
    const dirs = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const files: Uint8Array[] = [];
      for (const [t, threads] of [[0, 1], [1, 2]] as const) {
        const built = await buildTraceIndex(trace, trace, undefined, dirs[t], { threads });
        assert.equal(built.sha256, await sha256File(trace));
        files.push(await Deno.readFile(built.path));
      }
      assert.equal(
        firstDifference(files[1], files[0]),
        -1,
        "the parse thread and this one wrote other bytes",
      );
      const bytes = files[0];
      const d = indexLayout(bytes);
      assert.ok(d.intervals.length >= 4, `only ${d.intervals.length} interval(s)`);
      // Every event's line, and each part's first event, as the build found them.
      const lines: number[] = [], seqs: number[] = [], groups: number[] = [];
      const offsets: number[] = [], lengths: number[] = [];
      for (const iv of d.intervals) {
        const [at, len] = iv.events;
        const t = new DataView(bytes.buffer, bytes.byteOffset + at, len);
        assert.equal(len, 24 * iv.count);
        for (let i = 0; i < iv.count; i++) {
          offsets.push(t.getFloat64(i * 8, true));
          lengths.push(t.getUint32(iv.count * 8 + i * 4, true));
          lines.push(t.getUint32(iv.count * 12 + i * 4, true));
          seqs.push(t.getFloat64(iv.count * 16 + i * 8, true));
        }
        groups.push(iv.first, ...iv.subs.map((s) => s.first).filter((f) => f < d.events));
      }
      assert.equal(lines.length, d.events);
      assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), "seqs out of order");
      // The reference: one more read of the file for those lines (the old build's way).
      const ref = await lineSpans(
        trace,
        trace,
        Uint32Array.from(lines),
        lines.length,
        undefined,
        groups,
      );
      assert.deepEqual(offsets, [...ref.offsets]);
      assert.deepEqual(lengths, [...ref.lengths]);
      const spans = d.intervals.flatMap((iv) => iv.spans);
      assert.equal(spans.length, groups.length);
      spans.forEach(([from, len, sha], g) => {
        const last = (g + 1 < groups.length ? groups[g + 1] : lines.length) - 1;
        assert.equal(from, ref.offsets[groups[g]], `part ${g}'s start`);
        assert.equal(from + len, ref.offsets[last] + ref.lengths[last], `part ${g}'s end`);
        assert.equal(sha, ref.groupSha256[g], `part ${g}'s hash`);
      });
    } finally {
      for (const dir of dirs) await Deno.remove(dir, { recursive: true });
      await Deno.remove(trace);
    }
  });
}
