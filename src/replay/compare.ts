/**
 * Replays one trace under several policies in a single pass: each event is read and validated
 * once and applied to one replayer per policy. Memory is one model per policy; time is one read
 * plus one reduction per policy per event.
 *
 * @module
 */

import { CutOffError } from "../errors.ts";
import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import type { TraceReader } from "../trace/read.ts";
import { POLICIES } from "../policy/policies.ts";
import { type Policy, resolvePolicy } from "../policy/policy.ts";
import type { Finding } from "../detect/finding.ts";
import { ALL_JUDGED, type VerdictBasis } from "../detect/verdict.ts";
import { Replayer, selectDetectors } from "./replayer.ts";

/** One policy's result. */
export interface PolicyResult {
  /** The policy. */
  policy: Policy;
  /**
   * Its findings, in order; when not `complete`, only those a verdict reads: the first
   * finding and the first error.
   */
  findings: Finding[];
  /** Per detector id, the seq of the first finding. */
  first: Map<string, number>;
  /** Judged findings that are errors, every one counted (`complete` or not). */
  errors: number;
  /** Judged findings that are warnings, every one counted. */
  warnings: number;
  /**
   * Findings that cannot be judged (`Replayer.unjudged`), in order; when not `complete`, only
   * the first for each reason (`cannotJudge`).
   */
  unjudged: Finding[];
  /** Per detector id, the seq of the first finding that cannot be judged. */
  firstUnjudged: Map<string, number>;
  /** Whether `findings` and `unjudged` hold every finding. */
  complete: boolean;
  /** What the policy's verdict is decided from, at the end of the run (`verdict.ts`). */
  basis: VerdictBasis;
}

/** The comparison. */
export interface Comparison {
  /** The trace header. */
  header: TraceHeader;
  /** Events replayed. */
  events: number;
  /** Results in policy order. */
  results: PolicyResult[];
  /** Set when the recording was cut off. */
  cutOff?: CutOffError;
}

/** What {@link comparePolicies} calls, and which findings it keeps. */
export interface CompareOptions {
  /** Called with each event once, before the policies apply it. */
  onEvent?: (e: TraceEvent) => void;
  /**
   * Whether policy `index` keeps every finding (default: all do); the others keep what a verdict
   * needs ({@link PolicyResult}), so that memory does not grow with the findings of a long trace
   * under policies nobody lists, or lists as they come (`onFinding`).
   */
  complete?: (index: number) => boolean;
  /**
   * Called with each finding of policy `index` as it is found, in order: `judged` when it is
   * one of `findings`, else one of `unjudged`.
   */
  onFinding?: (index: number, f: Finding, judged: boolean) => void;
}

/**
 * Replays `reader` under each of `policies` (default: every shipped policy, in order); see
 * {@link CompareOptions} for what it calls and keeps.
 *
 * @example
 * ```ts
 * import { comparePolicies } from "./compare.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const r = TraceReader.fromText("t", [
 *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *     '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
 *   '{"seq":1,"kind":"e820","start":"0x0","end":"0x3fffffff","type":"ram"}',
 *   '{"seq":2,"kind":"memory_setup"}',
 *   '{"seq":3,"kind":"lookup","pfn":"0x9000000"}',
 * ].join("\n") + "\n");
 * const c = await comparePolicies(r, ["linux-3.12", "linux-3.16"]);
 * assert.equal(c.results[0].first.get("lookup-zero"), 3); // INVALID beyond the tree in 3.12
 * assert.equal(c.results[1].findings.length, 0);           // identity beyond the tree in 3.16
 * ```
 */
export async function comparePolicies(
  reader: TraceReader,
  policies: readonly string[] = [...POLICIES.keys()],
  detectors: readonly string[] = [],
  options: CompareOptions = {},
): Promise<Comparison> {
  const { onEvent, complete = () => true, onFinding } = options;
  const selected = selectDetectors(detectors);
  const resolved = policies.map((p) => resolvePolicy(POLICIES, p));
  const header = await reader.header();
  const replayers = resolved.map((p) => Replayer.forHeader(header, p, selected, false));
  const results: PolicyResult[] = resolved.map((policy, i) => ({
    policy,
    findings: [],
    first: new Map(),
    errors: 0,
    warnings: 0,
    unjudged: [],
    firstUnjudged: new Map(),
    complete: complete(i),
    basis: ALL_JUDGED,
  }));
  const firstError = results.map(() => false);
  const reasons = results.map(() => new Set<string | undefined>());
  let events = 0;
  let cutOff: CutOffError | undefined;
  try {
    // Event by event as parsed, not in batches: see TraceReader.forEachEvent.
    await reader.forEachEvent((e) => {
      events++;
      onEvent?.(e);
      for (let i = 0; i < replayers.length; i++) {
        const rec = replayers[i].apply(e);
        const res = results[i];
        for (const f of rec.findings) {
          if (f.severity === "error") res.errors++;
          else res.warnings++;
          const error = f.severity === "error" && !firstError[i];
          if (error) firstError[i] = true;
          if (res.complete || res.findings.length === 0 || error) res.findings.push(f);
          if (!res.first.has(f.detector)) res.first.set(f.detector, f.seq);
          onFinding?.(i, f, true);
        }
        for (const f of rec.unjudged) {
          onFinding?.(i, f, false);
          if (res.complete || !reasons[i].has(f.cannotJudge)) res.unjudged.push(f);
          reasons[i].add(f.cannotJudge);
          if (!res.firstUnjudged.has(f.detector)) res.firstUnjudged.set(f.detector, f.seq);
        }
      }
    });
  } catch (e) {
    if (!(e instanceof CutOffError)) throw e;
    cutOff = e;
  }
  // The replayers keep no findings: the verdict reads the result's lists (all, or when not
  // complete those a verdict reads).
  results.forEach((r, i) =>
    r.basis = { ...replayers[i].basis(), findings: r.findings, unjudged: r.unjudged }
  );
  const c: Comparison = { header, events, results };
  if (cutOff) c.cutOff = cutOff;
  return c;
}
