/**
 * What a verdict stands on. A finding is only as good as the P2M it was read from: in a PV guest
 * that P2M is built by the boot pass (`xen_memory_setup`) from the raw E820 map and
 * `start_info->nr_pages`. When the trace lacks one of them the pass cannot run, every PFN above
 * nr_pages reads INVALID, and a detector that reads what the pass builds would report errors
 * about a table the kernel never had: such findings are "cannot judge: <what is missing>", never
 * errors. Facts the importer estimated (its header's `estimated`, `reconstructed`,
 * `guest_confidence`) do not stop a verdict but lower its confidence, and the finding says so.
 *
 * Everything here is read from the reducer's state (the map, nr_pages, whether the pass ran),
 * the policy (see each detector's `bootPass`) and the header's provenance: nothing is a flag of
 * its own.
 *
 * @module
 */

import type { ModelDraft, ModelState } from "../model/state.ts";
import type { Provenance } from "../trace/provenance.ts";

/**
 * What the boot pass lacked at this step, in words; empty when the P2M was built from a raw
 * E820 map and nr_pages. An HVM or PVH guest builds none: its one gap says so.
 *
 * @example
 * ```ts
 * import { bootPassGaps } from "./basis.ts";
 * import { initialState } from "../model/state.ts";
 * import { resolvePolicy } from "../policy/policy.ts";
 * import { POLICIES } from "../policy/policies.ts";
 * import assert from "node:assert/strict";
 * const s = initialState(
 *   { type: "pv", domain: "dom0", arch: "x86_64", pageSize: 4096 },
 *   resolvePolicy(POLICIES, "linux-3.12"),
 * );
 * assert.deepEqual(bootPassGaps(s), ["no raw E820 map", "no nr_pages"]);
 * ```
 */
export function bootPassGaps(state: ModelState | ModelDraft): string[] {
  if (state.ctx.autoTranslated) {
    // An HVM or PVH guest never builds a P2M (Xen translates its frames): finding nothing in
    // one proves nothing. An unknown type is guestGaps' to say.
    const t = state.guest.type;
    return t === "hvm" || t === "pvh" ? [autoTranslatedGap(t)] : [];
  }
  const gaps: string[] = [];
  if (state.e820.length === 0) gaps.push("no raw E820 map");
  if (state.guest.nrPages === undefined) gaps.push("no nr_pages");
  if (gaps.length === 0 && state.boot === undefined) {
    gaps.push("no memory_setup event before this step");
  }
  return gaps;
}

/**
 * The gap of an HVM or PVH guest: it is auto-translated and builds no P2M list or tree, so no
 * detector that reads what the boot pass builds has anything to judge.
 */
export function autoTranslatedGap(type: "hvm" | "pvh"): string {
  return `the guest is ${type.toUpperCase()}: auto-translated, it builds no P2M`;
}

/**
 * The gap of a log that holds no line of the guest's kernel (an `xl dmesg`: the hypervisor's
 * lines only): no BAR, device, lookup or count of the guest was recorded, so nothing of its
 * kernel can be judged, whatever the boot pass modelled from the hypervisor's map.
 */
export const NO_GUEST_KERNEL = "the log holds no guest kernel lines, only the hypervisor's";

/**
 * What the header leaves unknown that every verdict needs: the guest type decides whether there
 * is a P2M at all, the domain whether BARs are walked and the map is the machine's.
 *
 * @example
 * ```ts
 * import { guestGaps } from "./basis.ts";
 * import { PROVEN } from "../trace/provenance.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(guestGaps(PROVEN), []);
 * assert.deepEqual(guestGaps({ ...PROVEN, typeUnknown: true }), ["the guest type is unknown"]);
 * ```
 */
export function guestGaps(p: Provenance): string[] {
  const gaps: string[] = [];
  if (p.guestKernelLines === 0) gaps.push(NO_GUEST_KERNEL);
  if (p.typeConflict) gaps.push(typeConflictGap(p.typeConflict));
  else if (p.typeUnknown) gaps.push("the guest type is unknown");
  if (p.domainUnknown) gaps.push("the guest domain is unknown");
  return gaps;
}

/**
 * The gap of a log that proves the guest both PV and HVM/PVH (two logs in one file, or one
 * edited): which P2M there is, if any, cannot be told, so nothing is judged. Names the lines.
 */
export function typeConflictGap(lines: readonly string[]): string {
  const cited = lines.map((l) => {
    const cut = l.indexOf(" (");
    return cut > 0 ? l.slice(0, cut) : l;
  }).map((l) => l.length > 80 ? l.slice(0, 77) + "..." : l);
  return `the log proves the guest both PV and HVM/PVH (${cited.join(" vs ")})`;
}

/** Header fields whose estimate only touches what the boot pass builds. */
const BOOT_FACTS: ReadonlySet<string> = new Set([
  "nr_pages",
  "e820",
  "max_reservation",
  "memory_setup",
  "max_pfn",
]);

/** Why findings lose confidence: for every detector, and for those that read the boot pass. */
export interface Doubts {
  /** Reasons that touch every finding (the guest type, the kernel, unknown fields). */
  all: string[];
  /** Reasons that touch findings of detectors that read the boot pass. */
  boot: string[];
}

function shorten(s: string, max = 160): string {
  return s.length <= max ? s : s.slice(0, max - 3) + "...";
}

/**
 * The reasons the header's provenance gives to doubt a finding.
 *
 * @example
 * ```ts
 * import { doubts } from "./basis.ts";
 * import { PROVEN } from "../trace/provenance.ts";
 * import assert from "node:assert/strict";
 * const d = doubts({ ...PROVEN, estimated: [{ field: "guest.nr_pages", how: "an upper bound" }] });
 * assert.deepEqual(d, { all: [], boot: ["nr_pages estimated: an upper bound"] });
 * ```
 */
export function doubts(p: Provenance): Doubts {
  const all: string[] = [];
  const boot: string[] = [];
  if (p.guestConfidence !== "proven") {
    const from = p.guestSource.length > 0 ? ` from ${p.guestSource.join("; ")}` : "";
    all.push(shorten(`guest type ${p.guestConfidence}, not proven${from}`));
  }
  for (const e of p.estimated) {
    const field = e.field.replace(/^guest\./, "");
    (BOOT_FACTS.has(field) ? boot : all).push(shorten(`${field} estimated: ${e.how}`));
  }
  const e820 = p.reconstructed.filter((r) => r.what === "e820");
  if (e820.length > 0) {
    const first = e820[0];
    const at = first.line !== undefined
      ? ` (first from line ${first.line}${first.text ? `: ${first.text}` : ""})`
      : "";
    boot.push(shorten(
      `${e820.length} E820 entr${e820.length === 1 ? "y" : "ies"} rebuilt from other lines${at}`,
    ));
  }
  const other = p.reconstructed.length - e820.length;
  if (other > 0) all.push(`${other} other fact(s) rebuilt from indirect lines`);
  return { all, boot };
}
