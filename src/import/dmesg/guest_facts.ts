/**
 * Decisions about the guest that no single line makes: its type and domain from the evidence
 * lines, `start_info->nr_pages` from whatever the log printed about it, and the replay policy
 * its kernel version suggests. Pure functions over collected facts.
 *
 * @module
 */

import type { Evidence } from "./kernel_lines.ts";

/** Evidence kinds: a kernel line's (kernel_lines.ts) or one the importer derives. */
export type EvidenceKind =
  | Evidence
  | "xen_console"
  | "guest_console"
  | "pirq_without_gsi"
  | "pci_enumeration"
  | "xen_builder_pv"
  | "xen_builder_pvh";

/** One piece of evidence: the first line that gave it. */
export interface EvidenceLine {
  /** The line's message (prefixes stripped; `(XEN) ` kept for hypervisor lines). */
  text: string;
  /** 1-based line number in the log. */
  line: number;
}

/** Evidence collected from the log: each kind with the first line that gave it. */
export type EvidenceMap = Map<EvidenceKind, EvidenceLine>;

/** How sure the importer is of a header fact. */
export type Confidence = "proven" | "likely" | "guessed";

/**
 * What each kind of evidence says, and how strongly. `proven`: only that kind of guest prints
 * the line (checked against the kernel source named in `rule`); `likely`: the usual case, with
 * known exceptions; `guessed`: a weak sign.
 */
export const EVIDENCE_RULES: Readonly<
  Record<EvidenceKind, {
    type?: "pv" | "hvm" | "pvh" | "auto";
    domain?: "dom0" | "domU";
    strength: Confidence;
    rule: string;
  }>
