/**
 * Replaying vs recorded: checks of what the real guest printed or observed against the model
 * (rr's divergence check). The boot pass's counts and ranges, recorded lookups, and recorded
 * debugfs dumps each give a {@link Verification}: agreement, or the first difference with
 * both values.
 *
 * @module
 */

import type { BootExpectations, LookupEvent, P2mDumpEvent, PfnRange } from "../trace/event.ts";
import { expectedObservation, lookup } from "../p2m/lookup.ts";
import { hex } from "../trace/hex.ts";
import type { BootReport, ModelDraft } from "../model/state.ts";
import type { Verification } from "../model/outcome.ts";
import { compareDump } from "../p2m/debugfs.ts";
import { P2M_AREA_ALIGN, P2M_ENTRY_SIZE, PFNS_PER_MID } from "../p2m/constants.ts";
import { p2mAreaSize } from "../kernel/eras/linux_3_19.ts";
import { escapeText } from "../report/text.ts";

function fmtRange(r: PfnRange | undefined): string {
  return r === undefined ? "(none)" : `${r.pfn.toString(16)}->${r.endPfn.toString(16)}`;
}

function compareRanges(
  what: string,
  recorded: readonly PfnRange[],
  model: readonly PfnRange[],
): Verification {
  const n = Math.max(recorded.length, model.length);
  for (let i = 0; i < n; i++) {
    const a = recorded[i], b = model[i];
    if (a?.pfn !== b?.pfn || a?.endPfn !== b?.endPfn) {
      return {
        what: `${what} #${i + 1} of ${recorded.length}`,
        recorded: fmtRange(a),
        model: fmtRange(b),
        ok: false,
        range: a ?? b,
      };
    }
  }
  return { what: `${what} (${recorded.length} ranges)`, recorded: "same", model: "same", ok: true };
}

/**
 * Compares the kernel's printed boot-pass numbers with the model's.
 *
 * @example
 * ```ts
 * import { verifyBoot } from "./verify.ts";
 * import assert from "node:assert/strict";
 * const model = { identity: 98, released: 98, populated: 0, remapped: 0, identityRanges: [],
 *   releasedRanges: [], populatedRanges: [], extra: [], maxPfn: 0, messages: [] };
 * const [v] = verifyBoot({ identity: 98 }, model);
 * assert.equal(v.ok, true);
 * ```
 */
export function verifyBoot(expect: BootExpectations, report: BootReport): Verification[] {
  const out: Verification[] = [];
  const count = (what: string, rec: number | undefined, mod: number) => {
    if (rec !== undefined) {
      out.push({ what, recorded: String(rec), model: String(mod), ok: rec === mod });
    }
  };
  count("Set N page(s) to 1-1 mapping", expect.identity, report.identity);
  count("Released N pages", expect.released, report.released);
  count("Remapped N page(s)", expect.remapped, report.remapped);
  count("Populating: pages added", expect.populated, report.populated);
  if (expect.p2mAreaSize !== undefined) out.push(verifyP2mArea(expect.p2mAreaSize, report));
  if (expect.identityRanges) {
    out.push(compareRanges("1-1 mapping on", expect.identityRanges, report.identityRanges));
  }
  if (expect.releasedRanges) {
    out.push(compareRanges("Freeing pfn range", expect.releasedRanges, report.releasedRanges));
  }
  if (expect.populatedRanges) {
    out.push(compareRanges("Populating pfn range", expect.populatedRanges, report.populatedRanges));
  }
  return out;
}

/**
 * The printed "p2m virtual area at %p, size is %lx" against the modelled list
 * (`xen_vmalloc_p2m_tree`, v3.19+): `ALIGN(8 * max(xen_max_p2m_pfn, p2m_limit), 2 MiB)`.
 * `p2m_limit` is a kernel build option (CONFIG_XEN_MEMORY_HOTPLUG_LIMIT GiB, or 0 without memory
 * hot-plug) that the log does not name, so two sizes agree with the model: the one with the
 * policy's limit, and the one with none, which is the model's `xen_max_p2m_pfn` alone (a kernel
 * built without hot-plug: the printed size then checks the max_pfn and extra memory the pass
 * left). Any other size is a difference. A tree era (before v3.19) has no list to compare.
 *
 * @example
 * ```ts
 * import { verifyP2mArea } from "./verify.ts";
 * import assert from "node:assert/strict";
 * const model = { identity: 0, released: 0, populated: 0, remapped: 0, identityRanges: [],
 *   releasedRanges: [], populatedRanges: [], extra: [], maxPfn: 0x9000, messages: [],
 *   p2mArea: { size: 0x40000000, maxP2mPfn: 0x9000, limitPfns: 0x8000000 } };
 * assert.equal(verifyP2mArea(0x200000, model).ok, true);  // built without memory hot-plug
 * assert.equal(verifyP2mArea(0x400000, model).ok, false); // neither: 2 GiB of PFNs
 * ```
 */
