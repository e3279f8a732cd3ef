/**
 * SHA-256 for trace ids and bug reports, streamed in bounded memory (node:crypto's incremental
 * hash; Web Crypto's `digest` cannot stream).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { InputError } from "../errors.ts";
import { inputReason } from "./lines.ts";

/**
 * `sha256:` and the SHA-256 of the texts joined by NUL.
 *
 * @example
 * ```ts
 * import { sha256Id } from "./sha.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sha256Id("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export function sha256Id(...parts: string[]): string {
  return "sha256:" + createHash("sha256").update(parts.join("\0")).digest("hex");
}

/**
 * The hex SHA-256 of a file's bytes, streamed.
 *
 * @example
 * ```ts
 * import { sha256File } from "./sha.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "abc");
 * assert.equal(await sha256File(path), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * await Deno.remove(path);
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    throw new InputError(path, inputReason(e));
  }
  const h = createHash("sha256");
  try {
    for await (const chunk of file.readable) h.update(chunk);
  } catch (e) {
    throw new InputError(path, inputReason(e));
  }
  return h.digest("hex");
}

/**
 * Passes a stream through unchanged while hashing it (for inputs read once, like stdin);
 * `digest()` is valid once the stream has been read to its end.
 *
 * @example
 * ```ts
 * import { hashedStream } from "./sha.ts";
 * import assert from "node:assert/strict";
 * const h = hashedStream(ReadableStream.from([new TextEncoder().encode("abc")]));
 * for await (const chunk of h.stream) assert.equal(chunk.length, 3);
 * assert.equal(h.digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export function hashedStream(
  stream: ReadableStream<Uint8Array>,
): { stream: ReadableStream<Uint8Array>; digest(): string } {
  const h = createHash("sha256");
  let hex: string | undefined;
  const pass = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      h.update(chunk);
      controller.enqueue(chunk);
    },
  });
  return { stream: stream.pipeThrough(pass), digest: () => hex ??= h.digest("hex") };
}
