/**
 * Replay output: a text line block per step and a summary, or one JSON object per step and a
 * final summary object (documented in README "replay --json").
 *
 * @module
 */

import type { TraceEvent } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import type { Finding } from "../detect/finding.ts";
import { fmtPfns } from "../detect/finding.ts";
import { runVerdict, type VerdictBasis, verdictLine } from "../detect/verdict.ts";
import type { PolicySource, StepRecord } from "../replay/replayer.ts";
import type { ModelState } from "../model/state.ts";
import type { Policy } from "../policy/policy.ts";
import { describeEvent, entryText, formatRows, tableRows } from "./describe.ts";
import { KIND_NAME } from "../p2m/lookup.ts";
import { escapeText } from "./text.ts";

/** Most change lines printed per step in text mode. */
export const MAX_CHANGE_LINES = 12;
/** Most P2M rows in the text summary. */
export const MAX_SUMMARY_ROWS = 48;

/**
 * The text block of one step.
 *
 * @example
 * ```ts
 * import { stepText } from "./replay_report.ts";
 * import assert from "node:assert/strict";
 * const text = stepText({
 *   event: { seq: 4, line: 5, kind: "mark", text: "driver loaded" },
 *   outcome: { changes: [], notes: [], messages: [], verifications: [], anomalies: [], rules: [], moved: [] },
 *   findings: [], unjudged: [],
 * });
 * assert.equal(text, "step 4 (line 5) mark: driver loaded\n");
 * ```
 */
