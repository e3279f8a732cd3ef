/**
 * The policies p2mtrace ships: the kernels that were released and the fixes argued over in the
 * 2013 LKML thread "xen/p2m: Create identity mappings for PFNs beyond E820 and PCI BARs". Each
 * description says which kernel facts it follows (p2m-semantics.md) and what it chooses where
 * the kernel text is unknown.
 *
 * @module
 */

import type { PolicyDefinition, PolicyOption } from "./policy.ts";
import { LINUX_3_12 } from "../kernel/eras/linux_3_12.ts";
import { LINUX_3_16 } from "../kernel/eras/linux_3_16.ts";
import { LINUX_3_18 } from "../kernel/eras/linux_3_18.ts";
import { LINUX_3_19 } from "../kernel/eras/linux_3_19.ts";
import { LINUX_4_3 } from "../kernel/eras/linux_4_3.ts";

const IOMAP: PolicyOption = {
  name: "iomap",
  values: ["honoured", "ignored"],
  description: "whether ioremap/pci-mmap PTEs carrying _PAGE_IOMAP bypass the P2M (kernels " +
    "before 3.18 honour it); affects recorded lookups with iomap:true",
};

const P2M_LIMIT: PolicyOption = {
  name: "p2m_limit",
  values: ["512", "0"],
  description: "P2M_LIMIT in GiB: the hot-plug space xen_vmalloc_p2m_tree sizes the list for " +
    "(CONFIG_XEN_BALLOON_MEMORY_HOTPLUG_LIMIT, 512 by default; 0 without memory hot-plug); " +
    "PFNs beyond the list read identity",
};

const IDENTITY_RULE_OPTIONS: readonly PolicyOption[] = [
  {
    name: "primitive",
    values: ["faithful", "ideal"],
    description: "faithful: identity is written with the era's set_phys_to_machine (leaf and " +
      "GiB swaps, aliasing through the shared mid-missing page); ideal: exactly the PFNs asked " +
      "for, in private leaves",
  },
  {
    name: "ram",
    values: ["max_pfn", "e820"],
    description: "what 'not RAM' means: max_pfn: at or above the end of populated RAM " +
      "(extra memory is not RAM); e820: outside every raw E820 RAM entry",
  },
  {
    name: "guard",
    values: ["none", "max_p2m_pfn"],
    description: "none: PFNs at or above MAX_P2M_PFN are written too (a kernel BUG in the tree " +
      "eras); max_p2m_pfn: they are skipped",
  },
  {
    name: "unset",
    values: ["skip", "walk"],
    description: "skip: resources that are empty or flagged UNSET/DISABLED are not walked; " +
      "walk: they are (an unassigned BAR then covers PFN 0 up)",
  },
  IOMAP,
];

const BASE_312 = {
  kernel: LINUX_3_12,
  beyondE820: false,
  invalidIsIdentity: false,
  p2mLimitGib: 512,
  primitive: "faithful",
  ram: "max_pfn",
  guard: false,
  walkUnset: false,
} as const;

