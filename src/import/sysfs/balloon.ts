/**
 * The balloon driver's sysfs directory, `/sys/devices/system/xen_memory/xen_memory0/`
 * (drivers/xen/xen-balloon.c): `target_kb`, `info/current_kb`, `info/low_kb`, `info/high_kb`
 * (`%lu\n`, KiB) and `target` (`%llu\n`, bytes). The directory exists once `balloon_init` ran.
 *
 * Two sums are stable under ballooning (every page ballooned out leaves `current` and joins
 * `low`/`high`, and back): `current + low + high` is the domain's reservation ceiling as the
 * driver saw it at boot, which for dom0 is XENMEM_maximum_reservation (p2m-semantics.md 4.2,
 * 5); see {@link balloonEstimates}.
 *
 * @module
 */

import { quoted, SysfsFormatError } from "./format_error.ts";

/** Where the balloon driver's device lives. */
export const BALLOON_DIR = "/sys/devices/system/xen_memory/xen_memory0";

/** The files `record` reads, relative to {@link BALLOON_DIR}. */
export const BALLOON_FILES = [
  "target_kb",
  "target",
  "info/current_kb",
  "info/low_kb",
  "info/high_kb",
] as const;

/** What the balloon files said (KiB values; absent when unreadable). */
export interface BalloonState {
  /** `target_kb`. */
  targetKb?: number;
  /** `target`, bytes. */
  targetBytes?: number;
  /** `info/current_kb`: pages the domain holds now. */
  currentKb?: number;
  /** `info/low_kb`: ballooned-out lowmem pages. */
  lowKb?: number;
  /** `info/high_kb`: ballooned-out highmem pages. */
  highKb?: number;
}

/**
 * Parses a `%lu`/`%llu` sysfs number.
 *
 * @example
 * ```ts
 * import { parseDecimalFile } from "./balloon.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseDecimalFile("2097152\n", "target_kb"), 2097152);
 * assert.throws(() => parseDecimalFile("2G\n", "target_kb"), /target_kb:1: expected a decimal/);
 * ```
 */
export function parseDecimalFile(text: string, file: string): number {
  const t = text.trim();
  const n = /^\d{1,16}$/.test(t) ? Number(t) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new SysfsFormatError({ file, line: 1 }, "a decimal number below 2^53", quoted(text));
  }
  return n;
}

/** Page counts derived from the balloon state. */
export interface BalloonEstimates {
  /** `current_kb / 4`: pages held now. */
  currentPages?: number;
  /** `target_kb / 4`. */
  targetPages?: number;
  /** `(low_kb + high_kb) / 4`: pages on the balloon list. */
  ballooned?: number;
  /** `currentPages + ballooned`: the reservation ceiling the driver works against. */
  ceiling?: number;
}

/**
 * Page counts from KiB values (4 KiB pages).
 *
 * @example
 * ```ts
 * import { balloonEstimates } from "./balloon.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   balloonEstimates({ currentKb: 2097152, targetKb: 2097152, lowKb: 4096, highKb: 0 }),
 *   { currentPages: 0x80000, targetPages: 0x80000, ballooned: 1024, ceiling: 0x80400 },
 * );
 * ```
 */
export function balloonEstimates(s: BalloonState): BalloonEstimates {
  const out: BalloonEstimates = {};
  if (s.currentKb !== undefined) out.currentPages = Math.floor(s.currentKb / 4);
  if (s.targetKb !== undefined) out.targetPages = Math.floor(s.targetKb / 4);
  if (s.lowKb !== undefined && s.highKb !== undefined) {
    out.ballooned = Math.floor((s.lowKb + s.highKb) / 4);
  }
  if (out.currentPages !== undefined && out.ballooned !== undefined) {
    out.ceiling = out.currentPages + out.ballooned;
  }
  return out;
}
