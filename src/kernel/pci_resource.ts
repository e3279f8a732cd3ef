/**
 * PCI resource facts the model needs: which resources are memory, which are empty, and their
 * PFN span (p2m-semantics.md section 6).
 *
 * @module
 */

import type { PfnRange, Resource } from "../trace/event.ts";
import { IORESOURCE } from "./ioresource.ts";

/**
 * The PFNs a resource spans: `[start >> 12, (end >> 12) + 1)`.
 *
 * @example
 * ```ts
 * import { resourcePfns } from "./pci_resource.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(resourcePfns({ start: 0x3c00000000, end: 0x3c0fffffff }),
 *   { pfn: 0x3c00000, endPfn: 0x3c10000 });
 * ```
 */
export function resourcePfns(r: Pick<Resource, "start" | "end">): PfnRange {
  return { pfn: Math.floor(r.start / 4096), endPfn: Math.floor(r.end / 4096) + 1 };
}

/** True when the resource holds no address: zero length, or flagged UNSET or DISABLED. */
export function isUnassigned(r: Resource): boolean {
  return (r.start === 0 && r.end === 0) || r.flags === 0 ||
    (r.flags & (IORESOURCE.UNSET | IORESOURCE.DISABLED)) !== 0;
}

/**
 * True when the resource is a memory range a driver maps: the MEM type bit set, assigned.
 *
 * @example
 * ```ts
 * import { isMmio } from "./pci_resource.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isMmio({ index: 2, start: 0x3c00000000, end: 0x3c0fffffff, flags: 0x14220c }), true);
 * assert.equal(isMmio({ index: 0, start: 0xe000, end: 0xe0ff, flags: 0x40101 }), false);
 * ```
 */
export function isMmio(r: Resource): boolean {
  return (r.flags & IORESOURCE.MEM) !== 0 && !isUnassigned(r);
}

/** A resource's name as the kernel prints it: `BAR 2`, `ROM`, `IOV BAR 0`, `window 13`. */
export function resourceName(index: number): string {
  if (index <= 5) return `BAR ${index}`;
  if (index === 6) return "ROM";
  if (index <= 12) return `IOV BAR ${index - 7}`;
  return `bridge window ${index}`;
}
