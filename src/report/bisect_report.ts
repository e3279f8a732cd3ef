/**
 * `bisect` output: `step N is the first bad step` with the evidence — the event and its line,
 * the last good step, why the predicate calls it bad, the affected PFNs before and after,
 * whether the property holds again later, every run of good and bad steps — and a paste-ready
 * block for a bug report (tool version, trace sha256, policy, the exact command). Custom terms
 * (`--term-good fixed --term-bad broken`) are quoted wherever a verdict is named.
 *
 * @module
 */

import type { PfnRange, TraceEvent, TraceHeader } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import type { P2m } from "../p2m/table.ts";
import type { PolicySource } from "../replay/replayer.ts";
import type { PassEnding } from "../replay/forward.ts";
import type { BisectPredicate, BisectVerdict, StepView } from "../bisect/predicate.ts";
import type { BisectScanResult, VerdictRun } from "../bisect/scan.ts";
import type { BisectRunOutcome, SearchPoint } from "../bisect/run.ts";
import { diffTables } from "../p2m/table_diff.ts";
import { fmtPfns } from "../detect/finding.ts";
import { describeEvent, entryText, tableRows } from "./describe.ts";
import { policySpec, stepHeading, structureBacking } from "./snapshot_report.ts";
import type { Structure } from "../p2m/table.ts";
import type { Policy } from "../policy/policy.ts";
import { escapeText } from "./text.ts";

/** The words for good and bad steps. */
export interface BisectTerms {
  /** Word for a good step (`good`, or the user's `--term-good`). */
  good: string;
  /** Word for a bad step. */
  bad: string;
}

/** The default terms. */
export const DEFAULT_BISECT_TERMS: BisectTerms = { good: "good", bad: "bad" };

/**
 * A verdict as messages print it: the default words bare, custom terms quoted.
 *
 * @example
 * ```ts
 * import { termWord } from "./bisect_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(termWord({ good: "good", bad: "bad" }, "bad"), "bad");
 * assert.equal(termWord({ good: "fixed", bad: "broken" }, "bad"), "'broken'");
 * ```
 */
export function termWord(t: BisectTerms, v: BisectVerdict): string {
  const w = v === "good" ? t.good : t.bad;
  return w === DEFAULT_BISECT_TERMS[v] ? w : `'${w}'`;
}

/** How a trace ended, in words. */
export const PASS_ENDING_TEXT: Record<PassEnding, string> = {
  "end-record": "complete (end record present)",
  "no-end-record": "no end record: the recording may be incomplete",
  "cut-off": "CUT OFF: the last line was truncated; the steps before it were used",
  "stopped": "stopped",
};

/** What the bug-report block repeats. */
export interface BugReportContext {
  /** The exact command line (quoted). */
  command: string;
  /** The trace name as given. */
  trace: string;
  /** Hex SHA-256 of the trace's bytes. */
  sha256: string;
  /** The header. */
  header: TraceHeader;
  /** The policy. */
  policy: Policy;
  /** Where it came from. */
  policySource: PolicySource;
  /** The predicate (`--detector lookup-zero`, or the external command). */
  predicate: string;
  /** Number of events replayed. */
  events: number;
  /** How the trace ended. */
  ending: PassEnding;
  /** BisectVerdict words. */
  terms: BisectTerms;
}

/** An event's trace line as recorded (its JSON), shortened for a report. */
function rawLine(e: TraceEvent): string {
  const text = e.raw ? JSON.stringify(e.raw) : describeEvent(e);
  return text.length > 400 ? text.slice(0, 397) + "..." : text;
}