> = {
  pv: {
    type: "pv",
    strength: "proven",
    rule: "PV only: 'Hypervisor detected: Xen PV', xen_memory_setup's boot pass and 'Xen:' " +
      "map, the p2m list's virtual area (before v4.11 the PV entry's pass and map were also " +
      "PVHv1's, which the HVM callback vector tells apart)",
  },
  pv_likely: {
    type: "pv",
    strength: "likely",
    rule: "PV usually: xen_banner's 'Booting ... kernel on Xen' (pv_info.name \"Xen\") and " +
      "'Xen version: ' with a colon; PVHv1 guests (v3.14-v4.10) printed both, and PVH kernels " +
      "print 'Xen version: ' since xen_banner became their banner too (2021)",
  },
  hvm: {
    type: "hvm",
    strength: "proven",
    rule: 'HVM only: pv_info.name "Xen HVM" (init_hvm_pv_info) or the Xen platform PCI device',
  },
  pvh: { type: "pvh", strength: "proven", rule: 'PVH only: pv_info.name "Xen PVH"' },
  auto: {
    type: "auto",
    strength: "proven",
    rule: "HVM or PVH (auto-translated): init_hvm_pv_info's 'Xen version N.M.', the HVM " +
      "callback vector, 'Hypervisor detected: Xen HVM' (PVH prints it too)",
  },
  auto_likely: {
    type: "auto",
    strength: "likely",
    rule: "HVM or PVH: the kernel printed a BIOS-e820 map (a PV kernel prints 'Xen:')",
  },
  pv_domU: {
    type: "pv",
    domain: "domU",
    strength: "proven",
    rule: "PV domU only: xen_arch_setup prints 'ACPI in unprivileged domain disabled' without " +
      "SIF_INITDOMAIN; pcifront and the Xen PCI frontend stub load only in a PV domU (a PVHv1 " +
      "domU, v3.14-v4.10, boots through the same PV entry and prints it too)",
  },
  auto_domU: {
    type: "auto",
    domain: "domU",
    strength: "proven",
    rule: "HVM or PVH domU: the firmware tables Xen builds for a guest ('DMI: Xen HVM domU')",
  },
  dom0: {
    type: "pv",
    domain: "dom0",
    strength: "proven",
    rule: "PV dom0 only: xen_register_gsi ('xen: registering gsi') is built with " +
      "CONFIG_XEN_DOM0, installed by pci_xen_initial_domain and returns early unless " +
      "xen_pv_domain() (true for a PVHv1 dom0 too, v3.14-v4.10, which the HVM callback " +
      "vector tells apart)",
  },
  dom0_likely: {
    domain: "dom0",
    strength: "likely",
    rule: "dom0 usually: pciback or xen-acpi-processor (a driver domain can run pciback too)",
  },
  xen_console: {
    domain: "dom0",
    strength: "likely",
    rule: "the hypervisor's console is dom0's (a log may concatenate xl dmesg with a domU's)",
  },
  guest_console: {
    domain: "domU",
    strength: "proven",
    rule: "Xen relays a domain's console writes with a '(dN)' prefix (guest_printk in " +
      "xen/drivers/char/console.c); the hardware domain writes straight to the console " +
      "without one (newer Xen prefixes it '(d0)' while another domain has the console)",
  },
  xen_builder_pv: {
    type: "pv",
    domain: "dom0",
    strength: "likely",
    rule: "the hypervisor built a PV dom0 ('*** LOADING DOMAIN 0 ***', 'Building a PV Dom0')",
  },
  xen_builder_pvh: {
    type: "pvh",
    domain: "dom0",
    strength: "likely",
    rule: "the hypervisor built a PVH dom0 ('Building a PVH Dom0')",
  },
  acpi_tables: {
    domain: "dom0",
    strength: "likely",
    rule: "ACPI tables in a PV guest: a PV domU disables ACPI before reading them",
  },
  pci_enumeration: {
    domain: "dom0",
    strength: "likely",
    rule: "PCI devices enumerated in a PV guest without pcifront: a PV domU has no other PCI bus",
  },
  pirq_without_gsi: {
    type: "hvm",
    strength: "guessed",
    rule: "'xen: --> pirq' without dom0's 'registering gsi' (HVM MSI/INTx remapping)",
  },
  xen_flavour: {
    strength: "guessed",
    rule: "Xen, of no known type: 'Hypervisor detected: Xen' (v4.x x86_hyper_xen detects PV and " +
      "HVM guests alike) or a banner name no kernel prints (pv_info.name is 'Xen', 'Xen HVM' " +
      "or 'Xen PVH')",
  },
  callback_vector: {
    type: "auto",
    strength: "proven",
    rule: "auto-translated (HVM, PVH, or PVHv1: v3.14-v4.10's PV entry with " +
      "XENFEAT_auto_translated_physmap): the HVM callback vector, never set up by a PV guest " +
      "(xen_have_vector_callback)",
  },
  not_xen: { strength: "guessed", rule: "the kernel says it booted on another hypervisor" },
};

/** The guest's type and domain, how sure, and why. */
export interface GuestDecision {
  /** `pv`, `hvm`, `pvh`, or `unknown` when no line decides it. */
  type: "pv" | "hvm" | "pvh" | "unknown";
  /** `dom0`, `domU`, or `unknown` when no line decides it. */
  domain: "dom0" | "domU" | "unknown";
  /** The weakest evidence behind type and domain (`unknown` counts as `likely`). */
  confidence: Confidence;
  /** The deciding lines, `line N: text (what it proves)`, type first. */
  because: string[];
  /** Facts that are not proven: `{ field, how }` for the header's `estimated`. */
  estimated: { field: string; how: string }[];
  /**
   * When proven PV lines and proven HVM/PVH lines are both in the log (two logs in one file,
   * or a log edited by hand): the two lines, cited. The type is then `unknown`: no guest prints
   * both, and which P2M there is, if any, cannot be told.
   */
  conflict?: string[];
  /** Decisions worth a line in the header's `notes` (a PVHv1 guest and why it has no P2M). */
  notes: string[];
  /** A PVHv1 guest (type `pvh`): v3.14-v4.10's PV entry, auto-translated. */
  pvhV1?: true;
}

const RANK: Record<Confidence, number> = { proven: 2, likely: 1, guessed: 0 };

