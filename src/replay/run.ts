/**
 * Replays a whole trace from a reader: the loop `replay`, `check` and `compare` share. Streams
 * the events (constant memory), stops after `--at`, and turns a cut-off recording into a
 * clean stop that the caller reports.
 *
 * @module
 */

import { CutOffError, InvariantError } from "../errors.ts";
import type { TraceHeader } from "../trace/event.ts";
import type { EventSource } from "../trace/read.ts";
import { type Policy, resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import {
  choosePolicy,
  type PolicySource,
  Replayer,
  selectDetectors,
  type StepRecord,
} from "./replayer.ts";
import { type ModelDraft, type ModelState, validateState } from "../model/state.ts";
import type { TraceEvent } from "../trace/event.ts";

/** Options of {@link runTrace}. */
export interface RunOptions {
  /** `--policy` value (name with options). */
  policy?: string;
  /** Detector ids (all when empty). */
  detectors?: readonly string[];
  /** Stop after the last event with seq <= this. */
  atSeq?: number;
  /** Called after each step (for per-step output). */
  onStep?: (rec: StepRecord) => void;
  /**
   * Walk every model structure before the first step and after each one ({@link validateState})
   * and stop with an `InvariantError` naming the step at the first broken invariant. Slow:
   * O(private P2M pages) per step.
   */
  paranoid?: boolean;
}

/** What a replay produced. */
export interface RunResult {
  /** The header. */
  header: TraceHeader;
  /** The policy. */
  policy: Policy;
  /** Where it came from. */
  policySource: PolicySource;
  /** The replayer (findings, counts). */
  replayer: Replayer;
  /** Final state. */
  state: ModelState;
  /** How the trace ended. */
  ending: "end-record" | "no-end-record" | "cut-off" | "stopped";
  /** The cut-off, when the last line was truncated. */
  cutOff?: CutOffError;
  /** Verifications [agreeing, total]. */
  verified: [number, number];
}

/**
 * Replays `reader` (parsed on this thread or a second one: `openEvents` in
 * src/trace/threaded_read.ts) to its end (or `atSeq`).
 *
 * @example
 * ```ts
 * import { runTrace } from "./run.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const r = TraceReader.fromText("t", [
 *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *     '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
 *   '{"seq":1,"kind":"lookup","pfn":"0x80000"}',
 * ].join("\n") + "\n");
 * const res = await runTrace(r, { policy: "linux-3.12" });
 * // No E820 map, so no boot pass: whether 0x80000 is INVALID cannot be judged.
 * assert.equal(res.replayer.findings.length, 0);
 * assert.equal(res.replayer.unjudged[0].detector, "lookup-zero");
 * assert.equal(res.replayer.unjudged[0].cannotJudge, "no raw E820 map");
 * assert.equal(res.ending, "no-end-record");
 * ```
 */
export async function runTrace(reader: EventSource, opts: RunOptions = {}): Promise<RunResult> {
  try {
    return await replayAll(reader, opts);
  } finally {
    reader.close?.();
  }
}

async function replayAll(reader: EventSource, opts: RunOptions): Promise<RunResult> {
  // Usage mistakes are reported before any input is read.
  const detectors = selectDetectors(opts.detectors ?? []);
  if (opts.policy !== undefined) resolvePolicy(POLICIES, opts.policy);
  const header = await reader.header();
  const { policy, source } = choosePolicy(header, opts.policy);
  const replayer = Replayer.forHeader(header, policy, detectors);
  let ending: RunResult["ending"] = "no-end-record";
  let cutOff: CutOffError | undefined;
  let agree = 0, total = 0;
  const at = opts.atSeq;
  const paranoid = opts.paranoid === true;
  if (paranoid) checkInvariants(replayer.current, reader.name, undefined);
  try {
    outer: for await (const batch of reader.batches()) {
      for (const e of batch) {
        if (at !== undefined && e.seq > at) {
          ending = "stopped";
          break outer;
        }
        const rec = replayer.apply(e);
        if (paranoid) checkInvariants(replayer.current, reader.name, e);
        for (const v of rec.outcome.verifications) {
          total++;
          if (v.ok) agree++;
        }
        opts.onStep?.(rec);
      }
    }
    if (ending !== "stopped" && reader.end) ending = "end-record";
  } catch (e) {
    if (!(e instanceof CutOffError)) throw e;
    cutOff = e;
    ending = "cut-off";
  }
  return {
    header,
    policy,
    policySource: source,
    replayer,
    state: replayer.snapshot(),
    ending,
    cutOff,
    verified: [agree, total],
  };
}

/** {@link validateState}, with the step that broke an invariant named in the error. */
function checkInvariants(state: ModelDraft, file: string, e: TraceEvent | undefined): void {
  try {
    validateState(state);
  } catch (err) {
    if (!(err instanceof InvariantError)) throw err;
    const when = e === undefined
      ? "in the initial state"
      : `after seq ${e.seq} (${file}:${e.line}, ${e.kind})`;
    throw new InvariantError(
      `${err.detail} ${when} under ${state.policy.name}; this is a bug in p2mtrace: ` +
        `please report it with the trace`,
    );
  }
}
