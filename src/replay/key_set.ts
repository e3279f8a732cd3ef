/**
 * The set of finding keys a replayer has reported, so that it reports each finding once. On a
 * long trace it holds one key per finding ever reported (a balloon that keeps writing into the
 * shared identity page gives a `lost-write:PFN:END` key a step), so it is built to stay small:
 * keys whose characters all fit in one byte (every key the detectors build from numbers and
 * ids) are copied into one growing byte buffer and found through an open-addressing table of
 * offsets into it, so a key costs its length plus a few bytes, outside the JavaScript heap the
 * garbage collector walks and sizes itself by. A key with a wider character (a device name from
 * the trace may hold any) goes to a plain `Set`. Membership is exact either way: two keys are
 * the same only when every character is.
 *
 * | operation | cost |
 * | --- | --- |
 * | `add`, `has` | O(key length), amortised (the table doubles at half full) |
 *
 * @module
 */

// An entry in the buffer: its length (one byte below 255, else 255 and four bytes), then its
// characters, one byte each.
const LONG = 255;

/**
 * A set of strings, compact for one-byte keys.
 *
 * @example
 * ```ts
 * import { KeySet } from "./key_set.ts";
 * import assert from "node:assert/strict";
 * const seen = new KeySet();
 * assert.equal(seen.add("lost-write:4096:4104"), true);
 * assert.equal(seen.add("lost-write:4096:4104"), false);
 * assert.equal(seen.has("lost-write:4096:4105"), false);
 * assert.equal(seen.add("lookup-zero:0000:01:00.0 \u2603"), true);
 * assert.equal(seen.size, 2);
 * ```
 */
export class KeySet {
  #bytes = new Uint8Array(4096);
  #used = 0;
  // 0 for an empty slot, else the entry's offset in #bytes plus one.
  #slots = new Int32Array(256);
  #count = 0;
  #wide = new Set<string>();

  /** Keys held. */
  get size(): number {
    return this.#count + this.#wide.size;
  }

  /** True when `key` was added before. */
  has(key: string): boolean {
    if (!narrow(key)) return this.#wide.has(key);
    return this.#slots[this.#find(key, hash(key))] !== 0;
  }

  /** Adds `key`; true when it was not held before. */
  add(key: string): boolean {
    if (!narrow(key)) {
      if (this.#wide.has(key)) return false;
      this.#wide.add(key);
      return true;
    }
    const h = hash(key);
    let slot = this.#find(key, h);
    if (this.#slots[slot] !== 0) return false;
    if ((this.#count + 1) * 2 > this.#slots.length) {
      this.#grow();
      slot = this.#find(key, h);
    }
    this.#slots[slot] = this.#store(key) + 1;
    this.#count++;
    return true;
  }

  // The slot holding `key`, or the empty slot where it would go.
  #find(key: string, h: number): number {
    const slots = this.#slots;
    const mask = slots.length - 1;
    for (let i = h & mask;; i = (i + 1) & mask) {
      const s = slots[i];
      if (s === 0 || this.#equals(s - 1, key)) return i;
    }
  }

  #equals(at: number, key: string): boolean {
    const b = this.#bytes;
    let n = b[at++];
    if (n === LONG) {
      n = (b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24) >>> 0;
      at += 4;
    }
    if (n !== key.length) return false;
    for (let i = 0; i < n; i++) if (b[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  #store(key: string): number {
    const n = key.length;
    const need = this.#used + n + 5;
    if (need > this.#bytes.length) {
      let size = this.#bytes.length * 2;
      while (size < need) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = bigger;
    }
    const b = this.#bytes;
    const at = this.#used;
    let p = at;
    if (n < LONG) b[p++] = n;
    else {
      b[p++] = LONG;
      b[p++] = n & 0xff;
      b[p++] = (n >>> 8) & 0xff;
      b[p++] = (n >>> 16) & 0xff;
      b[p++] = (n >>> 24) & 0xff;
    }
    for (let i = 0; i < n; i++) b[p++] = key.charCodeAt(i);
    this.#used = p;
    return at;
  }

  #grow(): void {
    const old = this.#slots;
    const slots = new Int32Array(old.length * 2);
    const mask = slots.length - 1;
    const b = this.#bytes;
    for (let j = 0; j < old.length; j++) {
      const s = old[j];
      if (s === 0) continue;
      let at = s - 1;
      let n = b[at++];
      if (n === LONG) {
        n = (b[at] | b[at + 1] << 8 | b[at + 2] << 16 | b[at + 3] << 24) >>> 0;
        at += 4;
      }
      let i = hashBytes(b, at, n) & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = s;
    }
    this.#slots = slots;
  }
}

/** True when every character of `key` fits in one byte. */
function narrow(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return false;
  return true;
}

// FNV-1a over the characters (one byte each): the same value from the string and its bytes.
function hash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function hashBytes(b: Uint8Array, at: number, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ b[at + i], 0x01000193);
  return h >>> 0;
}
