/**
 * A {@link ModelState} as bytes and back, for the on-disk random-access index
 * (`src/replay/trace_index.ts`): one JSON text (UTF-8) of the P2M's pages ({@link p2mPages}:
 * every distinct page once, pointers as indices, so pages shared between slots stay shared)
 * and the rest of the state (E820 map, boot report, PFN sets, devices, bridges, grants). Guest
 * facts, policy and lookup context are not written: they come from the trace header and the
 * policy the index is keyed by.
 *
 * JSON, not a compact binary encoding: a cached answer decodes one state in a fresh process,
 * where code has not been optimised yet, and `JSON.parse` (native) builds the P2M's 250k
 * run numbers of a 1M-event state in about a third of the CPU time a zigzag LEB128 decoder
 * needed (12 against 30-40 ms), for about twice the bytes (0.8 MB against 0.44 MB).
 *
 * A state can be written against an earlier one (its base): the P2M leaves they share are
 * then references into the base's leaves, so a state a few thousand events after a whole one
 * costs a sixth of its bytes.
 *
 * Exactness: {@link decodeState} of {@link encodeState} answers every lookup, report and later
 * step exactly as the original (`state_codec_test.ts` replays both at every step). A number
 * that is not a safe integer where the P2M holds integers is an `InvariantError` when encoded,
 * never a rounded value.
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

function checkInts(vs: readonly number[]): readonly number[] {
  for (let i = 0; i < vs.length; i++) {
    if (!Number.isSafeInteger(vs[i])) {
      throw new InvariantError(`state codec: ${vs[i]} is not an integer`);
    }
  }
  return vs;
}

function ints(v: unknown): number[] {
  if (!Array.isArray(v)) throw new InvariantError("state codec: a list of the P2M is missing");
  return v;
}

/**
 * The bytes of `s` (its guest facts and policy excepted). With `base` (the P2M pages of an
 * earlier state of the same trace, as `p2mPages` gave them) the leaves `s` shares with it
 * are written as references, not again: {@link decodeState} then needs the base's bytes.
 * `p`: the pages of `s` against `base`, when the caller has them already.
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
export function encodeState(
  s: ModelState,
  base?: P2mPages,
  p: P2mPages = p2mPages(s.p2m, base),
): Uint8Array {
  const head = JSON.stringify({
    era: ERAS.indexOf(p.era),
    base: p.base,
    limit: checkInts([p.limit])[0],
    maxPfn: checkInts([p.maxPfn])[0],
    extra: checkInts(p.extra),
    acct: checkInts([p.acct.brkUsed, p.acct.brkReserved, p.acct.runtimePages]),
  });
  const rest = JSON.stringify({
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
  });
  // {"p2m":{head..., "leaves":[...], "mids", "midMissing", "top"}, rest...}: each leaf's
  // bytes are made once for every state that shares the leaf (tables are persistent: a
  // frozen leaf never changes), and copied.
  const parts: Uint8Array[] = [ENC.encode(`{"p2m":${head.slice(0, -1)},"leaves":[`)];
  p.leaves.forEach((runs, i) => {
    const bytes = leafBytes(runs);
    parts.push(i > 0 ? bytes : bytes.subarray(1));
  });
  parts.push(ENC.encode(
    `],"mids":${JSON.stringify(p.mids.map(checkInts))},"midMissing":${
      JSON.stringify(checkInts(p.midMissing))
    },"top":${JSON.stringify(checkInts(p.top))}},${rest.slice(1)}`,
  ));
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  parts.reduce((at, b) => (out.set(b, at), at + b.length), 0);
  return out;
}

// deno-lint-ignore no-explicit-any
function parse(bytes: Uint8Array): any {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InvariantError(`state codec: ${e instanceof Error ? e.message : e}`);
  }
}

const ENC = new TextEncoder();
const leafBytesOf = new WeakMap<readonly number[], Uint8Array>();

/** A comma and the JSON bytes of a frozen leaf's runs, made once per leaf. */
function leafBytes(runs: readonly number[]): Uint8Array {
  let bytes = leafBytesOf.get(runs);
  if (bytes === undefined) {
    leafBytesOf.set(runs, bytes = ENC.encode("," + JSON.stringify(checkInts(runs))));
  }
  return bytes;
}

/**
 * The state {@link encodeState} wrote, for the trace whose header gave `guest` and the
 * policy `policy` (`against`: the bytes of the state it was written against, if any). Bytes that do not decode are an `InvariantError` (the index checks its
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
export function decodeState(
  bytes: Uint8Array,
  guest: GuestFacts,
  policy: Policy,
  against?: Uint8Array,
): ModelState {
  const o = parse(bytes);
  const p = o?.p2m;
  let baseLeaves: number[][] = [];
  if (against !== undefined) {
    const b = parse(against)?.p2m;
    if (b?.base !== 0) throw new InvariantError("state codec: the base is not a whole state");
    baseLeaves = ints(b.leaves).map(ints);
  }
  const era = ERAS[p?.era];
  if (era === undefined) throw new InvariantError("state codec: unknown era");
  const acct = ints(p.acct);
  const pages: P2mPages = {
    era,
    limit: p.limit,
    maxPfn: p.maxPfn,
    extra: ints(p.extra),
    acct: { brkUsed: acct[0], brkReserved: acct[1], runtimePages: acct[2] },
    leaves: ints(p.leaves).map(ints),
    base: p.base,
    mids: ints(p.mids).map(ints),
    midMissing: ints(p.midMissing),
    top: ints(p.top),
  };
  const base = initialState(guest, policy);
  return {
    guest,
    policy,
    ctx: base.ctx,
    p2m: p2mFromPages(pages, baseLeaves),
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
