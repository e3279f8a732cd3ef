import assert from "node:assert/strict";
import { classifyPciLine, mayBePci, type PciLine } from "./pci_text.ts";

function kind(text: string): string | undefined {
  return classifyPciLine(text)?.kind;
}

function get<K extends PciLine["kind"]>(text: string, k: K): Extract<PciLine, { kind: K }> {
  const p = classifyPciLine(text);
  assert.equal(p?.kind, k, text);
  return p as Extract<PciLine, { kind: K }>;
}

Deno.test("device headers of every era", () => {
  for (
    const t of [
      "pci 0000:00:00.0: [8086:2e20] type 0 class 0x000600",
      "pci 0000:00:01.0: [8086:0c01] type 01 class 0x060400",
      "pci 0000:83:00.0: [144d:a809] type 00 class 0x010802 PCIe Endpoint",
      "pci 0000:00:00.0: [8086:29c0] type 00 class 0x060000 conventional PCI endpoint",
    ]
  ) assert.equal(kind(t), "device_header", t);
  assert.equal(
    get("pci 0000:00:01.0: [8086:0c01] type 01 class 0x060400", "device_header")
      .headerType,
    1,
  );
});

Deno.test("BAR reads: reg 10, reg 0x10, BAR 0 [...], ROM [...], VF BAR", () => {
  assert.equal(
    get("pci 0000:00:02.0: reg 10: [mem 0xfe000000-0xfe3fffff 64bit]", "bar_read").reg,
    0x10,
  );
  assert.equal(
    get("pci 0000:00:02.0: reg 0x184: [mem 0x00000000-0x00003fff 64bit]", "bar_read")
      .reg,
    0x184,
  );
  assert.equal(
    get("pci 0000:86:00.0: BAR 3 [mem 0xfba00000-0xfba3ffff 64bit]", "bar_read").index,
    3,
  );
  assert.equal(get("pci 0000:86:00.0: ROM [mem 0xfb900000-0xfb9fffff pref]", "bar_read").index, 6);
  assert.equal(
    get("pci 0000:02:00.0: VF BAR 2 [mem 0x00000000-0x00003fff 64bit pref]", "bar_read")
      .index,
    9,
  );
  const old = get("pci 0000:00:02.0: reg 10 64bit mmio pref: [0xd0000000-0xdfffffff]", "bar_read");
  assert.deepEqual([old.resource.type, old.resource.mem64, old.resource.pref], ["mem", true, true]);
});

Deno.test("SR-IOV totals in both wordings", () => {
  assert.equal(
    get(
      "pci 0000:02:00.0: VF(n) BAR0 space: [mem 0x00000000-0x0001ffff 64bit] (contains BAR0 for 8 VFs)",
      "iov_total",
    ).index,
    7,
  );
  assert.equal(
    get(
      "pci 0000:02:00.0: VF BAR 3 [mem 0x00000000-0x0001ffff 64bit pref]: contains BAR 3 for 8 VFs",
      "iov_total",
    ).index,
    10,
  );
});

Deno.test("assignments before and after v6.7", () => {
  const a = get("pci 0000:00:04.0: BAR 0: assigned [mem 0xf1800000-0xf1803fff 64bit]", "assign");
  assert.deepEqual([a.index, a.action, a.resource.start], [0, "assigned", 0xf1800000]);
  assert.equal(
    get("pci 0000:00:1c.0: BAR 13: reassigned [io  0x2000-0x2fff]", "assign").action,
    "reassigned",
  );
  assert.equal(
    get("pci 0000:02:00.0: BAR 7: failed to assign [mem size 0x00020000 64bit]", "assign")
      .action,
    "failed",
  );
  assert.equal(
    get("pci 0000:00:05.0: BAR 0: can't assign mem (size 0x1000)", "assign").resource.end,
    0xfff,
  );
  assert.equal(
    get("pci 0000:00:1f.3: BAR 4 [io  0x0700-0x073f]: releasing", "assign").action,
    "released",
  );
  const w = get("pci 0000:00:01.0: bridge window [io  0x1000-0x1fff]: assigned", "assign");
  assert.deepEqual([w.index, w.action], [undefined, "assigned"]);
  assert.equal(
    get("pci 0000:00:03.0: ROM [mem 0xf3040000-0xf304ffff pref]: assigned", "assign")
      .index,
    6,
  );
});

