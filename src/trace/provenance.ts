/**
 * How an importer decided the facts of a trace header: the guest type's confidence and the lines
 * that decided it, facts it estimated, E820 entries it rebuilt from other lines, and how much of
 * the log it understood. Hand-written traces carry none of these (everything proven). Replay
 * lowers the confidence of findings that rest on an estimated fact; `summarize` prints them.
 *
 * Header fields (all optional): `guest_confidence` (`"proven"`, `"likely"` or `"guessed"`),
 * `guest_source` (strings), `estimated` (`[{"field", "how"}]`), `reconstructed`
 * (`[{"what", "start", "end", "type", "line", "text"}]`), `relevant_lines` and
 * `unrecognised_lines` (counts), `guest_kernel_lines` (the guest kernel's own lines the log
 * held: 0 for an `xl dmesg`, the hypervisor's lines only), `guest_conflict` (strings: the lines
 * that prove PV and those that prove HVM/PVH, when a log held both); `guest.type` or `guest.domain`
 * `"unknown"` when nothing in the log decided them.
 *
 * @module
 */

import { TraceError } from "../errors.ts";
import { ADDR_LIMIT, parseUint } from "./hex.ts";
import type { SourcePosition } from "../errors.ts";

/** How sure the producer is of the guest type and domain. */
export type GuestConfidence = "proven" | "likely" | "guessed";

/** A header fact the producer estimated rather than read. */
export interface EstimatedFact {
  /** The header field, e.g. `nr_pages` or `guest.nr_pages`. */
  field: string;
  /** How it was estimated, in words. */
  how: string;
}

/** Something the producer rebuilt from indirect lines (an E820 entry from a NUMA line, ...). */
export interface Reconstruction {
  /** What was rebuilt: `e820`. */
  what: string;
  /** First byte, when given. */
  start?: number;
  /** Last byte (inclusive) or end, as given. */
  end?: number;
  /** The entry's type, as given (`ram`, `reserved`, a number). */
  type?: string;
  /** The log line that proves it. */
  line?: number;
  /** That line's text. */
  text?: string;
}

/** The header's account of how its facts were decided. */
export interface Provenance {
  /** `proven` when the header says nothing. */
  guestConfidence: GuestConfidence;
  /** The lines that decided the guest type and domain. */
  guestSource: string[];
  /** `guest.type` is `"unknown"`. */
  typeUnknown: boolean;
  /** `guest.domain` is `"unknown"`. */
  domainUnknown: boolean;
  /** Estimated facts. */
  estimated: EstimatedFact[];
  /** Rebuilt entries. */
  reconstructed: Reconstruction[];
  /** Log lines that looked relevant to the P2M, when counted. */
  relevantLines?: number;
  /** Of those, lines that were not understood. */
  unrecognisedLines?: number;
  /** The guest kernel's own lines in the log, when counted (0: only the hypervisor's). */
  guestKernelLines?: number;
  /**
   * Header `guest_conflict`: the lines that prove the guest PV and those that prove it HVM or
   * PVH, when the log held both (no guest prints both; the type is then `unknown`).
   */
  typeConflict?: string[];
}

/** The provenance of a hand-written trace: every fact proven. */
export const PROVEN: Provenance = Object.freeze({
  guestConfidence: "proven",
  guestSource: [],
  typeUnknown: false,
  domainUnknown: false,
  estimated: [],
  reconstructed: [],
}) as Provenance;

/** Most entries in one provenance list. */
const MAX_ENTRIES = 100_000;

function fail(pos: SourcePosition, field: string, expected: string, got: unknown): never {
  let s: string;
  try {
    s = JSON.stringify(got) ?? String(got);
  } catch {
    s = String(got);
  }
  throw new TraceError(pos, field, expected, s.length > 40 ? s.slice(0, 37) + "..." : s);
}

function list(pos: SourcePosition, obj: Record<string, unknown>, field: string): unknown[] {
  const v = obj[field];
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_ENTRIES) {
    fail(pos, field, `an array of at most ${MAX_ENTRIES} entries`, v);
  }
  return v;
}

function count(pos: SourcePosition, obj: Record<string, unknown>, field: string) {
  const v = obj[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    fail(pos, field, "a count (a non-negative integer)", v);
  }
  return v;
}

