/**
 * Decisions about the guest that no single line makes: its type and domain from the evidence
 * lines, `start_info->nr_pages` from whatever the log printed about it, and the replay policy
 * its kernel version suggests. Pure functions over collected facts.
 *
 * @module
 */

import type { Evidence } from "./kernel_lines.ts";

/** Evidence collected from the log: each kind with the first line that gave it. */
export type EvidenceMap = Map<Evidence | "xen_console" | "pirq_without_gsi", string>;

/** The guest's type and domain, and why. */
export interface GuestDecision {
  /** `pv`, `hvm` or `pvh`. */
  type: "pv" | "hvm" | "pvh";
  /** `dom0` or `domU`. */
  domain: "dom0" | "domU";
  /** Why, in words (the evidence used, or "assumed"). */
  because: string[];
  /** True when no line decided it, or only weak evidence did. */
  assumed: boolean;
}

/**
 * Decides type and domain. Type: an explicit banner (`Booting paravirtualized kernel on Xen
 * [HVM|PVH]`, `Hypervisor detected: Xen PV|HVM`) wins, then indirect signs (the PV boot pass or
 * printed `Xen:` map, HVM platform lines, an `xen: --> pirq` line without dom0's `registering
 * gsi`), else PV is assumed. Domain: a domU-only line (`ACPI in unprivileged domain disabled`,
 * `PCI: setting up Xen PCI frontend stub`) wins, then dom0 signs (the hypervisor's console,
 * `xen: registering gsi`, ACPI tables in a PV guest, pciback), then HVM implies domU, a PV log that shows its
 * boot banner without the domU line is dom0, and otherwise dom0 is assumed.
 *
 * @example
 * ```ts
 * import { decideGuest } from "./guest_facts.ts";
 * import assert from "node:assert/strict";
 * const d = decideGuest(new Map([["domU", "ACPI in unprivileged domain disabled"],
 *   ["pv", "Booting paravirtualized kernel on Xen"]]), true);
 * assert.equal(d.type, "pv");
 * assert.equal(d.domain, "domU");
 * assert.equal(d.assumed, false);
 * ```
 */
export function decideGuest(evidence: EvidenceMap, sawBanner: boolean): GuestDecision {
  const because: string[] = [];
  let type: GuestDecision["type"] | undefined;
  for (const t of ["pvh", "hvm", "pv"] as const) {
    const why = evidence.get(t);
    if (why !== undefined && type === undefined) {
      type = t;
      because.push(`type ${t}: ${why}`);
    }
  }
  if (type === undefined) {
    const weakHvm = evidence.get("hvm_weak") ?? evidence.get("pirq_without_gsi");
    if (weakHvm !== undefined) {
      type = "hvm";
      because.push(`type hvm (weak): ${weakHvm}`);
    }
  }
  let typeAssumed = false;
  if (because.some((b) => b.includes("(weak)"))) typeAssumed = true;
  if (type === undefined) {
    type = "pv";
    typeAssumed = true;
    because.push("type pv: assumed (no line names the guest type)");
  }
  let domain: GuestDecision["domain"] | undefined;
  let domainAssumed = false;
  const domU = evidence.get("domU");
  // A PV domU has no ACPI tables; an HVM domU has the ones hvmloader built.
  const dom0 = evidence.get("dom0") ?? evidence.get("xen_console") ??
    (type === "pv" ? evidence.get("acpi_tables") : undefined);
  if (domU !== undefined) {
    domain = "domU";
    because.push(`domU: ${domU}`);
  } else if (dom0 !== undefined) {
    domain = "dom0";
    because.push(`dom0: ${dom0}`);
  } else if (type === "hvm") {
    domain = "domU";
    because.push("domU: HVM guests are domUs");
  } else if (sawBanner && type === "pv") {
    domain = "dom0";
    because.push(
      "dom0: the log shows the boot banner but not 'ACPI in unprivileged domain disabled'",
    );
  } else {
    domain = "dom0";
    domainAssumed = true;
    because.push("dom0: assumed (no line names the domain)");
  }
  return { type, domain, because, assumed: typeAssumed || domainAssumed };
}

/** What the log printed that bears on `start_info->nr_pages`. */
export interface NrPagesFacts {
  /** `(XEN) Dom0 alloc.: A->B (N pages to be allocated)`. */
  dom0Alloc?: { allocPages: number; toAllocate: number };
  /** Pages of `(XEN) Init. ramdisk:` in the physical arrangement. */
  ramdiskPages?: number;
  /** `dom0_mem=` amount, in pages. */
  dom0MemPages?: number;
  /** Start PFN of the first "Populating X-Y pfn range". */
  populateStartPfn?: number;
  /** "Remapped N page(s)". */
  remapped?: number;
  /** End PFN of the last RAM entry of the kernel's printed map. */
  printedRamEndPfn?: number;
  /** End PFN of the last RAM entry of the raw map. */
  rawRamEndPfn?: number;
  /** "Memory: a/bK available": b in pages. */
  memoryTotalPages?: number;
}

