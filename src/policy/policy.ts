/**
 * Kernel policies: what a given kernel (or proposed patch) does on each event. A policy is a
 * kernel era (`src/kernel/eras/`) plus the patch rules of a proposed fix, so one reducer serves
 * every policy and the differences between the candidate fixes of 2013 are visible in one table. Choices the kernel
 * text leaves open are named options (`--policy seed-v1:primitive=ideal,ram=e820`), never
 * hidden constants.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { IdentityPrimitive, Policy, RamTest } from "../model/policy.ts";

export type {
  BarWalk,
  BootWork,
  BridgeRule,
  IdentityPrimitive,
  KernelEra,
  Policy,
  RamTest,
} from "../model/policy.ts";

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
  /** The policy with default options (`pageIomap` comes from its kernel era). */
  base: Omit<Policy, "options" | "pageIomap">;
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
  const p: Policy = { ...def.base, pageIomap: def.base.kernel.pageIomap, options };
  if (options.primitive) p.primitive = options.primitive as IdentityPrimitive;
  if (options.ram) p.ram = options.ram as RamTest;
  if (options.guard) p.guard = options.guard === "max_p2m_pfn";
  if (options.unset) p.walkUnset = options.unset === "walk";
  if (options.windows && p.bridgeRule) {
    p.bridgeRule = { windows: options.windows as "root" | "all" };
  }
  if (options.iomap) p.pageIomap = options.iomap === "honoured";
  if (options.p2m_limit) p.p2mLimitGib = Number(options.p2m_limit);
  return p;
}
