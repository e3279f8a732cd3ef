import assert from "node:assert/strict";
import { classifyXenLine } from "./xen_lines.ts";

Deno.test("classifyXenLine reads table headers and both row forms", () => {
  assert.deepEqual(classifyXenLine("Xen-e820 RAM map:"), {
    kind: "table_header",
    name: "Xen-e820",
  });
  assert.deepEqual(classifyXenLine("Multiboot-e820 RAM map:"), {
    kind: "table_header",
    name: "Multiboot-e820",
  });
  assert.equal(classifyXenLine("0000000000000000 - 000000000009ec00 (usable)").kind, "e820_row");
  assert.equal(classifyXenLine("[0000000000000000, 000000000009ebff] (usable)").kind, "e820_row");
});

Deno.test("classifyXenLine reads the dom0 builder's memory arrangement", () => {
  assert.deepEqual(
    classifyXenLine(
      "Dom0 alloc.:   0000000418000000->000000041c000000 (172699 pages to be allocated)",
    ),
    { kind: "dom0_alloc", allocPages: 16384, toAllocate: 172699 },
  );
  assert.deepEqual(classifyXenLine("Dom0 alloc.:   0000000418000000->000000041c000000"), {
    kind: "dom0_alloc",
    allocPages: 16384,
    toAllocate: 0,
  });
  assert.deepEqual(classifyXenLine("Init. ramdisk: 000000042e29b000->000000042ffff6a4"), {
    kind: "ramdisk",
    pages: 7525,
  });
  assert.deepEqual(classifyXenLine("PHYSICAL MEMORY ARRANGEMENT:"), {
    kind: "section",
    section: "physical",
  });
  assert.deepEqual(classifyXenLine("*** Building a PVH Dom0 ***"), {
    kind: "building_dom0",
    type: "pvh",
  });
  assert.deepEqual(classifyXenLine("*** LOADING DOMAIN 0 ***"), {
    kind: "building_dom0",
    type: "pv",
  });
});

Deno.test("classifyXenLine reads dom0_mem in Xen's units (default KiB)", () => {
  assert.deepEqual(classifyXenLine("Command line: dom0_mem=4096M,max:4096M"), {
    kind: "cmdline",
    dom0Pages: 0x100000,
    dom0MaxPages: 0x100000,
  });
  assert.deepEqual(classifyXenLine("Command line: dom0_mem=524288"), {
    kind: "cmdline",
    dom0Pages: 131072,
  });
  assert.deepEqual(classifyXenLine("Command line: dom0_mem=-1G loglvl=all"), { kind: "cmdline" });
  assert.deepEqual(classifyXenLine("Command line: placeholder"), { kind: "cmdline" });
});

Deno.test("classifyXenLine reads every dom0_mem= option: each sets the fields it names", () => {
  // xen/arch/x86/dom0_build.c parse_dom0_mem runs once per dom0_mem= on the command line and
  // sets only min, max or the amount, whichever the option names; a later one replaces it.
  assert.deepEqual(
    classifyXenLine(
      "Command line: placeholder dom0_mem=min:1024M dom0_mem=max:4096M iommu=no-igfx",
    ),
    { kind: "cmdline", dom0MaxPages: 0x100000 },
  );
  assert.deepEqual(classifyXenLine("Command line: dom0_mem=1G,max:2G dom0_mem=512M"), {
    kind: "cmdline",
    dom0Pages: 0x20000,
    dom0MaxPages: 0x80000,
  });
  assert.deepEqual(classifyXenLine("Command line: dom0_mem=1G dom0_mem=-256M"), {
    kind: "cmdline",
  });
});

Deno.test("classifyXenLine reads PCI registrations with and without a segment", () => {
  assert.deepEqual(classifyXenLine("PCI add device 0000:00:1f.2"), {
    kind: "pci_add",
    device: "0000:00:1f.2",
  });
  assert.deepEqual(classifyXenLine("PCI add device 01:00.0"), {
    kind: "pci_add",
    device: "0000:01:00.0",
  });
  assert.deepEqual(classifyXenLine("PCI remove device 0000:02:00.0"), {
    kind: "pci_remove",
    device: "0000:02:00.0",
  });
});

Deno.test("classifyXenLine marks crashes and knows harmless lines", () => {
  assert.equal(classifyXenLine("Domain 0 (vcpu#0) crashed on cpu#0:").kind, "mark");
  assert.equal(classifyXenLine("d0:v0: unhandled page fault (ec=0000)").kind, "mark");
  assert.equal(classifyXenLine("PCI: MCFG area at e0000000 reserved in E820").kind, "known");
  assert.equal(classifyXenLine("Brought up 4 CPUs").kind, "other");
});
