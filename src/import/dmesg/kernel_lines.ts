/**
 * Patterns for the Linux printk lines (other than PCI) that carry P2M facts: the boot pass of
 * `xen_memory_setup` (arch/x86/xen/setup.c, v2.6.39 to v6.x wordings), the banner and version
 * lines that say which kernel, hypervisor and guest type produced the log, the printed E820
 * maps, the balloon driver's start, and lines worth a mark (crashes, P2M warnings).
 *
 * Every function is pure: text in (prefixes already stripped), a typed fact out.
 *
 * @module
 */

import { type E820Text, parseKernelE820 } from "./e820_text.ts";

/** Guest evidence: what a line says about the guest's type or domain. */
export type Evidence =
  | "pv"
  | "pv_likely"
  | "hvm"
  | "pvh"
  | "auto"
  | "auto_likely"
  | "pv_domU"
  | "auto_domU"
  | "dom0"
  | "dom0_likely"
  | "not_xen"
  | "xen_flavour"
  | "callback_vector"
  | "acpi_tables";

/** The x86 flavour a line proves: 64-bit, or 32-bit with or without PAE. */
export type GuestArch = "x86_64" | "x86_32_pae" | "x86_32";

/** A recognised kernel line. */
export type KernelLine =
  | { kind: "linux_version"; release: string }
  | { kind: "identity_count"; pages: number }
  | { kind: "released"; pages: number }
  | { kind: "remapped"; pages: number }
  | { kind: "populating"; pfn: number; endPfn: number; pages: number }
  | { kind: "freeing"; pfn: number; endPfn: number; pages: number }
  | { kind: "identity_range"; pfn: number; endPfn: number }
  | { kind: "map_header"; map: "bios" | "user" | "other" }
  | { kind: "e820"; entry: E820Text }
  | { kind: "evidence"; evidence: Evidence; why: string }
  | { kind: "xen_version"; version: string; pv: boolean }
  | { kind: "balloon_init"; sysfs: boolean }
  | { kind: "memory_total"; totalKiB: number; physpages: boolean }
  | { kind: "last_pfn"; pfn: number; maxArchPfn: number }
  | { kind: "p2m_area"; size: number }
  | { kind: "arch"; arch: GuestArch; proven: boolean; why: string }
  | { kind: "numa_ram"; start: number; end: number }
  | { kind: "cmdline"; text: string }
  | { kind: "gsi" }
  | { kind: "pirq" }
  | { kind: "arm"; why: string }
  | { kind: "xenlinux"; why: string }
  | { kind: "mark"; text: string }
  | { kind: "known" }
  | { kind: "hypervisor" }
  | { kind: "irrelevant" };

