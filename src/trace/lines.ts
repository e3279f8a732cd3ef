/**
 * Byte streams to lines, in batches, in constant memory. Gzip input is detected by its magic
 * bytes (so `.jsonl.gz` files and gzipped stdin both work). CRLF endings are accepted. The last
 * line is reported with `terminated: false` when the stream did not end with a newline, so the
 * trace reader can tell a cut-off recording from a complete one.
 *
 * @module
 */

import { InputError } from "../errors.ts";

/** Longest line accepted (a `p2m_dump` event can be long; 256 MiB is still bounded). */
export const MAX_LINE_BYTES = 256 * 1024 * 1024;

/** A batch of consecutive lines. */
export interface LineBatch {
  /** The lines, without their line terminators. */
  lines: string[];
  /** 1-based number of `lines[0]`. */
  firstLine: number;
  /** False only for a final line that had no newline. */
  terminated: boolean;
}

/**
 * Opens a file path, or `-` for standard input, as a byte stream. Reading a file needs read
 * permission for that file only; stdin needs none.
 *
 * @example
 * ```ts ignore
 * import { openInput } from "./lines.ts";
 * const stream = await openInput("traces/pcie-bar-above-e820.jsonl");
 * ```
 */
export async function openInput(
  path: string,
  stdin: ReadableStream<Uint8Array> = Deno.stdin.readable,
): Promise<ReadableStream<Uint8Array>> {
  if (path === "-") return stdin;
  try {
    const file = await Deno.open(path, { read: true });
    return file.readable;
  } catch (e) {
    throw new InputError(path, inputReason(e));
  }
}

/** A short reason for an open/read failure, without a stack trace. */
export function inputReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    return "permission denied (run with --allow-read for this file)";
  }
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  return e instanceof Error ? e.message : String(e);
}

/** Wraps `stream` in a gzip decompressor when its first two bytes are the gzip magic. */
export async function maybeGunzip(
  stream: ReadableStream<Uint8Array>,
  name = "-",
): Promise<ReadableStream<Uint8Array>> {
  const reader = stream.getReader();
  let first: ReadableStreamReadResult<Uint8Array>;
  try {
    first = await reader.read();
  } catch (e) {
    throw new InputError(name, inputReason(e));
  }
  const head = first.done ? new Uint8Array(0) : first.value;
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length > 0) controller.enqueue(head);
    },
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    return rest.pipeThrough(
      new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
    );
  }
  return rest;
}

/**
 * Splits a byte stream into batches of lines. Memory is bounded by the chunk size plus the
 * longest line; a line longer than {@link MAX_LINE_BYTES} is an error.
 *
 * @example
 * ```ts
 * import { readLineBatches } from "./lines.ts";
 * import assert from "node:assert/strict";
 * const bytes = new TextEncoder().encode("a\r\nb\nc");
 * const out = [];
 * for await (const b of readLineBatches("x", ReadableStream.from([bytes]))) out.push(b);
 * assert.deepEqual(out, [
 *   { lines: ["a", "b"], firstLine: 1, terminated: true },
 *   { lines: ["c"], firstLine: 3, terminated: false },
 * ]);
 * ```
 */
export async function* readLineBatches(
  name: string,
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<LineBatch> {
  const decoder = new TextDecoder();
  // The unterminated tail, in pieces: joined once when its newline arrives, so a long line
  // costs O(its length), not a copy per chunk.
  const tail: string[] = [];
  let tailLength = 0;
  let lineNo = 1;
  try {
    for await (const chunk of stream) {
      const text = decoder.decode(chunk, { stream: true });
      const lastNl = text.lastIndexOf("\n");
      if (lastNl < 0) {
        tail.push(text);
        tailLength += text.length;
        if (tailLength > MAX_LINE_BYTES) {
          throw new InputError(name, `line ${lineNo} is longer than ${MAX_LINE_BYTES} bytes`);
        }
        continue;
      }
      let head = text.slice(0, lastNl);
      if (tail.length > 0) {
        tail.push(head);
        head = tail.join("");
        tail.length = 0;
      }
      tailLength = text.length - lastNl - 1;
      if (tailLength > 0) tail.push(text.slice(lastNl + 1));
      const lines = head.split("\n");
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i];
        if (l.length > 0 && l.charCodeAt(l.length - 1) === 13) lines[i] = l.slice(0, -1);
      }
      yield { lines, firstLine: lineNo, terminated: true };
      lineNo += lines.length;
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(name, `read failed at line ${lineNo}: ${errorText(e)}`);
  }
  tail.push(decoder.decode());
  const last = tail.join("");
  if (last.length > 0) {
    const l = last.charCodeAt(last.length - 1) === 13 ? last.slice(0, -1) : last;
    yield { lines: [l], firstLine: lineNo, terminated: false };
  }
}

function errorText(e: unknown): string {
  if (e instanceof TypeError && /gzip|deflate|compress/i.test(e.message)) {
    return "corrupt or truncated gzip data";
  }
  return e instanceof Error ? e.message : String(e);
}
