import fc from "fast-check";
import assert from "node:assert/strict";
import { readLineBatches } from "./lines.ts";

/** Every line `readLineBatches` yields for `bytes` cut into `cuts` chunks, with its flags. */
async function split(bytes: Uint8Array, cuts: number[]): Promise<[number, string, boolean][]> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) chunks.push(bytes.slice(from, p));
    from = Math.max(from, p);
  }
  const out: [number, string, boolean][] = [];
  for await (const b of readLineBatches("t", ReadableStream.from(chunks))) {
    b.lines.forEach((l, i) => out.push([b.firstLine + i, l, b.terminated]));
  }
  return out;
}

Deno.test("readLineBatches gives the same lines however the bytes are chunked", async () => {
  const line = fc.string({ unit: fc.constantFrom("a", "é", "€", "𝄞", "\r", " ", "{") });
  await fc.assert(
    fc.asyncProperty(
      fc.array(line, { maxLength: 12 }),
      fc.boolean(),
      fc.array(fc.nat(), { maxLength: 30 }),
      async (lines, newlineAtEnd, cuts) => {
        const text = lines.join("\n") + (newlineAtEnd && lines.length > 0 ? "\n" : "");
        const want: [number, string, boolean][] = [];
        const parts = text.length === 0 ? [] : text.split("\n");
        if (newlineAtEnd && parts.length > 0) parts.pop();
        parts.forEach((l, i) => {
          const terminated = newlineAtEnd || i < parts.length - 1;
          if (!terminated && l === "") return;
          want.push([i + 1, l.endsWith("\r") ? l.slice(0, -1) : l, terminated]);
        });
        assert.deepEqual(await split(new TextEncoder().encode(text), cuts), want);
      },
    ),
    { seed: 11, numRuns: 300 },
  );
});

Deno.test("readLineBatches assembles a line of 4 MiB sent in 1000-byte chunks", async () => {
  const long = "x".repeat(4 * 1024 * 1024);
  const bytes = new TextEncoder().encode(`a\n${long}\r\nb`);
  const cuts = Array.from({ length: Math.floor(bytes.length / 1000) }, (_, i) => (i + 1) * 1000);
  const got = await split(bytes, cuts);
  assert.deepEqual(got.map(([n, l, t]) => [n, l.length, t]), [
    [1, 1, true],
    [2, long.length, true],
    [3, 1, false],
  ]);
});

Deno.test("data after the gzip stream: 65 naming the compressed byte where it starts", async () => {
  const { gzipSync } = await import("node:zlib");
  const { maybeGunzip, readFailure } = await import("./lines.ts");
  // Text that compresses poorly, so the members span several chunks of the reader.
  let x = 1;
  const text = Array.from({ length: 20_000 }, () => (x = (x * 48271) % 2147483647).toString(36))
    .join("\n") + "\n";
  const gz = gzipSync(text);
  for (
    const [junk, members] of [["garbage!", 1], ["PK\x03\x04", 2], [
      "\x1f\x8b\x07\x00zz",
      1,
    ]] as const
  ) {
    const body = new Uint8Array([...Array.from({ length: members }, () => [...gz]).flat()]);
    const bytes = new Uint8Array([...body, ...new TextEncoder().encode(junk)]);
    for (const size of [1000, 4096, 65536, gz.length, bytes.length]) {
      const parts = [];
      for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
      let err: unknown;
      try {
        for await (const _ of await maybeGunzip(ReadableStream.from(parts))) { /* read */ }
      } catch (e) {
        err = e;
      }
      const e = readFailure("t.gz", 1, err);
      assert.equal(e.exitCode, 65, `${junk} ${size}`);
      assert.equal(
        e.message,
        `t.gz: byte ${body.length} (compressed): expected gzip data, got trailing data after ` +
          "the gzip stream",
        `${JSON.stringify(junk)} in chunks of ${size}`,
      );
    }
  }
});
