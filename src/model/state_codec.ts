/**
 * A {@link ModelState} as bytes and back, for the on-disk random-access index
 * (`src/replay/trace_index.ts`). The P2M is written page by page ({@link p2mPages}: every
 * distinct page once, pointers as indices, so pages shared between slots stay shared) as
 * zigzag LEB128 integers; the rest of the state (E820 map, boot report, PFN sets, devices,
 * bridges, grants) as JSON. Guest facts, policy and lookup context are not written: they come
 * from the trace header and the policy the index is keyed by.
 *
 * Layout: `u32 p2mBytes`, the P2M's integers, then the JSON text (UTF-8). A state of the 1M-event
 * bench trace (about 2,200 private leaves, 250k run numbers) takes about 0.7 MB.
 *
 * Exactness: {@link decodeState} of {@link encodeState} answers every lookup, report and later
 * step exactly as the original (`state_codec_test.ts` replays both at every step). A number
 * that is not a safe integer where the P2M holds integers is an `InvariantError`, never a
 * rounded value.
 *
 * @module
 */

import type { GuestFacts } from "../trace/event.ts";
import type { Policy } from "./policy.ts";
import { initialState, type ModelState } from "./state.ts";
import { type Era, p2mFromPages, type P2mPages, p2mPages } from "../p2m/table.ts";
import { PfnSet } from "../p2m/pfn_set.ts";
import { InvariantError } from "../errors.ts";

const ERAS: readonly Era[] = ["T12", "T16", "L19"];

/** A byte buffer of zigzag LEB128 integers, grown by doubling. */
class IntWriter {
  buf = new Uint8Array(1 << 16);
  n = 0;

  int(v: number): void {
    if (!Number.isSafeInteger(v)) throw new InvariantError(`state codec: ${v} is not an integer`);
    let z = v >= 0 ? v * 2 : -v * 2 - 1;
    if (this.n + 8 > this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf);
      this.buf = b;
    }
    while (z >= 128) {
      this.buf[this.n++] = (z % 128) | 128;
      z = Math.floor(z / 128);
    }
    this.buf[this.n++] = z;
  }

  ints(vs: readonly number[]): void {
    this.int(vs.length);
    for (let i = 0; i < vs.length; i++) this.int(vs[i]);
  }
}

/** Reads what {@link IntWriter} wrote; running past the end is an `InvariantError`. */
class IntReader {
  #buf: Uint8Array;
  #end: number;
  pos: number;

  constructor(buf: Uint8Array, from: number, end: number) {
    this.#buf = buf;
    this.pos = from;
    this.#end = end;
  }