/**
 * Decides type and domain from the evidence, strongest first.
 *
 * Type: the PV entry's lines beside the HVM callback vector and nothing only HVM or PVHv2
 * prints are a PVHv1 guest (v3.14-v4.10; `pvh`, with a note: no P2M). Otherwise proven PV lines
 * beside proven HVM/PVH lines are a conflict: the type is `unknown`, `conflict` cites one of
 * each, and nothing about a P2M can be judged. Otherwise a proven PVH,
 * HVM or PV line wins (in that order); a proven auto-translated line alone (HVM or PVH) leaves
 * the type `unknown`, since nothing tells which; then likely and guessed signs (the banner
 * `Booting ... kernel on Xen` alone is PV likely: PVHv1 printed it too). Domain: a proven domU line wins over every dom0 sign (a concatenated `xl dmesg` + domU
 * log stays a domU); an HVM guest is always a domU; then dom0 signs; a PV log that shows its
 * boot banner but not `ACPI in unprivileged domain disabled` is likely dom0 (every PV domU
 * kernel built with ACPI prints it). Nothing else: `unknown`, never dom0 by default.
 *
 * @example
 * ```ts
 * import { decideGuest } from "./guest_facts.ts";
 * import assert from "node:assert/strict";
 * const d = decideGuest(new Map([
 *   ["pv_domU", { text: "ACPI in unprivileged domain disabled", line: 7 }],
 *   ["pv_likely", { text: "Booting paravirtualized kernel on Xen", line: 30 }],
 * ]), true);
 * assert.deepEqual([d.type, d.domain, d.confidence], ["pv", "domU", "proven"]);
 * assert.match(d.because.join("\n"), /^line 7: ACPI in unprivileged domain disabled/m);
 * assert.equal(decideGuest(new Map(), false).domain, "unknown");
 * const both = decideGuest(new Map([
 *   ["pv", { text: "Released 0 page(s)", line: 9 }],
 *   ["auto", { text: "Xen HVM callback vector for event delivery is enabled", line: 40 }],
 * ]), false);
 * assert.deepEqual([both.type, both.confidence, both.conflict?.length], ["unknown", "guessed", 2]);
 * ```
 */