/**
 * The paste-ready block: a fenced `text` block with everything needed to reproduce the
 * result (the tool version, the trace's sha256, the policy, the exact command).
 *
 * @example
 * ```ts
 * import { bugReportBlock } from "./bisect_report.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const block = bugReportBlock({
 *   command: "p2mtrace bisect t.jsonl --balloon-identity", trace: "t.jsonl", sha256: "ab",
 *   header: { format: "p2mtrace", version: 1, producer: "hand", description: "d", raw: {},
 *     guest: { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096 } },
 *   policy: resolvePolicy(POLICIES, "linux-3.16"), policySource: "option",
 *   predicate: "--balloon-identity", events: 3, ending: "end-record",
 *   terms: { good: "good", bad: "bad" },
 * }, "step 2 is the first bad step", []);
 * const lines = block.split("\n");
 * assert.match(lines[1], /^p2mtrace \d+\.\d+\.\d+ bisect: step 2 is the first bad step$/);
 * assert.match(block, /^sha256: +ab$/m);
 * ```
 */
export function bugReportBlock(c: BugReportContext, result: string, details: string[]): string {
  const g = c.header.guest;
  const rec = [
    c.header.id ? `id ${c.header.id}` : undefined,
    `${c.events} event(s)`,
    PASS_ENDING_TEXT[c.ending],
  ].filter((x) => x !== undefined).join("; ");
  const guest = [
    `${g.type} ${g.domain}`,
    g.kernel ? `kernel ${escapeText(g.kernel)}` : undefined,
    g.xen ? `xen ${g.xen}` : undefined,
    g.nrPages !== undefined ? `nr_pages ${hex(g.nrPages)}` : undefined,
  ].filter((x) => x !== undefined).join(", ");
  const lines = [
    "```text",
    `${TOOL_NAME} ${TOOL_VERSION} bisect: ${result}`,
    `command:   ${c.command}`,
    `trace:     ${escapeText(c.trace)}`,
    `sha256:    ${c.sha256}`,
    `recording: ${rec}`,
    `guest:     ${guest}`,
    `policy:    ${policySpec(c.policy)} (${c.policySource})`,
    `predicate: ${c.predicate}`,
    ...details,
    "```",
  ];
  return lines.join("\n") + "\n";
}

/** Most rows shown per affected range and side. */
const MAX_ROWS = 6;
/** Most affected ranges shown. */
const MAX_RANGES = 4;
/** Most verdict runs listed. */
const MAX_RUNS = 12;

function rowsText(p2m: P2m, r: PfnRange, label: string): string[] {
  const { rows, more } = tableRows(p2m, r.pfn, r.endPfn, MAX_ROWS);
  const out = rows.map((row, i) => {
    const span = row.endPfn - row.pfn === 1
      ? hex(row.pfn)
      : `${hex(row.pfn)}-${hex(row.endPfn - 1)}`;
    const shared = structureBacking(row.structure as Structure) === "shared" ? " (shared)" : "";
    return `    ${(i === 0 ? label : "").padEnd(9)} ${span.padEnd(25)} ${
      row.entry.padEnd(16)
    } ${row.structure}${shared}`;
  });
  if (more > 0) out.push(`    ${"".padEnd(9)} ... and ${more} more range(s)`);
  return out;
}

function mergeRanges(rs: readonly PfnRange[]): PfnRange[] {
  const sorted = [...rs].sort((a, b) => a.pfn - b.pfn);
  const out: PfnRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.pfn <= last.endPfn) last.endPfn = Math.max(last.endPfn, r.endPfn);
    else out.push({ ...r });
  }
  return out;
}

/** The affected PFNs at `before` and `after`, as table rows per range. */
export function affectedText(
  predicate: BisectPredicate,
  before: StepView | undefined,
  after: StepView,
): string[] {
  const ranges = mergeRanges(predicate.affected(after));
  if (ranges.length === 0) return [];
  const out = [
    before
      ? `affected PFNs, at step ${before.point.step} and at step ${after.point.step}:`
      : `affected PFNs at step ${after.point.step}:`,
  ];
  for (const r of ranges.slice(0, MAX_RANGES)) {
    out.push(`  ${fmtPfns(r)}`);
    if (before) out.push(...rowsText(before.state.p2m, r, `step ${before.point.step}:`));
    out.push(...rowsText(after.state.p2m, r, `step ${after.point.step}:`));
  }
  if (ranges.length > MAX_RANGES) out.push(`  ... and ${ranges.length - MAX_RANGES} more range(s)`);
  return out;
}

