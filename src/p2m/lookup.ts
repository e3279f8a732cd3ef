/**
 * What a lookup of a PFN gives, on every path a driver uses (p2m-semantics.md section 2):
 * the raw entry (`get_phys_to_machine`), `pfn_to_mfn`, the PTE a `pfn_pte` mapping gets
 * (INVALID makes the whole PTE 0 — the "bus address 0" of the 2013 thread), and
 * `phys_to_machine` (a machine/bus address, all ones for INVALID). Pure functions of a table.
 *
 * @module
 */

import { FOREIGN_FRAME_BIT, IDENTITY_FRAME_BIT, INVALID_P2M_ENTRY } from "./constants.ts";
import { K } from "./leaf_runs.ts";
import type { P2m, Structure } from "./table.ts";

/** Entry kind names, as reports and JSON print them. */
export const KIND_NAME: readonly string[] = [
  "invalid",
  "identity",
  "mfn",
  "mfn",
  "scratch",
  "foreign",
];

/** How the guest resolves frames. */
export interface LookupContext {
  /** Auto-translated guests (HVM, PVH) never consult the P2M: every lookup answers the PFN. */
  autoTranslated: boolean;
  /** dom0 (matters for `_PAGE_IOMAP` below 1 MiB). */
  dom0: boolean;
  /** The kernel honours `_PAGE_IOMAP` (v3.17 and earlier). */
  pageIomap: boolean;
  /** Policy `invalid-is-identity`: every INVALID answer becomes identity. */
  invalidIsIdentity: boolean;
}

/** A complete answer for one PFN. */
export interface LookupResult {
  /** The PFN. */
  pfn: number;
  /** Entry kind ({@link K}) after policy overrides. */
  kind: number;
  /** MFN for mapped kinds (-1: valid but not recorded), else 0. */
  mfn: number;
  /** Which structure answered. */
  structure: Structure | "auto-translated";
  /** The raw 64-bit entry; undefined when the MFN was not recorded. */
  raw: bigint | undefined;
  /** `pfn_to_mfn`: undefined when not recorded. */
  pfnToMfn: bigint | undefined;
  /** The frame a PTE built by `pfn_pte` points at; 0n with the whole PTE 0 for INVALID. */
  pte: bigint | undefined;
  /** True when a PTE for this PFN is the value 0 (not present, frame 0). */
  pteZero: boolean;
  /** Why the answer is what it is, in one sentence. */
  reason: string;
}

const REASON: Record<Structure, string> = {
  "private-leaf": "stored in a private p2m leaf",
  "identity-leaf": "the leaf is the shared identity page: every PFN in it is 1:1",
  "missing-leaf": "the leaf is the shared missing page: INVALID",
  "mid-missing": "the GiB points at the shared mid-missing page: INVALID",
  "mid-identity": "the GiB points at the shared mid-identity page: 1:1 (v3.16+)",
  "outside-tree": "outside the 3-level tree (pfn >= MAX_P2M_PFN)",
  "beyond-list": "beyond the p2m list: 1:1 unless extra memory",
};

/**
 * Looks `pfn` up in `table` under `ctx`.
 *
 * @example
 * ```ts
 * import { P2m } from "./table.ts";
 * import { lookup } from "./lookup.ts";
 * import assert from "node:assert/strict";
 * const ctx = { autoTranslated: false, dom0: true, pageIomap: false, invalidIsIdentity: false };
 * const r = lookup(P2m.build("T12", 0x40000), 0x3c0000, ctx); // a BAR above RAM
 * assert.equal(r.pteZero, true);
 * assert.equal(r.pfnToMfn, 0xffffffffffffffffn);
 * ```
 */
