/**
 * Kernel policies: what a given kernel (or proposed patch) does on each event. A policy is data
 * — an era of P2M code plus behaviour switches — so one reducer serves every policy and the
 * differences between the candidate fixes of 2013 are visible in one table. Choices the kernel
 * text leaves open are named options (`--policy seed-v1:primitive=ideal,ram=e820`), never
 * hidden constants.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { Era } from "../p2m/table.ts";

/** How a boot-time or runtime identity rule writes identity entries. */
export type IdentityPrimitive = "faithful" | "ideal";

/** What counts as RAM for the seed patch's "neither ballooned nor RAM" test. */
export type RamTest = "max_pfn" | "e820";

/** The seed patch's per-resource walk on `xen_add_device` (p2m-semantics.md 9b/9c). */
export interface BarWalk {
  /** `eq`: skip only `flags == IORESOURCE_IO` (the bug); `and`: skip `flags & IORESOURCE_IO`. */
  skip: "eq" | "and";
}

/** The host-bridge policy's window rule (9d). */
export interface BridgeRule {
  /** `root`: root bus windows only; `all`: also bridge memory windows when assigned. */
  windows: "root" | "all";
}

/** A policy with its options resolved. */
export interface Policy {
  /** Stable name (`linux-3.12`). */
  name: string;
  /** One line for `--policy list` and the compare matrix. */
  summary: string;
  /** One paragraph: the kernel facts it follows and the choices it makes. */
  description: string;
  /** P2M code era. */
  era: Era;
  /** Boot pass: release and populate back (v3.12-3.16) or remap (v3.17+). */
  bootPass: "release-populate" | "remap";
  /** v3.16: identity from the end of the last E820 entry to MAX_P2M_PFN at boot. */
  aboveMapIdentity: boolean;
  /** Policy 9e: identity beyond the last E820 entry except extra memory, with T12 structures. */
  beyondE820: boolean;
  /** What a ballooned-out page's entry becomes. */
  balloonOut: "scratch" | "invalid";
  /** v3.18+: hot-added PFNs are set INVALID before add_memory. */
  hotplugInvalidate: boolean;
  /** Kernels before v3.18 honour `_PAGE_IOMAP` (ioremap/pci mmap bypass the P2M). */
  pageIomap: boolean;
  /** Policy 9f1: every INVALID lookup answers identity. */
  invalidIsIdentity: boolean;
  /** Seed patch BAR walk on xen_add_device, if any. */
  barWalk?: BarWalk;
  /** Host-bridge window rule, if any. */
  bridgeRule?: BridgeRule;
  /** Write primitive of the identity rules (seed, host-bridge). */
  primitive: IdentityPrimitive;
  /** RAM test of the identity rules. */
  ram: RamTest;
  /** Identity rules skip PFNs at or above MAX_P2M_PFN instead of hitting the kernel BUG. */
  guard: boolean;
  /** Identity rules also walk resources flagged UNSET/DISABLED or empty. */
  walkUnset: boolean;
  /** The option values in effect, for reports. */
  options: Record<string, string>;
}

/** A documented option of a policy. */
export interface PolicyOption {
  /** Name used in `--policy NAME:option=value`. */
  name: string;
  /** Allowed values; the first is the default. */
  values: readonly string[];
  /** What it decides. */
  description: string;
}

/** A policy definition: its base settings and the options it accepts. */
export interface PolicyDefinition {
  /** The policy with default options. */
  base: Omit<Policy, "options">;
  /** Options it accepts. */
  options: readonly PolicyOption[];
}

/**
 * Applies `name=value` options to a definition.
 *
 * @example
 * ```ts
 * import { resolvePolicy } from "./policy.ts";
 * import { POLICIES } from "./policies.ts";
 * import assert from "node:assert/strict";
 * const p = resolvePolicy(POLICIES, "seed-v1:primitive=ideal");
 * assert.equal(p.primitive, "ideal");
 * assert.equal(p.options.primitive, "ideal");
 * ```
 */
export function resolvePolicy(
  registry: ReadonlyMap<string, PolicyDefinition>,
  spec: string,
): Policy {
  const [name, optText] = spec.split(":", 2);
  const def = registry.get(name);
  if (!def) {
    throw new UsageError(
      `unknown policy '${name}'; known policies: ${[...registry.keys()].join(", ")} ` +
        `('--policy list' describes them)`,
    );
  }
  const options: Record<string, string> = {};
  for (const o of def.options) options[o.name] = o.values[0];
  if (optText !== undefined && optText !== "") {
    for (const pair of optText.split(",")) {
      const [k, v] = pair.split("=", 2);
      const opt = def.options.find((o) => o.name === k);
      if (!opt) {
        const known = def.options.map((o) => o.name).join(", ") || "none";
        throw new UsageError(`policy ${name} has no option '${k}' (options: ${known})`);
      }
      if (v === undefined || !opt.values.includes(v)) {
        throw new UsageError(`policy ${name}: option ${k} takes ${opt.values.join(" | ")}`);
      }
      options[k] = v;
    }
  }
  const p: Policy = { ...def.base, options };
  if (options.primitive) p.primitive = options.primitive as IdentityPrimitive;
  if (options.ram) p.ram = options.ram as RamTest;
  if (options.guard) p.guard = options.guard === "max_p2m_pfn";
  if (options.unset) p.walkUnset = options.unset === "walk";
  if (options.windows && p.bridgeRule) {
    p.bridgeRule = { windows: options.windows as "root" | "all" };
  }
  if (options.iomap) p.pageIomap = options.iomap === "honoured";
  return p;
}