/** Smallest nr_pages an inference may give (1 MiB of 4 KiB pages). */
export const MIN_NR_PAGES = 0x100;

/** The inferred nr_pages. */
export interface NrPagesInference {
  /** The value, when anything gave one. */
  nrPages?: number;
  /** How it was inferred. */
  source: string;
  /** False when it is an estimate (an upper bound); the importer then adds a mark. */
  certain: boolean;
  /** A disagreement between two sources, when there is one. */
  conflict?: string;
}

/**
 * Infers `start_info->nr_pages`, best source first:
 *
 * 1. dom0: `(XEN) Dom0 alloc.` — the pages still to allocate plus the allocated chunk plus the
 *    initrd pages Xen assigned (the builder prints `nr_pages - tot_pages`);
 * 2. the start of the first `Populating X-Y pfn range` (v3.x-3.16 populate released pages back
 *    from nr_pages upward);
 * 3. dom0: `dom0_mem=` on Xen's command line;
 * 4. the end of the last RAM entry of the printed map minus `Remapped N` (v3.17+ put remapped
 *    RAM above nr_pages; an upper bound, exact when the map holds no other RAM above it);
 * 5. the end of the last RAM entry (upper bound: extra and balloon memory lie above nr_pages);
 * 6. the `Memory: a/bK available` total.
 *
 * @example
 * ```ts
 * import { inferNrPages } from "./guest_facts.ts";
 * import assert from "node:assert/strict";
 * const r = inferNrPages("dom0", {
 *   dom0Alloc: { allocPages: 16384, toAllocate: 1661249 }, ramdiskPages: 78372,
 *   populateStartPfn: 0x1acb65,
 * });
 * assert.equal(r.nrPages, 0x1acb65);
 * assert.equal(r.certain, true);
 * assert.equal(r.conflict, undefined);
 * ```
 */
export function inferNrPages(domain: "dom0" | "domU", f: NrPagesFacts): NrPagesInference {
  const candidates: NrPagesInference[] = [];
  if (domain === "dom0" && f.dom0Alloc && f.dom0Alloc.toAllocate > 0) {
    const initrd = f.ramdiskPages ?? 0;
    candidates.push({
      nrPages: f.dom0Alloc.toAllocate + f.dom0Alloc.allocPages + initrd,
      source: `(XEN) Dom0 alloc.: ${f.dom0Alloc.toAllocate} pages to be allocated + ` +
        `${f.dom0Alloc.allocPages} pages of the allocated chunk + ${initrd} initrd pages`,
      certain: true,
    });
  }
  if (f.populateStartPfn !== undefined) {
    candidates.push({
      nrPages: f.populateStartPfn,
      source: "the start of the first 'Populating X-Y pfn range' (the kernel populates " +
        "released pages back from nr_pages upward)",
      certain: true,
    });
  }
  if (domain === "dom0" && f.dom0MemPages !== undefined) {
    candidates.push({
      nrPages: f.dom0MemPages,
      source: "dom0_mem= on the hypervisor's command line",
      certain: true,
    });
  }
  const ramEnd = f.printedRamEndPfn ?? f.rawRamEndPfn;
  if (ramEnd !== undefined && f.remapped !== undefined && f.remapped > 0 && f.remapped < ramEnd) {
    candidates.push({
      nrPages: ramEnd - f.remapped,
      source: `the end of the last RAM entry (0x${ramEnd.toString(16)}) minus 'Remapped ` +
        `${f.remapped} page(s)' (an upper bound: exact when no balloon memory lies above nr_pages)`,
      certain: false,
    });
  }
  if (ramEnd !== undefined) {
    candidates.push({
      nrPages: ramEnd,
      source: `the end of the last RAM entry of the ${
        f.printedRamEndPfn !== undefined ? "printed" : "raw"
      } E820 map (an upper bound: extra and balloon memory lie above nr_pages)`,
      certain: false,
    });
  }
  if (f.memoryTotalPages !== undefined) {
    candidates.push({
      nrPages: f.memoryTotalPages,
      source: "the total of 'Memory: a/bK available' (an estimate)",
      certain: false,
    });
  }
  // Less than 1 MiB of memory is no estimate of a domain that booted Linux (a cut-off map).
  const plausible = candidates.filter((c) => c.nrPages !== undefined && c.nrPages >= MIN_NR_PAGES);
  const best = plausible[0];
  if (!best) return { source: "nothing in the log gives it", certain: false };
  const second = plausible[1];
  if (best.certain && second?.certain && second.nrPages !== best.nrPages) {
    return {
      ...best,
      conflict: `${second.source} gives 0x${second.nrPages!.toString(16)}, ` +
        `not 0x${best.nrPages!.toString(16)}`,
    };
  }
  return best;
}
