/**
 * `check` and `compare` output: findings with their evidence, and the policy x detector
 * matrix that fits 100 columns.
 *
 * @module
 */

import type { Finding } from "../detect/finding.ts";
import { DETECTORS } from "../detect/detectors.ts";
import type { Comparison } from "../replay/compare.ts";
import { findingJson, severityText } from "./replay_report.ts";
import { wrap } from "./wrap.ts";

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

/** What a run could not judge: findings, and what the trace lacks at its end. */
export interface Unjudged {
  /** Findings that cannot be judged. */
  findings: readonly Finding[];
  /** What the boot pass lacked at the end of the run (`bootPassGaps`). */
  bootGaps: readonly string[];
  /** What the header leaves unknown (`guestGaps`). */
  guestGaps: readonly string[];
}

/** Nothing unjudged. */
export const ALL_JUDGED: Unjudged = { findings: [], bootGaps: [], guestGaps: [] };

/**
 * The verdict of a run: `found` (a judged finding), `cannot-judge` (none, but findings rest on
 * what the trace lacks, or the guest type is unknown) or `clean`.
 *
 * @example
 * ```ts
 * import { ALL_JUDGED, runVerdict } from "./check_report.ts";
 * import assert from "node:assert/strict";
 * assert.equal(runVerdict([], ALL_JUDGED), "clean");
 * assert.equal(runVerdict([], { ...ALL_JUDGED, guestGaps: ["the guest type is unknown"] }),
 *   "cannot-judge");
 * ```
 */
export function runVerdict(
  findings: readonly Finding[],
  u: Unjudged,
): "found" | "cannot-judge" | "clean" {
  if (findings.length > 0) return "found";
  return u.findings.length > 0 || u.guestGaps.length > 0 ? "cannot-judge" : "clean";
}

/** The `check` text report. */
export function checkText(
  file: string,
  policy: string,
  findings: readonly Finding[],
  events: number,
  u: Unjudged = ALL_JUDGED,
): string {
  const errors = findings.filter((f) => f.severity === "error").length;
  let head: string;
  if (findings.length > 0) {
    head = `check: ${file} under ${policy}: ${findings.length} finding(s) ` +
      `(${errors} error(s), ${findings.length - errors} warning(s)) in ${events} event(s)\n`;
  } else if (runVerdict(findings, u) === "cannot-judge") {
    const missing = [...new Set([...u.guestGaps, ...u.findings.map((f) => f.cannotJudge)])];
    head = `check: ${file} under ${policy}: cannot judge (${events} event(s); ` +
      `${u.findings.length} finding(s) rest on what the trace lacks: ${missing.join("; ")})\n`;
  } else {
    head = `check: ${file} under ${policy}: clean (${events} event(s), no findings)\n`;
    if (u.bootGaps.length > 0) {
      head += `note: the boot pass did not run (${u.bootGaps.join(", ")}); no detector that ` +
        `rests on it found anything to judge\n`;
    }
  }
  const all = [...findings, ...u.findings];
  return head + all.map((f, i) => "\n" + findingText(f, i + 1)).join("");
}

/** The `check --json` object. */
export function checkJson(
  file: string,
  policy: string,
  findings: readonly Finding[],
  events: number,
  ending: string,
  u: Unjudged = ALL_JUDGED,
): Record<string, unknown> {
  const verdict = runVerdict(findings, u);
  const o: Record<string, unknown> = {
    trace: file,
    policy,
    events,
    ending,
    clean: verdict === "clean",
    findings: findings.map(findingJson),
  };
  if (verdict === "cannot-judge" || u.findings.length > 0) {
    o.verdict = verdict;
    o.cannot_judge = u.findings.map(findingJson);
    o.missing = [...new Set([...u.guestGaps, ...u.findings.map((f) => f.cannotJudge!)])];
  }
  if (u.bootGaps.length > 0) o.boot_missing = u.bootGaps;
  return o;
}

/**
 * A policy's verdict: `BAD` (errors), `warn` (warnings only), `?` (nothing judged, but findings
 * cannot be judged) or `clean`, with the first finding that decides it.
 */
export function policyVerdict(
  findings: readonly Finding[],
  unjudged: readonly Finding[] = [],
): [string, string] {
  if (findings.length === 0 && unjudged.length > 0) {
    const f = unjudged[0];
    return ["?", `cannot judge (${f.cannotJudge}): ${f.detector} at step ${f.seq}`];
  }
  if (findings.length === 0) return ["clean", "no findings"];
  const worst = findings.find((f) => f.severity === "error") ?? findings[0];
  const errors = findings.filter((f) => f.severity === "error").length;
  const tag = errors > 0 ? "BAD" : "warn";
  const lowered = worst.doubts ? " (lowered confidence)" : "";
  return [tag, `${worst.detector} at step ${worst.seq}${lowered}: ${worst.message}`];
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
  const unjudged = c.results.some((r) => r.unjudged.length > 0);
  const out: string[] = [];
  out.push(clip(`compare: ${file}: ${c.events} event(s) under ${c.results.length} policies`));
  if (c.cutOff) out.push(clip(`note: the recording was cut off at line ${c.cutOff.position.line}`));
  out.push(
    unjudged
      ? "cells: the step at which a detector first fired ('.' = never, '?' = cannot judge)"
      : "cells: the step at which a detector first fired ('.' = never)",
  );
  if (unjudged) {
    const missing = [...new Set(c.results.flatMap((r) => r.unjudged.map((f) => f.cannotJudge)))];
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
    const [tag, text] = policyVerdict(r.findings, r.unjudged);
    out.push(clip(`  ${r.policy.name.padEnd(polW)}  ${tag.padEnd(5)}  ${text}`));
  }
  return out.join("\n") + "\n";
}

/** The `compare --json` object. */
export function compareJson(file: string, c: Comparison): Record<string, unknown> {
  return {
    trace: file,
    events: c.events,
    cut_off: c.cutOff !== undefined,
    detectors: DETECTORS.map((d) => d.id),
    policies: c.results.map((r) => {
      const [tag] = policyVerdict(r.findings, r.unjudged);
      const errors = r.findings.filter((f) => f.severity === "error").length;
      const o: Record<string, unknown> = {
        policy: r.policy.name,
        summary: r.policy.summary,
        verdict: tag === "BAD" ? "bad" : tag === "?" ? "cannot-judge" : tag,
        errors,
        warnings: r.findings.length - errors,
        first: Object.fromEntries([...r.first.entries()]),
        findings: r.findings.map(findingJson),
      };
      if (r.unjudged.length > 0) {
        o.first_unjudged = Object.fromEntries([...r.firstUnjudged.entries()]);
        o.cannot_judge = r.unjudged.map(findingJson);
      }
      return o;
    }),
  };
}