export function lookup(table: P2m, pfn: number, ctx: LookupContext): LookupResult {
  if (ctx.autoTranslated) {
    const p = BigInt(pfn);
    return {
      pfn,
      kind: K.IDENTITY,
      mfn: 0,
      structure: "auto-translated",
      raw: p,
      pfnToMfn: p,
      pte: p,
      pteZero: false,
      reason: "auto-translated guest (HVM/PVH): the P2M is not consulted, the frame is the PFN",
    };
  }
  let [kind, mfn] = table.entry(pfn);
  const structure = table.structureAt(pfn);
  let reason = REASON[structure];
  if (kind === K.INVALID && ctx.invalidIsIdentity) {
    kind = K.IDENTITY;
    reason += "; invalid-is-identity answers 1:1";
  }
  const r = answer(pfn, kind, mfn);
  return { pfn, kind, mfn, structure, ...r, reason };
}

/** The three values of a lookup from the entry kind and frame. */
export function answer(
  pfn: number,
  kind: number,
  mfn: number,
): {
  raw: bigint | undefined;
  pfnToMfn: bigint | undefined;
  pte: bigint | undefined;
  pteZero: boolean;
} {
  const p = BigInt(pfn);
  switch (kind) {
    case K.INVALID:
      return { raw: INVALID_P2M_ENTRY, pfnToMfn: INVALID_P2M_ENTRY, pte: 0n, pteZero: true };
    case K.IDENTITY:
      return { raw: p | IDENTITY_FRAME_BIT, pfnToMfn: p, pte: p, pteZero: false };
    case K.FOREIGN: {
      const m = BigInt(mfn);
      return { raw: m | FOREIGN_FRAME_BIT, pfnToMfn: m, pte: m, pteZero: false };
    }
    default: {
      if (mfn < 0 || kind === K.MFN_UNKNOWN) {
        return { raw: undefined, pfnToMfn: undefined, pte: undefined, pteZero: false };
      }
      const m = BigInt(mfn);
      return { raw: m, pfnToMfn: m, pte: m, pteZero: false };
    }
  }
}

/**
 * `phys_to_machine(addr)`: `PFN_PHYS(pfn_to_mfn(pfn)) | offset`, truncated to 64 bits. For an
 * INVALID PFN this is `0xfffffffffffff000 | offset`, not 0.
 *
 * @example
 * ```ts
 * import { physToMachine } from "./lookup.ts";
 * import assert from "node:assert/strict";
 * assert.equal(physToMachine(0xffffffffffffffffn, 0x10), 0xfffffffffffff010n);
 * ```
 */
export function physToMachine(pfnToMfn: bigint, offset: number): bigint {
  return ((pfnToMfn << 12n) & 0xffffffffffffffffn) | BigInt(offset);
}

/**
 * The value a recorded lookup on path `via` should have observed, or undefined when the model
 * cannot know it (an unrecorded MFN). `iomap` PTEs bypass the P2M where the kernel honours
 * `_PAGE_IOMAP` (dom0, or any address at or above 1 MiB).
 *
 * @example
 * ```ts
 * import { expectedObservation } from "./lookup.ts";
 * import assert from "node:assert/strict";
 * const r = { pfn: 0x3c0000, raw: 0xffffffffffffffffn, pfnToMfn: 0xffffffffffffffffn, pte: 0n };
 * assert.equal(expectedObservation(r, "pte", 0, false, false), 0n);
 * ```
 */
export function expectedObservation(
  r: Pick<LookupResult, "pfn" | "raw" | "pfnToMfn" | "pte">,
  via: "pte" | "pfn_to_mfn" | "get_phys_to_machine" | "phys_to_machine",
  offset: number,
  iomap: boolean,
  iomapBypass: boolean,
): bigint | undefined {
  switch (via) {
    case "pte":
      return iomap && iomapBypass ? BigInt(r.pfn) : r.pte;
    case "pfn_to_mfn":
      return r.pfnToMfn;
    case "get_phys_to_machine":
      return r.raw;
    case "phys_to_machine":
      return r.pfnToMfn === undefined ? undefined : physToMachine(r.pfnToMfn, offset);
  }
}