Deno.test("'no space' is a retry, not a failure", () => {
  assert.equal(
    kind("pci 0000:02:00.0: BAR 7: no space for [mem size 0x00020000 64bit]"),
    "device_other",
  );
  assert.equal(
    kind("pci 0000:02:00.0: VF BAR 0 [mem size 0x00020000 64bit pref]: can't assign; no space"),
    "device_other",
  );
});

Deno.test("bridges, windows and subtractive decode", () => {
  assert.equal(kind("pci 0000:00:01.0: PCI bridge to [bus 01]"), "bridge_to");
  assert.equal(
    kind("pci 0000:00:1e.0: PCI bridge to [bus 01-01] (subtractive decode)"),
    "bridge_to",
  );
  const w = get(
    "pci 0000:00:01.0:   bridge window [mem 0x800000000-0x80fffffff 64bit pref]",
    "bridge_window",
  );
  assert.deepEqual([w.subtractive, w.resource.pref], [false, true]);
  assert.equal(
    get(
      "pci 0000:00:1e.0:   bridge window [io  0x0000-0x0cf7] (subtractive decode)",
      "bridge_window",
    )
      .subtractive,
    true,
  );
  assert.equal(kind("pci 0000:00:1e.0:   bridge window [mem pref disabled]"), "device_other");
  assert.equal(kind("pci 0000:00:1e.0:   bridge window [mem 0xzz-0x12]"), "device_unparsed");
});

Deno.test("root buses, ACPI windows and pcifront", () => {
  assert.equal(get("PCI host bridge to bus 0000:00", "host_bridge_to").bus, "0000:00");
  assert.equal(
    get("pcifront pci-0: PCI host bridge to bus 0000:83", "host_bridge_to").bus,
    "0000:83",
  );
  assert.equal(
    get("acpi PNP0A08:00: PCI host bridge to bus 0000:00", "host_bridge_to").bus,
    "0000:00",
  );
  assert.equal(
    get("pci_bus 0000:00: root bus resource [mem 0xc0000000-0xfebfffff window]", "root_resource")
      .resource.window,
    true,
  );
  assert.equal(
    kind("pci_bus 0000:84: busn_res: can not insert [bus 84-ff] under domain"),
    "bus_other",
  );
  assert.equal(
    get(
      "pci_root PNP0A03:00: host bridge window [mem 0x000c0000-0x000dffff] (ignored)",
      "host_bridge_window",
    ).ignored,
    true,
  );
  assert.equal(
    get("acpi PNP0A08:00: host bridge window [io  0x0000-0x0cf7]", "host_bridge_window")
      .ignored,
    false,
  );
  assert.equal(
    get("ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-3e])", "root_bridge").bus,
    "0000:00",
  );
  assert.equal(
    get("pcifront pci-0: Creating PCI Frontend Bus 0000:84", "pcifront_bus").bus,
    "0000:84",
  );
  assert.deepEqual(
    classifyPciLine(
      "pcifront pci-0: Could not claim resource 0000:00:00.0/4! Device offline. Try using e820_host=1 in the guest config.",
    ),
    { kind: "pcifront_claim", device: "0000:00:00.0", index: 4, failed: true },
  );
  assert.equal(kind("pcifront pci-0: Installing PCI frontend"), "pcifront_known");
});

Deno.test("removals, add failures and garbled resource lines", () => {
  assert.equal(kind("pci 0000:02:00.0: removing"), "removed");
  assert.equal(kind("pci 0000:03:00.0: Removing from iommu group 12"), "removed");
  assert.equal(
    kind("pci 0000:00:19.0: Failed to add - passthrough or MSI/MSI-X might fail!"),
    "add_failed",
  );
  assert.equal(
    kind("pci 0000:00:02.0: reg 0x18: [mem 0xfebf0000-0xfebf0fff(XEN) PCI add"),
    "device_unparsed",
  );
  assert.equal(
    kind("pci 0000:00:02.0: BAR 0: assigned [mem 0xfebd0000-0xfebd="),
    "device_unparsed",
  );
  assert.equal(
    kind("pci 0000:00:1f.0: quirk: [io  0x0400-0x047f] claimed by ICH6"),
    "device_other",
  );
});

Deno.test("mayBePci is a cheap filter that keeps every PCI line", () => {
  assert.equal(mayBePci("pci_bus 0000:00: root bus resource [bus 00-ff]"), true);
  assert.equal(mayBePci("nouveau 0000:01:00.0: NVIDIA GP107"), true);
  assert.equal(mayBePci("ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])"), true);
  assert.equal(mayBePci("Released 0 page(s)"), false);
  assert.equal(classifyPciLine("Released 0 page(s)"), undefined);
});
