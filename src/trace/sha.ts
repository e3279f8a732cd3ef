/**
 * SHA-256 for trace ids, bug reports and the index's checks. One-shot digests use Web Crypto
 * (built in); hashing a stream in bounded memory needs an incremental hash, which Web Crypto's
 * `digest` cannot do, so {@link incrementalSha256} loads `node:crypto` on first use — about
 * 35 ms of module loading that a command which never streams a hash (a cached `lookup`) does
 * not pay.
 *
 * @module
 */

import { InputError } from "../errors.ts";

/**
 * The hex SHA-256 of `bytes` (Web Crypto).
 *
 * @example
 * ```ts
 * import { sha256Hex } from "./sha.ts";
 * import assert from "node:assert/strict";
 * const abc = new TextEncoder().encode("abc");
 * assert.equal(await sha256Hex(abc), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(d: Uint8Array): string {
  let s = "";
  for (let i = 0; i < d.length; i++) s += HEX[d[i]];
  return s;
}

/** An incremental SHA-256: bytes in, one hex digest out. */
export interface Sha256Stream {
  /** Hashes more bytes. */
  update(bytes: Uint8Array): void;
  /** The hex digest of every byte given (call once, after the last update). */
  digest(): string;
}

/**
 * A new incremental SHA-256 (`node:crypto`, loaded by the first call).
 *
 * @example
 * ```ts
 * import { incrementalSha256 } from "./sha.ts";
 * import assert from "node:assert/strict";
 * const h = await incrementalSha256();
 * h.update(new TextEncoder().encode("a"));
 * h.update(new TextEncoder().encode("bc"));
 * assert.equal(h.digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export async function incrementalSha256(): Promise<Sha256Stream> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  return { update: (bytes) => void h.update(bytes), digest: () => h.digest("hex") };
}

/**
 * A synchronous one-shot SHA-256 (`node:crypto`, loaded by the first call), for code that
 * hashes many blocks while it streams (the index build).
 *
 * @example
 * ```ts
 * import { oneShotSha256 } from "./sha.ts";
 * import assert from "node:assert/strict";
 * const sha = await oneShotSha256();
 * assert.equal(sha(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export async function oneShotSha256(): Promise<(bytes: Uint8Array) => string> {
  const { createHash } = await import("node:crypto");
  return (bytes) => createHash("sha256").update(bytes).digest("hex");
}

/**
 * `sha256:` and the SHA-256 of the texts joined by NUL.
 *
 * @example
 * ```ts
 * import { sha256Id } from "./sha.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await sha256Id("abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export async function sha256Id(...parts: string[]): Promise<string> {
  return "sha256:" + await sha256Hex(new TextEncoder().encode(parts.join("\0")));
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
    throw await unreadable(path, e);
  }
  const h = await incrementalSha256();
  // One buffer, read into again and again: a stream's fresh chunk per read left the whole
  // file's worth of garbage buffers to a collection that an idle thread may never run (the
  // index build waits on another thread after this).
  const buf = new Uint8Array(1 << 20);
  try {
    for (let n; (n = await file.read(buf)) !== null;) h.update(buf.subarray(0, n));
  } catch (e) {
    throw await unreadable(path, e);
  } finally {
    file.close();
  }
  return h.digest();
}

/** The error for a file `path` that could not be read (`lines.ts`, loaded only then). */
async function unreadable(path: string, e: unknown): Promise<InputError> {
  return new InputError(path, (await import("./lines.ts")).inputReason(e));
}

/**
 * Passes a stream through unchanged while hashing it (for inputs read once, like stdin);
 * `digest()` is valid once the stream has been read to its end.
 *
 * @example
 * ```ts
 * import { hashedStream } from "./sha.ts";
 * import assert from "node:assert/strict";
 * const h = await hashedStream(ReadableStream.from([new TextEncoder().encode("abc")]));
 * for await (const chunk of h.stream) assert.equal(chunk.length, 3);
 * assert.equal(h.digest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export async function hashedStream(
  stream: ReadableStream<Uint8Array>,
): Promise<{ stream: ReadableStream<Uint8Array>; digest(): string }> {
  const h = await incrementalSha256();
  let hex: string | undefined;
  const pass = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      h.update(chunk);
      controller.enqueue(chunk);
    },
  });
  return { stream: stream.pipeThrough(pass), digest: () => hex ??= h.digest() };
}
