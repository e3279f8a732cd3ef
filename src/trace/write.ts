/**
 * Typed records to trace lines. Importers build events in memory and write them in the canonical
 * form (fixed key order, hex strings for addresses and frame numbers, integers for counts).
 * An event that came from a trace is written back as the object it was read from, so unknown
 * fields and the user's spelling survive `minimize` and friends. Bidi controls, line separators
 * and invisible characters in strings are written as JSON `\uXXXX` escapes (the same value), so
 * a written trace shown in a terminal or an editor cannot hide or reorder its text.
 *
 * @module
 */

import { hex } from "./hex.ts";
import {
  type BootExpectations,
  type GuestFacts,
  type PfnRange,
  type Resource,
  TRACE_FORMAT,
  TRACE_VERSION,
  type TraceEvent,
  type TraceHeader,
} from "./event.ts";
import { E820_TYPE_NAME } from "./validate.ts";
import { escapeControls } from "../report/text.ts";

/** Header fields an importer provides; format and version are filled in. */
export interface HeaderInit {
  /** What wrote the trace. */
  producer: string;
  /** Guest facts. */
  guest: GuestFacts;
  /** Free-form description. */
  description: string;
  /** Suggested policy. */
  policy?: string;
  /** Optional recording id. */
  id?: string;
  /** Extra fields to keep in the header (e.g. `source`, `notes`). */
  extra?: Record<string, unknown>;
}

/**
 * The header line as JSON text (no newline).
 *
 * @example
 * ```ts
 * import { headerLine } from "./write.ts";
 * import assert from "node:assert/strict";
 * const line = headerLine({ producer: "hand", description: "d",
 *   guest: { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096, nrPages: 0x80000 } });
 * assert.equal(line, '{"format":"p2mtrace","version":1,"producer":"hand",' +
 *   '"guest":{"type":"pv","domain":"domU","arch":"x86_64","page_size":4096,"nr_pages":"0x80000"},' +
 *   '"description":"d"}');
 * ```
 */
export function headerLine(h: HeaderInit | TraceHeader): string {
  if ("raw" in h) return escapeControls(JSON.stringify(h.raw));
  const g = h.guest;
  const guest: Record<string, unknown> = {
    type: g.type,
    domain: g.domain,
    arch: g.arch,
    page_size: g.pageSize,
  };
  if (g.kernel !== undefined) guest.kernel = g.kernel;
  if (g.xen !== undefined) guest.xen = g.xen;
  if (g.nrPages !== undefined) guest.nr_pages = hex(g.nrPages);
  const out: Record<string, unknown> = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    producer: h.producer,
  };
  if (h.id !== undefined) out.id = h.id;
  out.guest = guest;
  if (h.policy !== undefined) out.policy = h.policy;
  out.description = h.description;
  if (h.extra) Object.assign(out, h.extra);
  return escapeControls(JSON.stringify(out));
}

function range(r: PfnRange): Record<string, string> {
  return { pfn: hex(r.pfn), end_pfn: hex(r.endPfn) };
}

function ranges(out: Record<string, unknown>, rs: PfnRange[]): void {
  if (rs.length === 1) Object.assign(out, range(rs[0]));
  else {
    const pfns: string[] = [];
    for (const r of rs) for (let p = r.pfn; p < r.endPfn; p++) pfns.push(hex(p));
    out.pfns = pfns;
  }
}

function resource(r: Resource, withIndex: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (withIndex) o.index = r.index;
  o.start = hex(r.start);
  o.end = hex(r.end);
  o.flags = hex(r.flags);
  if (r.name !== undefined) o.name = r.name;
  return o;
}

function expectations(x: BootExpectations): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (x.identity !== undefined) o.identity = x.identity;
  if (x.released !== undefined) o.released = x.released;
  if (x.remapped !== undefined) o.remapped = x.remapped;
  if (x.populated !== undefined) o.populated = x.populated;
  if (x.p2mAreaSize !== undefined) o.p2m_area_size = x.p2mAreaSize;
  if (x.identityRanges) o.identity_ranges = x.identityRanges.map(range);
  if (x.releasedRanges) o.released_ranges = x.releasedRanges.map(range);
  if (x.populatedRanges) o.populated_ranges = x.populatedRanges.map(range);
  return o;
}

/**
 * The canonical JSON object of an event (ignores `raw`).
 *
 * @example
 * ```ts
 * import { eventObject } from "./write.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   eventObject({ seq: 3, line: 0, kind: "set_identity", range: { pfn: 0x9e, endPfn: 0x100 } }),
 *   { seq: 3, kind: "set_identity", pfn: "0x9e", end_pfn: "0x100" },
 * );
 * ```
 */
