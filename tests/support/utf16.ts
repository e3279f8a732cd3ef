/**
 * A log as a Windows tool writes it: UTF-16 code units, little or big endian, with or without a
 * byte-order mark. For tests of the importer's encoding detection.
 *
 * @module
 */

/**
 * `text` as UTF-16 bytes, each code unit in the given byte order, after a BOM when `bom`.
 *
 * @example
 * ```ts
 * import { utf16 } from "./utf16.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual([...utf16("A", true, true)], [0xff, 0xfe, 0x41, 0x00]);
 * assert.deepEqual([...utf16("A", false, false)], [0x00, 0x41]);
 * ```
 */
export function utf16(text: string, little: boolean, bom: boolean): Uint8Array {
  const units = (bom ? "\ufeff" : "") + text;
  const out = new Uint8Array(units.length * 2);
  for (let i = 0; i < units.length; i++) {
    const c = units.charCodeAt(i);
    out[2 * i + (little ? 0 : 1)] = c & 0xff;
    out[2 * i + (little ? 1 : 0)] = c >> 8;
  }
  return out;
}
