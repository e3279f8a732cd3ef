/**
 * The kernel's `IORESOURCE_*` flag bits (include/linux/ioport.h) and the PCI resource indices
 * (include/linux/pci.h), with the flag values `struct resource` typically holds for each kind of
 * PCI resource. Traces carry these numbers verbatim, so every policy and importer uses the same
 * names for them.
 *
 * Flags are unsigned 32-bit values. JavaScript's bitwise operators work on signed 32-bit
 * integers, so combine flags with {@link ioresourceFlags} (or `(a | b) >>> 0`), never with a bare
 * `|`, when a bit at or above 0x80000000 may be involved.
 *
 * @module
 */

/** `IORESOURCE_*` bits as include/linux/ioport.h defines them. */
export const IORESOURCE = {
  /** Bus-specific bits (the low byte: PCI BAR type bits, ROM enable...). */
  BITS: 0x000000ff,
  /** Mask of the resource type. */
  TYPE_BITS: 0x00001f00,
  /** I/O ports. */
  IO: 0x00000100,
  /** Memory-mapped addresses. */
  MEM: 0x00000200,
  /** Register offsets. */
  REG: 0x00000300,
  /** Interrupt lines. */
  IRQ: 0x00000400,
  /** DMA channels. */
  DMA: 0x00000800,
  /** Bus numbers. */
  BUS: 0x00001000,
  /** Prefetchable memory (no side effects). */
  PREFETCH: 0x00002000,
  /** Read-only (expansion ROMs). */
  READONLY: 0x00004000,
  /** Cacheable (expansion ROMs before v4.x). */
  CACHEABLE: 0x00008000,
  /** Range-length alignment. */
  RANGELENGTH: 0x00010000,
  /** Shadowable ROM. */
  SHADOWABLE: 0x00020000,
  /** Size indicates the alignment (every PCI BAR). */
  SIZEALIGN: 0x00040000,
  /** Start field is the alignment. */
  STARTALIGN: 0x00080000,
  /** 64-bit memory BAR or window. */
  MEM_64: 0x00100000,
  /** Forwarded by a bridge (host bridge apertures). */
  WINDOW: 0x00200000,
  /** Muxed resource. */
  MUXED: 0x00400000,
  /** Userland may not map this resource. */
  EXCLUSIVE: 0x08000000,
  /** The resource is disabled (e.g. a closed bridge window). */
  DISABLED: 0x10000000,
  /** No address assigned yet: `start` is meaningless, only the size is known. */
  UNSET: 0x20000000,
  /** Auto-assigned. */
  AUTO: 0x40000000,
  /** Driver has marked this resource busy. */
  BUSY: 0x80000000,
} as const;

/** PCI-specific low-byte bits of a BAR's flags (the BAR's own type bits, kept by decode_bar). */
export const PCI_BAR_BITS = {
  /** `PCI_BASE_ADDRESS_SPACE_IO`: an I/O BAR. */
  SPACE_IO: 0x01,
  /** `PCI_BASE_ADDRESS_MEM_TYPE_64`: a 64-bit memory BAR. */
  MEM_TYPE_64: 0x04,
  /** `PCI_BASE_ADDRESS_MEM_PREFETCH`: a prefetchable memory BAR. */
  MEM_PREFETCH: 0x08,
  /** `IORESOURCE_ROM_ENABLE`: the expansion ROM decoder is enabled. */
  ROM_ENABLE: 0x01,
  /** `PCI_IO_RANGE_TYPE_32`: a bridge I/O window with 32-bit decode. */
  IO_RANGE_TYPE_32: 0x01,
  /** `PCI_PREF_RANGE_TYPE_64`: a bridge prefetchable window with 64-bit decode. */
  PREF_RANGE_TYPE_64: 0x01,
} as const;

/** Resource indices of `struct pci_dev` with `CONFIG_PCI_IOV` (the numbering traces use). */
export const PCI_RESOURCE = {
  /** First standard BAR (0-5). */
  STD_FIRST: 0,
  /** Last standard BAR. */
  STD_LAST: 5,
  /** `PCI_ROM_RESOURCE`: the expansion ROM. */
  ROM: 6,
  /** `PCI_IOV_RESOURCES`: first SR-IOV VF BAR (7-12). */
  IOV_FIRST: 7,
  /** Last SR-IOV VF BAR. */
  IOV_LAST: 12,
  /** `PCI_BRIDGE_RESOURCES`: the bridge I/O window. */
  BRIDGE_IO: 13,
  /** The bridge memory window. */
  BRIDGE_MEM: 14,
  /** The bridge prefetchable memory window. */
  BRIDGE_PREF_MEM: 15,
  /** The fourth bridge resource (CardBus only). */
  BRIDGE_EXTRA: 16,
  /** `PCI_NUM_RESOURCES` with `CONFIG_PCI_IOV`. */
  COUNT: 17,
  /** First bridge window index of a kernel built without `CONFIG_PCI_IOV` (7-10). */
  NO_IOV_BRIDGE_FIRST: 7,
} as const;

