/**
 * The shape of a kernel event handler: what the modelled kernel does when one kind of event
 * happens, written into a {@link ModelDraft} and reported in a {@link StepOutcome}. Handlers are
 * era-agnostic: where kernels differ they ask `d.policy.kernel` (a `KernelEra`).
 *
 * @module
 */

import type { TraceEvent } from "../trace/event.ts";
import type { ModelDraft } from "../model/state.ts";
import type { StepOutcome } from "../model/outcome.ts";

/** The event of one kind (or of every kind in `Kind`, when one event type carries several). */
export type EventOf<Kind extends TraceEvent["kind"]> = TraceEvent extends infer E
  ? E extends TraceEvent ? [Kind] extends [E["kind"]] ? E : never : never
  : never;

/** What the kernel does on one kind of event. */
export type Handler<Kind extends TraceEvent["kind"]> = (
  d: ModelDraft,
  e: EventOf<Kind>,
  out: StepOutcome,
) => void;

/** A handler for every kind in `Kinds`, keyed by kind. */
export type HandlerTable<Kinds extends TraceEvent["kind"]> = { readonly [K in Kinds]: Handler<K> };
