import assert from "node:assert/strict";
import { type PciItem, PciTracker } from "./pci_state.ts";
import { classifyPciLine } from "./pci_text.ts";

function track(lines: (string | ["xen", string])[]): PciItem[] {
  const items: PciItem[] = [];
  const t = new PciTracker((i) => items.push(i));
  let time = 0;
  for (const l of lines) {
    time += 1;
    if (Array.isArray(l)) t.xenPciAdd(l[1]);
    else {
      const p = classifyPciLine(l);
      assert.ok(p, l);
      t.line(p, time);
    }
  }
  t.finish();
  return items;
}

const summary = (items: PciItem[]) =>
  items.map((i) =>
    i.kind === "device_added"
      ? `add ${i.device} [${i.resources.map((r) => r.index).join(",")}]`
      : i.kind === "assign"
      ? `${i.action} ${i.device}/${i.resource.index}`
      : i.kind === "host_bridge"
      ? `bridge ${i.bus} ${i.resources.length}`
      : i.kind === "device_removed"
      ? `remove ${i.device}`
      : `mark`
  );

Deno.test("a device completes at the next device, keeping lines of its own", () => {
  const items = track([
    "pci 0000:00:02.0: [8086:0412] type 00 class 0x030000",
    "pci 0000:00:02.0: reg 0x10: [mem 0xf7800000-0xf7bfffff 64bit]",
    "pci 0000:00:02.0: PME# supported from D0 D3hot",
    "pci 0000:00:02.0: reg 0x18: [mem 0xd0000000-0xdfffffff 64bit pref]",
    "pci 0000:00:14.0: [8086:8c31] type 00 class 0x0c0330",
  ]);
  assert.deepEqual(summary(items), ["add 0000:00:02.0 [0,2]", "add 0000:00:14.0 []"]);
  assert.equal(items[0].time, 4);
});

Deno.test("(XEN) PCI add device completes the device", () => {
  const items = track([
    "pci 0000:00:02.0: [8086:0412] type 00 class 0x030000",
    ["xen", "0000:00:02.0"],
    "pci 0000:00:02.0: reg 0x10: [mem 0xf7800000-0xf7bfffff 64bit]",
  ]);
  assert.deepEqual(summary(items), ["add 0000:00:02.0 []", "add 0000:00:02.0 [0]"]);
});

Deno.test("old-style bridge windows come after the add as claimed, once", () => {
  const items = track([
    "pci 0000:00:01.0: [8086:0c01] type 01 class 0x060400",
    "pci 0000:01:00.0: [10de:1004] type 00 class 0x030000",
    "pci 0000:01:00.0: reg 0x14: [mem 0x800000000-0x807ffffff 64bit pref]",
    "pci 0000:00:01.0: PCI bridge to [bus 01]",
    "pci 0000:00:01.0:   bridge window [io  0xe000-0xefff]",
    "pci 0000:00:01.0:   bridge window [mem 0x800000000-0x80fffffff 64bit pref]",
    "pci 0000:00:01.0: PCI bridge to [bus 01]",
    "pci 0000:00:01.0:   bridge window [io  0xe000-0xefff]",
  ]);
  assert.deepEqual(summary(items), [
    "add 0000:00:01.0 []",
    "add 0000:01:00.0 [1]",
    "claimed 0000:00:01.0/13",
    "claimed 0000:00:01.0/15",
  ]);
});

Deno.test("v6.7+ windows printed during setup follow the bridge's add", () => {
  const items = track([
    "pci 0000:00:01.0: [1b36:000c] type 01 class 0x060400 PCIe Root Port",
    "pci 0000:00:01.0: BAR 0 [mem 0xfea00000-0xfea00fff]",
    "pci 0000:00:01.0:   bridge window [mem 0xfe800000-0xfe9fffff]",
    "pci 0000:00:01.0: enabling Extended Tags",
    "pci 0000:00:02.0: [1b36:000c] type 01 class 0x060400 PCIe Root Port",
  ]);
  assert.deepEqual(summary(items), [
    "add 0000:00:01.0 [0]",
    "claimed 0000:00:01.0/14",
    "add 0000:00:02.0 []",
  ]);
});