const HEX = "([0-9a-f]{1,13})";
const SET_IDENTITY = /^(?:xen: ?)?Set (\d{1,15}) page\(s\) to 1-1 mapping\.?$/;
const RELEASED = /^(?:xen: ?)?[Rr]eleased (\d{1,15}) (?:page\(s\)|pages of unused memory)\.?$/;
const REMAPPED = /^(?:xen: ?)?Remapped (\d{1,15}) page\(s\)(?:, last_pfn=\d+)?$/;
const POPULATING = new RegExp(
  `^(?:xen: ?)?Populating ${HEX}-${HEX} pfn range: (\\d{1,15}) pages? added$`,
);
const FREEING = new RegExp(
  `^(?:xen: ?)?(?:Freeing ${HEX}-${HEX} pfn range|xen_release_chunk: looking at area pfn ` +
    `${HEX}-${HEX}): (\\d{1,15}) pages? freed$`,
);
const IDENTITY_RANGE = new RegExp(`^(?:xen: ?)?1-1 mapping on ${HEX}->${HEX}$`);
const LINUX_VERSION = /^Linux version (\S+)/;
const BOOTING_ON = /^Booting (?:paravirtualized )?kernel on (.+?)\s*$/;
const HYPERVISOR = /^Hypervisor detected: (.+?)\s*$/;
const XEN_VERSION = /^Xen version:? (\d+\.\d+[^\s(]*?)\.?(?: \(.*\))?$/;
const BALLOON = /^xen[/:_-]?balloon: Initiali[sz]ing balloon driver\.?$/i;
const MEMORY = /^Memory: (\d{1,15})[kK]\/(\d{1,15})([kK]) available/;
const LAST_PFN = /^(?:e820: )?last_pfn = 0x([0-9a-f]{1,13}) max_arch_pfn = 0x([0-9a-f]{1,13})$/;
/** `xen_vmalloc_p2m_tree` (v3.19+): the list's virtual area, `%p` then `vm.size` in hex. */
const P2M_AREA = /^p2m virtual area at \S+, size is ([0-9a-f]{1,13})$/;
/** arch/x86/mm (32-bit only): `highmem_pfn_init` / `lowmem_pfn_init` print these. */
const MEM_32 = /^\d{1,9}MB (?:HIGHMEM|LOWMEM) available\.?$/;
/** A zone of `Zone ranges:`: ZONE_HIGHMEM exists only on 32-bit x86, ZONE_DMA32 only on 64-bit. */
const ZONE_ARCH = /^(HighMem|DMA32)\s+(?:\[mem|empty|0x)/;
/** `free_area_init`'s "Early memory node ranges": one memblock RAM range (end inclusive). */
const NODE_RANGE = /^node +\d+: \[mem 0x([0-9a-f]{1,16})-0x([0-9a-f]{1,16})\]$/;
const CMDLINE = /^(?:Kernel )?[Cc]ommand line: (.*)$/;

/**
 * Lines only an Arm machine prints, kernel or hypervisor: `smp_setup_processor_id`'s
 * "Booting Linux on physical CPU" (arch/arm, arch/arm64), the CPU name of arch/arm's
 * `setup_processor`, arch/arm/xen/enlighten.c's "Xen N.M support found", the guest device tree
 * Xen writes ("Machine model: XENVM-4.4"), and Xen on Arm's own PSCI/SMCCC and vGIC lines. Found
 * anywhere in the text, so that a line another domain relayed (`(XEN) DOM1: [...] Booting
 * Linux...`) counts too: the machine is the same.
 */
const ARM_LINE =
  /(?:^|\] )(?:Booting Linux on physical CPU 0x|CPU: (?:ARMv\d|AArch64)|Xen \d+\.\d+ support found|Machine model: XENVM-)|^(?:Using PSCI v\d|Using SMC Calling Convention|d\d+v\d+: vGIC[DR]: )/;

/**
 * Lines only a XenLinux ("classic Xen", the out-of-tree port SUSE, Debian and Amazon shipped as
 * `-xen`/`-ec2` kernels) prints, never the upstream (pvops) kernel p2mtrace models:
 * `setup_memory_map`'s "Xen-provided physical RAM map" (pvops prints "BIOS-provided"), the
 * balloon driver's `xen_mem:` prefix (drivers/xen/balloon/balloon.c) and time-xen.c's
 * "Xen reported: N MHz processor". XenLinux keeps its P2M as the flat `phys_to_machine_mapping`
 * array Xen hands over: no identity entries, no tree or list of the pvops eras.
 */
const XENLINUX =
  /^(?:(?:e820: )?Xen-provided physical RAM map|xen_mem: Initialising balloon driver|Xen reported: \d+\.\d+ MHz processor)/;

/**
 * The line, when it is one only a XenLinux kernel prints (see `XENLINUX`); undefined otherwise.
 *
 * @example
 * ```ts
 * import { xenLinuxLine } from "./kernel_lines.ts";
 * import assert from "node:assert/strict";
 * assert.equal(xenLinuxLine("xen_mem: Initialising balloon driver."),
 *   "xen_mem: Initialising balloon driver.");
 * assert.equal(xenLinuxLine("xen:balloon: Initialising balloon driver"), undefined);
 * ```
 */
export function xenLinuxLine(text: string): string | undefined {
  return XENLINUX.test(text) ? text.slice(0, 120) : undefined;
}

/**
 * The line, when it is one only an Arm machine prints (kernel or `(XEN)` text, prefixes
 * stripped); undefined otherwise. Xen on Arm gives every guest an auto-translated (stage-2)
 * P2M of the hypervisor's own: there is no E820 map and no PV P2M in the guest to model.
 *
 * @example
 * ```ts
 * import { armLine } from "./kernel_lines.ts";
 * import assert from "node:assert/strict";
 * assert.equal(armLine("Booting Linux on physical CPU 0x0"), "Booting Linux on physical CPU 0x0");
 * assert.equal(armLine("Booting paravirtualized kernel on Xen"), undefined);
 * ```
 */
export function armLine(text: string): string | undefined {
  return ARM_LINE.test(text) ? text.slice(0, 120) : undefined;
}

const MARKS: RegExp[] = [
  /^Kernel panic/,
  /^BUG: /,
  /^kernel BUG at /,
  /^Oops/,
  /general protection fault/,
  /^WARNING: (?:CPU: \d+ PID|at )/,
  /Identity mapping failed/,
  /Trying to over-write 1-1 mapping/,
  /^Trying to remove [0-9a-f]+ which has [0-9a-f]+ mfn/,
  /^P2M\[\d+\]\[\d+\] == IDENTITY/,
  /set_phys_to_machine\(\) failed/,
  /^Failed to release pfn/,
  // xen_remap_memory (setup.c, v3.19+) when moving a remapped page's kernel mapping fails.
  /^Failed to update kernel mapping for mfn=/,
  /^unable to handle (?:kernel )?paging request/i,
];

/** Lines that mention Xen, memory or resources but carry nothing the trace needs. */
const KNOWN: RegExp[] = [
  /^xen[:/_-]?(?:grant_table|events|netfront|blkfront|mcelog|acpi_processor|cpu_hotplug|pciback|swiotlb|platform|evtchn|gntdev|pvcalls|scsiback|xenbus|hvc|time|pcifront|privcmd)\b/i,
  /^Grant tables? /,
  /^Grant table initialized/,
  /^Xen: (?:using vcpuop timer interface|initializing cpu\d+)/,
  /^installing Xen timer for CPU/,
  /^Xen PV: Detected \d+ vCPUS/,
  /^xen_netfront:/,
  /^(?:xen-)?blkfront:/,
  /^Initialising Xen virtual ethernet driver/,
  /^clocksource: xen/,
  /^software IO TLB/,
  /^init_memory_mapping:/,
  /^\[mem 0x[0-9a-f]+-0x[0-9a-f]+\] page (?:4k|2M|1G)/,
  /^\[mem 0x[0-9a-f]+-0x[0-9a-f]+\] available for PCI devices/,
  /^e820: \[mem 0x[0-9a-f]+-0x[0-9a-f]+\] available for PCI devices/,
  /^e820: (?:update|remove|reserve RAM buffer) \[mem /,
  /^e820: update .* ==> /,
  /^BRK \[/,
  /^RAMDISK: /,
  /^\s*NODE_DATA/,
  /^(?:DMA|DMA32|Normal|Movable|Device|HighMem)\s+(?:\[mem|empty|0x)/,
  /^Initmem setup node/,
  /^PM: (?:hibernation: )?Registered nosave memory/,
  /^Allocating PCI resources starting at/,
  /^PCI: System does not support PCI/,
  /^Remapped \d+ non-RAM page\(s\)/,
  /^Zone ranges:/,
  /^Early memory node ranges/,
  /^Movable zone start/,
  /^reserving inaccessible SNB gfx pages/,
  /^x86\/PAT:/,
  /^MTRR/,
  /^Xen HVM callback vector/,
  /^xen: (?:--> pirq|registering gsi|PV spinlocks|Enabling|Disabling)/,
  /^Xen Platform PCI:/,
  /^(?:printk: )?(?:legacy )?bootconsole \[/,
  /^Zone PFN ranges/,
  /^early_node_map\[\d+\] active PFN ranges/,
  /^Movable zone start (?:PFN )?for each node/,
  /^\d+: 0x[0-9a-f]+ -> 0x[0-9a-f]+$/,
  /^Kernel\/User page tables isolation/,
  /^PCI: MMCONFIG /,
  /^Faking a node at /,
  /^NUMA turned off/,
  /^PCI: Using host bridge windows from ACPI/,
  /^PCI: Ignoring host bridge windows/,
  // free_init_pages and friends: kernel image, initrd and SMP-alternatives memory, not the P2M
  // (the boot pass's own line is "Freeing <pfn>-<pfn> pfn range", matched before this).
  /^Freeing (?:unused kernel|initrd memory|SMP alternatives|unused decrypted memory)/,
  /^(?:xenbus_probe_frontend|XENBUS): Device with no driver/,
  /^(?:printk: )?(?:boot)?console \[\w{1,32}\] (?:enabled|disabled)/,
  /^(?:Setting APIC routing to |APIC: Switched APIC routing to: )Xen PV/,
  /^Reserving Intel graphics (?:memory|stolen memory) at /,
  /^RIP: [0-9a-f]{4}:/,
  /^Xen virtual console successfully installed/,
  /^xen-vbd: registered block device/,
  // A frame of a call trace ("xen_start_kernel+0x574/0x580"): the oops itself is the mark.
  /^(?:\? )?[\w.]{1,128}\+0x[0-9a-f]{1,16}\/0x[0-9a-f]{1,16}(?: \[[\w-]+\])?$/,
  // v2.6.2x's "(N early reservations)" table: "#2 [0002c21000 - 0002c3c000]   XEN PAGETABLES".
  /^#\d+ \[[0-9a-f]+ - [0-9a-f]+\] /,
];

/**
 * The first line of `xl dmesg`: the end of Xen's start-of-day banner, " Xen 4.8.3-2.fc25",
 * printed without "(XEN)"; the "(XEN) Xen version" line that follows carries the version. The
 * hypervisor's line, not the guest kernel's.
 */
const XL_DMESG_BANNER = /^Xen \d+\.\d+[^\s(]*$/;

/**
 * Classifies one kernel message. Returns `irrelevant` for a line that mentions nothing the
 * importer or its report cares about, and undefined for a line it does not know that may be
 * relevant (the caller decides).
 *
 * @example
 * ```ts
 * import { classifyKernelLine } from "./kernel_lines.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(classifyKernelLine("Set 283999 page(s) to 1-1 mapping"),
 *   { kind: "identity_count", pages: 283999 });
 * assert.deepEqual(classifyKernelLine("Populating 1acb65-1f20c4 pfn range: 283999 pages added"),
 *   { kind: "populating", pfn: 0x1acb65, endPfn: 0x1f20c4, pages: 283999 });
 * assert.deepEqual(classifyKernelLine("1-1 mapping on 9e->100"),
 *   { kind: "identity_range", pfn: 0x9e, endPfn: 0x100 });
 * assert.deepEqual(classifyKernelLine("xen:balloon: Initialising balloon driver"),
 *   { kind: "balloon_init", sysfs: false });
 * assert.deepEqual(classifyKernelLine("random noise"), { kind: "irrelevant" });
 * assert.equal(classifyKernelLine("e820: lacanning 1 areas"), undefined);
 * ```
 */
export function classifyKernelLine(text: string): KernelLine | undefined {
  let m: RegExpExecArray | null;
  if (text.length === 0) return undefined;
  switch (text.charCodeAt(0)) {
    case 0x31: // "1"
      if ((m = IDENTITY_RANGE.exec(text)) !== null) {
        return { kind: "identity_range", pfn: hex(m[1]), endPfn: hex(m[2]) };
      }
      break;
    case 0x42: // "B"
      if ((m = BOOTING_ON.exec(text)) !== null) return booting(m[1]);
      if (text.startsWith("Booting Linux on physical CPU")) return { kind: "arm", why: text };
      if (text.startsWith("BIOS-provided physical RAM map")) {
        return { kind: "map_header", map: "bios" };
      }
      break;
    case 0x46: // "F"
      if ((m = FREEING.exec(text)) !== null) return freeing(m);
      break;
    case 0x4c: // "L"
      if ((m = LINUX_VERSION.exec(text)) !== null) {
        return { kind: "linux_version", release: m[1] };
      }
      break;
    case 0x4d: // "M"
      if ((m = MEMORY.exec(text)) !== null) {
        // v3.11+ prints "K" and the total is physpages; earlier x86 printed "k" and max_pfn.
        return { kind: "memory_total", totalKiB: Number(m[2]), physpages: m[3] === "K" };
      }
      break;
    case 0x50: // "P"
      if ((m = POPULATING.exec(text)) !== null) {
        return {
          kind: "populating",
          pfn: hex(m[1]),
          endPfn: hex(m[2]),
          pages: Number(m[3]),
        };
      }
      if (text.startsWith("PCI: setting up Xen PCI frontend stub")) {
        return {
          kind: "evidence",
          evidence: "pv_domU",
          why: "PCI: setting up Xen PCI frontend stub",
        };
      }
      break;
    case 0x52: // "R"
      if ((m = RELEASED.exec(text)) !== null) return { kind: "released", pages: Number(m[1]) };
      if ((m = REMAPPED.exec(text)) !== null) return { kind: "remapped", pages: Number(m[1]) };
      break;
    case 0x53: // "S"
      if ((m = SET_IDENTITY.exec(text)) !== null) {
        return { kind: "identity_count", pages: Number(m[1]) };
      }
      break;
  }
  return classifySlow(text);
}

/**
 * Every line the slow patterns below can match, and every line the unrecognised-line report
 * would want (`RELEVANT_KERNEL` in unrecognised.ts, in the spellings kernels print), mentions
 * one of these words; the rest are skipped with one case-sensitive regex test.
 */
const SLOW_GATE = new RegExp(
  [
    "e820|E820|p2m|P2M|1-1 mapping|1:1|[Bb]alloon|BAR|bridge window|[Xx]en|XEN|pfn|PFN|mfn|MFN|[Ii]dentity",
    "\\[mem |\\[io |pcifront|root bus|host bridge|Populating|Freeing|[Rr]eleased|Remapped",
    "page\\(s\\)|RAM map|Hypervisor|Memory:|last_pfn|ommand line|ACPI|pciback|acpi_processor",
    "Booting|panic|BUG|Oops|protection fault|WARNING|Trying to|Failed to|unable to handle",
    "HIGHMEM|LOWMEM|HighMem|DMA32",
    "CPU: ARMv|CPU: AArch64|Machine model",
  ].join("|"),
);

function classifySlow(text: string): KernelLine | undefined {
  if (!SLOW_GATE.test(text)) return { kind: "irrelevant" };
  let m: RegExpExecArray | null;
  if ((m = RELEASED.exec(text)) !== null) return { kind: "released", pages: Number(m[1]) };
  if (text.startsWith("xen: ")) {
    if ((m = SET_IDENTITY.exec(text)) !== null) {
      return { kind: "identity_count", pages: Number(m[1]) };
    }
    if ((m = REMAPPED.exec(text)) !== null) return { kind: "remapped", pages: Number(m[1]) };
    if ((m = POPULATING.exec(text)) !== null) {
      return { kind: "populating", pfn: hex(m[1]), endPfn: hex(m[2]), pages: Number(m[3]) };
    }
    if ((m = FREEING.exec(text)) !== null) return freeing(m);
    if ((m = IDENTITY_RANGE.exec(text)) !== null) {
      return { kind: "identity_range", pfn: hex(m[1]), endPfn: hex(m[2]) };
    }
  }
  if ((m = FREEING.exec(text)) !== null) return freeing(m);
  const e820 = parseKernelE820(text);
  if (e820) return { kind: "e820", entry: e820 };
  if (/^(?:e820: )?[\w-]{1,32} physical RAM map:?$/.test(text)) {
    if (/^(?:e820: )?BIOS-provided/.test(text)) return { kind: "map_header", map: "bios" };
    if (/^(?:e820: )?user-defined/.test(text)) return { kind: "map_header", map: "user" };
    return { kind: "map_header", map: "other" };
  }
  if ((m = HYPERVISOR.exec(text)) !== null) return hypervisor(m[1]);
  if ((m = XEN_VERSION.exec(text)) !== null) {
    // xen_banner prints "Xen version: 4.1.2" (PV, PVHv1, and PVH since xen_banner became
    // PVH's banner too in 2021); init_hvm_pv_info (HVM, PVH) prints "Xen version 4.1.".
    return { kind: "xen_version", version: m[1], pv: text.startsWith("Xen version:") };
  }
  if ((m = BALLOON.exec(text)) !== null) {
    return { kind: "balloon_init", sysfs: text.toLowerCase().startsWith("xen-balloon") };
  }
  if ((m = LAST_PFN.exec(text)) !== null) {
    return { kind: "last_pfn", pfn: hex(m[1]), maxArchPfn: hex(m[2]) };
  }
  if ((m = P2M_AREA.exec(text)) !== null) return { kind: "p2m_area", size: hex(m[1]) };
  if (MEM_32.test(text)) return { kind: "arch", arch: "x86_32", proven: true, why: text };
  if ((m = ZONE_ARCH.exec(text)) !== null) {
    const arch = m[1] === "DMA32" ? "x86_64" : "x86_32";
    return { kind: "arch", arch, proven: true, why: `${m[1]} zone` };
  }
  if ((m = NODE_RANGE.exec(text)) !== null) {
    const start = parseInt(m[1], 16);
    const end = parseInt(m[2], 16) + 1;
    if (end > start && end <= 2 ** 52) return { kind: "numa_ram", start, end };
  }
  if ((m = CMDLINE.exec(text)) !== null) return { kind: "cmdline", text: m[1] };
  // arch/x86/kernel/setup.c, reserve_crashkernel: only when xen_pv_domain() (dom0 or domU).
  if (text.startsWith("Ignoring crashkernel for a Xen PV domain")) {
    return { kind: "evidence", evidence: "pv", why: "Ignoring crashkernel for a Xen PV domain" };
  }
  if (text.startsWith("ACPI in unprivileged domain disabled")) {
    return { kind: "evidence", evidence: "pv_domU", why: "ACPI in unprivileged domain disabled" };
  }
  if (/^ACPI: RSDP /.test(text)) {
    return {
      kind: "evidence",
      evidence: "acpi_tables",
      why: "ACPI tables in a PV guest (ACPI: RSDP)",
    };
  }
  const arm = armLine(text);
  if (arm !== undefined) return { kind: "arm", why: arm };
  if (/^(?:xen_mem|Xen reported):/.test(text)) {
    const why = xenLinuxLine(text);
    if (why !== undefined) return { kind: "xenlinux", why };
  }
  if (text.startsWith("xen: registering gsi")) return { kind: "gsi" };
  if (text.startsWith("xen: --> pirq=")) return { kind: "pirq" };
  if (/^(?:xen[-_:]?pciback|pciback|xen_acpi_processor)\b/i.test(text)) {
    return { kind: "evidence", evidence: "dom0_likely", why: text.slice(0, 60) };
  }
  // drivers/xen/events: HVM and PVH guests both use the callback vector.
  if (/^(?:xen:events: )?Xen HVM callback vector/.test(text)) {
    return { kind: "evidence", evidence: "callback_vector", why: text.slice(0, 60) };
  }
  if (
    // platform-pci-unplug.c (HVM only: "PVH guests don't have emulated devices"); v4.x+ adds
    // its pr_fmt "platform_pci_unplug: " before the same words.
    /^(?:platform_pci_unplug: )?Xen Platform PCI:/.test(text) ||
    /^(?:platform_pci_unplug: )?(?:Netfront|Blkfront) and the Xen platform PCI driver/.test(text)
  ) {
    return { kind: "evidence", evidence: "hvm", why: text.slice(0, 60) };
  }
  if (/^DMI: Xen HVM domU\b/.test(text)) {
    return { kind: "evidence", evidence: "auto_domU", why: text.slice(0, 60) };
  }
  for (const re of MARKS) if (re.test(text)) return { kind: "mark", text };
  for (const re of KNOWN) if (re.test(text)) return { kind: "known" };
  if (XL_DMESG_BANNER.test(text)) return { kind: "hypervisor" };
  return undefined;
}

function freeing(m: RegExpExecArray): KernelLine {
  const pfn = hex(m[1] ?? m[3]);
  const endPfn = hex(m[2] ?? m[4]);
  return { kind: "freeing", pfn, endPfn, pages: Number(m[5]) };
}

/**
 * The banner names `pv_info.name` (default_banner in arch/x86/kernel/paravirt.c, xen_banner in
 * arch/x86/xen): "Xen HVM" and "Xen PVH" from init_hvm_pv_info, "Xen" from the PV `xen_info`,
 * which PVHv1 guests (v3.14-v4.10, booted through xen_start_kernel, auto-translated) printed
 * too: "on Xen" makes PV likely, not proven. Anything else ("bare hardware", "KVM") is no Xen.
 */
function booting(what: string): KernelLine {
  const why = `Booting ... kernel on ${what}`;
  if (/^Xen HVM$/i.test(what)) return { kind: "evidence", evidence: "hvm", why };
  if (/^Xen PVH$/i.test(what)) return { kind: "evidence", evidence: "pvh", why };
  if (/^Xen$/i.test(what)) return { kind: "evidence", evidence: "pv_likely", why };
  // No kernel names another Xen flavour: such a banner was edited or retyped (`Xen PVHVM`,
  // a PV-on-HVM guest, prints "Xen HVM"). It proves Xen, not which type.
  if (/^Xen\b/i.test(what)) return { kind: "evidence", evidence: "xen_flavour", why };
  return { kind: "evidence", evidence: "not_xen", why };
}

function hypervisor(name: string): KernelLine {
  const why = `Hypervisor detected: ${name}`;
  if (/^Xen PV$/i.test(name)) return { kind: "evidence", evidence: "pv", why };
  // x86_hyper_xen_hvm is named "Xen HVM" and detects PVH guests too.
  if (/^Xen HVM$/i.test(name)) return { kind: "evidence", evidence: "auto", why };
  if (/^Xen PVH$/i.test(name)) return { kind: "evidence", evidence: "pvh", why };
  // "Xen" alone is v4.x's x86_hyper_xen, which detects PV and HVM guests alike (xen_platform).
  if (/^Xen/i.test(name)) return { kind: "evidence", evidence: "xen_flavour", why };
  return { kind: "evidence", evidence: "not_xen", why };
}

function hex(text: string): number {
  return parseInt(text, 16);
}

/**
 * The value of the last `mem=` option of a kernel command line, in bytes.
 *
 * @example
 * ```ts
 * import { memOption } from "./kernel_lines.ts";
 * import assert from "node:assert/strict";
 * assert.equal(memOption("root=/dev/xvda1 mem=4G quiet"), 4 * 2 ** 30);
 * assert.equal(memOption("root=/dev/xvda1 dom0_mem=4G"), undefined);
 * ```
 */
export function memOption(cmdline: string): number | undefined {
  let bytes: number | undefined;
  for (const m of cmdline.matchAll(/(?:^|\s)mem=(\d{1,15})([KMGT]?)(?=\s|$)/gi)) {
    bytes = sizeValue(m[1], m[2]);
  }
  return bytes;
}

/**
 * A size with an optional K/M/G/T suffix (the kernel's `memparse`), in bytes.
 *
 * @example
 * ```ts
 * import { sizeValue } from "./kernel_lines.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sizeValue("768", "M"), 768 * 2 ** 20);
 * ```
 */
export function sizeValue(digits: string, suffix: string): number {
  const scale: Record<string, number> = { "": 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };
  return Number(digits) * (scale[suffix.toUpperCase()] ?? 1);
}

/**
 * How a kernel message the importer knows can begin: the boot pass of `xen_memory_setup`, the
 * E820 map lines, the banners, the PCI lines, the balloon, the Xen console. A line whose prefix
 * the grammar (prefix.ts) does not know is searched for one of these after a separator.
 */
const BODY_START = new RegExp(
  "(?:^|[\\s\\]|>:;)=])(" + [
    "Linux version \\d",
    "(?:e820: )?(?:BIOS-e820|Xen|user): ?(?:\\[mem |[0-9a-f]{8,16} - )",
    "(?:e820: )?(?:BIOS-provided|user-defined) physical RAM map",
    "(?:xen: ?)?(?:[Rr]eleased \\d|Set \\d+ page\\(s\\) to 1-1|Remapped \\d|Populating [0-9a-f]+-|" +
    "Freeing [0-9a-f]+-[0-9a-f]+ pfn|1-1 mapping on )",
    "Booting (?:paravirtualized )?kernel on ",
    "Hypervisor detected: ",
    "Xen version:? \\d",
    "ACPI in unprivileged domain",
    "Memory: \\d+[kK]/",
    "(?:Kernel )?[Cc]ommand line: ",
    "pci(?:_bus)? [0-9a-f]{4,5}:[0-9a-f]{2}",
    "pcifront pci-",
    "PCI host bridge to bus ",
    "PCI: setting up Xen PCI frontend",
    "xen[/:_-]?balloon: ",
    "Xen HVM callback vector",
    "\\(XEN\\) ",
    "\\(d\\d{1,5}\\) ",
    // A dmesg time: the message after it is classified as usual (prefix.ts strips it).
    "\\[ *\\d{1,10}\\.\\d{1,9}\\] ",
  ].join("|") + ")",
);

/**
 * Where a kernel message starts in a line whose prefix is unknown: the offset of the first
 * known message beginning ({@link BODY_START}) that follows a separator within the first
 * `maxPrefix` characters, or -1. Only a bounded head of the line is searched, so a line costs
 * at most one regex pass over `maxPrefix` plus the longest beginning.
 *
 * @example
 * ```ts
 * import { findKernelBody } from "./kernel_lines.ts";
 * import assert from "node:assert/strict";
 * const line = "host42/console.0 @@ Released 0 page(s)";
 * assert.equal(line.slice(findKernelBody(line, 120)), "Released 0 page(s)");
 * assert.equal(findKernelBody("nothing known here", 120), -1);
 * ```
 */
export function findKernelBody(text: string, maxPrefix: number): number {
  const head = text.length > maxPrefix + 64 ? text.slice(0, maxPrefix + 64) : text;
  const m = BODY_START.exec(head);
  if (m === null) return -1;
  const at = m.index + m[0].length - m[1].length;
  return at <= maxPrefix ? at : -1;
}
