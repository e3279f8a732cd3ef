/**
 * What the modelled kernel does on each kind of event, in one table keyed by kind. Events that
 * only observe the guest (`lookup`, `p2m_dump`, `mark`) have no kernel handler: replay checks
 * them against the model.
 *
 * @module
 */

import type { EventKind } from "../trace/event.ts";
import type { HandlerTable } from "./handler.ts";
import { onE820, onMemorySetup } from "./events/boot.ts";
import { onSetIdentity, onSetP2m } from "./events/p2m.ts";
import {
  onBalloonAppend,
  onBalloonInit,
  onBalloonRetrieve,
  onDecreaseReservation,
  onMemoryHotplug,
} from "./events/balloon.ts";
import {
  onPciHostBridge,
  onPciResourceAssign,
  onXenAddDevice,
  onXenRemoveDevice,
} from "./events/pci.ts";

/** The event kinds the kernel acts on. */
export type KernelEventKind = Exclude<EventKind, ObservationKind>;

/** The event kinds that only observe the guest. */
export type ObservationKind = "lookup" | "p2m_dump" | "mark";

/**
 * The kernel's handler for each kind of event it acts on.
 *
 * @example
 * ```ts
 * import { KERNEL_HANDLERS } from "./handlers.ts";
 * import { initialState, ModelDraft } from "../model/state.ts";
 * import { emptyOutcome } from "../model/outcome.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const d = new ModelDraft(initialState(
 *   { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x40000 },
 *   resolvePolicy(POLICIES, "linux-3.16"),
 * ));
 * KERNEL_HANDLERS.balloon_append(d, {
 *   seq: 1, line: 2, kind: "balloon_append", ranges: [{ pfn: 5, endPfn: 6 }],
 * }, emptyOutcome());
 * assert.equal(d.balloon.has(5), true);
 * ```
 */
export const KERNEL_HANDLERS: HandlerTable<KernelEventKind> = {
  e820: onE820,
  memory_setup: onMemorySetup,
  set_identity: onSetIdentity,
  set_p2m: onSetP2m,
  balloon_init: onBalloonInit,
  balloon_append: onBalloonAppend,
  balloon_retrieve: onBalloonRetrieve,
  increase_reservation: onBalloonRetrieve,
  decrease_reservation: onDecreaseReservation,
  memory_hotplug: onMemoryHotplug,
  pci_host_bridge: onPciHostBridge,
  xen_add_device: onXenAddDevice,
  xen_remove_device: onXenRemoveDevice,
  pci_resource_assign: onPciResourceAssign,
};
