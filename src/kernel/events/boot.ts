/**
 * Boot events: the raw E820 map as the hypervisor hands it over, and `xen_memory_setup`'s pass
 * over it.
 *
 * @module
 */

import type { BootReport } from "../../model/state.ts";
import { add } from "../../model/outcome.ts";
import { memorySetup, MemorySetupError } from "../memory_setup.ts";
import type { Handler } from "../handler.ts";

/** A raw E820 entry joins the map `xen_memory_setup` will read. */
export const onE820: Handler<"e820"> = (d, e, out) => {
  if (e.map !== "raw") return;
  if (d.boot) {
    add(out, "anomalies", {
      message: "raw E820 entry after the boot pass: it is recorded but the pass already ran",
    });
  }
  d.addE820({ start: e.start, size: e.size, type: e.type, line: e.line });
};

/**
 * `xen_memory_setup` runs once, for a PV guest; returns its report when it ran (replay compares
 * it with the recorded counts).
 */
export function runMemorySetup(
  ...[d, e, out]: Parameters<Handler<"memory_setup">>
): BootReport | undefined {
  if (d.guest.type !== "pv") {
    add(
      out,
      "messages",
      d.guest.type === "unknown"
        ? "guest type unknown: replayed without a P2M (only a PV guest has one)"
        : "auto-translated guest: xen_memory_setup does no identity or release work",
    );
    return undefined;
  }
  if (d.boot) {
    add(out, "anomalies", { message: "second memory_setup: the boot pass runs once; ignored" });
    return undefined;
  }
  try {
    const report = memorySetup(d, { maxReservation: e.maxReservation });
    add(out, "messages", ...report.messages);
    return report;
  } catch (err) {
    if (!(err instanceof MemorySetupError)) throw err;
    // Not an anomaly of the trace: the pass lacks an input, and every finding that rests on it
    // says "cannot judge" (detect/basis.ts).
    add(out, "messages", `the boot pass cannot run: ${err.message}`);
    return undefined;
  }
}

/** The boot pass, as a handler. */
export const onMemorySetup: Handler<"memory_setup"> = (d, e, out) => {
  runMemorySetup(d, e, out);
};
