import assert from "node:assert/strict";
import { recordGuest } from "./assemble.ts";
import { memoryReader } from "./reader.ts";

const DENIED = { error: "permission denied (not root?)" };

Deno.test("recordGuest() turns permission errors into notes and falls back to /proc/iomem", async () => {
  const rec = await recordGuest(memoryReader({
    "/sys/hypervisor/type": "xen\n",
    "/sys/hypervisor/properties/features": "000008e0\n",
    "/proc/xen/capabilities": "control_d\n",
    "/sys/firmware/memmap": DENIED,
    "/proc/iomem": [
      "00000000-00000fff : reserved",
      "00001000-0009ffff : System RAM",
      "00100000-3fffffff : System RAM",
      "c0000000-febfffff : PCI Bus 0000:00",
      "  fe000000-fe0fffff : PCI Bus 0000:01",
    ].join("\n") + "\n",
    "/sys/kernel/debug/xen/mmu/p2m": DENIED,
  }));
  assert.deepEqual(rec.notes.filter((n) => /denied|fallback/.test(n)), [
    "/sys/firmware/memmap: permission denied (not root?): the E820 map is taken from " +
    "/proc/iomem if possible",
    "e820: taken from /proc/iomem top-level E820 resources (fallback: reserved ranges nested " +
    "under PCI windows read as gaps)",
    "/sys/kernel/debug/xen/mmu/p2m: permission denied (not root?): no p2m_dump event (needs " +
    "root, debugfs mounted and CONFIG_XEN_DEBUG_FS)",
  ]);
  const raw = rec.events.filter((e) => e.kind === "e820" && e.map === "raw")
    .map((e) => e.kind === "e820" && [e.start, e.size, e.type]);
  assert.deepEqual(raw, [[0, 0x1000, 2], [0x1000, 0x9f000, 1], [0x100000, 0x3ff00000, 1]]);
  const bridges = rec.events.filter((e) => e.kind === "pci_host_bridge");
  assert.deepEqual(bridges.map((e) => e.kind === "pci_host_bridge" && e.resources.length), [1]);
  assert.equal(rec.header.guest.domain, "dom0");
  // No balloon: nr_pages falls back to the RAM pages of the map.
  assert.equal(rec.header.guest.nrPages, 0x9f + 0x3ff00);
});

Deno.test("recordGuest() skips a malformed PCI resource file with a note naming the line", async () => {
  const rec = await recordGuest(memoryReader({
    "/sys/hypervisor/guest_type": "PV\n",
    "/proc/xen/capabilities": "control_d\n",
    "/sys/bus/pci/devices/0000:00:02.0/resource": "0x0 0x0 0x0\n",
    "/sys/bus/pci/devices/0000:00:03.0/resource":
      "0x00000000fe000000 0x00000000fe0fffff 0x0000000000040200\n",
  }));
  assert.ok(rec.notes.includes(
    "/sys/bus/pci/devices/0000:00:02.0/resource:1: expected a resource line " +
      '"0x<start> 0x<end> 0x<flags>" (16 hex digits each), got "0x0 0x0 0x0": device skipped',
  ));
  const adds = rec.events.filter((e) => e.kind === "xen_add_device");
  assert.deepEqual(adds.map((e) => e.kind === "xen_add_device" && e.device), ["0000:00:03.0"]);
});

Deno.test("recordGuest() marks an SR-IOV VF with its physfn and XEN_PCI_DEV_VIRTFN", async () => {
  const zero = "0x0000000000000000 0x0000000000000000 0x0000000000000000\n";
  const rec = await recordGuest(memoryReader({
    "/sys/hypervisor/guest_type": "PV\n",
    "/proc/xen/capabilities": "control_d\n",
    "/sys/bus/pci/devices/0000:03:10.0/resource": zero.repeat(13),
    "/sys/bus/pci/devices/0000:03:10.0/physfn": { link: "../0000:03:00.0" },
  }));
  const add = rec.events.find((e) => e.kind === "xen_add_device");
  assert.ok(add?.kind === "xen_add_device");
  assert.equal(add.physfn, "0000:03:00.0");
  assert.equal(add.xenFlags, 0x2);
});

Deno.test("recordGuest() does not emit a p2m_dump for an empty or malformed dump", async () => {
  const base = { "/sys/hypervisor/guest_type": "PV\n", "/proc/xen/capabilities": "\n" };
  const empty = await recordGuest(memoryReader({ ...base, "/sys/kernel/debug/xen/mmu/p2m": "" }));
  assert.ok(empty.notes.some((n) => n.includes("empty (auto-translated guest?)")));
  const bad = await recordGuest(
    memoryReader({ ...base, "/sys/kernel/debug/xen/mmu/p2m": " [0x0->0x10] pfn\ngarbage\n" }),
  );
  assert.ok(
    bad.notes.some((n) =>
      n.startsWith("/sys/kernel/debug/xen/mmu/p2m:2: expected a p2m dump line")
    ),
  );
  assert.equal(bad.events.some((e) => e.kind === "p2m_dump"), false);
});