export function decideGuest(
  evidence: EvidenceMap,
  sawBanner: boolean,
  kernel?: string,
): GuestDecision {
  const because: string[] = [];
  const notes: string[] = [];
  const estimated: GuestDecision["estimated"] = [];
  const cite = (kind: EvidenceKind, what: string) => {
    const e = evidence.get(kind)!;
    return `line ${e.line}: ${e.text.slice(0, 120)} (${what}: ${EVIDENCE_RULES[kind].rule})`;
  };
  const best = (
    pick: (r: (typeof EVIDENCE_RULES)[EvidenceKind]) => string | undefined,
    order: readonly string[],
  ): { kind: EvidenceKind; value: string; strength: Confidence } | undefined => {
    let found: { kind: EvidenceKind; value: string; strength: Confidence } | undefined;
    for (const [kind] of evidence) {
      const rule = EVIDENCE_RULES[kind];
      const value = pick(rule);
      if (value === undefined) continue;
      const better = !found || RANK[rule.strength] > RANK[found.strength] ||
        (RANK[rule.strength] === RANK[found.strength] &&
          order.indexOf(value) < order.indexOf(found.value));
      if (better) found = { kind, value, strength: rule.strength };
    }
    return found;
  };

  // Type. Proven PV lines and proven HVM/PVH lines together are a conflict, not a choice.
  let type: GuestDecision["type"] = "unknown";
  let typeStrength: Confidence = "likely";
  const provenPv = best((r) => r.type === "pv" && r.strength === "proven" ? "pv" : undefined, [
    "pv",
  ]);
  const provenAuto = best(
    (r) => r.type !== undefined && r.type !== "pv" && r.strength === "proven" ? r.type : undefined,
    ["pvh", "hvm", "auto"],
  );
  let conflict: string[] | undefined;
  const pvh1 = pvhV1(evidence, kernel);
  if (pvh1 !== undefined) {
    // The PV entry's lines and the callback vector: one PVHv1 guest explains both.
    const pvLine = provenPv ?? best((r) => r.type === "pv" ? "pv" : undefined, ["pv"])!;
    type = "pvh";
    typeStrength = pvh1;
    because.push(
      cite("callback_vector", "type pvh (PVHv1)"),
      cite(pvLine.kind, "the PV entry, which PVHv1 boots through"),
    );
    notes.push(
      `PVHv1 guest (Linux ${kernel ?? "of unknown version; PVHv1 is v3.14-v4.10"}): it boots ` +
        "through the PV entry (the PV lines) with XENFEAT_auto_translated_physmap (the HVM " +
        "callback vector), so pfn_to_mfn() returns the PFN and __set_phys_to_machine() stores " +
        "nothing: it has no P2M, and no P2M lookup of it can be judged",
    );
  } else if (provenPv && provenAuto) {
    conflict = [
      cite(provenPv.kind, "type pv"),
      cite(
        provenAuto.kind,
        `type ${provenAuto.value === "auto" ? "HVM or PVH" : provenAuto.value}`,
      ),
    ];
    because.push(...conflict.map((c) => `conflict: ${c}`));
    typeStrength = "guessed";
    estimated.push({
      field: "guest.type",
      how: `unknown: the log holds proven PV and proven HVM/PVH lines (${
        conflict.map((c) => c.slice(0, c.indexOf(" ("))).join("; ")
      }); no guest prints both`,
    });
  }
  const t = conflict || pvh1 ? undefined : best((r) => r.type, ["pvh", "hvm", "pv", "auto"]);
  if (conflict || pvh1) {
    // Neither is taken: the P2M the replay would build is one of two guesses.
  } else if (t && t.value !== "auto") {
    type = t.value as "pv" | "hvm" | "pvh";
    typeStrength = t.strength;
    because.push(cite(t.kind, `type ${type}`));
  } else if (t) {
    // HVM or PVH: a specific line of lesser strength may still tell which.
    const specific = best((r) => r.type === "hvm" || r.type === "pvh" ? r.type : undefined, [
      "pvh",
      "hvm",
    ]);
    because.push(cite(t.kind, "type HVM or PVH"));
    if (specific) {
      type = specific.value as "hvm" | "pvh";
      typeStrength = specific.strength;
      because.push(cite(specific.kind, `type ${type}`));
    } else {
      estimated.push({
        field: "guest.type",
        how: "HVM or PVH (auto-translated, no P2M either way): no line tells which",
      });
    }
  } else {
    const flavour = evidence.get("xen_flavour");
    estimated.push({
      field: "guest.type",
      how: flavour
        ? `unknown: line ${flavour.line}: '${flavour.text.slice(0, 80)}' says Xen, not which ` +
          `type (${EVIDENCE_RULES.xen_flavour.rule})`
        : "unknown: no line the importer knows names the guest type",
    });
  }
  if (type !== "unknown" && typeStrength !== "proven") {
    estimated.push({ field: "guest.type", how: `${type}, ${typeStrength}: ${because.at(-1)}` });
  }

  // Domain.
  let domain: GuestDecision["domain"] = "unknown";
  let domainStrength: Confidence = "likely";
  const dom0Only = (k: EvidenceKind) =>
    (k === "acpi_tables" || k === "pci_enumeration") && type !== "pv" ? undefined : true;
  const d = best(
    (r) => r.domain,
    ["domU", "dom0"],
  );
  const domU = best((r) => r.domain === "domU" && r.strength === "proven" ? "domU" : undefined, [
    "domU",
  ]);
  if (domU) {
    domain = "domU";
    domainStrength = "proven";
    because.push(cite(domU.kind, "domU"));
  } else if (type === "hvm") {
    domain = "domU";
    domainStrength = typeStrength;
    because.push("domU: an HVM guest is never the initial domain");
  } else if (d && d.value === "dom0" && dom0Only(d.kind)) {
    domain = "dom0";
    domainStrength = d.strength;
    because.push(cite(d.kind, "dom0"));
  } else if (sawBanner && type === "pv") {
    domain = "dom0";
    domainStrength = "likely";
    because.push(
      "dom0: the log shows the PV boot banner but not 'ACPI in unprivileged domain disabled', " +
        "which xen_arch_setup prints in every PV domU kernel built with ACPI",
    );
  }
  if (domain === "unknown") {
    estimated.push({
      field: "guest.domain",
      how: "unknown: no line the importer knows tells dom0 from domU",
    });
  } else if (domainStrength !== "proven") {
    estimated.push({
      field: "guest.domain",
      how: `${domain}, ${domainStrength}: ${because.at(-1)}`,
    });
  }
  const weakest = Math.min(
    type === "unknown" && !conflict ? RANK.likely : RANK[typeStrength],
    domain === "unknown" ? RANK.likely : RANK[domainStrength],
  );
  const confidence = (Object.keys(RANK) as Confidence[]).find((k) => RANK[k] === weakest)!;
  const decision: GuestDecision = { type, domain, confidence, because, estimated, notes };
  if (conflict) decision.conflict = conflict;
  if (pvh1) decision.pvhV1 = true;
  return decision;
}

