/**
 * Throughput of the line state machine: `deno bench src/import/dmesg/importer_bench.ts`.
 * A synthetic boot (one pass, a printed map, a PCI bus) followed by 100,000 lines of
 * ordinary driver chatter, as a long-running host's dmesg looks.
 */

import { DmesgImporter } from "./importer.ts";

const BOOT = [
  "Linux version 5.10.0-20-amd64 (gcc) #1 SMP",
  "Released 0 page(s)",
  "BIOS-provided physical RAM map:",
  "Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
  "Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved",
  "Xen: [mem 0x0000000000100000-0x000000007fffffff] usable",
  "Hypervisor detected: Xen PV",
  "PCI host bridge to bus 0000:00",
  "pci_bus 0000:00: root bus resource [mem 0xc0000000-0xfebfffff window]",
  "pci 0000:00:02.0: [8086:0412] type 00 class 0x030000",
  "pci 0000:00:02.0: reg 0x10: [mem 0xf7800000-0xf7bfffff 64bit]",
  "xen:balloon: Initialising balloon driver",
];
const CHATTER = [
  "usb 1-1: new high-speed USB device number 2 using xhci_hcd",
  "EXT4-fs (sda1): mounted filesystem with ordered data mode",
  "IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready",
  "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex",
  "xen:grant_table: Grant tables using version 1 layout",
];
const LINES: string[] = BOOT.map((l) => `[    0.000000] ${l}`);
for (let i = 0; i < 100_000; i++) {
  const t = (1 + i / 1000).toFixed(6).padStart(12);
  LINES.push(`[${t}] ${CHATTER[i % CHATTER.length]}`);
}

Deno.bench("import 100k dmesg lines", () => {
  const imp = new DmesgImporter("bench.log");
  for (const l of LINES) imp.push(l);
  imp.finish();
});
