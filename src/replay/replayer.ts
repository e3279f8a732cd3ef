/**
 * The replay engine: folds events into the model one at a time, runs the detectors on each
 * step and reports each finding once (at the first step that shows it). It keeps one draft
 * across steps — the fast path — and freezes it only when asked for a snapshot, so memory is
 * constant in trace length.
 *
 * @module
 */

import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import { WriteLog } from "../p2m/table.ts";
import { type DetectContext, type Detector, DETECTORS, stepBits } from "../detect/detectors.ts";
import type { Finding } from "../detect/finding.ts";
import type { VerdictBasis } from "../detect/verdict.ts";
import type { Policy } from "../policy/policy.ts";
import { UsageError } from "../errors.ts";
import { initialState, ModelDraft, type ModelState } from "../model/state.ts";
import { bootPassGaps, type Doubts, doubts, guestGaps, NO_GUEST_KERNEL } from "../detect/basis.ts";
import { PROVEN, type Provenance } from "../trace/provenance.ts";
import { applyEvent } from "./step.ts";
import { KeySet } from "./key_set.ts";
import type { StepOutcome } from "../model/outcome.ts";

// Where it lived before: the on-disk index's answers load the policy choice without the
// replayer and its detectors.
export { choosePolicy, type PolicySource } from "../policy/choose.ts";

// A step without new findings shares this empty list (never pushed to).
const NO_FINDINGS: Finding[] = [];

/** One replayed step. */
export interface StepRecord {
  /** The event. */
  event: TraceEvent;
  /** What it did. */
  outcome: StepOutcome;
  /** New findings at this step. */
  findings: Finding[];
  /** New findings at this step that cannot be judged (each with `cannotJudge`). */
  unjudged: Finding[];
}

/** What a replayer keeps per event kind. */
interface KindEntry {
  /** Events of the kind replayed. */
  count: number;
  /** Per detector: true when it looks at every event of the kind. */
  onKind: boolean[];
}

/**
 * Selects detectors by id; all of them when `ids` is empty.
 *
 * @example
 * ```ts
 * import { selectDetectors } from "./replayer.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(selectDetectors(["lookup-zero"]).map((d) => d.id), ["lookup-zero"]);
 * assert.throws(() => selectDetectors(["nope"]), /unknown detector 'nope'/);
 * ```
 */
export function selectDetectors(ids: readonly string[]): readonly Detector[] {
  if (ids.length === 0) return DETECTORS;
  return ids.map((id) => {
    const d = DETECTORS.find((x) => x.id === id);
    if (!d) {
      throw new UsageError(
        `unknown detector '${id}'; known: ${DETECTORS.map((x) => x.id).join(", ")}`,
      );
    }
    return d;
  });
}

/**
 * Replays events one at a time.
 *
 * @example
 * ```ts
 * import { Replayer } from "./replayer.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s0 = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * const r = new Replayer(s0);
 * r.apply({ seq: 1, line: 2, kind: "e820", map: "raw", start: 0, size: 0x40000000, type: 1 });
 * r.apply({ seq: 2, line: 3, kind: "memory_setup" });
 * const rec = r.apply({ seq: 3, line: 4, kind: "xen_add_device", device: "0000:01:00.0",
 *   resources: [{ index: 0, start: 0x80000000, end: 0x80003fff, flags: 0x40200 }] });
 * assert.equal(rec.findings[0].detector, "lookup-zero");
 * ```
 */
