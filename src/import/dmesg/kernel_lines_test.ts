import assert from "node:assert/strict";
import { armLine, classifyKernelLine, findKernelBody, memOption } from "./kernel_lines.ts";

Deno.test("classifyKernelLine reads the boot pass in every wording", () => {
  const cases: [string, unknown][] = [
    ["Set 283999 page(s) to 1-1 mapping", { kind: "identity_count", pages: 283999 }],
    ["Set 131538 page(s) to 1-1 mapping.", { kind: "identity_count", pages: 131538 }],
    ["Released 283999 pages of unused memory", { kind: "released", pages: 283999 }],
    ["released 98 pages of unused memory", { kind: "released", pages: 98 }],
    ["Released 0 page(s)", { kind: "released", pages: 0 }],
    ["Remapped 553565 page(s)", { kind: "remapped", pages: 553565 }],
    ["Remapped 130 page(s), last_pfn=524418", { kind: "remapped", pages: 130 }],
    ["Freeing 9e-100 pfn range: 98 pages freed", {
      kind: "freeing",
      pfn: 0x9e,
      endPfn: 0x100,
      pages: 98,
    }],
    ["xen_release_chunk: looking at area pfn 9e-100: 98 pages freed", {
      kind: "freeing",
      pfn: 0x9e,
      endPfn: 0x100,
      pages: 98,
    }],
    ["1-1 mapping on 40800->8000000", { kind: "identity_range", pfn: 0x40800, endPfn: 0x8000000 }],
    ["xen: Set 0 page(s) to 1-1 mapping", { kind: "identity_count", pages: 0 }],
  ];
  for (const [text, want] of cases) assert.deepEqual(classifyKernelLine(text), want, text);
});

Deno.test("classifyKernelLine does not take the non-RAM remap count for Remapped", () => {
  assert.deepEqual(classifyKernelLine("Remapped 0 non-RAM page(s)"), { kind: "known" });
});

Deno.test("classifyKernelLine reads versions and guest evidence", () => {
  assert.deepEqual(classifyKernelLine("Linux version 6.12.21-gentoo-generic (root@san1) (gcc)"), {
    kind: "linux_version",
    release: "6.12.21-gentoo-generic",
  });
  assert.deepEqual(classifyKernelLine("Xen version: 4.18.4-pre (preserve-AD)"), {
    kind: "xen_version",
    version: "4.18.4-pre",
    pv: true,
  });
  assert.deepEqual(classifyKernelLine("Xen version 4.16."), {
    kind: "xen_version",
    version: "4.16",
    pv: false,
  });
  const ev = (t: string) => {
    const k = classifyKernelLine(t);
    return k?.kind === "evidence" ? k.evidence : k?.kind;
  };
  // pv_info.name "Xen" is the PV xen_info's, which PVHv1 (v3.14-v4.10) printed too: likely.
  assert.equal(ev("Booting paravirtualized kernel on Xen"), "pv_likely");
  assert.equal(ev("Booting kernel on Xen"), "pv_likely");
  assert.equal(ev("Booting paravirtualized kernel on Xen HVM"), "hvm");
  assert.equal(ev("Booting paravirtualized kernel on Xen PVH"), "pvh");
  assert.equal(ev("Booting kernel on Xen PVH"), "pvh", "xen_banner, PVH's since 2021");
  // pv_info.name is only ever "Xen", "Xen HVM" or "Xen PVH": another name proves Xen, no type.
  assert.equal(ev("Booting paravirtualized kernel on Xen PVHVM"), "xen_flavour");
  assert.equal(ev("Hypervisor detected: Xen"), "xen_flavour", "v4.x x86_hyper_xen: PV or HVM");
  assert.equal(ev("Booting paravirtualized kernel on bare hardware"), "not_xen");
  assert.equal(ev("Booting paravirtualized kernel on KVM"), "not_xen");
  assert.equal(ev("Hypervisor detected: Xen PV"), "pv");
  assert.equal(ev("Hypervisor detected: Xen HVM"), "auto");
  assert.equal(ev("Hypervisor detected: KVM"), "not_xen");
  assert.equal(ev("ACPI in unprivileged domain disabled"), "pv_domU");
  assert.equal(ev("PCI: setting up Xen PCI frontend stub"), "pv_domU");
  assert.equal(ev("ACPI: RSDP 0x00000000000F05B0 000024 (v02 ALASKA)"), "acpi_tables");
  assert.equal(ev("Xen HVM callback vector for event delivery is enabled"), "callback_vector");
  assert.equal(
    ev("xen:events: Xen HVM callback vector for event delivery is enabled"),
    "callback_vector",
  );
  assert.equal(ev("DMI: Xen HVM domU, BIOS 4.14.1 06/18/2021"), "auto_domU");
});