  int(): number {
    let z = 0, scale = 1;
    for (;;) {
      if (this.pos >= this.#end || scale > 2 ** 56) {
        throw new InvariantError("state codec: the P2M's integers end early");
      }
      const b = this.#buf[this.pos++];
      z += (b & 127) * scale;
      if (b < 128) break;
      scale *= 128;
    }
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  ints(): number[] {
    const n = this.count();
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.int();
    return out;
  }

  count(): number {
    const n = this.int();
    if (n < 0 || n > this.#end - this.pos) {
      throw new InvariantError(`state codec: a count of ${n} runs past the end`);
    }
    return n;
  }
}

/**
 * The bytes of `s` (its guest facts and policy excepted).
 *
 * @example
 * ```ts
 * import { decodeState, encodeState } from "./state_codec.ts";
 * import { initialState } from "./state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const guest = { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 } as const;
 * const policy = resolvePolicy(POLICIES, "linux-3.16");
 * const s = initialState(guest, policy);
 * const back = decodeState(encodeState(s), guest, policy);
 * assert.deepEqual(back.p2m.entry(0x100), s.p2m.entry(0x100));
 * assert.equal(back.maxPfn, s.maxPfn);
 * ```
 */
export function encodeState(s: ModelState): Uint8Array {
  const p = p2mPages(s.p2m);
  const w = new IntWriter();
  w.int(ERAS.indexOf(p.era));
  w.int(p.limit);
  w.int(p.maxPfn);
  w.ints(p.extra);
  w.int(p.acct.brkUsed);
  w.int(p.acct.brkReserved);
  w.int(p.acct.runtimePages);
  w.int(p.leaves.length);
  for (const runs of p.leaves) w.ints(runs);
  w.int(p.mids.length);
  for (const slots of p.mids) w.ints(slots);
  w.ints(p.midMissing);
  w.ints(p.top);
  const json = new TextEncoder().encode(JSON.stringify({
    e820: s.e820,
    boot: s.boot ?? null,
    maxPfn: s.maxPfn,
    extra: s.extra.toArray(),
    balloon: s.balloon.toArray(),
    balloonStarted: s.balloonStarted,
    hotplug: s.hotplug.toArray(),
    devices: [...s.devices.values()],
    bridges: [...s.bridges.entries()],
    grants: s.grants,
  }));
  const out = new Uint8Array(4 + w.n + json.length);
  new DataView(out.buffer).setUint32(0, w.n, true);
  out.set(w.buf.subarray(0, w.n), 4);
  out.set(json, 4 + w.n);
  return out;
}

/**
 * The state {@link encodeState} wrote, for the trace whose header gave `guest` and the
 * policy `policy`. Bytes that do not decode are an `InvariantError` (the index checks its
 * checksums first, so this means a bug, not a damaged file).
 *
 * @example
 * ```ts
 * import { decodeState } from "./state_codec.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const guest = { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 1 } as const;
 * assert.throws(() => decodeState(new Uint8Array(4), guest, resolvePolicy(POLICIES, "linux-3.12")));
 * ```
 */
export function decodeState(bytes: Uint8Array, guest: GuestFacts, policy: Policy): ModelState {
  if (bytes.length < 4) throw new InvariantError("state codec: fewer than 4 bytes");
  const p2mEnd = 4 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  if (p2mEnd > bytes.length) throw new InvariantError("state codec: the P2M runs past the end");
  const r = new IntReader(bytes, 4, p2mEnd);
  const era = ERAS[r.int()];
  if (era === undefined) throw new InvariantError("state codec: unknown era");
  const pages: P2mPages = {
    era,
    limit: r.int(),
    maxPfn: r.int(),
    extra: r.ints(),
    acct: { brkUsed: r.int(), brkReserved: r.int(), runtimePages: r.int() },
    leaves: [],
    mids: [],
    midMissing: [],
    top: [],
  };
  for (let n = r.count(), i = 0; i < n; i++) pages.leaves.push(r.ints());
  for (let n = r.count(), i = 0; i < n; i++) pages.mids.push(r.ints());
  pages.midMissing = r.ints();
  pages.top = r.ints();
  if (r.pos !== p2mEnd) throw new InvariantError("state codec: bytes left after the P2M");
  const o = JSON.parse(new TextDecoder().decode(bytes.subarray(p2mEnd)));
  const base = initialState(guest, policy);
  return {
    guest,
    policy,
    ctx: base.ctx,
    p2m: p2mFromPages(pages),
    e820: o.e820,
    boot: o.boot ?? undefined,
    maxPfn: o.maxPfn,
    extra: PfnSet.of(o.extra),
    balloon: PfnSet.of(o.balloon),
    balloonStarted: o.balloonStarted,
    hotplug: PfnSet.of(o.hotplug),
    devices: new Map(o.devices.map((d: { device: string }) => [d.device, d])),
    bridges: new Map(o.bridges),
    grants: o.grants,
  };
}

/**
 * A list of integers as zigzag LEB128 bytes (the P2M's encoding, for other index blocks).
 *
 * @example
 * ```ts
 * import { decodeInts, encodeInts } from "./state_codec.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(decodeInts(encodeInts([0, -1, 2 ** 40, 511])), [0, -1, 2 ** 40, 511]);
 * ```
 */
export function encodeInts(vs: readonly number[]): Uint8Array {
  const w = new IntWriter();
  w.ints(vs);
  return w.buf.slice(0, w.n);
}

/**
 * The integers {@link encodeInts} wrote; other bytes are an `InvariantError`.
 *
 * @example
 * ```ts
 * import { decodeInts } from "./state_codec.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => decodeInts(Uint8Array.of(4, 1)), /runs past the end|end early/);
 * ```
 */
export function decodeInts(bytes: Uint8Array): number[] {
  const r = new IntReader(bytes, 0, bytes.length);
  const out = r.ints();
  if (r.pos !== bytes.length) throw new InvariantError("state codec: bytes left after a list");
  return out;
}