function runSpan(r: VerdictRun): string {
  return r.from.point.step === r.to.step
    ? `step ${r.to.step}`
    : `steps ${r.from.point.step}-${r.to.step}`;
}

/** What happens after the first bad step, in one line. */
function laterText(res: BisectScanResult, predicate: BisectPredicate, terms: BisectTerms): string {
  const fb = res.firstBad!;
  const last = res.runs[res.runs.length - 1].to;
  if (predicate.sticky) {
    const id = predicate.spec.replace(/^--detector /, "");
    const seqs = [
      ...new Set(
        res.findings.filter((f) => f.detector === id && f.seq > fb.after.point.step).map((f) =>
          f.seq
        ),
      ),
    ];
    return `${id} ${
      seqs.length ? `reports again at step(s) ${seqs.join(", ")}` : "reports nothing more"
    }; a --detector predicate stays ${termWord(terms, "bad")} once reported (to step ${last.step})`;
  }
  const i = res.runs.findIndex((r) => r.verdict === "bad");
  const after = res.runs.slice(i + 1);
  if (after.length === 0) {
    return `it stays ${termWord(terms, "bad")} to the end (step ${last.step})`;
  }
  const parts = after.slice(0, 4).map((r, i) =>
    `${termWord(terms, r.verdict)}${i === 0 ? " again" : ""} from ${
      stepHeading(r.from.point, r.from.event)
    }`
  );
  const tail = res.runs[res.runs.length - 1].verdict;
  return `${parts.join("; then ")}${after.length > 4 ? "; ..." : ""}; ` +
    `${termWord(terms, tail)} at the end (step ${last.step})`;
}

/** The scan's verdict runs, one line each. */
function runsText(res: BisectScanResult, terms: BisectTerms): string[] {
  const out = res.runs.slice(0, MAX_RUNS).map((r) =>
    `  ${termWord(terms, r.verdict).padEnd(8)} ${runSpan(r)}`
  );
  if (res.runs.length > MAX_RUNS) out.push(`  ... and ${res.runs.length - MAX_RUNS} more run(s)`);
  return out;
}

/**
 * The headline: `step N is the first bad step`, or that none is.
 *
 * @example
 * ```ts
 * import { firstBadLine } from "./bisect_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(firstBadLine(16, { good: "good", bad: "bad" }), "step 16 is the first bad step");
 * assert.equal(firstBadLine(undefined, { good: "fixed", bad: "broken" }, 21),
 *   "no 'broken' step: every step from 0 to 21 is 'fixed'");
 * ```
 */
export function firstBadLine(step: number | undefined, terms: BisectTerms, lastStep = 0): string {
  if (step === undefined) {
    return `no ${termWord(terms, "bad")} step: every step from 0 to ${lastStep} is ${
      termWord(terms, "good")
    }`;
  }
  return `step ${step} is the first ${termWord(terms, "bad")} step`;
}

/** What the scan report needs besides the result. */
export interface ScanReportInput {
  /** The scan result. */
  result: BisectScanResult;
  /** The predicate. */
  predicate: BisectPredicate;
  /** Bug-report context. */
  context: BugReportContext;
}

/**
 * The scan report as text (see the module doc); ends with the bug-report block when a bad
 * step was found.
 */
