/**
 * The kernel era a log proves when it lacks the `Linux version` banner (a `dmesg | grep` paste, a
 * diff, a cut serial capture): some boot-pass lines were printed only from a given kernel version
 * on, so they bound the release from below and pick the policy that models it. Each rule is a
 * lower bound; the latest era any line proves wins, and the header marks the policy as estimated
 * (a later kernel of the same era replays the same way).
 *
 * | line                                   | from   | why                                                                                |
 * | -------------------------------------- | ------ | ---------------------------------------------------------------------------------- |
 * | `Remapped N page(s), last_pfn=M`       | 3.18   | `xen_set_identity_and_remap` (T318s); v3.19 prints the count alone                   |
 * | `Remapped N page(s)` (no `last_pfn`)   | 3.19   | `xen_memory_setup` after the remap moved to `xen_remap_memory` (S319)              |
 * | `p2m virtual area at %p, size is %lx`  | 3.19   | `xen_vmalloc_p2m_tree`: the linear p2m list (S319)                                 |
 * | `Hypervisor detected: Xen PV`          | 4.3    | `x86_hyper_xen_pv` (enlighten_pv.c) came with the hypervisor-type enum, v4.15      |
 *
 * @module
 */

/** A line that bounds the kernel release from below. */
export interface EraHint {
  /** The policy of the era the line proves. */
  policy: string;
  /** Why (the kernel function and version). */
  rule: string;
  /** Where: the log line number and its text. */
  line: number;
  text: string;
}

/** Policies from oldest to newest era. */
const ERA_ORDER = ["linux-3.12", "linux-3.16", "linux-3.18", "linux-3.19", "linux-4.3"];

const RULES: { re: RegExp; policy: string; rule: string }[] = [
  {
    re: /^(?:xen: ?)?Remapped \d+ page\(s\), last_pfn=\d+$/,
    policy: "linux-3.18",
    rule: "v3.18's xen_set_identity_and_remap prints last_pfn with the count",
  },
  {
    re: /^(?:xen: ?)?Remapped \d+ page\(s\)$/,
    policy: "linux-3.19",
    rule: "v3.19+ xen_memory_setup prints the remap count alone",
  },
  {
    re: /^p2m virtual area at \S+, size is [0-9a-f]+$/,
    policy: "linux-3.19",
    rule: "xen_vmalloc_p2m_tree (the linear p2m list) is v3.19+",
  },
  {
    re: /^Hypervisor detected: Xen PV$/,
    policy: "linux-4.3",
    rule: "the Xen PV hypervisor type (x86_hyper_xen_pv) is v4.15+",
  },
];

/**
 * The era `text` (a kernel line, prefix stripped) proves, if any.
 *
 * @example
 * ```ts
 * import { eraHintOf } from "./era.ts";
 * import assert from "node:assert/strict";
 * assert.equal(eraHintOf("Remapped 728641 page(s)", 12)?.policy, "linux-3.19");
 * assert.equal(eraHintOf("Remapped 3 page(s), last_pfn=1048579", 12)?.policy, "linux-3.18");
 * assert.equal(eraHintOf("Released 0 page(s)", 3), undefined);
 * ```
 */
export function eraHintOf(text: string, line: number): EraHint | undefined {
  const r = RULES.find((r) => r.re.test(text));
  return r ? { policy: r.policy, rule: r.rule, line, text } : undefined;
}

/**
 * The later of two hints (the stronger lower bound); the first when equal.
 *
 * @example
 * ```ts
 * import { eraHintOf, laterEra } from "./era.ts";
 * import assert from "node:assert/strict";
 * const a = eraHintOf("p2m virtual area at (____ptrval____), size is 40000000", 20);
 * const b = eraHintOf("Hypervisor detected: Xen PV", 8);
 * assert.equal(laterEra(a, b)?.line, 8);
 * ```
 */
export function laterEra(a: EraHint | undefined, b: EraHint | undefined): EraHint | undefined {
  if (!a || !b) return a ?? b;
  return ERA_ORDER.indexOf(b.policy) > ERA_ORDER.indexOf(a.policy) ? b : a;
}
