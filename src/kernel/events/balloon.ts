/**
 * The balloon driver and memory hot-add: pages leave and return to the guest, and the P2M
 * entries follow as the era writes them (drivers/xen/balloon.c).
 *
 * @module
 */

import { increments, K } from "../../p2m/leaf_runs.ts";
import type { WriteValue } from "../../p2m/table.ts";
import { add } from "../../model/outcome.ts";
import { pfnDown } from "../memory_setup.ts";
import type { Handler } from "../handler.ts";

/** `balloon_init`: every extra memory page goes on the balloon list. */
export const onBalloonInit: Handler<"balloon_init"> = (d, _e, out) => {
  if (d.balloonStarted) {
    add(out, "anomalies", { message: "balloon driver initialised twice; ignored" });
    return;
  }
  d.startBalloon();
  d.extra.forEachIn(0, Number.MAX_SAFE_INTEGER, (a, b) => {
    d.balloonAdd(a, b);
  });
  add(
    out,
    "messages",
    `xen/balloon: Initialising balloon driver (${d.extra.pages} extra page(s) ballooned)`,
  );
};

/** `balloon_append`: pages join the balloon list; the P2M is not written. */
export const onBalloonAppend: Handler<"balloon_append"> = (d, e) => {
  for (const r of e.ranges) d.balloonAdd(r.pfn, r.endPfn);
};

/**
 * `balloon_retrieve` / `increase_reservation`: pages leave the balloon list; with a frame (or
 * always, for increase_reservation) their entries are set.
 */
export const onBalloonRetrieve: Handler<"balloon_retrieve" | "increase_reservation"> = (
  d,
  e,
  out,
) => {
  let offset = 0;
  for (const r of e.ranges) {
    const had = d.balloonDelete(r.pfn, r.endPfn);
    if (had < r.endPfn - r.pfn) {
      add(out, "anomalies", {
        message: `${r.endPfn - r.pfn - had} PFN(s) taken off the balloon list were not on it`,
        range: r,
      });
    }
    if (d.guest.type === "pv" && (e.mfn !== undefined || e.kind === "increase_reservation")) {
      const v: WriteValue = e.mfn === undefined
        ? { kind: K.MFN_UNKNOWN, base: 0, startPfn: r.pfn }
        : { kind: K.MFN, base: e.mfn + offset, startPfn: r.pfn };
      d.p2m.write(r.pfn, r.endPfn, v, "set_phys_to_machine");
    }
    offset += r.endPfn - r.pfn;
  }
};

/** `decrease_reservation`: pages go back to Xen; their entries take the era's balloon-out value. */
export const onDecreaseReservation: Handler<"decrease_reservation"> = (d, e, out) => {
  const pv = d.guest.type === "pv";
  // The era's balloon-out value is one entry for every page (the scratch frame, INVALID): it
  // is asked again per range only if it numbers its frames along the range.
  let v: WriteValue | undefined;
  const ranges = e.ranges;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    // The driver lists its pages top down, one range each. Where they run down inside one
    // private leaf and none is ballooned yet, storing the value page by page leaves the leaf
    // as one store over their union does (its runs are coalesced, so both give the same runs),
    // with the same captured change, no note and no anomaly: that store is made instead.
    let j = i + 1, lo = r.pfn;
    while (j < ranges.length && ranges[j].endPfn === lo) lo = ranges[j++].pfn;
    if (j > i + 1 && !d.balloon.overlaps(lo, r.endPfn)) {
      if (v === undefined) v = d.policy.kernel.balloonOutEntry(lo, e.scratchMfn);
      if (!pv || (!increments(v.kind) && d.p2m.inPrivateLeaf(lo, r.endPfn))) {
        if (pv) d.p2m.write(lo, r.endPfn, v, "__set_phys_to_machine");
        d.balloonAdd(lo, r.endPfn);
        i = j - 1;
        continue;
      }
    }
    if (pv) {
      if (v === undefined || increments(v.kind)) {
        v = d.policy.kernel.balloonOutEntry(r.pfn, e.scratchMfn);
      }
      d.p2m.write(r.pfn, r.endPfn, v, "__set_phys_to_machine");
    }
    const added = d.balloonAdd(r.pfn, r.endPfn);
    if (added < r.endPfn - r.pfn) {
      add(out, "anomalies", {
        message: `${r.endPfn - r.pfn - added} PFN(s) were already ballooned`,
        range: r,
      });
    }
  }
};

/** Memory hot-add: the era's P2M preparation, then the pages are hot-added and ballooned. */
export const onMemoryHotplug: Handler<"memory_hotplug"> = (d, e) => {
  const r = { pfn: pfnDown(e.start), endPfn: pfnDown(e.start + e.size) };
  if (d.guest.type === "pv") d.policy.kernel.hotplug(d, r);
  d.hotplugAdd(r.pfn, r.endPfn);
  d.balloonAdd(r.pfn, r.endPfn);
};