/**
 * Reads the provenance fields of a header object (`raw`), validating their shape; `pos` is the
 * header's position for error messages.
 *
 * @example
 * ```ts
 * import { readProvenance } from "./provenance.ts";
 * import assert from "node:assert/strict";
 * const p = readProvenance({ file: "t", line: 1 }, {
 *   guest: { type: "pv", domain: "unknown" },
 *   guest_confidence: "likely",
 *   estimated: [{ field: "nr_pages", how: "end of the last RAM entry" }],
 *   unrecognised_lines: 3,
 * });
 * assert.equal(p.guestConfidence, "likely");
 * assert.equal(p.domainUnknown, true);
 * assert.equal(p.estimated[0].field, "nr_pages");
 * assert.throws(() => readProvenance({ file: "t", line: 1 }, { estimated: "nr_pages" }),
 *   /t:1: field "estimated": expected an array/);
 * ```
 */
export function readProvenance(pos: SourcePosition, raw: Record<string, unknown>): Provenance {
  const guest = raw.guest !== null && typeof raw.guest === "object"
    ? raw.guest as Record<string, unknown>
    : {};
  const confidence = raw.guest_confidence ?? "proven";
  if (confidence !== "proven" && confidence !== "likely" && confidence !== "guessed") {
    fail(pos, "guest_confidence", "one of proven, likely, guessed", confidence);
  }
  const guestSource = list(pos, raw, "guest_source").map((s, i) => {
    if (typeof s !== "string") fail(pos, `guest_source[${i}]`, "a string", s);
    return s;
  });
  const estimated = list(pos, raw, "estimated").map((e, i) => {
    const o = e !== null && typeof e === "object" && !Array.isArray(e)
      ? e as Record<string, unknown>
      : fail(pos, `estimated[${i}]`, 'an object {"field", "how"}', e);
    if (typeof o.field !== "string") fail(pos, `estimated[${i}].field`, "a string", o.field);
    if (typeof o.how !== "string") fail(pos, `estimated[${i}].how`, "a string", o.how);
    return { field: o.field, how: o.how };
  });
  const reconstructed = list(pos, raw, "reconstructed").map((e, i) => {
    const o = e !== null && typeof e === "object" && !Array.isArray(e)
      ? e as Record<string, unknown>
      : fail(pos, `reconstructed[${i}]`, 'an object {"what", "start", "end", ...}', e);
    const at = `reconstructed[${i}]`;
    if (typeof o.what !== "string") fail(pos, `${at}.what`, "a string", o.what);
    const r: Reconstruction = { what: o.what };
    for (const k of ["start", "end"] as const) {
      if (o[k] === undefined) continue;
      const n = parseUint(o[k], ADDR_LIMIT);
      if (n === undefined) fail(pos, `${at}.${k}`, 'a byte address ("0x..." hex)', o[k]);
      r[k] = n;
    }
    if (o.type !== undefined) {
      if (typeof o.type !== "string" && typeof o.type !== "number") {
        fail(pos, `${at}.type`, "a string or a number", o.type);
      }
      r.type = String(o.type);
    }
    if (o.line !== undefined) {
      if (typeof o.line !== "number" || !Number.isSafeInteger(o.line) || o.line < 1) {
        fail(pos, `${at}.line`, "a line number", o.line);
      }
      r.line = o.line;
    }
    if (o.text !== undefined) {
      if (typeof o.text !== "string") fail(pos, `${at}.text`, "a string", o.text);
      r.text = o.text;
    }
    return r;
  });
  const p: Provenance = {
    guestConfidence: confidence,
    guestSource,
    typeUnknown: guest.type === "unknown",
    domainUnknown: guest.domain === "unknown",
    estimated,
    reconstructed,
  };
  const relevant = count(pos, raw, "relevant_lines");
  if (relevant !== undefined) p.relevantLines = relevant;
  const unrecognised = count(pos, raw, "unrecognised_lines");
  if (unrecognised !== undefined) p.unrecognisedLines = unrecognised;
  const kernelLines = count(pos, raw, "guest_kernel_lines");
  if (kernelLines !== undefined) p.guestKernelLines = kernelLines;
  const conflict = list(pos, raw, "guest_conflict").map((s, i) => {
    if (typeof s !== "string") fail(pos, `guest_conflict[${i}]`, "a string", s);
    return s;
  });
  if (conflict.length > 0) p.typeConflict = conflict;
  return p;
}

/** True when nothing in `p` is estimated, rebuilt, guessed or unknown. */
export function isProven(p: Provenance): boolean {
  return p.guestConfidence === "proven" && !p.typeUnknown && !p.domainUnknown &&
    p.guestKernelLines !== 0 && p.typeConflict === undefined &&
    p.estimated.length === 0 && p.reconstructed.length === 0;
}
