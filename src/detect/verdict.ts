/**
 * The one verdict every command prints about a run (check, replay, compare, summarize, the
 * batch forms): `bad` (a judged error), `warn` (judged warnings only), `cannot-judge` or
 * `clean`. A run is `clean` only when it could have seen a problem: no finding was judged, none
 * was left unjudged, and nothing the verdict needs is missing. The absence of findings on a
 * P2M that was never built proves nothing for a detector that reads what the boot pass builds
 * (docs/verdicts.md): such a run is `cannot-judge`, never `clean`.
 *
 * @module
 */

import type { Finding } from "./finding.ts";
import { NO_GUEST_KERNEL } from "./basis.ts";

/** A run's verdict. */
export type Verdict = "bad" | "warn" | "cannot-judge" | "clean";

/** What a verdict is decided from. */
export interface VerdictBasis {
  /** Judged findings, in order. */
  findings: readonly Finding[];
  /** Findings that cannot be judged, in order. */
  unjudged: readonly Finding[];
  /** What the header leaves unknown that every verdict needs (`guestGaps`). */
  guestGaps: readonly string[];
  /**
   * What the boot pass lacked at the end of the run (`bootPassGaps`), when a detector that ran
   * rests on the pass under the run's policy; empty otherwise.
   */
  passGaps: readonly string[];
  /** Detectors that ran and do not rest on the boot pass (they judged even when it did not run). */
  judgedWithoutPass?: readonly string[];
}

/**
 * The verdict of a run.
 *
 * @example
 * ```ts
 * import { ALL_JUDGED, runVerdict } from "./verdict.ts";
 * import assert from "node:assert/strict";
 * assert.equal(runVerdict(ALL_JUDGED), "clean");
 * assert.equal(runVerdict({ ...ALL_JUDGED, passGaps: ["no nr_pages"] }), "cannot-judge");
 * ```
 */
export function runVerdict(b: VerdictBasis): Verdict {
  if (b.findings.length > 0) {
    return b.findings.some((f) => f.severity === "error") ? "bad" : "warn";
  }
  return b.unjudged.length > 0 || blind(b).length > 0 ? "cannot-judge" : "clean";
}

/**
 * Why an absence of findings proves nothing: what the header leaves unknown, then what the boot
 * pass lacked. Empty when the run could have seen every problem its detectors look for.
 *
 * @example
 * ```ts
 * import { blind } from "./verdict.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(blind({ findings: [], unjudged: [], guestGaps: [], passGaps: ["no nr_pages"] }),
 *   ["no nr_pages"]);
 * ```
 */
export function blind(b: VerdictBasis): string[] {
  return [...b.guestGaps, ...b.passGaps];
}

/**
 * What the run lacks, each reason once: the blind spots, then what unjudged findings miss.
 *
 * @example
 * ```ts
 * import { missingOf, ALL_JUDGED } from "./verdict.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(missingOf({ ...ALL_JUDGED, passGaps: ["no nr_pages"] }),
 *   ["no nr_pages"]);
 * ```
 */
export function missingOf(b: VerdictBasis): string[] {
  const out = new Set<string>(blind(b));
  for (const f of b.unjudged) {
    for (const m of (f.cannotJudge ?? "").split(", ")) if (m !== "") out.add(m);
  }
  return [...out];
}

/** A run with nothing found and nothing missing. */
export const ALL_JUDGED: VerdictBasis = Object.freeze({
  findings: [],
  unjudged: [],
  guestGaps: [],
  passGaps: [],
});

/** The verdict as the tables print it (`compare`, `summarize`). */
export const VERDICT_TAG: Readonly<Record<Verdict, string>> = {
  bad: "BAD",
  warn: "warn",
  "cannot-judge": "?",
  clean: "clean",
};

/**
 * The verdict with the finding that decides it, or why nothing could be judged, in one line.
 *
 * @example
 * ```ts
 * import { ALL_JUDGED, verdictLine } from "./verdict.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(verdictLine(ALL_JUDGED), ["clean", "no findings"]);
 * assert.deepEqual(verdictLine({ ...ALL_JUDGED, passGaps: ["no nr_pages"] }),
 *   ["?", "cannot judge (no nr_pages): nothing found on a P2M that was never built"]);
 * ```
 */
