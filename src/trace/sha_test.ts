// sha256File reads a file into one reused buffer: the hash must be over the bytes each read
// returned, never the buffer's stale tail, for an empty file, a short one and one that ends
// part way through a second buffer's worth (the trace's identity and the index's key).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256File } from "./sha.ts";

Deno.test("sha256File: the SHA-256 of the file's bytes, empty, short and past one buffer", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const size of [0, 3, (1 << 20) + 17]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff);
      const path = `${dir}/f${size}`;
      await Deno.writeFile(path, bytes);
      assert.equal(
        await sha256File(path),
        createHash("sha256").update(bytes).digest("hex"),
        `${size} bytes`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