/** Every shipped policy, by name, in the order `--policy list` and `compare` show them. */
export const POLICIES: ReadonlyMap<string, PolicyDefinition> = new Map<string, PolicyDefinition>([
  ["linux-3.12", {
    base: {
      ...BASE_312,
      name: "linux-3.12",
      summary: "v3.12-3.15 as released: no BAR handling, above-E820 PFNs stay INVALID",
      description: "The 3-level tree of v3.12-3.15 (p2m-semantics.md 3.1-3.4) and the boot " +
        "pass of xen_memory_setup (4.1-4.2): gaps and non-RAM below the last E820 entry become " +
        "1:1, RAM behind them is released and populated back above nr_pages, RAM beyond the " +
        "populated end becomes extra memory (balloon space). Nothing above the last E820 entry " +
        "is written, so those PFNs read INVALID, and PFNs at or above MAX_P2M_PFN (512 GiB) " +
        "are INVALID too. Ballooned-out pages hold the balloon scratch page's frame. PCI " +
        "events do not touch the P2M. _PAGE_IOMAP mappings (ioremap) bypass the P2M.",
    },
    options: [IOMAP],
  }],
  ["seed-v1", {
    base: {
      ...BASE_312,
      name: "seed-v1",
      barWalk: { skip: "eq" },
      summary: "the Oct 2013 patch as posted: BAR walk on xen_add_device, skip if flags == IO",
      description: "linux-3.12 plus the seed patch as the thread describes it (the patch text " +
        "itself was not found; p2m-semantics.md 9b): on every xen_add_device, walk each " +
        "resource, skip it only when flags == IORESOURCE_IO exactly — an endpoint I/O BAR " +
        "has flags 0x40101, so it is walked and its port numbers are read as addresses — and " +
        "for each PFN of the resource whose pfn_to_mfn is INVALID and that is neither on the " +
        "balloon list nor RAM, write identity. The walk sees the firmware BAR values at " +
        "notification time; later reassignments are not seen.",
    },
    options: IDENTITY_RULE_OPTIONS,
  }],
  ["seed-v1-fixed", {
    base: {
      ...BASE_312,
      name: "seed-v1-fixed",
      barWalk: { skip: "and" },
      summary: "seed-v1 with the I/O test fixed (flags & IORESOURCE_IO)",
      description: "Identical to seed-v1 except that any resource with the IORESOURCE_IO type " +
        "bit is skipped (endpoint I/O BARs and 16/32-bit bridge I/O windows), which removes " +
        "the port-as-address path (p2m-semantics.md 9c). Every other seed-v1 failure remains.",
    },
    options: IDENTITY_RULE_OPTIONS,
  }],
  ["host-bridge", {
    base: {
      ...BASE_312,
      name: "host-bridge",
      summary: "identity over host bridge (root bus) MMIO windows when they appear",
      bridgeRule: { windows: "root" },
      description: "linux-3.12 plus Bjorn Helgaas's suggestion (p2m-semantics.md 9d): when a " +
        "root bus is created, apply the seed-v1-fixed per-PFN rule (INVALID, not ballooned, " +
        "not RAM -> identity) over each of its memory windows; option windows=all also covers " +
        "bridge memory windows when they are assigned. Covers BARs assigned later inside a " +
        "window; windows above 512 GiB hit the tree's limit.",
    },
    options: [
      ...IDENTITY_RULE_OPTIONS,
      {
        name: "windows",
        values: ["root", "all"],
        description: "root: host bridge windows only; all: also bridge memory windows",
      },
    ],
  }],
  ["beyond-e820", {
    base: {
      ...BASE_312,
      name: "beyond-e820",
      beyondE820: true,
      summary: "at boot, identity from the last E820 entry to 512 GiB, on 3.12 tree structures",
      description: "linux-3.12 plus, in xen_memory_setup after extra memory is set INVALID, " +
        "set_phys_range_identity over [end of the last raw E820 entry, MAX_P2M_PFN - 1) minus " +
        "extra memory and ballooned PFNs (p2m-semantics.md 9e). The v3.12 tree has no shared " +
        "mid-identity page, so every GiB costs a private mid and mid-mfn page from brk: the " +
        "boot-page budget is charged for it. PFNs at or above MAX_P2M_PFN still read INVALID.",
    },
    options: [IOMAP],
  }],
  ["invalid-is-identity", {
    base: {
      ...BASE_312,
      name: "invalid-is-identity",
      invalidIsIdentity: true,
      summary: "every lookup that would be INVALID answers identity",
      description: "linux-3.12 with David Vrabel's suggestion taken literally " +
        "(p2m-semantics.md 9f1): get_phys_to_machine answers IDENTITY_FRAME(pfn) wherever it " +
        "would answer INVALID. No structural cost, but every ballooned-out, released or extra " +
        "PFN whose entry is INVALID now looks 1:1.",
    },
    options: [IOMAP],
  }],
  ["linux-3.16", {
    base: {
      ...BASE_312,
      name: "linux-3.16",
      kernel: LINUX_3_16,
      summary: "v3.16-3.17: identity above the last E820 entry and beyond the tree",
      description: "The v3.16-3.17 tree (p2m-semantics.md 3.3-3.4, 8): a shared mid-identity " +
        "page; set_phys_range_identity from the end of the last E820 entry to MAX_P2M_PFN at " +
        "boot (whole GiBs become identity at O(1) cost); lookups at or above MAX_P2M_PFN " +
        "answer identity; ballooned-out pages are INVALID again. The boot pass still releases " +
        "and populates back. No BAR or host-bridge logic. Writes into a shared identity leaf " +
        "or GiB (memory hotplug above RAM, balloon pages there) are lost.",
    },
    options: [IOMAP],
  }],
  ["linux-3.18", {
    base: {
      ...BASE_312,
      name: "linux-3.18",
      kernel: LINUX_3_18,
      summary: "v3.18: the v3.16 tree with the remap boot pass, no _PAGE_IOMAP",
      description: "linux-3.16 with xen_set_identity_and_remap (docs/kernel-versions.md): the " +
        "RAM behind identity ranges is moved above nr_pages during the pass, in " +
        "P2M_PER_PAGE-aligned blocks written with early_set_phys_to_machine, instead of being " +
        "released and populated back; last_pfn raises max_pfn and only released pages add to " +
        "extra memory. Prints 'Set N page(s) to 1-1 mapping', 'Remapped N page(s), " +
        "last_pfn=M', 'Released N page(s)', no '1-1 mapping on' lines. _PAGE_IOMAP is gone: " +
        "ioremap and PCI mmap consult the P2M. Hot-added PFNs are set INVALID before " +
        "add_memory (lost where they sit in a shared identity leaf or GiB). brk adds the " +
        "p2m_identity_remap reservation.",
    },
    options: [],
  }],
  ["linux-3.19", {
    base: {
      ...BASE_312,
      name: "linux-3.19",
      kernel: LINUX_3_19,
      summary: "v3.19-4.2: the linear p2m list; identity outside the list except extra memory",
      description: "Juergen Gross's virtually mapped p2m list (p2m-semantics.md 3.5, 8): the " +
        "list covers max(xen_max_p2m_pfn, P2M_LIMIT) (option p2m_limit); entries beyond the " +
        "initial list are identity except extra memory, which is set INVALID; RAM behind " +
        "identity ranges is remapped above nr_pages after the pass (xen_remap_memory), and " +
        "extra memory is sized extra_pages += released + remapped. Prints 'Released N " +
        "page(s)' and later 'Remapped N page(s)'. Writes into shared pages allocate private " +
        "pages, so nothing is lost or aliased. Hot-added memory is set INVALID first. " +
        "_PAGE_IOMAP no longer exists.",
    },
    options: [P2M_LIMIT],
  }],
  ["linux-4.3", {
    base: {
      ...BASE_312,
      name: "linux-4.3",
      kernel: LINUX_4_3,
      summary: "v4.3-6.x: linux-3.19 with extra memory sized before the remap (min3 clamp)",
      description: "linux-3.19 with the 2015 rework of xen_memory_setup: max_pages grows by " +
        "xen_count_remap_pages, extra_pages = min3(EXTRA_MEM_RATIO * min(max_pfn, MAXMEM), " +
        "extra_pages, max_pages - max_pfn), identity and remap run after the E820 rewrite, " +
        "xen_find_pfn_range skips a RAM entry ending at the cursor, and the 500 GiB domain " +
        "limit is gone (512 GiB for a domU by default, MAXMEM for dom0).",
    },
    options: [P2M_LIMIT],
  }],
]);

/**
 * The policy matching a kernel release string, following docs/kernel-versions.md: `linux-3.12`
 * up to 3.15 (older kernels included: 3.12 is the nearest era modelled), `linux-3.16` for
 * 3.16-3.17, `linux-3.18`, `linux-3.19` for 3.19-4.2, `linux-4.3` from 4.3 on; undefined when
 * the version cannot be read.
 *
 * @example
 * ```ts
 * import { policyForKernel } from "./policies.ts";
 * import assert from "node:assert/strict";
 * assert.equal(policyForKernel("3.8.0upstream-06471"), "linux-3.12");
 * assert.equal(policyForKernel("3.17.4"), "linux-3.16");
 * assert.equal(policyForKernel("6.12.21-gentoo"), "linux-4.3");
 * ```
 */
export function policyForKernel(release: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return undefined;
  const v = Number(m[1]) * 1000 + Number(m[2]);
  if (v < 3016) return "linux-3.12";
  if (v < 3018) return "linux-3.16";
  if (v < 3019) return "linux-3.18";
  if (v < 4003) return "linux-3.19";
  return "linux-4.3";
}