/**
 * Evidence kinds a PVHv1 guest prints through the PV entry (boot pass, banner, ACPI line, a
 * dom0's `registering gsi`: its xen_pv_domain() was true).
 */
const PV_ENTRY: ReadonlySet<EvidenceKind> = new Set(["pv", "pv_likely", "pv_domU", "dom0"]);

/**
 * Whether Xen's line `line`, evidence of kind `kind`, fits a PVHv1 dom0 too: `*** LOADING
 * DOMAIN 0 ***`, which Xen's dom0 builder printed for a PV and a PVHv1 (`dom0pvh=1`) dom0
 * alike (not `*** Building a PV Dom0 ***`, which names a PV dom0). It fits, but shows no PV
 * entry: an HVM domU's log after Xen's console has it too.
 */
function fitsPvhV1Dom0(kind: EvidenceKind, line: EvidenceLine): boolean {
  return kind === "xen_builder_pv" && line.text.includes("LOADING DOMAIN 0");
}

/**
 * Whether the evidence is a PVHv1 guest's (Linux v3.14-v4.10: the PV entry, xen_start_kernel,
 * with XENFEAT_auto_translated_physmap; removed in v4.11 for PVH, which enters like HVM): the PV
 * entry's lines (xen_banner, xen_arch_setup's ACPI line, xen_memory_setup's pass) beside the
 * HVM callback vector, which no PV guest sets up, and no line only HVM or PVHv2 prints (their
 * `pv_info.name`, init_hvm_pv_info's banner, firmware, a BIOS-e820 map). How sure: proven when
 * the kernel version is in the PVHv1 era, likely when the log does not tell it; undefined (not
 * PVHv1: two logs in one file) when the version is outside the era.
 */
function pvhV1(evidence: EvidenceMap, kernel: string | undefined): Confidence | undefined {
  if (!evidence.has("callback_vector")) return undefined;
  let pvEntry = false;
  for (const [kind, line] of evidence) {
    const r = EVIDENCE_RULES[kind];
    if (PV_ENTRY.has(kind)) pvEntry = true;
    else if (fitsPvhV1Dom0(kind, line)) continue;
    else if (kind !== "callback_vector" && r.type !== undefined && r.strength !== "guessed") {
      return undefined;
    }
  }
  if (!pvEntry) return undefined;
  const m = kernel === undefined ? null : /^(\d+)\.(\d+)/.exec(kernel);
  if (m === null) return "likely";
  const v = Number(m[1]) * 1000 + Number(m[2]);
  return v >= 3014 && v < 4011 ? "proven" : undefined;
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
export function inferNrPages(
  domain: "dom0" | "domU" | "unknown",
  f: NrPagesFacts,
): NrPagesInference {
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
