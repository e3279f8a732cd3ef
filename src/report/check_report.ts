/**
 * `check` and `compare` output: findings with their evidence, and the policy x detector
 * matrix that fits 100 columns.
 *
 * @module
 */

import { escapeText } from "./text.ts";
import type { Finding } from "../detect/finding.ts";
import { DETECTORS } from "../detect/detectors.ts";
import { NO_GUEST_KERNEL } from "../detect/basis.ts";
import type { Comparison } from "../replay/compare.ts";
import {
  blindNote,
  missingOf,
  runVerdict,
  type VerdictBasis,
  verdictLine,
} from "../detect/verdict.ts";
import { findingJson, severityText } from "./replay_report.ts";
import { wrap } from "./wrap.ts";
import { HeldJsonArray } from "./json_parts.ts";

/** Width every text report fits in. */
export const REPORT_WIDTH = 100;

function clip(s: string, width = REPORT_WIDTH): string {
  return s.length <= width ? s : s.slice(0, width - 3) + "...";
}

/**
 * A finding as a text block: a headline and its evidence, aligned.
 *
 * @example
 * ```ts
 * import { findingText } from "./check_report.ts";
 * import assert from "node:assert/strict";
 * const text = findingText({
 *   detector: "lost-write", severity: "error", seq: 9, line: 10, kind: "increase_reservation",
 *   message: "write lost", evidence: [["event", "increase_reservation (seq 9, line 10)"]], key: "k",
 * }, 1);
 * assert.equal(text, "[1] lost-write (error) at step 9, line 10: write lost\n" +
 *   "      event  increase_reservation (seq 9, line 10)\n");
 * ```
 */
export function findingText(f: Finding, n: number): string {
  const what = f.cannotJudge !== undefined
    ? `cannot judge (${f.cannotJudge})`
    : `(${severityText(f)})`;
  const lines = [`[${n}] ${f.detector} ${what} at step ${f.seq}, line ${f.line}: ${f.message}`];
  const width = Math.max(...f.evidence.map(([k]) => k.length));
  for (const [k, v] of f.evidence) lines.push(`      ${k.padEnd(width)}  ${v}`);
  return lines.join("\n") + "\n";
}

/** The `check` text report: a headline with the run's verdict, then each finding. */
export function checkText(
  file: string,
  policy: string,
  b: VerdictBasis,
  events: number,
): string {
  const findings = b.findings;
  const errors = findings.filter((f) => f.severity === "error").length;
  let head: string;
  const verdict = runVerdict(b);
  if (findings.length > 0) {
    head = `check: ${escapeText(file)} under ${policy}: ${findings.length} finding(s) ` +
      `(${errors} error(s), ${findings.length - errors} warning(s)) in ${events} event(s)\n`;
  } else if (verdict === "cannot-judge") {
    const missing = missingOf(b).join("; ");
    head = b.guestGaps.includes(NO_GUEST_KERNEL)
      ? `check: ${
        escapeText(file)
      } under ${policy}: cannot judge (${events} event(s): the log holds no ` +
        `guest kernel lines to judge, only the hypervisor's)\n`
      : b.unjudged.length > 0
      ? `check: ${escapeText(file)} under ${policy}: cannot judge (${events} event(s); ` +
        `${b.unjudged.length} finding(s) rest on what the trace lacks: ${missing})\n`
      : `check: ${
        escapeText(file)
      } under ${policy}: cannot judge (${events} event(s), no findings, ` +
        `but the trace lacks what a verdict needs: ${missing})\n`;
    const note = blindNote(b);
    if (note) head += `note: ${note}\n`;
  } else {
    head = `check: ${escapeText(file)} under ${policy}: clean (${events} event(s), no findings)\n`;
  }
  const all = [...findings, ...b.unjudged];
  return head + all.map((f, i) => "\n" + findingText(f, i + 1)).join("");
}

/** The `check --json` object. */
export function checkJson(
  file: string,
  policy: string,
  b: VerdictBasis,
  events: number,
  ending: string,
): Record<string, unknown> {
  const verdict = runVerdict(b);
  const o: Record<string, unknown> = {
    trace: file,
    policy,
    events,
    ending,
    clean: verdict === "clean",
    findings: b.findings.map(findingJson),
  };
  if (verdict === "cannot-judge" || b.unjudged.length > 0) {
    o.verdict = verdict === "cannot-judge" ? verdict : "found";
    o.cannot_judge = b.unjudged.map(findingJson);
    o.missing = missingOf(b);
  }
  if (b.passGaps.length > 0) o.boot_missing = b.passGaps;
  return o;
}

/**
 * The `compare` text: rows = policies, columns = detectors that fired under some policy (a dot
 * when clean), each cell the first step it fired at; then a verdict per policy. Fits
 * {@link REPORT_WIDTH} columns; detectors use short codes with a legend when their names do
 * not fit.
 */