export function scanText(s: ScanReportInput): string {
  const { result: res, predicate, context: c } = s;
  const t = c.terms;
  const last = res.runs[res.runs.length - 1].to;
  const out = [
    `bisect ${escapeText(c.trace)} under ${policySpec(res.policy)} (${res.policySource})`,
    `predicate: ${predicate.spec}: ${predicate.meaning}`,
    `scanned:   every step exactly, 0 to ${last.step} (${
      res.runs.reduce((n, r) => n + r.to.index - r.from.point.index + 1, 0)
    } steps); ${PASS_ENDING_TEXT[res.ending]}`,
    "",
  ];
  const fb = res.firstBad;
  if (!fb) {
    out.push(firstBadLine(undefined, t, last.step));
    return out.join("\n") + "\n";
  }
  const headline = firstBadLine(fb.after.point.step, t);
  out.push(
    fb.before
      ? headline
      : `${headline}: the property is ${termWord(t, "bad")} before the first event`,
  );
  out.push(`  event:     ${stepHeading(fb.after.point, fb.after.event)}`);
  if (fb.before) {
    out.push(`  last ${termWord(t, "good")}: ${stepHeading(fb.before.point, fb.before.event)}`);
  }
  out.push(`why it is ${termWord(t, "bad")}:`);
  for (const l of predicate.why(fb.before, fb.after)) out.push(`  ${l}`);
  out.push(...affectedText(predicate, fb.before, fb.after));
  out.push(`later:     ${laterText(res, predicate, t)}`);
  out.push("steps by verdict:");
  out.push(...runsText(res, t));
  out.push("");
  out.push("bug report (paste as is):");
  const details: string[] = [];
  if (fb.after.event) {
    details.push(
      `first ${t.bad}: step ${fb.after.point.step}, line ${fb.after.event.line}: ${
        rawLine(fb.after.event)
      }`,
    );
  } else details.push(`first ${t.bad}: step 0, before the first event`);
  if (fb.before?.event) {
    details.push(
      `last ${t.good}:  step ${fb.before.point.step}, line ${fb.before.event.line}: ${
        rawLine(fb.before.event)
      }`,
    );
  }
  const why = predicate.why(fb.before, fb.after).filter((l) => !l.startsWith(" ")).slice(0, 4);
  for (const l of why) details.push(`why:       ${l}`);
  out.push(bugReportBlock(c, headline, details).trimEnd());
  return out.join("\n") + "\n";
}

function viewJson(v: StepView | undefined): Record<string, unknown> | null {
  if (!v) return null;
  const e = v.event;
  return {
    step: v.point.step,
    line: e?.line ?? null,
    kind: e?.kind ?? null,
    event: e ? describeEvent(e) : null,
  };
}

/** The scan report as one JSON object (schema in docs/bisect.md). */
export function scanJson(s: ScanReportInput): Record<string, unknown> {
  const { result: res, predicate, context: c } = s;
  const fb = res.firstBad;
  const rows = (p2m: P2m, r: PfnRange) =>
    tableRows(p2m, r.pfn, r.endPfn, MAX_ROWS).rows.map((x) => ({
      pfn: hex(x.pfn),
      end_pfn: hex(x.endPfn),
      entry: x.entry,
      structure: x.structure,
    }));
  return {
    trace: c.trace,
    sha256: c.sha256,
    tool: `${TOOL_NAME} ${TOOL_VERSION}`,
    command: c.command,
    policy: policySpec(res.policy),
    policy_source: res.policySource,
    predicate: { spec: predicate.spec, meaning: predicate.meaning, sticky: predicate.sticky },
    terms: c.terms,
    ending: res.ending,
    first_bad: fb ? viewJson(fb.after) : null,
    last_good: fb ? viewJson(fb.before) : null,
    why: fb ? predicate.why(fb.before, fb.after) : [],
    affected: fb
      ? mergeRanges(predicate.affected(fb.after)).slice(0, MAX_RANGES).map((r) => ({
        pfn: hex(r.pfn),
        end_pfn: hex(r.endPfn),
        before: fb.before ? rows(fb.before.state.p2m, r) : null,
        after: rows(fb.after.state.p2m, r),
      }))
      : [],
    runs: res.runs.map((r) => ({
      verdict: r.verdict,
      from: r.from.point.step,
      to: r.to.step,
    })),
  };
}

/** What the `bisect run` / `bisect replay` result needs. */
export interface RunResultInput {
  /** How the session ended. */
  outcome: BisectRunOutcome;
  /** Every nameable step, by position. */
  points: readonly SearchPoint[];
  /** BisectVerdict words. */
  terms: BisectTerms;
  /** The P2M before and at the first bad step (found only), to list what the step changed. */
  tables?: { before: P2m | undefined; after: P2m };
  /** Bug-report context (found and ambiguous results get the block). */
  context?: BugReportContext;
}

