/**
 * What the replayed guest runs: a {@link Policy} is a {@link KernelEra} (the P2M code and boot
 * pass of a range of kernel releases, with every difference from its neighbours in one object)
 * plus the patch rules a proposed fix adds (BAR walk, host-bridge windows, identity beyond the
 * E820 map, INVALID read as identity). The contracts live here, beside the model state they act
 * on; the eras themselves are in `src/kernel/eras/`, the shipped policies in `src/policy/`.
 *
 * @module
 */

import type { PfnRange } from "../trace/event.ts";
import type { Era, WriteValue } from "../p2m/table.ts";
import type { BootReport, E820Entry, ModelDraft } from "./state.ts";

/** How a boot-time or runtime identity rule writes identity entries. */
export type IdentityPrimitive = "faithful" | "ideal";

/** What counts as RAM for the seed patch's "neither ballooned nor RAM" test. */
export type RamTest = "max_pfn" | "e820";

/** The seed patch's per-resource walk on `xen_add_device` (p2m-semantics.md 9b/9c). */
export interface BarWalk {
  /** `eq`: skip only `flags == IORESOURCE_IO` (the bug); `and`: skip `flags & IORESOURCE_IO`. */
  skip: "eq" | "and";
}

/** The host-bridge policy's window rule (9d). */
export interface BridgeRule {
  /** `root`: root bus windows only; `all`: also bridge memory windows when assigned. */
  windows: "root" | "all";
}

/**
 * The working state of one `xen_memory_setup` run, shared by the era's pass and its tail. The
 * kernel keeps these in locals and globals of setup.c.
 */
export interface BootWork {
  /** The E820 map as the pass sees it (dom0: UNUSABLE read as RAM). */
  map: E820Entry[];
  /** `start_info->nr_pages`. */
  nr: number;
  /** max_pfn (the populated end, after the pass). */
  maxPfn: number;
  /** `xen_get_max_pages()`: the most pages the domain may have. */
  maxPages: number;
  /** extra_pages: what the rewrite loop may turn into extra memory. */
  extraPages: number;
  /** End PFN of the last extra memory region (`xen_max_p2m_pfn`). */
  maxP2mPfn: number;
  /**
   * A dom0 whose maximum reservation the trace does not state: the same sizing with
   * `xen_get_max_pages()` capped at the domain's own pages (Xen may have set one that no log
   * line shows, e.g. a build-time CONFIG_DOM0_MEM), so a check can bound what the kernel saw.
   * `maxPages`/`extraPages` as above; `maxP2mPfn` is filled by the E820 rewrite.
   */
  capped?: { maxPages: number; extraPages: number; maxP2mPfn: number };
  /** PFN after the last E820 entry. */
  lastEndPfn: number;
  /** Where the remap pass moved RAM to (v3.17+). */
  remapTargets: PfnRange[];
  /** What the kernel printed and counted. */
  report: BootReport;
  /**
   * `set_phys_range_identity(s, e)` with the era's message; returns the PFNs the kernel counts
   * (more than asked for when a v3.16+ skip-ahead overshoots).
   */
  setIdentity(s: number, e: number): number;
}

/**
 * One kernel era: everything that differs between ranges of kernel releases, in one object.
 * Handlers in `src/kernel/` ask the era; they never test an era's name.
 */
export interface KernelEra {
  /** The first kernel version of the era (`3.12`). */
  name: string;
  /** P2M code: the 3-level trees of v3.12 and v3.16, or the v3.19 linear list. */
  structure: Era;
  /** ioremap and PCI mmap PTEs carry `_PAGE_IOMAP` and bypass the P2M (before v3.18). */
  pageIomap: boolean;
  /** `xen_get_max_pages`'s limit: MAX_DOMAIN_PAGES to v4.2, `xen_get_pages_limit()` after. */
  pagesLimit(dom0: boolean): number;
  /** brk pages the P2M code reserves (RESERVE_BRK); 0 for the list, which needs none. */
  brkReserved: number;
  /** The boot pass's name: release-and-populate (to v3.16) or remap (v3.17+). */
  bootPass: "release-populate" | "remap";
  /** Each `set_phys_range_identity` of the boot pass prints `1-1 mapping on X->Y`. */
  identityMessages: boolean;
  /** `xen_add_extra_mem` sets the region's entries INVALID (tree eras; the list does it later). */
  extraMemInvalidates: boolean;
  /** The pass proper: release or remap RAM behind identity, size extra memory. */
  runBootPass(d: ModelDraft, b: BootWork): void;
  /** After extra memory is in place: the era's last boot-time writes. */
  finishBoot(d: ModelDraft, b: BootWork): void;
  /** What `decrease_reservation` leaves in a ballooned-out page's entry. */
  balloonOutEntry(pfn: number, scratchMfn: number | undefined): WriteValue;
  /** What memory hot-add does to the P2M before `add_memory`. */
  hotplug(d: ModelDraft, range: PfnRange): void;
}

/** A policy with its options resolved. */
export interface Policy {
  /** Stable name (`linux-3.12`). */
  name: string;
  /** One line for `--policy list` and the compare matrix. */
  summary: string;
  /** One paragraph: the kernel facts it follows and the choices it makes. */
  description: string;
  /** The kernel era the policy runs on. */
  kernel: KernelEra;
  /** Policy 9e: identity beyond the last E820 entry except extra memory, with T12 structures. */
  beyondE820: boolean;
  /** `_PAGE_IOMAP` mappings bypass the P2M: the era's, unless option `iomap` says otherwise. */
  pageIomap: boolean;
  /**
   * P2M_LIMIT in GiB (v3.19+): the hot-plug space `xen_vmalloc_p2m_tree` sizes the list for,
   * CONFIG_XEN_BALLOON_MEMORY_HOTPLUG_LIMIT (512) with memory hot-plug configured, else 0.
   */
  p2mLimitGib: number;
  /** Policy 9f1: every INVALID lookup answers identity. */
  invalidIsIdentity: boolean;
  /** Seed patch BAR walk on xen_add_device, if any. */
  barWalk?: BarWalk;
  /** Host-bridge window rule, if any. */
  bridgeRule?: BridgeRule;
  /** Write primitive of the identity rules (seed, host-bridge). */
  primitive: IdentityPrimitive;
  /** RAM test of the identity rules. */
  ram: RamTest;
  /** Identity rules skip PFNs at or above MAX_P2M_PFN instead of hitting the kernel BUG. */
  guard: boolean;
  /** Identity rules also walk resources flagged UNSET/DISABLED or empty. */
  walkUnset: boolean;
  /** The option values in effect, for reports. */
  options: Record<string, string>;
}