export function stepText(rec: StepRecord): string {
  const { event, outcome, findings } = rec;
  const lines = [`step ${event.seq} (line ${event.line}) ${describeEvent(event)}`];
  for (const m of outcome.messages) lines.push(`  kernel: ${m}`);
  const shown = outcome.changes.slice(0, MAX_CHANGE_LINES);
  for (const c of shown) {
    lines.push(
      `  p2m:    ${fmtPfns(c).padEnd(34)} ${entryText(c.beforeKind, c.beforeMfn)} -> ${
        entryText(c.afterKind, c.afterMfn)
      }`,
    );
  }
  if (outcome.changes.length > shown.length) {
    lines.push(`  p2m:    ... and ${outcome.changes.length - shown.length} more changed range(s)`);
  }
  for (const v of outcome.verifications) {
    lines.push(
      v.unverified !== undefined
        ? `  verify: open  ${v.what}: recorded ${v.recorded}, replaying ${v.model}: ${v.unverified}`
        : v.ok
        ? `  verify: ok    ${v.what}: ${
          v.recorded === "same" ? "replaying and recorded agree" : v.recorded
        }`
        : `  verify: DIFF  ${v.what}: replaying ${v.model}, recorded ${v.recorded}`,
    );
  }
  for (const f of findings) {
    lines.push(`  FINDING ${f.detector} (${severityText(f)}): ${f.message}`);
  }
  for (const f of rec.unjudged) {
    lines.push(`  CANNOT JUDGE ${f.detector} (${f.cannotJudge}): ${f.message}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * A finding's severity as reports print it: `error`, or `error, lowered confidence` when it
 * rests on estimated facts.
 *
 * @example
 * ```ts
 * import { severityText } from "./replay_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(severityText({ severity: "warning" }), "warning");
 * assert.equal(severityText({ severity: "error", doubts: ["nr_pages estimated"] }),
 *   "error, lowered confidence");
 * ```
 */
export function severityText(f: Pick<Finding, "severity" | "doubts">): string {
  return f.doubts ? `${f.severity}, lowered confidence` : f.severity;
}

/**
 * One line on findings that cannot be judged, or undefined when there are none.
 *
 * @example
 * ```ts
 * import { cannotJudgeLine } from "./replay_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(cannotJudgeLine([]), undefined);
 * ```
 */
export function cannotJudgeLine(unjudged: readonly Finding[]): string | undefined {
  if (unjudged.length === 0) return undefined;
  const missing = [...new Set(unjudged.map((f) => f.cannotJudge))].join("; ");
  return `cannot judge: ${unjudged.length} finding(s) rest on what the trace lacks (${missing}); ` +
    `they are not errors`;
}

/** What the summary needs. */
export interface SummaryInput {
  /** Trace name as given. */
  file: string;
  /** Events replayed. */
  steps: number;
  /** Seq of the last event replayed. */
  lastSeq: number;
  /** Whether the trace ended with an end record, was cut off, or stopped at --at. */
  ending: "end-record" | "no-end-record" | "cut-off" | "stopped";
  /** Policy and where it came from. */
  policy: Policy;
  /** Where the policy came from. */
  policySource: PolicySource;
  /** Event counts by kind. */
  counts: ReadonlyMap<string, number>;
  /** Final state. */
  state: ModelState;
  /** All findings. */
  findings: readonly Finding[];
  /** Findings that cannot be judged. */
  unjudged?: readonly Finding[];
  /** What the boot pass lacked at the end (`bootPassGaps`), when it could not run. */
  bootGaps?: readonly string[];
  /** Verifications: [agreeing, total]. */
  verified: [number, number];
  /** What the run's verdict is decided from (`Replayer.basis`); no verdict line without it. */
  basis?: VerdictBasis;
}

const ENDING: Record<SummaryInput["ending"], string> = {
  "end-record": "complete (end record present)",
  "no-end-record": "no end record: the recording may be incomplete",
  "cut-off": "CUT OFF: the last line was truncated; replay stopped before it",
  "stopped": "stopped at --at",
};

function policyOptions(p: Policy): string {
  const o = Object.entries(p.options).map(([k, v]) => `${k}=${v}`).join(",");
  return o ? `${p.name}:${o}` : p.name;
}

/** The text summary. */
export function summaryText(s: SummaryInput): string {
  const out: string[] = ["== summary =="];
  out.push(
    `trace:    ${escapeText(s.file)}: ${s.steps} event(s) replayed, last seq ${s.lastSeq}; ${
      ENDING[s.ending]
    }`,
  );
  out.push(`policy:   ${policyOptions(s.policy)} (${s.policySource}): ${s.policy.summary}`);
  const g = s.state.guest;
  out.push(
    `guest:    ${g.type} ${g.domain}${g.kernel ? `, kernel ${escapeText(g.kernel)}` : ""}` +
      `${g.nrPages !== undefined ? `, nr_pages ${hex(g.nrPages)}` : ""}`,
  );
  const counts = [...s.counts.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([k, n]) =>
    `${k} ${n}`
  );
  out.push(`events:   ${counts.join(", ") || "none"}`);
  const b = s.state.boot;
  if (b) {
    const parts = [`identity ${b.identity}`, `released ${b.released}`];
    if (b.populated) parts.push(`populated ${b.populated}`);
    if (b.remapped) parts.push(`remapped ${b.remapped}`);
    parts.push(`max_pfn ${hex(b.maxPfn)}`);
    if (b.extra.length) parts.push(`extra ${b.extra.map(fmtPfns).join(", ")}`);
    out.push(`boot:     ${parts.join("; ")}`);
  } else if (s.bootGaps && s.bootGaps.length > 0) {
    out.push(`boot:     the boot pass did not run: ${s.bootGaps.join(", ")}`);
  }
  if (s.verified[1] > 0) {
    out.push(
      `verified: ${s.verified[0]} of ${s.verified[1]} recorded observation(s) agree with the model`,
    );
  }
  const bal = s.state.balloon;
  out.push(
    `balloon:  ${bal.pages} page(s) in ${bal.rangeCount} range(s)${
      s.state.balloonStarted ? "" : " (driver not started)"
    }`,
  );
  const a = s.state.p2m.accounting;
  out.push(
    `p2m:      ${s.state.policy.kernel.structure} structures; ` +
      (a.brkReserved ? `brk ${a.brkUsed} of ${a.brkReserved} reserved pages; ` : "") +
      `${a.runtimePages} page(s) allocated at runtime`,
  );
  const { rows, more } = tableRows(
    s.state.p2m,
    0,
    Math.max(s.state.p2m.structureLimit, 1),
    MAX_SUMMARY_ROWS,
  );
  out.push(`p2m at the end (coalesced ranges up to 0x${s.state.p2m.structureLimit.toString(16)}):`);
  out.push(...formatRows(rows, "  "));
  if (more > 0) out.push(`  ... and ${more} more range(s) ('p2mtrace snapshot' lists them all)`);
  const errors = s.findings.filter((f) => f.severity === "error").length;
  out.push(
    `findings: ${s.findings.length} (${errors} error(s), ${s.findings.length - errors} warning(s))`,
  );
  for (const f of s.findings) {
    const lowered = f.doubts ? " (lowered confidence)" : "";
    out.push(`  step ${f.seq} (line ${f.line}) ${f.detector}${lowered}: ${f.message}`);
  }
  const unjudged = s.unjudged ?? [];
  const line = cannotJudgeLine(unjudged);
  if (line) out.push(line);
  for (const f of unjudged) {
    out.push(`  step ${f.seq} (line ${f.line}) ${f.detector} (${f.cannotJudge}): ${f.message}`);
  }
  if (s.basis) {
    const [tag, text] = verdictLine(s.basis);
    out.push(`verdict:  ${tag === "?" ? text : `${tag}: ${text}`}`);
  }
  return out.join("\n") + "\n";
}

/** A finding as JSON. */
export function findingJson(f: Finding): Record<string, unknown> {
  const o: Record<string, unknown> = {
    detector: f.detector,
    severity: f.severity,
    seq: f.seq,
    line: f.line,
    kind: f.kind,
    message: f.message,
  };
  if (f.range) o.range = { pfn: hex(f.range.pfn), end_pfn: hex(f.range.endPfn) };
  o.evidence = Object.fromEntries(f.evidence);
  if (f.cannotJudge !== undefined) o.cannot_judge = f.cannotJudge;
  if (f.doubts) {
    o.confidence = "lowered";
    o.doubts = f.doubts;
  }
  return o;
}

/**
 * One step as a JSON object.
 *
 * @example
 * ```ts
 * import { stepJson } from "./replay_report.ts";
 * import assert from "node:assert/strict";
 * const o = stepJson({
 *   event: { seq: 4, line: 5, kind: "mark", text: "x" },
 *   outcome: { changes: [], notes: [], messages: [], verifications: [], anomalies: [], rules: [], moved: [] },
 *   findings: [], unjudged: [],
 * });
 * assert.deepEqual(o, { seq: 4, line: 5, kind: "mark", event: "mark: x", changes: [], messages: [],
 *   verifications: [], notes: [], findings: [] });
 * ```
 */
export function stepJson(rec: StepRecord): Record<string, unknown> {
  const { event, outcome } = rec;
  return {
    seq: event.seq,
    line: event.line,
    kind: event.kind,
    event: describeEvent(event as TraceEvent),
    changes: outcome.changes.map((c) => ({
      pfn: hex(c.pfn),
      end_pfn: hex(c.endPfn),
      before: entryText(c.beforeKind, c.beforeMfn),
      after: entryText(c.afterKind, c.afterMfn),
    })),
    messages: outcome.messages,
    verifications: outcome.verifications.map((v) => ({
      what: v.what,
      recorded: v.recorded,
      model: v.model,
      ok: v.ok,
      ...(v.unverified !== undefined ? { unverified: v.unverified } : {}),
    })),
    notes: outcome.notes.filter((n) => n.type !== "brk" && n.type !== "alloc").map((n) => {
      const o: Record<string, unknown> = { type: n.type };
      for (const [k, v] of Object.entries(n)) {
        if (k === "type") continue;
        o[k] = k === "kind" ? KIND_NAME[v as number] : typeof v === "number" ? hex(v) : v;
      }
      return o;
    }),
    findings: rec.findings.map(findingJson),
    ...(rec.unjudged.length > 0 ? { cannot_judge: rec.unjudged.map(findingJson) } : {}),
  };
}

/** The final JSON summary object. */
export function summaryJson(s: SummaryInput): Record<string, unknown> {
  const b = s.state.boot;
  const a = s.state.p2m.accounting;
  const { rows, more } = tableRows(s.state.p2m, 0, Math.max(s.state.p2m.structureLimit, 1), 100000);
  return {
    summary: {
      trace: s.file,
      events: s.steps,
      last_seq: s.lastSeq,
      ending: s.ending,
      policy: s.policy.name,
      policy_options: s.policy.options,
      policy_source: s.policySource,
      counts: Object.fromEntries([...s.counts.entries()].sort((x, y) => x[0] < y[0] ? -1 : 1)),
      boot: b
        ? {
          identity: b.identity,
          released: b.released,
          populated: b.populated,
          remapped: b.remapped,
          max_pfn: hex(b.maxPfn),
          extra: b.extra.map((r) => ({ pfn: hex(r.pfn), end_pfn: hex(r.endPfn) })),
        }
        : null,
      verified: { agree: s.verified[0], total: s.verified[1] },
      balloon_pages: s.state.balloon.pages,
      brk: { used: a.brkUsed, reserved: a.brkReserved },
      runtime_pages: a.runtimePages,
      p2m: rows.map((r) => ({
        pfn: hex(r.pfn),
        end_pfn: hex(r.endPfn),
        entry: r.entry,
        structure: r.structure,
      })),
      p2m_truncated: more,
      findings: s.findings.map(findingJson),
      ...(s.bootGaps && s.bootGaps.length > 0 && !b ? { boot_missing: s.bootGaps } : {}),
      ...(s.unjudged && s.unjudged.length > 0 ? { cannot_judge: s.unjudged.map(findingJson) } : {}),
      ...(s.basis ? { verdict: runVerdict(s.basis) } : {}),
    },
  };
}