export function eventObject(e: TraceEvent): Record<string, unknown> {
  const o: Record<string, unknown> = { seq: e.seq, kind: e.kind };
  if (e.time !== undefined) o.time = e.time;
  switch (e.kind) {
    case "e820":
      o.start = hex(e.start);
      o.end = hex(e.start + e.size - 1);
      o.type = E820_TYPE_NAME.get(e.type) ?? e.type;
      if (e.map !== "raw") o.map = e.map;
      break;
    case "memory_setup":
      if (e.maxReservation !== undefined) o.max_reservation = hex(e.maxReservation);
      if (e.expect) o.expect = expectations(e.expect);
      break;
    case "set_identity":
      Object.assign(o, range(e.range));
      break;
    case "set_p2m":
      Object.assign(o, range(e.range));
      o.value = e.value;
      if (e.mfn !== undefined) o.mfn = hex(e.mfn);
      if (e.primitive !== "set_phys_to_machine") o.primitive = e.primitive;
      break;
    case "balloon_init":
      break;
    case "balloon_append":
      ranges(o, e.ranges);
      break;
    case "balloon_retrieve":
    case "increase_reservation":
      ranges(o, e.ranges);
      if (e.mfn !== undefined) o.mfn = hex(e.mfn);
      break;
    case "decrease_reservation":
      ranges(o, e.ranges);
      if (e.scratchMfn !== undefined) o.scratch_mfn = hex(e.scratchMfn);
      break;
    case "memory_hotplug":
      o.start = hex(e.start);
      o.size = hex(e.size);
      break;
    case "pci_host_bridge":
      o.bus = e.bus;
      o.resources = e.resources.map((r) => resource(r, false));
      break;
    case "xen_add_device":
      o.device = e.device;
      o.resources = e.resources.map((r) => resource(r, true));
      if (e.xenFlags !== undefined) o.xen_flags = hex(e.xenFlags);
      if (e.physfn !== undefined) o.physfn = e.physfn;
      break;
    case "xen_remove_device":
      o.device = e.device;
      break;
    case "pci_resource_assign":
      o.device = e.device;
      Object.assign(o, resource(e.resource, true));
      o.action = e.action;
      break;
    case "lookup":
      if (e.offset !== 0) o.addr = hex(e.pfn * 4096 + e.offset);
      else o.pfn = hex(e.pfn);
      if (e.via !== "pte") o.via = e.via;
      if (e.iomap) o.iomap = true;
      if (e.observed !== undefined) o.observed = hex(e.observed);
      if (e.by !== undefined) o.by = e.by;
      break;
    case "p2m_dump":
      o.format = e.format;
      o.lines = e.lines;
      break;
    case "mark":
      o.text = e.text;
      break;
  }
  return o;
}

/**
 * One event as a trace line (no newline): the original object when it came from a trace,
 * otherwise the canonical form.
 *
 * @example
 * ```ts
 * import { eventLine } from "./write.ts";
 * import assert from "node:assert/strict";
 * assert.equal(eventLine({ seq: 1, line: 0, kind: "mark", text: "boot" }),
 *   '{"seq":1,"kind":"mark","text":"boot"}');
 * ```
 */
export function eventLine(e: TraceEvent): string {
  return escapeControls(JSON.stringify(e.raw ?? eventObject(e)));
}

/**
 * The `end` record line.
 *
 * @example
 * ```ts
 * import { endLine } from "./write.ts";
 * import assert from "node:assert/strict";
 * assert.equal(endLine(4), '{"kind":"end","events":4}');
 * ```
 */
export function endLine(events: number): string {
  return JSON.stringify({ kind: "end", events });
}

/**
 * A whole trace as text: the header line, one line per event, the `end` record, each line
 * ending with a newline.
 *
 * @example
 * ```ts
 * import { traceText } from "./write.ts";
 * import assert from "node:assert/strict";
 * const text = traceText({ producer: "hand", description: "d",
 *   guest: { type: "pv", domain: "domU", arch: "x86_64", pageSize: 4096 } },
 *   [{ seq: 1, line: 0, kind: "mark", text: "hi" }]);
 * assert.equal(text.split("\n").length, 4);
 * assert.ok(text.endsWith('{"kind":"end","events":1}\n'));
 * ```
 */
export function traceText(header: HeaderInit | TraceHeader, events: readonly TraceEvent[]): string {
  const out = [headerLine(header)];
  for (const e of events) out.push(eventLine(e));
  out.push(endLine(events.length));
  return out.join("\n") + "\n";
}