export class Replayer {
  /** Every finding so far, in order (none kept when built with `retain` false). */
  readonly findings: Finding[] = [];
  /**
   * Every finding so far that cannot be judged, in order: its detector reads what the boot pass
   * builds and the pass could not run, or the header leaves the guest type unknown (`basis.ts`).
   * These are never errors or warnings. None kept when built with `retain` false.
   */
  readonly unjudged: Finding[] = [];
  /** Events replayed, by kind (in the order each kind first appeared). */
  get counts(): Map<string, number> {
    return new Map([...this.#kinds].map(([kind, k]) => [kind, k.count]));
  }
  /** Number of events replayed. */
  steps = 0;
  /** Seq of the last event replayed (0 before the first). */
  lastSeq = 0;
  #log = new WriteLog();
  #draft: ModelDraft;
  #editsBefore = 0;
  #detectors: readonly Detector[];
  // Per event kind: how many were replayed, and which detectors look at such an event whatever
  // the step did (the others only when its outcome has one of their watched bits).
  #kinds = new Map<string, KindEntry>();
  // Per detector: the STEP bits it watches, or -1 when it watches every step.
  #watchBits: number[];
  // Every finding key reported, so each is reported once: one per finding of the whole trace.
  #seen = new KeySet();
  #ctx: DetectContext | undefined;
  #guestGaps: string[];
  #doubts: Doubts;

  /**
   * Starts from `initial` with the given detectors (all by default); `provenance` (the header's)
   * says which facts were estimated or unknown.
   */
  #retain: boolean;

  /**
   * A replayer from `initial`; with `retain` false it keeps no list of its findings (each
   * step's record still has them), for a caller that keeps what it needs.
   */
  constructor(
    initial: ModelState,
    detectors: readonly Detector[] = DETECTORS,
    provenance: Provenance = PROVEN,
    retain = true,
  ) {
    this.#retain = retain;
    this.#draft = new ModelDraft(initial, this.#log);
    this.#detectors = detectors;
    this.#watchBits = detectors.map((d) => d.watches === undefined ? -1 : d.watches.outcome);
    this.#guestGaps = guestGaps(provenance);
    this.#doubts = doubts(provenance);
  }

  /** A replayer at the start of a trace with this header under `policy`. */
  static forHeader(
    header: TraceHeader,
    policy: Policy,
    detectors?: readonly Detector[],
    retain = true,
  ): Replayer {
    return new Replayer(initialState(header.guest, policy), detectors, header.provenance, retain);
  }

  /**
   * Edits to the model since the start, a count that only grows: a step after which it is
   * unchanged left the state as it was ({@link Replayer.snapshot} would return the same object),
   * so a caller can tell the steps that changed something without freezing a state per step.
   */
  get edits(): number {
    return this.#editsBefore + this.#draft.edits;
  }

  /** The current state, frozen (replay continues on a fresh draft). */
  snapshot(): ModelState {
    this.#editsBefore += this.#draft.edits;
    const s = this.#draft.finish();
    this.#draft = new ModelDraft(s, this.#log);
    return s;
  }

  /** The live draft (read it, do not write it). */
  get current(): ModelDraft {
    return this.#draft;
  }

  /**
   * What the run's verdict is decided from at this point (`verdict.ts`): the findings, those
   * that cannot be judged, what the header leaves unknown, and what the boot pass lacks when a
   * detector that ran rests on it under this policy.
   */
  basis(): VerdictBasis {
    const policy = this.#draft.policy;
    const onPass = this.#detectors.filter((d) => d.bootPass.reads(policy));
    return {
      findings: this.findings,
      unjudged: this.unjudged,
      guestGaps: this.#guestGaps,
      passGaps: onPass.length > 0 ? bootPassGaps(this.#draft) : [],
      judgedWithoutPass: this.#detectors.filter((d) => !d.bootPass.reads(policy)).map((d) => d.id),
    };
  }

  /** Applies one event; returns the step with its new findings. */
  apply(e: TraceEvent): StepRecord {
    this.#log.clear();
    const brkBefore = this.#draft.p2m.accounting.brkUsed;
    const outcome = applyEvent(this.#draft, e);
    this.steps++;
    this.lastSeq = e.seq;
    let kind = this.#kinds.get(e.kind);
    if (kind === undefined) {
      const onKind = this.#detectors.map((d) => d.watches?.kinds.includes(e.kind) ?? true);
      kind = { count: 0, onKind };
      this.#kinds.set(e.kind, kind);
    }
    kind.count++;
    let findings: Finding[] = NO_FINDINGS;
    let unjudged: Finding[] = NO_FINDINGS;
    const bits = stepBits(outcome, brkBefore, this.#draft.p2m.accounting.brkUsed);
    let ctx: DetectContext | undefined;
    const detectors = this.#detectors, watchBits = this.#watchBits, onKind = kind.onKind;
    for (let i = 0; i < detectors.length; i++) {
      // A detector finds nothing on a step that touched nothing it watches: not called there.
      if ((bits & watchBits[i]) === 0 && !onKind[i]) continue;
      if (ctx === undefined) {
        // One context object per replayer, refilled for each step a detector looks at.
        ctx = this.#ctx ??= { event: e, state: this.#draft, outcome, brkBefore };
        ctx.event = e;
        ctx.state = this.#draft;
        ctx.outcome = outcome;
        ctx.brkBefore = brkBefore;
      }
      const found = detectors[i].run(ctx);
      for (let j = 0; j < found.length; j++) {
        const f = found[j];
        if (!this.#seen.add(f.key)) continue;
        const d = detectors[i];
        const boot = d.bootPass.reads(this.#draft.policy);
        const bootGaps = boot ? bootPassGaps(this.#draft) : [];
        const gaps = [...this.#guestGaps, ...bootGaps];
        if (gaps.length > 0) {
          f.cannotJudge = gaps.join(", ");
          const why = bootGaps.length > 0
            ? `${d.id} rests on the boot pass (xen_memory_setup): ${d.bootPass.why}`
            : this.#guestGaps.includes(NO_GUEST_KERNEL)
            ? "no line of the guest's kernel was read: the finding rests on the hypervisor's " +
              "facts alone"
            : "the guest type and domain decide whether there is a P2M and what the kernel does " +
              "with BARs";
          f.evidence.push(["cannot judge", `${f.cannotJudge}: ${why}`]);
          if (unjudged === NO_FINDINGS) unjudged = [];
          unjudged.push(f);
          if (this.#retain) this.unjudged.push(f);
          continue;
        }
        const why = boot ? [...this.#doubts.all, ...this.#doubts.boot] : this.#doubts.all;
        if (why.length > 0) {
          f.doubts = why;
          f.evidence.push(["confidence", `lowered: ${why.join("; ")}`]);
        }
        if (findings === NO_FINDINGS) findings = [];
        findings.push(f);
        if (this.#retain) this.findings.push(f);
      }
    }
    return { event: e, outcome, findings, unjudged };
  }
}
