/**
 * Replays for tests that check a stored model state (the on-disk index's `state_codec.ts`, the
 * timeline's `checkpoints.ts`) against the state it was made from: every state of a replay, and
 * what replaying on from a state gives.
 *
 * @module
 */

import { TraceReader } from "../../src/trace/read.ts";
import { ForwardPass } from "../../src/replay/forward.ts";
import { Replayer } from "../../src/replay/replayer.ts";
import type { TraceEvent, TraceHeader } from "../../src/trace/event.ts";
import type { ModelState } from "../../src/model/state.ts";

/**
 * Every state of a replay of `text` under `policy` (the state before the first event, then
 * after each), with the events and the header.
 *
 * @example
 * ```ts
 * import { statesOf } from "./replay_states.ts";
 * import assert from "node:assert/strict";
 * const header = '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *   '"guest":{"type":"pv","domain":"domU"}}';
 * const { states, events } = await statesOf(header + '\n{"seq":1,"kind":"mark","text":"a"}\n', "linux-3.16");
 * assert.equal(states.length, events.length + 1);
 * ```
 */
export async function statesOf(
  text: string,
  policy: string,
): Promise<{ states: ModelState[]; events: TraceEvent[]; header: TraceHeader }> {
  const pass = await ForwardPass.open(TraceReader.fromText("t", text), { policy });
  const states = [pass.state()];
  const events: TraceEvent[] = [];
  for await (const rec of pass.steps()) {
    events.push(rec.event);
    states.push(pass.state());
  }
  return { states, events, header: pass.header };
}

/**
 * `events` replayed on from `state`: each step's outcome as a JSON line, and the final state.
 *
 * @example
 * ```ts
 * import { replayOn, statesOf } from "./replay_states.ts";
 * import assert from "node:assert/strict";
 * const header = '{"format":"p2mtrace","version":1,"producer":"hand","description":"x",' +
 *   '"guest":{"type":"pv","domain":"domU"}}';
 * const { states, events } = await statesOf(header + '\n{"seq":1,"kind":"mark","text":"a"}\n', "linux-3.16");
 * assert.equal(replayOn(states[0], events).outcomes.split("\n").length, 1);
 * ```
 */
export function replayOn(
  state: ModelState,
  events: readonly TraceEvent[],
): { outcomes: string; final: ModelState } {
  const r = new Replayer(state, []);
  const outcomes = events.map((e) => JSON.stringify(r.apply(e).outcome)).join("\n");
  return { outcomes, final: r.snapshot() };
}