export function verdictLine(b: VerdictBasis): [string, string] {
  const v = runVerdict(b);
  const tag = VERDICT_TAG[v];
  if (v === "clean") return [tag, "no findings"];
  if (v === "cannot-judge") {
    const f = b.unjudged[0];
    const why = `cannot judge (${missingOf(b).join("; ")})`;
    return [
      tag,
      f ? `${why}: ${f.detector} at step ${f.seq}` : `${why}: ${nothingSeen(b)}`,
    ];
  }
  const worst = b.findings.find((f) => f.severity === "error") ?? b.findings[0];
  const lowered = worst.doubts ? " (lowered confidence)" : "";
  return [tag, `${worst.detector} at step ${worst.seq}${lowered}: ${worst.message}`];
}

/**
 * The verdict so far, at one step of a run (the map's per-frame line): the same decision as
 * {@link runVerdict}, worded for a run that may go on. It never reads "no findings so far" when
 * the header leaves the guest unknown or the boot pass has not built the P2M by this step:
 * finding nothing there proves nothing yet.
 *
 * @example
 * ```ts
 * import { ALL_JUDGED, verdictSoFar } from "./verdict.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(verdictSoFar(ALL_JUDGED), ["clean", "no findings so far"]);
 * assert.deepEqual(verdictSoFar({ ...ALL_JUDGED, passGaps: ["no nr_pages"] }), [
 *   "cannot-judge",
 *   "cannot judge (no nr_pages): no findings, on a P2M not built by this step",
 * ]);
 * ```
 */
export function verdictSoFar(b: VerdictBasis): [Verdict, string] {
  const v = runVerdict(b);
  const unjudged = b.unjudged.length > 0 ? `, ${b.unjudged.length} cannot be judged` : "";
  if (v === "bad" || v === "warn") {
    const errors = b.findings.filter((f) => f.severity === "error").length;
    return [v, `${b.findings.length} finding(s) so far (${errors} error(s))${unjudged}`];
  }
  if (v === "clean") return [v, "no findings so far"];
  const why = `cannot judge (${missingOf(b).join("; ")})`;
  if (b.unjudged.length > 0) return [v, `${why}: ${b.unjudged.length} unjudged finding(s) so far`];
  if (b.guestGaps.includes(NO_GUEST_KERNEL)) return [v, `${why}: nothing of its kernel to judge`];
  return [
    v,
    b.guestGaps.length > 0
      ? `${why}: no findings, but the guest decides whether there is a P2M at all`
      : `${why}: no findings, on a P2M not built by this step`,
  ];
}

/** Why a run without any finding still is not clean. */
function nothingSeen(b: VerdictBasis): string {
  if (b.guestGaps.includes(NO_GUEST_KERNEL)) {
    return "there is nothing of the guest's kernel to judge";
  }
  return b.guestGaps.length > 0
    ? "nothing found, but the guest decides whether there is a P2M at all"
    : "nothing found on a P2M that was never built";
}

/**
 * For a run that found nothing because the guest is unknown or the boot pass did not run: why
 * that proves nothing, and which detectors still judged (they do not rest on the pass);
 * undefined otherwise.
 *
 * @example
 * ```ts
 * import { blindNote, ALL_JUDGED } from "./verdict.ts";
 * import assert from "node:assert/strict";
 * assert.match(blindNote({ ...ALL_JUDGED, passGaps: ["no nr_pages"],
 *   judgedWithoutPass: ["io-as-memory"] })!, /io-as-memory does not rest on the boot pass/);
 * ```
 */
export function blindNote(b: VerdictBasis): string | undefined {
  if (b.findings.length > 0) return undefined;
  if (b.guestGaps.includes(NO_GUEST_KERNEL)) {
    return `${NO_GUEST_KERNEL} (an xl dmesg): no BAR, device, lookup or count of the guest ` +
      "was recorded, so there is nothing of its kernel to judge";
  }
  if (b.guestGaps.length > 0) {
    return `${b.guestGaps.join(", ")}: it decides whether there is a P2M at all, so finding ` +
      "nothing proves nothing";
  }
  if (b.passGaps.length === 0) return undefined;
  const judged = b.judgedWithoutPass ?? [];
  const own = judged.length > 0
    ? `${judged.join(", ")} ${judged.length === 1 ? "does" : "do"} not rest on the boot pass ` +
      `and found nothing; `
    : "";
  return `${own}the other detectors read what the boot pass builds, and it did not run ` +
    `(${b.passGaps.join(", ")}): finding nothing there proves nothing`;
}