export function compareText(file: string, c: Comparison): string {
  const fired = DETECTORS.map((d) => d.id).filter((id) =>
    c.results.some((r) => r.first.has(id) || r.firstUnjudged.has(id))
  );
  const cell = (r: Comparison["results"][number], id: string) =>
    String(r.first.get(id) ?? (r.firstUnjudged.has(id) ? "?" : "."));
  const unjudged = c.results.some((r) => runVerdict(r.basis) === "cannot-judge");
  const out: string[] = [];
  out.push(
    clip(`compare: ${escapeText(file)}: ${c.events} event(s) under ${c.results.length} policies`),
  );
  if (c.cutOff) out.push(clip(`note: the recording was cut off at line ${c.cutOff.position.line}`));
  out.push(
    unjudged
      ? "cells: the step at which a detector first fired ('.' = never, '?' = cannot judge)"
      : "cells: the step at which a detector first fired ('.' = never)",
  );
  if (unjudged) {
    const missing = [...new Set(c.results.flatMap((r) => missingOf(r.basis)))];
    out.push(...wrap(`cannot judge: ${missing.join("; ")}`, REPORT_WIDTH, "  "));
  }
  out.push("");
  const polW = Math.max(6, ...c.results.map((r) => r.policy.name.length));
  const full =
    polW + 2 + fired.reduce((n, id) => n + Math.max(id.length, 5) + 2, 0) <= REPORT_WIDTH;
  const codes = fired.map((id, i) => full ? id : `D${i + 1}`);
  const widths = codes.map((code, i) =>
    Math.max(code.length, 5, ...c.results.map((r) => cell(r, fired[i]).length))
  );
  const row = (name: string, cells: string[]) =>
    (name.padEnd(polW) + "  " + cells.map((x, i) => x.padEnd(widths[i])).join("  ")).trimEnd();
  out.push(row("policy", codes));
  for (const r of c.results) {
    out.push(row(r.policy.name, fired.map((id) => cell(r, id))));
  }
  if (fired.length === 0) out.push("(no detector fired under any policy)");
  if (!full) {
    out.push("");
    for (let i = 0; i < fired.length; i++) out.push(`  ${codes[i].padEnd(4)} ${fired[i]}`);
  }
  out.push("");
  out.push("verdicts:");
  for (const r of c.results) {
    const [tag, text] = verdictLine(r.basis);
    out.push(clip(`  ${r.policy.name.padEnd(polW)}  ${tag.padEnd(5)}  ${text}`));
  }
  return out.join("\n") + "\n";
}

/** One policy's findings as `compare --json` lists them, held as JSON text during the pass. */
export interface HeldFindings {
  /** Judged findings (`"findings"`). */
  findings: HeldJsonArray;
  /** Findings that cannot be judged (`"cannot_judge"`). */
  unjudged: HeldJsonArray;
}

/**
 * Holds each policy's findings for {@link compareJson} as a pass finds them: `onFinding` goes to
 * `comparePolicies`, `held` to `compareJson`.
 *
 * @example
 * ```ts
 * import { holdFindings } from "./check_report.ts";
 * import assert from "node:assert/strict";
 * const { held, onFinding } = holdFindings(2);
 * onFinding(1, {
 *   detector: "lost-write", severity: "error", seq: 9, line: 10, kind: "increase_reservation",
 *   message: "write lost", evidence: [], key: "k",
 * }, true);
 * assert.deepEqual([held[0].findings.length, held[1].findings.length, held[1].unjudged.length], [0, 1, 0]);
 * ```
 */
export function holdFindings(policies: number): {
  held: HeldFindings[];
  onFinding: (index: number, f: Finding, judged: boolean) => void;
} {
  const held = Array.from({ length: policies }, () => ({
    findings: new HeldJsonArray(),
    unjudged: new HeldJsonArray(),
  }));
  return {
    held,
    onFinding: (i, f, judged) =>
      (judged ? held[i].findings : held[i].unjudged).push(findingJson(f)),
  };
}

/**
 * The `compare --json` object, with each policy's findings as {@link holdFindings} held them:
 * print it with `jsonParts` (held arrays have no text of their own for `JSON.stringify`).
 */
export function compareJson(
  file: string,
  c: Comparison,
  held: readonly HeldFindings[],
): Record<string, unknown> {
  return {
    trace: file,
    events: c.events,
    cut_off: c.cutOff !== undefined,
    detectors: DETECTORS.map((d) => d.id),
    policies: c.results.map((r, i) => {
      const verdict = runVerdict(r.basis);
      const o: Record<string, unknown> = {
        policy: r.policy.name,
        summary: r.policy.summary,
        verdict,
        errors: r.errors,
        warnings: r.warnings,
        first: Object.fromEntries([...r.first.entries()]),
        findings: held[i].findings,
      };
      if (verdict === "cannot-judge") o.missing = missingOf(r.basis);
      if (held[i].unjudged.length > 0) {
        o.first_unjudged = Object.fromEntries([...r.firstUnjudged.entries()]);
        o.cannot_judge = held[i].unjudged;
      }
      return o;
    }),
  };
}