/** Most P2M change lines shown for the first bad step. */
const MAX_CHANGES = 8;

/**
 * The result lines of a `bisect run` session: `step N is the first bad step` with the event,
 * the last good step and what the step changed in the P2M; or "the first bad step could be any
 * of"; or why there is none.
 *
 * @example
 * ```ts
 * import { runResultText } from "./bisect_report.ts";
 * import assert from "node:assert/strict";
 * const points = [0, 5, 9].map((step, i) => ({ point: { step, index: i },
 *   event: i ? { seq: step, line: i + 1, kind: "mark" as const, text: `m${step}` } : undefined }));
 * const text = runResultText({ outcome: { kind: "ambiguous", positions: [1, 2] }, points,
 *   terms: { good: "good", bad: "bad" } });
 * assert.equal(text.split("\n")[0], "the first bad step could be any of: steps 5, 9");
 * ```
 */
export function runResultText(r: RunResultInput): string {
  const t = r.terms;
  const o = r.outcome;
  const head = (pos: number) => stepHeading(r.points[pos].point, r.points[pos].event);
  const step = (pos: number) => r.points[pos].point.step;
  const out: string[] = [];
  let headline: string | undefined;
  const details: string[] = [];
  switch (o.kind) {
    case "found": {
      headline = firstBadLine(step(o.position), t);
      out.push(
        o.position === 0
          ? `${headline}: the property is ${termWord(t, "bad")} before the first event`
          : headline,
      );
      out.push(`  event:     ${head(o.position)}`);
      if (o.position > 0) out.push(`  last ${termWord(t, "good")}: ${head(o.position - 1)}`);
      const ev = r.points[o.position].event;
      details.push(
        ev
          ? `first ${t.bad}: step ${step(o.position)}, line ${ev.line}: ${rawLine(ev)}`
          : `first ${t.bad}: step 0, before the first event`,
      );
      const prev = o.position > 0 ? r.points[o.position - 1].event : undefined;
      if (prev) {
        details.push(
          `last ${t.good}:  step ${step(o.position - 1)}, line ${prev.line}: ${rawLine(prev)}`,
        );
      }
      if (r.tables?.before) {
        const d = diffTables(r.tables.before, r.tables.after);
        out.push(
          d.length
            ? `  p2m changes of step ${step(o.position)} (${d.length} range(s)):`
            : `  p2m: step ${step(o.position)} changed no P2M entry`,
        );
        for (const x of d.slice(0, MAX_CHANGES)) {
          out.push(
            `    ${fmtPfns(x).padEnd(34)} ${entryText(x.aKind, x.aFrame)} -> ${
              entryText(x.bKind, x.bFrame)
            }`,
          );
        }
        if (d.length > MAX_CHANGES) out.push(`    ... and ${d.length - MAX_CHANGES} more range(s)`);
      }
      break;
    }
    case "ambiguous": {
      headline = `the first ${termWord(t, "bad")} step could be any of: steps ${
        o.positions.map(step).join(", ")
      }`;
      out.push(headline);
      const last = o.positions[o.positions.length - 1];
      for (const p of o.positions) {
        out.push(`  ${head(p)} (${p === last ? termWord(t, "bad") : "skipped"})`);
        const ev = r.points[p].event;
        if (ev) details.push(`candidate: step ${step(p)}, line ${ev.line}: ${rawLine(ev)}`);
      }
      break;
    }
    case "no-bad":
      out.push(
        `no ${termWord(t, "bad")} step: the ${termWord(t, "bad")} endpoint, step ${
          step(o.position)
        }, is ${termWord(t, "good")}`,
      );
      break;
    case "aborted":
      out.push(`bisect run stopped: ${o.reason}`);
      break;
  }
  if (headline && r.context) {
    out.push("");
    out.push("bug report (paste as is):");
    out.push(bugReportBlock(r.context, headline, details).trimEnd());
  }
  return out.join("\n") + "\n";
}
