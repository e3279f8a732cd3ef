/**
 * JSON printed in parts instead of built as one string: {@link jsonParts} yields the text
 * `JSON.stringify` would return, byte for byte, in pieces of about 64 KB, and a
 * {@link HeldJsonArray} inside the value holds an array's elements as their JSON text, deflated
 * in blocks, until it is printed. `compare --json` holds every policy's findings this way for a
 * whole pass (the policies print in order, so none can be printed before the pass ends): on the
 * 1M-event bench trace, 62,500 findings are 25 MB of JSON, which as `Finding` objects plus one
 * output string peaked at 344 MB.
 *
 * @module
 */

import { deflateRawSync, inflateRawSync } from "node:zlib";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Characters of element text deflated together, and of the pieces {@link jsonParts} yields. */
const BLOCK_CHARS = 1 << 16;

/**
 * An array whose elements are kept as JSON text, deflated (`node:zlib`, level 1) every
 * `blockChars` characters; {@link jsonParts} prints it where it stands in a value. Each text is
 * `JSON.stringify`'s, which is well-formed UTF-16 (lone surrogates come out escaped), so it
 * survives the round trip through UTF-8.
 *
 * @example
 * ```ts
 * import { HeldJsonArray, jsonParts } from "./json_parts.ts";
 * import assert from "node:assert/strict";
 * const a = new HeldJsonArray();
 * a.push({ seq: 1 });
 * a.push("two");
 * assert.equal(a.length, 2);
 * assert.equal([...jsonParts({ findings: a })].join(""), '{"findings":[{"seq":1},"two"]}');
 * ```
 */
export class HeldJsonArray {
  #blocks: Uint8Array[] = [];
  #pending: string[] = [];
  #pendingChars = 0;
  #length = 0;
  readonly #blockChars: number;

  /** An empty array; `blockChars` is for tests (default 64 K). */
  constructor(blockChars: number = BLOCK_CHARS) {
    this.#blockChars = blockChars;
  }

  /** Number of elements. */
  get length(): number {
    return this.#length;
  }

  /** Appends `value` (anything `JSON.stringify` turns into text). */
  push(value: unknown): void {
    const text = JSON.stringify(value) ?? "null";
    this.#pending.push(text);
    this.#pendingChars += text.length + 1;
    this.#length++;
    if (this.#pendingChars >= this.#blockChars) this.#deflate();
  }

  #deflate(): void {
    this.#blocks.push(deflateRawSync(encoder.encode(this.#pending.join(",")), { level: 1 }));
    this.#pending = [];
    this.#pendingChars = 0;
  }

  /** The array's JSON text in pieces: `[`, each block of elements, `]`. */
  *parts(): Generator<string> {
    yield "[";
    let first = true;
    for (const b of this.#blocks) {
      yield (first ? "" : ",") + decoder.decode(inflateRawSync(b));
      first = false;
    }
    if (this.#pending.length > 0) yield (first ? "" : ",") + this.#pending.join(",");
    yield "]";
  }
}

// Objects JSON.stringify writes key by key or element by element (no prototype of their own,
// no toJSON), which pieces() may walk the same way.
function walkable(v: unknown): v is Record<string, unknown> | unknown[] {
  if (v === null || typeof v !== "object") return false;
  if (typeof (v as { toJSON?: unknown }).toJSON === "function") return false;
  const proto = Object.getPrototypeOf(v);
  return Array.isArray(v)
    ? proto === Array.prototype
    : proto === Object.prototype || proto === null;
}

// What JSON.stringify leaves out of an object, and writes as null in an array.
function textless(v: unknown): boolean {
  return v === undefined || typeof v === "function" || typeof v === "symbol";
}

function* pieces(value: unknown): Generator<string> {
  if (value instanceof HeldJsonArray) {
    yield* value.parts();
  } else if (!walkable(value)) {
    yield JSON.stringify(value);
  } else if (Array.isArray(value)) {
    yield "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ",";
      if (textless(value[i])) yield "null";
      else yield* pieces(value[i]);
    }
    yield "]";
  } else {
    yield "{";
    let first = true;
    for (const [k, v] of Object.entries(value)) {
      if (textless(v)) continue;
      yield (first ? "" : ",") + JSON.stringify(k) + ":";
      first = false;
      yield* pieces(v);
    }
    yield "}";
  }
}

/**
 * The JSON text of `value`, as `JSON.stringify(value)` without a replacer or indent would give
 * it, in pieces of about 64 KB (a {@link HeldJsonArray}'s blocks may be larger), for printing
 * one after the other without building the whole text. Plain objects and arrays are walked;
 * everything else (numbers, strings, objects with a prototype or `toJSON`) is
 * `JSON.stringify`'s. `value` must have a JSON text (not `undefined`, a function or a symbol).
 *
 * @example
 * ```ts
 * import { jsonParts } from "./json_parts.ts";
 * import assert from "node:assert/strict";
 * const v = { a: [1, undefined, "x"], b: undefined, c: { d: null } };
 * assert.equal([...jsonParts(v)].join(""), JSON.stringify(v));
 * ```
 */
export function* jsonParts(value: unknown): Generator<string> {
  let out = "";
  for (const p of pieces(value)) {
    out += p;
    if (out.length >= BLOCK_CHARS) {
      yield out;
      out = "";
    }
  }
  if (out !== "") yield out;
}
