/**
 * What a minimized trace must keep so that it still *means* what the original did: the
 * finding's signature (detector, PFN range, event kind) under the chosen policy, every policy's
 * verdict (`clean`, `warn`, `BAD`, as `compare` gives them), and the events the finding's
 * evidence rests on: the E820 map, the boot pass (`memory_setup`) and the device's own events.
 * Without them a one-event trace can still make a detector fire, but for another reason: with
 * no E820 map and no boot pass every PFN is INVALID, and every policy looks broken.
 *
 * @module
 */

import { ddmin } from "./ddmin.ts";
import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import type { Policy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { Replayer, selectDetectors } from "../replay/replayer.ts";
import { initialState } from "../model/state.ts";
import { DETECTORS } from "../detect/detectors.ts";
import type { Finding } from "../detect/finding.ts";
import { runVerdict, VERDICT_TAG } from "../detect/verdict.ts";

/** The identity of a finding that a minimized trace must reproduce. */
export interface FindingSignature {
  /** Detector id. */
  detector: string;
  /** First PFN of the range, if any. */
  pfn?: number;
  /** End PFN (exclusive) of the range, if any. */
  endPfn?: number;
  /** Kind of the event that caused it. */
  kind: string;
}

/**
 * The signature of a finding: what must stay the same.
 *
 * @example
 * ```ts
 * import { signatureOf } from "./minimize_meaning.ts";
 * import type { Finding } from "../detect/finding.ts";
 * import assert from "node:assert/strict";
 * const f: Finding = { detector: "lookup-zero", severity: "error", seq: 16, line: 17,
 *   kind: "xen_add_device", message: "m", range: { pfn: 0x3800000, endPfn: 0x3c00000 },
 *   evidence: [], key: "k" };
 * assert.deepEqual(signatureOf(f), { detector: "lookup-zero", pfn: 0x3800000, endPfn: 0x3c00000,
 *   kind: "xen_add_device" });
 * ```
 */
export function signatureOf(f: Finding): FindingSignature {
  return { detector: f.detector, pfn: f.range?.pfn, endPfn: f.range?.endPfn, kind: f.kind };
}

/** The first finding of `detector` when replaying `events` under `policy`, if any. */
export function firstFinding(
  header: TraceHeader,
  policy: Policy,
  detector: string,
  events: readonly TraceEvent[],
): Finding | undefined {
  const r = new Replayer(initialState(header.guest, policy), selectDetectors([detector]));
  for (const e of events) {
    const rec = r.apply(e);
    if (rec.findings.length > 0) return rec.findings[0];
  }
  return undefined;
}

/**
 * Every policy's verdict on `events`, as `compare` prints it (`verdict.ts`): `BAD` with an
 * error finding, `warn` with warnings only, `?` when nothing could be judged (no boot pass, an
 * unknown guest), `clean` otherwise.
 *
 * @example
 * ```ts
 * import { policyVerdicts } from "./minimize_meaning.ts";
 * import assert from "node:assert/strict";
 * const header = { format: "p2mtrace", version: 1, producer: "t", description: "", raw: {},
 *   guest: { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x1000 } } as const;
 * assert.equal(policyVerdicts(header, []).get("linux-3.12"), "?"); // no map: nothing built
 * ```
 */
export function policyVerdicts(
  header: TraceHeader,
  events: readonly TraceEvent[],
): Map<string, string> {
  const out = new Map<string, string>();
  const detectors = selectDetectors(DETECTORS.map((d) => d.id));
  for (const name of POLICIES.keys()) {
    const r = Replayer.forHeader(header, resolvePolicy(POLICIES, name), detectors);
    for (const e of events) r.apply(e);
    out.set(name, VERDICT_TAG[runVerdict(r.basis())]);
  }
  return out;
}

function sameSignature(a: FindingSignature, b: FindingSignature): boolean {
  return a.detector === b.detector && a.pfn === b.pfn && a.endPfn === b.endPfn &&
    a.kind === b.kind;
}

function sameVerdicts(a: Map<string, string>, b: Map<string, string>): boolean {
  return [...a].every(([k, v]) => b.get(k) === v);
}

/** The PCI device a finding's evidence names (its `device` field or a `0000:03:00.0` text). */
function findingDevice(f: Finding, events: readonly TraceEvent[]): string | undefined {
  const cause = events.find((e) => e.seq === f.seq);
  if (cause && "device" in cause && typeof cause.device === "string") return cause.device;
  const m = /\b[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\b/.exec(f.message);
  return m?.[0];
}

/**
 * Events the finding's evidence depends on: the E820 map, the boot pass, and every event of the
 * finding's device. Returns a predicate over events and a description of what it keeps.
 *
 * @example
 * ```ts
 * import { evidenceEvents } from "./minimize_meaning.ts";
 * import assert from "node:assert/strict";
 * const { keep, kept } = evidenceEvents(undefined, []);
 * assert.equal(keep({ seq: 1, line: 2, kind: "e820", start: 0, end: 0xfff, type: "ram" } as never), true);
 * assert.equal(kept, "the E820 map, the boot pass");
 * ```
 */
export function evidenceEvents(
  finding: Finding | undefined,
  events: readonly TraceEvent[],
): { keep: (e: TraceEvent) => boolean; kept: string } {
  const device = finding ? findingDevice(finding, events) : undefined;
  const keep = (e: TraceEvent) =>
    e.kind === "e820" || e.kind === "memory_setup" ||
    (device !== undefined && "device" in e && e.device === device);
  return { keep, kept: `the E820 map, the boot pass${device ? `, device ${device}` : ""}` };
}

/** What {@link minimizeKeepingMeaning} kept and why. */
export interface MeaningResult {
  /** The events kept, in order. */
  events: TraceEvent[];
  /** Replays run. */
  tests: number;
  /** The finding's signature, as in the original. */
  signature: FindingSignature;
  /** Each policy's verdict, as in the original. */
  verdicts: Map<string, string>;
  /** In words: what was kept besides what delta debugging needed. */
  kept: string;
}

/**
 * Shrinks `events` (the whole trace) to a 1-minimal subset that keeps the evidence events,
 * reproduces the first `detector` finding's signature under `policy` and every policy's
 * verdict. Returns undefined when `detector` never fires.
 *
 * @example
 * ```ts
 * import { minimizeKeepingMeaning } from "./minimize_meaning.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const header = { format: "p2mtrace", version: 1, producer: "t", description: "", raw: {},
 *   guest: { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x1000 } } as const;
 * // The boot pass must run for lookup-zero to be judged: a RAM map to 16 MiB, memory_setup.
 * const events = [
 *   { seq: 1, line: 2, kind: "e820", start: 0, size: 0x1000000, type: 1, map: "raw" },
 *   { seq: 2, line: 3, kind: "memory_setup" },
 *   { seq: 3, line: 4, kind: "mark", text: "noise" },
 *   { seq: 4, line: 5, kind: "lookup", pfn: 0x9000, offset: 0, via: "pte", iomap: false },
 * ] as const;
 * const r = minimizeKeepingMeaning(header, [...events], resolvePolicy(POLICIES, "linux-3.12"), "lookup-zero");
 * assert.deepEqual(r?.events.map((e) => e.seq), [1, 2, 4]); // the map and boot pass are evidence
 * ```
 */
export function minimizeKeepingMeaning(
  header: TraceHeader,
  events: TraceEvent[],
  policy: Policy,
  detector: string,
): MeaningResult | undefined {
  const original = firstFinding(header, policy, detector, events);
  if (!original) return undefined;
  const signature = signatureOf(original);
  const verdicts = policyVerdicts(header, events);
  const { keep, kept } = evidenceEvents(original, events);
  const fixed = events.filter(keep);
  let tests = 0;
  const test = (candidate: readonly TraceEvent[]) => {
    tests++;
    const merged = merge(fixed, candidate);
    const f = firstFinding(header, policy, detector, merged);
    return f !== undefined && sameSignature(signatureOf(f), signature) &&
      sameVerdicts(verdicts, policyVerdicts(header, merged));
  };
  // Events up to the finding first (the common case), the whole trace when a later event
  // carries another policy's verdict.
  const upTo = events.filter((e) => e.seq <= original.seq && !keep(e));
  const rest = events.filter((e) => !keep(e));
  const list = ddmin(test(upTo) ? upTo : rest, test, 0);
  return { events: merge(fixed, list), tests, signature, verdicts, kept };
}

function merge(a: readonly TraceEvent[], b: readonly TraceEvent[]): TraceEvent[] {
  return [...a, ...b].sort((x, y) => x.line - y.line);
}
