/**
 * `bisect run` and `bisect replay`: the git-style session around {@link BisectSearch}. Both
 * endpoints are tested first (the good one must be good, the bad one bad), then the search
 * probes the middle of the gap until one step is left — or only skipped steps stand between
 * the last good and the first bad one. Every verdict is printed as a log line (`bisect good
 * 15`), so the session's output replays with `bisect replay`.
 *
 * The probe is a function, so the same session runs an external command on each snapshot
 * ({@link commandProbe}) or, in tests, any predicate.
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import type { TraceEvent } from "../trace/event.ts";
import type { StepPoint } from "../replay/steps.ts";
import type { Timeline } from "../replay/timeline.ts";
import { policySpec, snapshotJson, stepHeading } from "../report/snapshot_report.ts";
import { type BisectTerms, termWord } from "../report/bisect_report.ts";
import { BisectSearch, testsLeft } from "./search.ts";
import { markLine } from "./log.ts";
import { type CommandVerdict, type PredicateCommand, runPredicateCommand } from "./command.ts";

/** Exit code of a stopped `bisect run` (EXIT.bisectStopped). */
export const BISECT_ABORTED: number = EXIT.bisectStopped;

/** One nameable step of the trace, by position. */
export interface SearchPoint {
  /** The step. */
  point: StepPoint;
  /** The event that ends it (undefined at step 0). */
  event: TraceEvent | undefined;
}

/** How a session ended. */
export type BisectRunOutcome =
  | { kind: "found"; position: number }
  | { kind: "ambiguous"; positions: number[] }
  | { kind: "no-bad"; position: number }
  | { kind: "aborted"; reason: string };

/** Options of {@link runSearch}. */
export interface RunSearchOptions {
  /** Every nameable step, in order (position = index in this list). */
  points: readonly SearchPoint[];
  /** Position of the good endpoint. */
  good: number;
  /** Position of the bad endpoint (after `good`). */
  bad: number;
  /** Tests one position. */
  probe(position: number): Promise<CommandVerdict>;
  /** Receives each output line (log lines and progress). */
  emit(line: string): void;
  /** BisectVerdict words. */
  terms: BisectTerms;
}

/**
 * Runs a session: endpoints first, then the binary search.
 *
 * @example
 * ```ts
 * import { runSearch } from "./run.ts";
 * import assert from "node:assert/strict";
 * const points = [0, 1, 2, 3, 4].map((step) => ({ point: { step, index: step },
 *   event: step ? { seq: step, line: step + 1, kind: "mark" as const, text: `m${step}` } : undefined }));
 * const lines: string[] = [];
 * const { outcome } = await runSearch({
 *   points, good: 0, bad: 4, terms: { good: "good", bad: "bad" }, emit: (l) => lines.push(l),
 *   probe: (p) => Promise.resolve(p >= 3 ? { mark: "bad", code: 1 } : { mark: "good", code: 0 }),
 * });
 * assert.deepEqual(outcome, { kind: "found", position: 3 });
 * assert.deepEqual(lines.filter((l) => l.startsWith("bisect ")),
 *   ["bisect good 0", "bisect bad 4", "bisect good 2", "bisect bad 3"]);
 * ```
 */
export async function runSearch(
  o: RunSearchOptions,
): Promise<{ outcome: BisectRunOutcome; search: BisectSearch }> {
  const search = new BisectSearch(o.points.length);
  const step = (pos: number) => o.points[pos].point.step;
  const head = (pos: number) => stepHeading(o.points[pos].point, o.points[pos].event);
  const test = async (pos: number): Promise<CommandVerdict> => {
    const v = await o.probe(pos);
    if ("abort" in v) o.emit(`${head(pos)}: ${v.abort}`);
    else {
      const word = v.mark === "skip" ? "skip" : termWord(o.terms, v.mark);
      o.emit(`${head(pos)}: exit ${v.code}: ${word}`);
    }
    return v;
  };
  const record = (pos: number, mark: "good" | "bad" | "skip") => {
    search.mark(pos, mark);
    o.emit(markLine(mark, step(pos)));
  };
  const done = (outcome: BisectRunOutcome) => ({ outcome, search });
  const endpoint = (pos: number, which: "good" | "bad", v: CommandVerdict) =>
    "abort" in v
      ? done({ kind: "aborted", reason: `the command aborted at step ${step(pos)}: ${v.abort}` })
      : done({
        kind: "aborted",
        reason: `the ${termWord(o.terms, which)} endpoint, step ${step(pos)}, cannot be ` +
          `tested (exit 125)`,
      });

  let v = await test(o.good);
  if ("abort" in v || v.mark === "skip") return endpoint(o.good, "good", v);
  if (v.mark === "bad") {
    if (o.good !== 0) {
      return done({
        kind: "aborted",
        reason: `the ${termWord(o.terms, "good")} endpoint, step ${step(o.good)}, is ` +
          `${termWord(o.terms, "bad")}: the first ${termWord(o.terms, "bad")} step is at or ` +
          `before it (choose an earlier --good)`,
      });
    }
    record(0, "bad");
    return done({ kind: "found", position: 0 });
  }
  record(o.good, "good");
  v = await test(o.bad);
  if ("abort" in v || v.mark === "skip") return endpoint(o.bad, "bad", v);
  if (v.mark === "good") {
    record(o.bad, "good");
    return done({ kind: "no-bad", position: o.bad });
  }
  record(o.bad, "bad");
  for (;;) {
    const r = search.result();
    if (r.kind === "found") return done({ kind: "found", position: r.position });
    if (r.kind === "ambiguous") return done({ kind: "ambiguous", positions: r.positions });
    if (r.kind !== "open") throw new Error("internal: both endpoints are marked");
    o.emit(`${r.left} step(s) left to test (about ${testsLeft(r.left)} more run(s))`);
    v = await test(r.next);
    if ("abort" in v) {
      return done({
        kind: "aborted",
        reason: `the command aborted at step ${step(r.next)}: ${v.abort}`,
      });
    }
    record(r.next, v.mark);
  }
}

/** The nameable steps of a timeline, as search points. */
export function timelinePoints(t: Timeline): SearchPoint[] {
  return t.index.points().map((point) => ({ point, event: t.eventAt(point.index) }));
}

/**
 * A probe that runs `command` on the snapshot of each position (docs/bisect.md "Snapshot
 * JSON"), with `P2MTRACE_STEP`, `P2MTRACE_TRACE`, `P2MTRACE_POLICY` and `P2MTRACE_SNAPSHOT`
 * set. The command's output goes to `stderr`.
 */
export function commandProbe(
  t: Timeline,
  points: readonly SearchPoint[],
  command: PredicateCommand,
  stderr: (text: string) => void,
  timeoutSeconds?: number,
): (position: number) => Promise<CommandVerdict> {
  return (position) => {
    const { point, event } = points[position];
    const state = t.stateAt(point.index);
    const json = JSON.stringify(
      snapshotJson({ trace: t.name, point, event, state, policySource: t.policySource }),
    ) + "\n";
    return runPredicateCommand(
      command,
      json,
      {
        P2MTRACE_STEP: String(point.step),
        P2MTRACE_TRACE: t.name,
        P2MTRACE_POLICY: policySpec(t.policy),
      },
      stderr,
      timeoutSeconds,
    );
  };
}
