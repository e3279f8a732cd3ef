/**
 * Numbers in traces: byte addresses, PFNs and MFNs are written as `"0x..."` hex strings (plain
 * JSON integers are accepted below 2^53) and held as plain numbers inside. Every parser bounds
 * the value before converting it, so a hostile 10,000-digit string costs nothing.
 *
 * @module
 */

/** Physical address width of x86_64 (MAXPHYADDR): byte addresses are below 2^52. */
export const ADDR_LIMIT = 2 ** 52;
/** Frame numbers (PFN, MFN) of 4 KiB pages are below 2^40. */
export const FRAME_LIMIT = 2 ** 40;

const HEX = /^0[xX][0-9a-fA-F]{1,16}$/;

/**
 * Parses a JSON value that holds an unsigned integer: a `"0x..."` string or a safe integer.
 * Returns undefined when the value is not of that shape or is not below `limit`.
 *
 * @example
 * ```ts
 * import { parseUint } from "./hex.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseUint("0x3c0000000", 2 ** 52), 0x3c0000000);
 * assert.equal(parseUint(4096, 2 ** 52), 4096);
 * assert.equal(parseUint("0x10000000000000", 2 ** 52), undefined);
 * ```
 */
export function parseUint(value: unknown, limit: number): number | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 && value < limit ? value : undefined;
  }
  if (typeof value !== "string" || !HEX.test(value)) return undefined;
  const digits = value.length - 2;
  if (digits > 14) {
    // Still reject quietly: more than 56 bits cannot be below any limit we use.
    const big = BigInt(value);
    return big < BigInt(limit) ? Number(big) : undefined;
  }
  const n = parseInt(value.slice(2), 16);
  return n < limit ? n : undefined;
}

/**
 * Parses a 64-bit raw value (a recorded p2m entry or PTE, which may have the top bits set) as a
 * bigint. Accepts `"0x..."` strings of up to 16 digits and safe integers.
 *
 * @example
 * ```ts
 * import { parseU64 } from "./hex.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseU64("0xffffffffffffffff"), 0xffffffffffffffffn);
 * assert.equal(parseU64("12"), undefined);
 * ```
 */
export function parseU64(value: unknown): bigint | undefined {
  if (typeof value === "number") {
    return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  }
  if (typeof value !== "string" || !HEX.test(value)) return undefined;
  return BigInt(value);
}

/**
 * Formats an unsigned integer as lower-case `0x` hex, the way the trace format and the kernel
 * print frame numbers.
 *
 * @example
 * ```ts
 * import { hex } from "./hex.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hex(0x3c0000), "0x3c0000");
 * assert.equal(hex(0xffffffffffffffffn), "0xffffffffffffffff");
 * ```
 */
export function hex(n: number | bigint): string {
  return "0x" + n.toString(16);
}