Deno.test("classifyKernelLine reads the three balloon driver wordings", () => {
  for (
    const t of [
      "xen/balloon: Initialising balloon driver.",
      "xen:balloon: Initialising balloon driver",
      "xen-balloon: Initialising balloon driver.",
      "xen_balloon: Initialising balloon driver",
    ]
  ) assert.equal(classifyKernelLine(t)?.kind, "balloon_init", t);
});

Deno.test("classifyKernelLine reads map headers, E820 lines and memory facts", () => {
  assert.deepEqual(classifyKernelLine("e820: BIOS-provided physical RAM map:"), {
    kind: "map_header",
    map: "bios",
  });
  assert.deepEqual(classifyKernelLine("user-defined physical RAM map:"), {
    kind: "map_header",
    map: "user",
  });
  assert.equal(
    classifyKernelLine("Xen: [mem 0x0000000000000000-0x000000000009ffff] usable")?.kind,
    "e820",
  );
  assert.deepEqual(
    classifyKernelLine("Memory: 98485732K/100662908K available (12288K kernel code)"),
    { kind: "memory_total", totalKiB: 100662908, physpages: true },
  );
  assert.deepEqual(classifyKernelLine("Memory: 1997192k/2105344k available (6565k kernel code)"), {
    kind: "memory_total",
    totalKiB: 2105344,
    physpages: false,
  });
  assert.deepEqual(classifyKernelLine("e820: last_pfn = 0x23fe00 max_arch_pfn = 0x400000000"), {
    kind: "last_pfn",
    pfn: 0x23fe00,
    maxArchPfn: 0x400000000,
  });
});

Deno.test("classifyKernelLine reads the p2m virtual area (xen_vmalloc_p2m_tree, v3.19+: '%p, size is %lx')", () => {
  assert.deepEqual(
    classifyKernelLine("p2m virtual area at (____ptrval____), size is c600000"),
    { kind: "p2m_area", size: 0xc600000 },
  );
  // Before v4.15 %p printed the address itself.
  assert.deepEqual(classifyKernelLine("p2m virtual area at ffffc90000000000, size is 40000000"), {
    kind: "p2m_area",
    size: 0x40000000,
  });
});

Deno.test("classifyKernelLine reads the lines only one x86 flavour prints", () => {
  // arch/x86/mm (32-bit only): highmem_pfn_init / lowmem_pfn_init; ZONE_HIGHMEM only on 32-bit
  // x86, ZONE_DMA32 only on x86_64.
  for (const t of ["0MB HIGHMEM available.", "615MB LOWMEM available.", "  HighMem  empty"]) {
    assert.equal(classifyKernelLine(t.trim())?.kind, "arch", t);
  }
  assert.deepEqual(classifyKernelLine("HighMem  empty"), {
    kind: "arch",
    arch: "x86_32",
    proven: true,
    why: "HighMem zone",
  });
  assert.deepEqual(classifyKernelLine("DMA32    [mem 0x0000000001000000-0x00000000ffffffff]"), {
    kind: "arch",
    arch: "x86_64",
    proven: true,
    why: "DMA32 zone",
  });
});

Deno.test("classifyKernelLine marks crashes and P2M warnings", () => {
  for (
    const t of [
      "Kernel panic - not syncing: Attempted to kill init!",
      "BUG: unable to handle kernel paging request at ffffea000005b2d0",
      "WARNING: CPU: 0 PID: 1 at arch/x86/xen/p2m.c:747 set_phys_to_machine+0x3d/0x50",
      "general protection fault: 0000 [#1] SMP",
      "Identity mapping failed. We are 12 short of 1-1 mappings!",
      "Failed to update kernel mapping for mfn=6930582 pfn=524288",
    ]
  ) assert.equal(classifyKernelLine(t)?.kind, "mark", t);
});