export function verifyP2mArea(printed: number, report: BootReport): Verification {
  const what = "p2m virtual area size";
  const a = report.p2mArea;
  if (a === undefined) {
    return {
      what,
      recorded: printed.toString(16),
      model: "no p2m list (the 3-level tree before v3.19 prints no virtual area)",
      ok: false,
    };
  }
  const bare = p2mAreaSize(a.maxP2mPfn, 0);
  const ok = printed === a.size || printed === bare;
  const capped = ok ? undefined : unstatedCap(printed, a);
  const model = printed === bare && bare !== a.size
    ? `${bare.toString(16)} (xen_max_p2m_pfn 0x${a.maxP2mPfn.toString(16)}; a kernel without ` +
      `memory hot-plug: P2M_LIMIT 0, not the policy's ${a.limitPfns / PFNS_PER_MID} GiB)`
    : `${a.size.toString(16)} (xen_max_p2m_pfn 0x${a.maxP2mPfn.toString(16)}, P2M_LIMIT ` +
      `${a.limitPfns / PFNS_PER_MID} GiB${
        bare !== a.size ? `; ${bare.toString(16)} without` : ""
      })`;
  const v: Verification = { what, recorded: printed.toString(16), model, ok: ok || !!capped };
  if (capped !== undefined) v.unverified = capped;
  return v;
}

/**
 * A dom0 whose maximum reservation the trace does not state (`xen_get_max_pages` reads
 * XENMEM_maximum_reservation, which Xen may have set with no `dom0_mem=max:` in the log, e.g.
 * from a build-time CONFIG_DOM0_MEM): a printed size between the list with the reservation
 * capped at nr_pages and the model's uncapped list is explained by that unknown alone. Says so,
 * with the `xen_max_p2m_pfn` the printed size implies; undefined when it is not in that span.
 */
function unstatedCap(printed: number, a: NonNullable<BootReport["p2mArea"]>): string | undefined {
  if (a.cappedMaxP2mPfn === undefined) return undefined;
  for (const limit of [a.limitPfns, 0]) {
    const lo = p2mAreaSize(a.cappedMaxP2mPfn, limit);
    const hi = p2mAreaSize(a.maxP2mPfn, limit);
    if (printed < lo || printed > hi) continue;
    const entries = printed / P2M_ENTRY_SIZE;
    const bound = limit >= entries
      ? `P2M_LIMIT ${limit / PFNS_PER_MID} GiB covers it`
      : `xen_max_p2m_pfn in (0x${(entries - P2M_AREA_ALIGN / P2M_ENTRY_SIZE).toString(16)}, 0x${
        entries.toString(16)
      }]`;
    return `not verified, consistent with a maximum reservation Xen set but the log does not ` +
      `show (${bound}; the model assumed none: xen_max_p2m_pfn 0x${a.maxP2mPfn.toString(16)}, ` +
      `size ${hi.toString(16)}; capped at nr_pages: xen_max_p2m_pfn ` +
      `0x${a.cappedMaxP2mPfn.toString(16)}, size ${lo.toString(16)}` +
      `${limit === 0 && a.limitPfns > 0 ? "; both with P2M_LIMIT 0" : ""})`;
  }
  return undefined;
}

/** Checks a recorded lookup's observed value against the model. */
export function verifyLookup(d: ModelDraft, e: LookupEvent): Verification[] {
  if (e.observed === undefined) return [];
  const r = lookup(d.p2m, e.pfn, d.ctx);
  const bypass = d.ctx.pageIomap && (d.ctx.dom0 || e.pfn >= 0x100);
  const expected = expectedObservation(r, e.via, e.offset, e.iomap, bypass);
  const what = `lookup of pfn ${hex(e.pfn)} via ${e.via}${e.by ? ` by ${escapeText(e.by)}` : ""}`;
  const range = { pfn: e.pfn, endPfn: e.pfn + 1 };
  if (expected === undefined) {
    // The model knows the PFN maps a real frame but not which one.
    const bad = e.observed === 0xffffffffffffffffn || (e.via === "pte" && e.observed === 0n);
    return [{
      what,
      recorded: hex(e.observed),
      model: "a valid frame (not recorded)",
      ok: !bad,
      range,
    }];
  }
  return [{
    what,
    recorded: hex(e.observed),
    model: hex(expected),
    ok: expected === e.observed,
    range,
  }];
}

/** Checks a recorded debugfs dump against the model's table. */
export function verifyDump(d: ModelDraft, e: P2mDumpEvent): Verification[] {
  return [compareDump(d.p2m, e.format, e.lines)];
}
