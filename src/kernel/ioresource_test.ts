import assert from "node:assert/strict";
import {
  IORESOURCE,
  ioresourceFlags,
  ioresourceNames,
  ioresourceType,
  PCI_RESOURCE,
  TYPICAL_FLAGS,
} from "./ioresource.ts";

Deno.test("typical PCI flags are the sums of their IORESOURCE bits", () => {
  const { IO, MEM, PREFETCH, READONLY, CACHEABLE, SIZEALIGN, MEM_64 } = IORESOURCE;
  assert.equal(TYPICAL_FLAGS.IO_BAR, IO | SIZEALIGN | 0x1);
  assert.equal(TYPICAL_FLAGS.MEM32_BAR, MEM | SIZEALIGN);
  assert.equal(TYPICAL_FLAGS.MEM64_PREF_BAR, MEM | PREFETCH | SIZEALIGN | MEM_64 | 0xc);
  assert.equal(TYPICAL_FLAGS.ROM, MEM | PREFETCH | READONLY | CACHEABLE | SIZEALIGN);
  assert.equal(TYPICAL_FLAGS.BRIDGE_MEM64_PREF, MEM | PREFETCH | MEM_64 | 0x1);
});

Deno.test("ioresourceFlags keeps BUSY unsigned", () => {
  const flags = ioresourceFlags(IORESOURCE.BUSY, IORESOURCE.DISABLED, IORESOURCE.MEM);
  assert.equal(flags, 0x90000200);
  assert.ok(flags > 0);
});

Deno.test("ioresourceType tests IO before MEM like %pR", () => {
  assert.equal(ioresourceType(IORESOURCE.IO | IORESOURCE.MEM), "io");
  assert.equal(ioresourceType(IORESOURCE.BUS), "bus");
  assert.equal(ioresourceType(IORESOURCE.IRQ), "irq");
  assert.equal(ioresourceType(IORESOURCE.DMA), "dma");
});

Deno.test("ioresourceNames lists type, flag bits and the bus-specific byte", () => {
  assert.deepEqual(ioresourceNames(0x20140204), [
    "MEM",
    "SIZEALIGN",
    "MEM_64",
    "UNSET",
    "bits 0x4",
  ]);
  assert.deepEqual(ioresourceNames(0x80000000), ["BUSY"]);
  assert.deepEqual(ioresourceNames(0), []);
});

Deno.test("resource indices follow include/linux/pci.h with CONFIG_PCI_IOV", () => {
  assert.equal(PCI_RESOURCE.ROM, 6);
  assert.equal(PCI_RESOURCE.BRIDGE_IO, 13);
  assert.equal(PCI_RESOURCE.BRIDGE_PREF_MEM, 15);
  assert.equal(PCI_RESOURCE.COUNT, 17);
});
