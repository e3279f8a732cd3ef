/**
 * Which policy replays a trace: `--policy`, the header's suggestion, its kernel, or the
 * default. Apart from the replayer (which re-exports it), so that an answer from the on-disk
 * index, which replays without detectors, does not load them.
 *
 * @module
 */

import type { TraceHeader } from "../trace/event.ts";
import { type Policy, resolvePolicy } from "./policy.ts";
import { POLICIES, policyForKernel } from "./policies.ts";
import { UsageError } from "../errors.ts";

/** Where the policy came from. */
export type PolicySource = "option" | "header" | "kernel" | "default";

/**
 * The policy for a trace: `--policy` if given, else the header's suggestion, else the one
 * matching the header's kernel version, else `linux-3.12`.
 *
 * @example
 * ```ts
 * import { choosePolicy } from "./choose.ts";
 * import assert from "node:assert/strict";
 * const h = { guest: { kernel: "3.17.1" } } as Parameters<typeof choosePolicy>[0];
 * assert.equal(choosePolicy(h, undefined).policy.name, "linux-3.16");
 * assert.equal(choosePolicy(h, "seed-v1").source, "option");
 * ```
 */
export function choosePolicy(
  header: Pick<TraceHeader, "policy" | "guest">,
  option: string | undefined,
): { policy: Policy; source: PolicySource } {
  if (option !== undefined) return { policy: resolvePolicy(POLICIES, option), source: "option" };
  if (header.policy !== undefined) {
    try {
      return { policy: resolvePolicy(POLICIES, header.policy), source: "header" };
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      throw new UsageError(`the trace header suggests ${e.message}; pass --policy to choose one`);
    }
  }
  const byKernel = header.guest.kernel ? policyForKernel(header.guest.kernel) : undefined;
  if (byKernel) return { policy: resolvePolicy(POLICIES, byKernel), source: "kernel" };
  return { policy: resolvePolicy(POLICIES, "linux-3.12"), source: "default" };
}
