/**
 * `minimize`: the smallest set of events that still makes a detector fire, for a bug report.
 * Events after the first step at which the finding appears are dropped first (only that prefix
 * is held in memory); then delta debugging (Zeller's ddmin, removing complements of ever
 * smaller chunks) shrinks the prefix, and a last pass tries removing each remaining event. The
 * kept events are written back exactly as they were read, with their original `seq`.
 *
 * @module
 */

import { ddmin } from "./ddmin.ts";
import type { TraceEvent, TraceHeader } from "../trace/event.ts";
import type { TraceReader } from "../trace/read.ts";
import type { Policy } from "../policy/policy.ts";
import { selectDetectors } from "../replay/replayer.ts";
import { Replayer } from "../replay/replayer.ts";
import { initialState } from "../model/state.ts";

/** What minimize did. */
export interface MinimizeResult {
  /** The events kept, in order. */
  events: TraceEvent[];
  /** Events in the prefix that was minimized. */
  prefix: number;
  /** Replays run. */
  tests: number;
  /** The finding's message in the minimized trace. */
  message: string;
}

/** Replays `events`; returns the first message of `detector`, or undefined. */
function fires(
  header: TraceHeader,
  policy: Policy,
  detector: string,
  events: readonly TraceEvent[],
): string | undefined {
  const r = new Replayer(initialState(header.guest, policy), selectDetectors([detector]));
  for (const e of events) {
    const rec = r.apply(e);
    if (rec.findings.length > 0) return rec.findings[0].message;
  }
  return undefined;
}

/**
 * Reads `reader` up to the first step at which `detector` (undefined: any detector) fires under
 * `policy`; returns that prefix and the detector, or undefined when it never fires.
 */
export async function prefixToFinding(
  reader: TraceReader,
  policy: Policy,
  detector: string | undefined,
): Promise<{ header: TraceHeader; events: TraceEvent[]; detector: string } | undefined> {
  const header = await reader.header();
  const r = new Replayer(
    initialState(header.guest, policy),
    selectDetectors(detector === undefined ? [] : [detector]),
  );
  const events: TraceEvent[] = [];
  for await (const batch of reader.batches()) {
    for (const e of batch) {
      events.push(e);
      const found = r.apply(e).findings;
      if (found.length > 0) return { header, events, detector: found[0].detector };
    }
  }
  return undefined;
}

/**
 * Shrinks `events` (which make `detector` fire) to a 1-minimal subset: removing any single
 * kept event makes the finding disappear.
 *
 * @example
 * ```ts
 * import { minimizeEvents } from "./minimize.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const header = { format: "p2mtrace", version: 1, producer: "t", description: "", raw: {},
 *   guest: { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096, nrPages: 0x1000 } } as const;
 * const events = [
 *   { seq: 1, line: 2, kind: "e820", map: "raw", start: 0, size: 0x10000000, type: 1 },
 *   { seq: 2, line: 3, kind: "mark", text: "noise" },
 *   { seq: 3, line: 4, kind: "memory_setup" },
 *   { seq: 4, line: 5, kind: "lookup", pfn: 0x90000, offset: 0, via: "pte", iomap: false },
 *   { seq: 5, line: 6, kind: "mark", text: "noise" },
 * ] as const;
 * const r = minimizeEvents(header, [...events], resolvePolicy(POLICIES, "linux-3.12"), "lookup-zero");
 * // lookup-zero rests on the boot pass: without the map or memory_setup it cannot be judged
 * assert.deepEqual(r.events.map((e) => e.seq), [1, 3, 4]);
 * ```
 */
export function minimizeEvents(
  header: TraceHeader,
  events: TraceEvent[],
  policy: Policy,
  detector: string,
): MinimizeResult {
  let tests = 0;
  const test = (list: readonly TraceEvent[]) => {
    tests++;
    return fires(header, policy, detector, list) !== undefined;
  };
  const list = ddmin(events, test, 1);
  tests++;
  const message = fires(header, policy, detector, list) ?? "";
  return { events: list, prefix: events.length, tests, message };
}