/** The flags `struct resource` typically holds for each kind of PCI resource. */
export const TYPICAL_FLAGS = {
  /** Endpoint I/O BAR: IO | SIZEALIGN | PCI_BASE_ADDRESS_SPACE_IO. */
  IO_BAR: 0x40101,
  /** 32-bit non-prefetchable memory BAR: MEM | SIZEALIGN. */
  MEM32_BAR: 0x40200,
  /** 64-bit prefetchable memory BAR: MEM | PREFETCH | SIZEALIGN | MEM_64 | type bits 0xc. */
  MEM64_PREF_BAR: 0x14220c,
  /** Expansion ROM (disabled): MEM | PREFETCH | READONLY | CACHEABLE | SIZEALIGN. */
  ROM: 0x4e200,
  /** Bridge I/O window with 16-bit decode: exactly IO. */
  BRIDGE_IO16: 0x100,
  /** Bridge I/O window with 32-bit decode. */
  BRIDGE_IO32: 0x101,
  /** Bridge non-prefetchable memory window. */
  BRIDGE_MEM: 0x200,
  /** Bridge 64-bit prefetchable memory window. */
  BRIDGE_MEM64_PREF: 0x102201,
} as const;

/**
 * ORs flag values as unsigned 32-bit numbers.
 *
 * @example
 * ```ts
 * import { IORESOURCE, ioresourceFlags } from "./ioresource.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ioresourceFlags(IORESOURCE.MEM, IORESOURCE.BUSY), 0x80000200);
 * ```
 */
export function ioresourceFlags(...bits: number[]): number {
  let flags = 0;
  for (const b of bits) flags = (flags | b) >>> 0;
  return flags;
}

/** The resource type a flags value names, as `%pR` prints it. */
export type IoresourceType = "io" | "mem" | "irq" | "dma" | "bus" | "unknown";

/**
 * The type of a resource, tested in the order the kernel's `%pR` printer tests it.
 *
 * @example
 * ```ts
 * import { ioresourceType } from "./ioresource.ts";
 * import assert from "node:assert/strict";
 * assert.equal(ioresourceType(0x14220c), "mem");
 * assert.equal(ioresourceType(0x40101), "io");
 * assert.equal(ioresourceType(0), "unknown");
 * ```
 */
export function ioresourceType(flags: number): IoresourceType {
  if (flags & IORESOURCE.IO) return "io";
  if (flags & IORESOURCE.MEM) return "mem";
  if (flags & IORESOURCE.IRQ) return "irq";
  if (flags & IORESOURCE.DMA) return "dma";
  if (flags & IORESOURCE.BUS) return "bus";
  return "unknown";
}

/**
 * Names of the `IORESOURCE_*` bits set in `flags` (type first), for messages.
 *
 * @example
 * ```ts
 * import { ioresourceNames } from "./ioresource.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(ioresourceNames(0x200200), ["MEM", "WINDOW"]);
 * assert.deepEqual(ioresourceNames(0x40101), ["IO", "SIZEALIGN", "bits 0x1"]);
 * ```
 */
export function ioresourceNames(flags: number): string[] {
  const names: string[] = [];
  const type = flags & IORESOURCE.TYPE_BITS;
  const typeName = Object.entries(IORESOURCE).find(([k, v]) =>
    v === type && k !== "TYPE_BITS" && k !== "BITS"
  );
  if (typeName) names.push(typeName[0]);
  else if (type) names.push(`type 0x${type.toString(16)}`);
  for (const [name, bit] of Object.entries(IORESOURCE)) {
    if (bit <= IORESOURCE.BUS || name === "TYPE_BITS") continue;
    if (((flags & bit) >>> 0) === bit) names.push(name);
  }
  const low = flags & IORESOURCE.BITS;
  if (low) names.push(`bits 0x${low.toString(16)}`);
  return names;
}
