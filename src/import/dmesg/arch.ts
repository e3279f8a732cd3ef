/**
 * Which x86 flavour the guest kernel was built for, from the lines that tell it. The model is
 * x86_64 only; a 32-bit PV guest differs in the P2M layout the policies replay
 * (p2m-semantics.md section 1: P2M_PER_PAGE = PAGE_SIZE / sizeof(unsigned long) = 1024 entries
 * per leaf, 1024 per mid and top page, so MAX_P2M_PFN 2^30; CONFIG_XEN_MAX_DOMAIN_MEMORY 64 GiB;
 * the extra-memory clamp `EXTRA_MEM_RATIO * min(max_pfn, PFN_DOWN(MAXMEM))` uses the 32-bit
 * lowmem MAXMEM), so an import of one says so and every verdict on it has lowered confidence.
 *
 * Evidence, strongest first:
 *
 * - `last_pfn = 0x... max_arch_pfn = 0x...` (arch/x86/kernel/e820.c `e820_end_pfn`): MAX_ARCH_PFN
 *   is 1 << 20 on 32-bit, 1 << 24 on 32-bit PAE, MAXMEM >> PAGE_SHIFT (2^34, or 2^40 with
 *   5-level paging) on x86_64. Proven.
 * - `NNNMB HIGHMEM available.` / `NNNMB LOWMEM available.` (32-bit arch/x86/mm only) and a
 *   `HighMem` zone (ZONE_HIGHMEM exists only on 32-bit x86); a `DMA32` zone (x86_64 only). Proven.
 * - The release's build suffix (`.i686`, `-686-pae`, `.x86_64`, `-amd64`): distribution naming,
 *   likely.
 *
 * @module
 */

import type { GuestArch } from "./kernel_lines.ts";

/** One line that tells the flavour. */
export interface ArchEvidence {
  /** The flavour it names. */
  arch: GuestArch;
  /** From a kernel rule (true) or from naming (false). */
  proven: boolean;
  /** 1-based line. */
  line: number;
  /** The line's message (shortened). */
  text: string;
}

/** The decided flavour. */
export interface ArchDecision {
  /** The flavour, or `unknown` when no line tells it. */
  arch: GuestArch | "unknown";
  /** `proven` (a kernel rule), `likely` (release naming only), or `conflicting`. */
  confidence: "proven" | "likely" | "conflicting" | "none";
  /** The deciding lines, `line N: text`. */
  because: string[];
}

/**
 * Decides the flavour: proven lines win over the release name; a PAE line refines a 32-bit
 * one; proven lines naming both 32- and 64-bit are `conflicting` (two logs in one file), and the
 * 32-bit reading is kept so the import stays cautious.
 *
 * @example
 * ```ts
 * import { decideArch } from "./arch.ts";
 * import assert from "node:assert/strict";
 * const d = decideArch([
 *   { arch: "x86_32", proven: false, line: 4, text: "Linux version 2.6.35.11-83.9.i686" },
 *   { arch: "x86_32_pae", proven: true, line: 17, text: "last_pfn = 0x26700 max_arch_pfn = 0x1000000" },
 * ]);
 * assert.equal(d.arch, "x86_32_pae");
 * assert.equal(d.confidence, "proven");
 * assert.equal(decideArch([]).arch, "unknown");
 * ```
 */
export function decideArch(evidence: readonly ArchEvidence[]): ArchDecision {
  const proven = evidence.filter((e) => e.proven);
  const pool = proven.length > 0 ? proven : evidence;
  if (pool.length === 0) return { arch: "unknown", confidence: "none", because: [] };
  const is32 = pool.filter((e) => e.arch !== "x86_64");
  const is64 = pool.filter((e) => e.arch === "x86_64");
  const because = (l: readonly ArchEvidence[]) => l.map((e) => `line ${e.line}: ${e.text}`);
  if (is32.length === 0) {
    return {
      arch: "x86_64",
      confidence: proven.length > 0 ? "proven" : "likely",
      because: because(is64),
    };
  }
  // PAE is a refinement: any line proving it (or naming it) makes a 32-bit kernel PAE.
  const pae = evidence.some((e) => e.arch === "x86_32_pae");
  return {
    arch: pae ? "x86_32_pae" : "x86_32",
    confidence: is64.length > 0 ? "conflicting" : proven.length > 0 ? "proven" : "likely",
    because: because(is64.length > 0 ? pool : is32),
  };
}

/**
 * A sentence for the import report and the header's `estimated`: what the model assumes and
 * which verdicts that weakens. Undefined for an x86_64 or unknown guest.
 *
 * @example
 * ```ts
 * import { archCaveat } from "./arch.ts";
 * import assert from "node:assert/strict";
 * const s = archCaveat({ arch: "x86_32_pae", confidence: "proven", because: ["line 17: ..."] });
 * assert.match(s ?? "", /32-bit PAE .* not modelled/);
 * assert.equal(archCaveat({ arch: "x86_64", confidence: "proven", because: [] }), undefined);
 * ```
 */
export function archCaveat(d: ArchDecision): string | undefined {
  if (d.arch === "x86_64" || d.arch === "unknown") return undefined;
  const name = d.arch === "x86_32_pae" ? "32-bit PAE" : "32-bit";
  return `the guest kernel is ${name} (${d.confidence}: ${d.because.join("; ")}), which is not ` +
    "modelled: it is replayed with the x86_64 P2M (512-entry leaves, MAX_P2M_PFN 2^27, 500 GiB " +
    "MAX_DOMAIN_PAGES) where it has 1024-entry leaves, MAX_P2M_PFN 2^30, 64 GiB " +
    "MAX_DOMAIN_PAGES and a lowmem-bound extra-memory clamp, so structure, limit and " +
    "extra-memory verdicts (brk-budget, alias, overreach, lost-write, bug-out-of-range, " +
    "balloon-identity) may not hold; boot-pass counts and lookup kinds do not depend on it";
}