Deno.test("root bus resources replace the ACPI windows printed before them", () => {
  const acpiOnly = track([
    "pci_root PNP0A03:00: host bridge window [io  0x0000-0x0cf7]",
    "pci_root PNP0A03:00: host bridge window [mem 0x000c0000-0x000dffff] (ignored)",
    "pci_root PNP0A03:00: host bridge window [mem 0xe0000000-0xfebfffff]",
    "PCI host bridge to bus 0000:00",
    "pci 0000:00:00.0: [8086:2e20] type 0 class 0x000600",
  ]);
  assert.deepEqual(summary(acpiOnly), ["bridge 0000:00 2", "add 0000:00:00.0 []"]);
  const both = track([
    "acpi PNP0A08:00: host bridge window [io  0x0000-0x0cf7]",
    "PCI host bridge to bus 0000:00",
    "pci_bus 0000:00: root bus resource [bus 00-ff]",
    "pci_bus 0000:00: root bus resource [io  0x0000-0x0cf7 window]",
    "pci_bus 0000:00: root bus resource [mem 0xc0000000-0xfebfffff window]",
    "pci 0000:00:00.0: [8086:29c0] type 00 class 0x060000",
  ]);
  assert.equal(both[0].kind === "host_bridge" && both[0].resources[1].flags, 0x200200);
  assert.deepEqual(summary(both), ["bridge 0000:00 2", "add 0000:00:00.0 []"]);
});

Deno.test("pcifront claims carry the value read for the BAR", () => {
  const items = track([
    "pcifront pci-0: Creating PCI Frontend Bus 0000:83",
    "pcifront pci-0: PCI host bridge to bus 0000:83",
    "pci_bus 0000:83: root bus resource [mem 0x00000000-0x3fffffffffff]",
    "pci 0000:83:00.0: [144d:a809] type 00 class 0x010802 PCIe Endpoint",
    "pci 0000:83:00.0: BAR 0 [mem 0xfbc00000-0xfbc03fff 64bit]",
    "pcifront pci-0: claiming resource 0000:83:00.0/0",
    "pcifront pci-0: claiming resource 0000:83:00.0/2",
  ]);
  assert.deepEqual(summary(items), [
    "bridge 0000:83 1",
    "add 0000:83:00.0 [0]",
    "claimed 0000:83:00.0/0",
    "mark",
  ]);
  const claim = items[2];
  assert.equal(claim.kind === "assign" && claim.resource.start, 0xfbc00000);
});

Deno.test("kernels without CONFIG_PCI_IOV number bridge windows 7-10", () => {
  const items = track([
    "pci 0000:00:1c.0: [8086:a340] type 01 class 0x060400",
    "pci 0000:00:1c.0: PCI bridge to [bus 02]",
    "pci 0000:00:1c.0: BAR 8: assigned [mem 0x90000000-0x901fffff]",
  ]);
  assert.deepEqual(summary(items), ["add 0000:00:1c.0 []", "assigned 0000:00:1c.0/14"]);
});

Deno.test("removal completes the open device first", () => {
  const items = track([
    "pci 0000:02:00.0: [8086:10c9] type 00 class 0x020000",
    "pci 0000:02:00.0: removing",
  ]);
  assert.deepEqual(summary(items), ["add 0000:02:00.0 []", "remove 0000:02:00.0"]);
});

Deno.test("closed windows and unknown registers produce no resource", () => {
  const items = track([
    "pci 0000:00:1c.0: [8086:a340] type 01 class 0x060400 PCIe Root Port",
    "pci 0000:00:1c.0:   bridge window [mem 0xfff00000-0x000fffff disabled]",
  ]);
  assert.deepEqual(summary(items), ["add 0000:00:1c.0 []"]);
  const t = new PciTracker(() => {});
  assert.equal(
    t.line(classifyPciLine("pci 0000:00:02.0: reg 0x3c: [mem 0xf0000000-0xf000ffff]")!, 0),
    false,
  );
});
