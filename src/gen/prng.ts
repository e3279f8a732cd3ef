/**
 * A small seeded pseudo-random generator for the trace and log generators: xoshiro128**
 * (Blackman and Vigna) on 32-bit words, its state filled from the seed by splitmix32. The same
 * seed gives the same sequence on every platform (only 32-bit integer arithmetic through
 * `Math.imul` and `>>>`). Not for cryptography; never `Math.random`.
 *
 * @module
 */

/** splitmix32 step: returns the next state and its output. */
function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [s, (z ^ (z >>> 16)) >>> 0];
}

/**
 * A seeded generator. Seeds are non-negative safe integers; both 32-bit halves are used.
 *
 * @example
 * ```ts
 * import { Prng } from "./prng.ts";
 * import assert from "node:assert/strict";
 * const a = new Prng(42), b = new Prng(42);
 * const xs = [a.u32(), a.u32(), a.int(10)];
 * assert.deepEqual([b.u32(), b.u32(), b.int(10)], xs);
 * assert.ok(xs[2] >= 0 && xs[2] < 10);
 * assert.notEqual(new Prng(43).u32(), new Prng(42).u32());
 * ```
 */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Seeds the generator. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
    }
    let s = (seed % 2 ** 32) ^ Math.floor(seed / 2 ** 32) * 0x27d4eb2d;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(s);
      s = next;
      words.push(out);
    }
    // xoshiro's state must not be all zero; splitmix32 cannot give four zeros, but be sure.
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1;
    [this.#a, this.#b, this.#c, this.#d] = words;
  }

  /** The next 32-bit unsigned integer. */
  u32(): number {
    const b = this.#b;
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return r;
  }

  /** A float in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer in [0, n) for 0 < n <= 2^53. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  /** An index into `weights` drawn with probability proportional to its weight. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.float() * total;
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i];
      if (x < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