Deno.test("classifyKernelLine tells irrelevant lines from unknown relevant ones", () => {
  assert.deepEqual(classifyKernelLine("NET: Registered protocol family 16"), {
    kind: "irrelevant",
  });
  assert.equal(classifyKernelLine("e820: lacanning 1 areas for low memory corruption"), undefined);
  assert.deepEqual(classifyKernelLine("xen:grant_table: Grant tables using version 1 layout"), {
    kind: "known",
  });
  // Lines that say "Freeing" or "Xen" about something other than the P2M are not reported.
  for (
    const t of [
      "Freeing unused kernel memory: 33984K",
      "Freeing SMP alternatives: 24k freed",
      "Freeing initrd memory: 28060k freed",
      "xenbus_probe_frontend: Device with no driver: device/vbd/51712",
      "#2 [0002c21000 - 0002c3c000]   XEN PAGETABLES ==> [0002c21000 - 0002c3c000]",
      "console [xenboot0] enabled",
      "printk: bootconsole [xenboot0] enabled",
      "Setting APIC routing to Xen PV.",
      "APIC: Switched APIC routing to: Xen PV",
      "Reserving Intel graphics memory at [mem 0x8c000000-0x8fffffff]",
      "RIP: e030:xen_remap_memory+0x191/0x26c",
      "xen_start_kernel+0x574/0x580",
      "? xen_mc_flush+0x1a2/0x1b0",
    ]
  ) assert.deepEqual(classifyKernelLine(t), { kind: "known" }, t);
  assert.equal(classifyKernelLine("Freeing 9d-100 pfn range: 99 pages freed")?.kind, "freeing");
  // xl dmesg's first line, the tail of Xen's banner, is not a relevant line left unread, and it
  // is the hypervisor's, not a line of the guest kernel.
  assert.deepEqual(classifyKernelLine("Xen 4.8.3-2.fc25"), { kind: "hypervisor" });
  assert.deepEqual(classifyKernelLine("Xen 4.4.1"), { kind: "hypervisor" });
});

Deno.test("memOption reads the last mem= of a command line", () => {
  assert.equal(memOption("mem=2G ro mem=1536M"), 1536 * 2 ** 20);
  assert.equal(memOption("ro quiet"), undefined);
  assert.equal(memOption("memmap=1G$4G"), undefined);
});

Deno.test("armLine knows the lines only an Arm machine prints, and no x86 line", () => {
  for (
    const arm of [
      "Booting Linux on physical CPU 0x0000000000 [0x414fd0b1]",
      "CPU: ARMv7 Processor [410fc074] revision 4 (ARMv7), cr=10c5387d",
      "Xen 4.19 support found",
      "Machine model: XENVM-4.4",
      "DOM2: [    0.000000] Booting Linux on physical CPU 0x0",
      "Using PSCI v1.1",
      "d1v0: vGICD: unhandled word write 0x000000ffffffff to ICACTIVER32",
    ]
  ) assert.ok(armLine(arm), arm);
  for (
    const x86 of [
      "Booting paravirtualized kernel on Xen",
      "Xen version: 4.1.2 (preserve-AD)",
      "Xen version 4.8.",
      "smpboot: Booting Node 0 Processor 1 APIC 0x2",
      "Machine check events logged",
    ]
  ) assert.equal(armLine(x86), undefined, x86);
  assert.deepEqual(classifyKernelLine("Booting Linux on physical CPU 0x0"), {
    kind: "arm",
    why: "Booting Linux on physical CPU 0x0",
  });
});

// arch/x86/xen/platform-pci-unplug.c returns early for PVH ("PVH guests don't have emulated
// devices"), so its lines prove HVM; v4.x+ prints them after the pr_fmt "platform_pci_unplug: "
// (real log 75, an EC2 5.15 guest, shows nothing else that tells HVM from PVH).
Deno.test("classifyKernelLine takes the platform PCI unplug lines as HVM, with or without pr_fmt", () => {
  for (
    const text of [
      "platform_pci_unplug: Netfront and the Xen platform PCI driver have been compiled for this kernel: unplug emulated NICs.",
      "Blkfront and the Xen platform PCI driver have been compiled for this kernel: unplug emulated disks.",
      "platform_pci_unplug: Xen Platform PCI: I/O protocol version 1",
    ]
  ) {
    assert.deepEqual(
      (classifyKernelLine(text) as { evidence?: string }).evidence,
      "hvm",
      text,
    );
  }
});

// arch/x86/kernel/setup.c prints it only under xen_pv_domain() (real log 70, a SLES dom0 booted
// with crashkernel=): PV evidence, not an unread line.
Deno.test("classifyKernelLine takes 'Ignoring crashkernel for a Xen PV domain' as PV", () => {
  assert.deepEqual(classifyKernelLine("Ignoring crashkernel for a Xen PV domain"), {
    kind: "evidence",
    evidence: "pv",
    why: "Ignoring crashkernel for a Xen PV domain",
  });
});

Deno.test("findKernelBody finds a message after '=' (journalctl -o verbose and export: MESSAGE=)", () => {
  const line = "    MESSAGE=Xen: [mem 0x0000000000000000-0x000000000009ffff] usable";
  assert.equal(
    line.slice(findKernelBody(line, 120)),
    "Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
  );
  assert.equal(findKernelBody("MESSAGE=Released 0 page(s)", 120), 8);
});
