/**
 * `diff` output: the PFN ranges whose entry differs between two steps, coalesced, with both
 * values, under `---`/`+++` headings naming the two steps as `diff -u` names two files.
 *
 * @module
 */

import { escapeText } from "./text.ts";
import type { TraceEvent } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import type { EntryDiff } from "../p2m/table_diff.ts";
import type { StepPoint } from "../replay/steps.ts";
import type { Policy } from "../policy/policy.ts";
import { fmtPfns } from "../detect/finding.ts";
import { describeEvent, entryText } from "./describe.ts";
import { policySpec, stepHeading } from "./snapshot_report.ts";

/** One side of a diff. */
export interface DiffSide {
  /** The step. */
  point: StepPoint;
  /** The event that ends it. */
  event: TraceEvent | undefined;
}

/** What a diff report needs. */
export interface DiffInput {
  /** Trace name as given. */
  trace: string;
  /** The policy. */
  policy: Policy;
  /** First step. */
  a: DiffSide;
  /** Second step. */
  b: DiffSide;
  /** Differing ranges ({@link EntryDiff}). */
  diffs: readonly EntryDiff[];
}

function pages(diffs: readonly EntryDiff[]): number {
  return diffs.reduce((n, d) => n + d.endPfn - d.pfn, 0);
}

/**
 * The diff as text; empty differences print `no P2M entry differs`.
 *
 * @example
 * ```ts
 * import { diffText } from "./diff_report.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import { K } from "../p2m/leaf_runs.ts";
 * import assert from "node:assert/strict";
 * const text = diffText({
 *   trace: "t.jsonl",
 *   policy: resolvePolicy(POLICIES, "linux-3.16"),
 *   a: { point: { step: 0, index: 0 }, event: undefined },
 *   b: { point: { step: 1, index: 1 }, event: { seq: 1, line: 2, kind: "set_identity",
 *     range: { pfn: 0x80000, endPfn: 0x80010 } } },
 *   diffs: [{ pfn: 0x80000, endPfn: 0x80010, aKind: K.INVALID, aFrame: 0, bKind: K.IDENTITY, bFrame: 0 }],
 * });
 * assert.equal(text, [
 *   "--- step 0 (before the first event)",
 *   "+++ step 1 (line 2) set_identity 0x80000-0x8000f (16 pages)",
 *   "  0x80000-0x8000f (16 pages)         invalid -> identity",
 *   "1 range(s) differ, 16 page(s); t.jsonl under linux-3.16:iomap=honoured",
 *   "",
 * ].join("\n"));
 * ```
 */
export function diffText(d: DiffInput): string {
  const out = [
    `--- ${stepHeading(d.a.point, d.a.event)}`,
    `+++ ${stepHeading(d.b.point, d.b.event)}`,
  ];
  for (const x of d.diffs) {
    out.push(
      `  ${fmtPfns(x).padEnd(34)} ${entryText(x.aKind, x.aFrame)} -> ${
        entryText(x.bKind, x.bFrame)
      }`,
    );
  }
  out.push(
    d.diffs.length
      ? `${d.diffs.length} range(s) differ, ${pages(d.diffs)} page(s); ${
        escapeText(d.trace)
      } under ${policySpec(d.policy)}`
      : `no P2M entry differs; ${escapeText(d.trace)} under ${policySpec(d.policy)}`,
  );
  return out.join("\n") + "\n";
}

function sideJson(s: DiffSide): Record<string, unknown> {
  const e = s.event;
  return {
    step: s.point.step,
    event: e ? { seq: e.seq, line: e.line, kind: e.kind, text: describeEvent(e) } : null,
  };
}

/**
 * The diff as one JSON object (schema in docs/bisect.md).
 *
 * @example
 * ```ts
 * import { diffJson } from "./diff_report.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const o = diffJson({ trace: "t", policy: resolvePolicy(POLICIES, "linux-3.16"),
 *   a: { point: { step: 0, index: 0 }, event: undefined },
 *   b: { point: { step: 0, index: 0 }, event: undefined }, diffs: [] });
 * assert.equal(o.differ, false);
 * ```
 */
export function diffJson(d: DiffInput): Record<string, unknown> {
  return {
    trace: d.trace,
    policy: policySpec(d.policy),
    a: sideJson(d.a),
    b: sideJson(d.b),
    differ: d.diffs.length > 0,
    pages: pages(d.diffs),
    ranges: d.diffs.map((x) => ({
      pfn: hex(x.pfn),
      end_pfn: hex(x.endPfn),
      a: entryText(x.aKind, x.aFrame),
      b: entryText(x.bKind, x.bFrame),
    })),
  };
}
