// lineSpans hashes groups of events' spans in the one read that finds them (the index's
// per-interval checks of the trace bytes a step replays): each group's hash is the SHA-256 of
// exactly its bytes, for groups that cross the 1 MiB read chunks, lines with CR, blank and
// non-event lines between events, and a last line without a newline.
import fc from "fast-check";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { KeptEventLines, lineSpans } from "./event_lines.ts";

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

Deno.test("lineSpans: each group's hash is that of its span's bytes", async () => {
  const path = await Deno.makeTempFile();
  await fc.assert(
    fc.asyncProperty(
      // An event line is never empty: the reader skips blank lines, so no event is read from
      // one (an empty last line without a newline is not a line at all).
      fc.array(fc.tuple(fc.integer({ min: 1, max: 90_000 }), fc.boolean(), fc.boolean()), {
        minLength: 1,
        maxLength: 40,
      }),
      fc.boolean(),
      fc.integer({ min: 1, max: 7 }),
      async (rows, terminated, every) => {
        // Line 1 a header; then per row an event line of the given length (CR-ended or not),
        // maybe a blank line after it.
        const parts = ["h"];
        const lines: number[] = [];
        for (const [len, cr, blank] of rows) {
          lines.push(parts.length + 1);
          parts.push("e".repeat(len) + (cr ? "\r" : ""));
          if (blank) parts.push("");
        }
        const text = parts.join("\n") + (terminated ? "\n" : "");
        await Deno.writeTextFile(path, text);
        const groups = lines.map((_, i) => i).filter((i) => i % every === 0);
        const s = await lineSpans(
          path,
          path,
          Uint32Array.from(lines),
          lines.length,
          sha(text),
          groups,
        );
        const bytes = new TextEncoder().encode(text);
        groups.forEach((g, k) => {
          const last = (groups[k + 1] ?? lines.length) - 1;
          const span = bytes.subarray(s.offsets[g], s.offsets[last] + s.lengths[last]);
          assert.equal(s.groupSha256[k], sha(span), `group ${k}`);
        });
      },
    ),
    { numRuns: 200 },
  );
  await Deno.remove(path);
});

// Over stdin and gzip a timeline keeps the events' texts compressed in blocks of about 64 KB:
// any range of events gives back exactly the texts kept, whatever the blocks they span, the
// order of access, or what the texts hold (any Unicode, a leading U+FEFF, a lone surrogate).
Deno.test("KeptEventLines: texts(from, to) gives back exactly the texts kept (property)", () => {
  const text = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 300 }),
    fc.string({ unit: "binary", maxLength: 40 }).map((t) => t.replaceAll("\n", " ")),
    fc.constantFrom("\uFEFF{}", "\uD800x", "x\uDC00", '{"seq":1}'),
  ).filter((t) => !t.includes("\n"));
  fc.assert(
    fc.property(
      fc.array(text, { maxLength: 60 }),
      fc.integer({ min: 0, max: 2000 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 8 }),
      (some, repeat, picks) => {
        // Enough texts to fill several blocks.
        const all: string[] = [];
        for (let i = 0; i < repeat && some.length > 0; i++) all.push(...some);
        all.push(...some);
        const k = new KeptEventLines();
        all.forEach((t, i) => {
          k.keep(t);
          k.addLine(i + 2);
        });
        assert.equal(k.kept, all.length);
        assert.deepEqual(k.texts(0, all.length), all);
        for (const [a, b] of picks) {
          const from = all.length ? a % all.length : 0;
          const to = from + (all.length ? b % (all.length - from + 1) : 0);
          assert.deepEqual(k.texts(from, to), all.slice(from, to));
        }
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("KeptEventLines: a text holding a newline is refused, never split into two events", () => {
  assert.throws(() => new KeptEventLines().keep("a\nb"), /newline/);
});
