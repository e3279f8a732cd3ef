/**
 * Validation of one parsed JSON record into a typed header or event. Every rejection is a
 * {@link TraceError} naming the file, line, field and what was expected. Unknown extra fields
 * are kept (in `raw`) and ignored. Sizes are bounded so hostile input cannot force large
 * allocations: ranges are stored as two numbers whatever their length, and lists are capped.
 *
 * @module
 */

import { type SourcePosition, TraceError, UsageError } from "../errors.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { ADDR_LIMIT, FRAME_LIMIT, parseU64, parseUint } from "./hex.ts";
import { readProvenance } from "./provenance.ts";
import {
  type BalloonRetrieveEvent,
  type DecreaseReservationEvent,
  E820_TYPE,
  type E820Map,
  EVENT_KINDS,
  type EventKind,
  type GuestFacts,
  type LookupEvent,
  type LookupVia,
  type MemorySetupEvent,
  type P2mPrimitive,
  type P2mWriteValue,
  type PfnRange,
  type Resource,
  type ResourceAction,
  type SetP2mEvent,
  TRACE_FORMAT,
  TRACE_VERSION,
  type TraceEvent,
  type TraceHeader,
  type XenAddDeviceEvent,
} from "./event.ts";

/** Longest `pfns` list accepted in one event (the kernel batches at most 512). */
export const MAX_PFN_LIST = 65536;
/** Most resources in one event (PCI_NUM_RESOURCES is 17; host bridges have a handful). */
export const MAX_RESOURCES = 64;
/** Most lines in one `p2m_dump`. */
export const MAX_DUMP_LINES = 1_000_000;
/** Longest free-text string. */
export const MAX_TEXT = 65536;

const KIND_SET: ReadonlySet<string> = new Set(EVENT_KINDS);

/** Reverse of {@link E820_TYPE}: numeric type to its trace name. */
export const E820_TYPE_NAME: ReadonlyMap<number, string> = new Map(
  Object.entries(E820_TYPE).map(([k, v]) => [v, k]),
);

type Obj = Record<string, unknown>;

/** Deepest nesting of arrays and objects accepted in a record (the format itself needs 3). */
export const MAX_NESTING = 64;

/**
 * The top-level field of `obj` whose value nests arrays or objects more than
 * {@link MAX_NESTING} deep, or undefined. Iterative, so no input can exhaust the stack here or
 * later, when the record is written back with `JSON.stringify`.
 */
function tooDeepField(obj: Obj): string | undefined {
  for (const key in obj) {
    const v = obj[key];
    if (typeof v !== "object" || v === null) continue;
    const stack: [unknown, number][] = [[v, 2]];
    while (stack.length > 0) {
      const [x, depth] = stack.pop()!;
      if (depth > MAX_NESTING) return key;
      const values = Array.isArray(x) ? x : Object.values(x as Obj);
      for (const y of values) {
        if (typeof y === "object" && y !== null) stack.push([y, depth + 1]);
      }
    }
  }
  return undefined;
}

function checkNesting(pos: SourcePosition, obj: Obj): void {
  const field = tooDeepField(obj);
  if (field !== undefined) {
    throw new TraceError(
      pos,
      field,
      `arrays and objects nested at most ${MAX_NESTING} deep`,
      "deeper nesting",
    );
  }
}

/** Shortens a JSON value for an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number" && !Number.isFinite(value)) {
    return "a number too large (it is not finite as a double)";
  }
  if (typeof value === "object" && value !== null && tooDeepField({ v: value }) !== undefined) {
    return Array.isArray(value) ? "a deeply nested array" : "a deeply nested object";
  }
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}

/**
 * {@link parseUint} with a fast path for the common `"0x..."` string of at most 13 digits
 * (below 2^52, so exact): the trace's hot fields are parsed without a regular expression.
 */
function parseHex(v: unknown, limit: number): number | undefined {
  if (typeof v !== "string") return parseUint(v, limit);
  const len = v.length;
  if (len < 3 || len > 15 || v.charCodeAt(0) !== 48 || (v.charCodeAt(1) | 0x20) !== 120) {
    return parseUint(v, limit);
  }
  let n = 0;
  for (let i = 2; i < len; i++) {
    const c = v.charCodeAt(i);
    if (c >= 48 && c <= 57) n = n * 16 + (c - 48);
    else {
      const l = c | 0x20;
      if (l < 97 || l > 102) return undefined;
      n = n * 16 + (l - 87);
    }
  }
  return n < limit ? n : undefined;
}

/** Field accessors bound to one record's position, so every error names file, line and field. */
class Fields {
  constructor(readonly pos: SourcePosition, readonly obj: Obj, readonly prefix = "") {}

  fail(field: string, expected: string, got?: unknown): never {
    throw new TraceError(this.pos, this.prefix + field, expected, describe(got));
  }

  has(field: string): boolean {
    return this.obj[field] !== undefined;
  }

  uint(field: string, limit: number, what: string): number {
    const v = this.obj[field];
    const n = parseHex(v, limit);
    if (n === undefined) this.fail(field, what, v);
    return n;
  }

  optUint(field: string, limit: number, what: string): number | undefined {
    return this.obj[field] === undefined ? undefined : this.uint(field, limit, what);
  }

  addr(field: string): number {
    return this.uint(field, ADDR_LIMIT, 'a byte address below 2^52 ("0x..." hex or an integer)');
  }

  frame(field: string): number {
    return this.uint(field, FRAME_LIMIT, 'a frame number below 2^40 ("0x..." hex or an integer)');
  }

  string(field: string, max = MAX_TEXT): string {
    const v = this.obj[field];
    if (typeof v !== "string" || v.length > max) {
      this.fail(field, `a string of at most ${max} characters`, v);
    }
    return v;
  }

  optString(field: string): string | undefined {
    return this.obj[field] === undefined ? undefined : this.string(field);
  }

  oneOf<T extends string>(field: string, values: readonly T[], fallback?: T): T {
    const v = this.obj[field];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
      this.fail(field, `one of ${values.join(", ")}`, v);
    }
    return v as T;
  }

  bool(field: string, fallback: boolean): boolean {
    const v = this.obj[field];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") this.fail(field, "true or false", v);
    return v;
  }

  object(field: string): Fields {
    const v = this.obj[field];
    if (v === null || typeof v !== "object" || Array.isArray(v)) this.fail(field, "an object", v);
    return new Fields(this.pos, v as Obj, `${this.prefix}${field}.`);
  }

  array(field: string, max: number): unknown[] {
    const v = this.obj[field];
    if (!Array.isArray(v)) this.fail(field, "an array", v);
    if (v.length > max) this.fail(field, `at most ${max} elements`, `${v.length} elements`);
    return v;
  }

  element(field: string, i: number, v: unknown): Fields {
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      this.fail(`${field}[${i}]`, "an object", v);
    }
    return new Fields(this.pos, v as Obj, `${this.prefix}${field}[${i}].`);
  }
}

/**
 * Validates line 1 of a trace.
 *
 * @example
 * ```ts
 * import { validateHeader } from "./validate.ts";
 * import assert from "node:assert/strict";
 * const h = validateHeader({ file: "t", line: 1 }, {
 *   format: "p2mtrace", version: 1, producer: "hand", description: "demo",
 *   guest: { type: "pv", domain: "dom0", nr_pages: "0x100000" },
 * });
 * assert.equal(h.guest.nrPages, 0x100000);
 * ```
 */
export function validateHeader(pos: SourcePosition, obj: unknown): TraceHeader {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new TraceError(pos, undefined, "a trace header object on the first line", describe(obj));
  }
  checkNesting(pos, obj as Obj);
  const f: Fields = new Fields(pos, obj as Obj);
  if (f.obj.format !== TRACE_FORMAT) {
    f.fail("format", `"${TRACE_FORMAT}" (the first line must be the trace header)`, f.obj.format);
  }
  if (f.obj.version !== TRACE_VERSION) {
    f.fail("version", `${TRACE_VERSION} (this reader understands format version 1)`, f.obj.version);
  }
  const g = f.object("guest");
  const arch = g.obj.arch ?? "x86_64";
  if (arch !== "x86_64") g.fail("arch", '"x86_64" (only x86_64 is modelled)', arch);
  const pageSize = g.obj.page_size ?? 4096;
  if (pageSize !== 4096) g.fail("page_size", "4096", pageSize);
  const guest: GuestFacts = {
    type: g.oneOf("type", ["pv", "hvm", "pvh", "unknown"]),
    domain: g.oneOf("domain", ["dom0", "domU", "unknown"]),
    arch: "x86_64",
    pageSize: 4096,
  };
  const kernel = g.optString("kernel");
  if (kernel !== undefined) guest.kernel = kernel;
  const xen = g.optString("xen");
  if (xen !== undefined) guest.xen = xen;
  // x86_64 kernels of every modelled era address at most 2^46 bytes (MAX_PHYSMEM_BITS).
  const nrPages = g.optUint(
    "nr_pages",
    2 ** 34,
    "a page count below 2^34 (64 TiB, x86_64's MAX_PHYSMEM_BITS)",
  );
  if (nrPages !== undefined) guest.nrPages = nrPages;
  const header: TraceHeader = {
    format: TRACE_FORMAT,
    version: TRACE_VERSION,
    producer: f.string("producer", 256),
    guest,
    description: f.string("description"),
    raw: obj as Obj,
  };
  const id = f.optString("id");
  if (id !== undefined) header.id = id;
  const policy = f.optString("policy");
  if (policy !== undefined) {
    try {
      resolvePolicy(POLICIES, policy);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      f.fail(
        "policy",
        `a known policy (${[...POLICIES.keys()].join(", ")}) with valid options`,
        policy,
      );
    }
    header.policy = policy;
  }
  header.provenance = readProvenance(pos, obj as Obj);
  return header;
}

function pfnRange(f: Fields): PfnRange {
  const pfn = f.frame("pfn");
  let endPfn: number;
  if (f.has("end_pfn")) {
    if (f.has("pages")) f.fail("pages", "either end_pfn or pages, not both", f.obj.pages);
    endPfn = f.uint("end_pfn", FRAME_LIMIT + 1, "an exclusive end PFN no greater than 2^40");
  } else if (f.has("pages")) {
    const pages = f.uint("pages", FRAME_LIMIT + 1, "a page count no greater than 2^40");
    endPfn = pfn + pages;
    if (endPfn > FRAME_LIMIT) f.fail("pages", "a range that ends below 2^40", f.obj.pages);
  } else {
    endPfn = pfn + 1;
  }
  if (endPfn <= pfn) f.fail("end_pfn", `an exclusive end greater than pfn ${pfn}`, f.obj.end_pfn);
  return { pfn, endPfn };
}

/** `pfn` [+ `end_pfn` | `pages`], or a `pfns` list; returns coalesced ranges in trace order. */
function pfnRanges(f: Fields): PfnRange[] {
  if (!f.has("pfns")) return [pfnRange(f)];
  if (f.has("pfn")) f.fail("pfn", "either pfn or pfns, not both", f.obj.pfn);
  const list = f.array("pfns", MAX_PFN_LIST);
  if (list.length === 0) f.fail("pfns", "a non-empty list", list);
  const ranges: PfnRange[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < list.length; i++) {
    const pfn = parseHex(list[i], FRAME_LIMIT);
    if (pfn === undefined) f.fail(`pfns[${i}]`, "a frame number below 2^40", list[i]);
    if (seen.has(pfn)) f.fail(`pfns[${i}]`, "each PFN once per event", list[i]);
    seen.add(pfn);
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.endPfn === pfn) last.endPfn++;
    else ranges.push({ pfn, endPfn: pfn + 1 });
  }
  return ranges;
}

/** Byte range from `start` and `size` or inclusive `end`; returns [start, size]. */
function byteRange(f: Fields): [number, number] {
  const start = f.addr("start");
  let size: number;
  if (f.has("size")) {
    if (f.has("end")) f.fail("end", "either end or size, not both", f.obj.end);
    size = f.uint("size", ADDR_LIMIT + 1, "a size in bytes no greater than 2^52");
  } else {
    const end = f.addr("end");
    if (end < start) {
      f.fail("end", `an inclusive end not below start 0x${start.toString(16)}`, f.obj.end);
    }
    size = end - start + 1;
  }
  if (size === 0) f.fail("size", "a non-zero size", f.obj.size);
  if (start + size > ADDR_LIMIT) f.fail("size", "a range that ends below 2^52", f.obj.size);
  return [start, size];
}

function e820Type(f: Fields): number {
  const v = f.obj.type;
  if (typeof v === "string" && (E820_TYPE as Record<string, number>)[v] !== undefined) {
    return (E820_TYPE as Record<string, number>)[v];
  }
  if (typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= 0xffffffff) return v;
  return f.fail("type", `one of ${Object.keys(E820_TYPE).join(", ")} or a numeric E820 type`, v);
}

function resource(f: Fields, needIndex: boolean, defaultIndex: number): Resource {
  const start = f.addr("start");
  const end = f.addr("end");
  if (end < start) {
    f.fail("end", `an inclusive end not below start 0x${start.toString(16)}`, f.obj.end);
  }
  const flags = f.uint("flags", 2 ** 32, "numeric IORESOURCE_* flags (a 32-bit value)");
  const index = needIndex || f.has("index")
    ? f.uint("index", 64, "a resource index (0-5 BARs, 6 ROM, 7-12 IOV, 13-16 windows)")
    : defaultIndex;
  const r: Resource = { index, start, end, flags };
  const name = f.optString("name");
  if (name !== undefined) r.name = name;
  return r;
}

function resources(f: Fields, needIndex: boolean): Resource[] {
  const list = f.array("resources", MAX_RESOURCES);
  return list.map((v, i) => resource(f.element("resources", i, v), needIndex, i));
}

const PCI_DEVICE = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-1][0-9a-f]\.[0-7]$/;
const PCI_BUS = /^[0-9a-f]{4}:[0-9a-f]{2}$/;

function pciName(f: Fields, field: string, re: RegExp, what: string): string {
  const v = f.obj[field];
  if (typeof v !== "string" || !re.test(v)) f.fail(field, what, v);
  return v;
}

const DEVICE_WHAT = 'a PCI device "segment:bus:dev.fn" in lower-case hex, e.g. "0000:03:00.0"';

/**
 * Validates one event record. `obj` is the parsed JSON value of a line other than the header.
 * `nestingChecked`: the record's bytes are ones this check already passed (the trace bytes an
 * index replays, checked against their SHA-256), so its nesting is not walked again.
 *
 * @example
 * ```ts
 * import { validateEvent } from "./validate.ts";
 * import assert from "node:assert/strict";
 * const e = validateEvent({ file: "t", line: 2 },
 *   { seq: 1, kind: "set_identity", pfn: "0x9e", end_pfn: "0x100" });
 * assert.deepEqual(e.kind === "set_identity" && e.range, { pfn: 0x9e, endPfn: 0x100 });
 * ```
 */
export function validateEvent(
  pos: SourcePosition,
  obj: unknown,
  nestingChecked = false,
): TraceEvent {
  const e = fastEvent(pos.line, obj) ?? checkEvent(pos, obj);
  if (!nestingChecked) checkNesting(pos, obj as Obj);
  return e;
}

/**
 * The hot kinds of a long trace (ballooning, lookups, marks) validated without the
 * {@link Fields} machinery. Returns the same record {@link checkEvent} builds, or undefined for
 * anything it does not take (another kind, a field it would reject, an unusual form): the
 * full check then runs and gives the error with its position and field.
 */
function fastEvent(line: number, obj: unknown): TraceEvent | undefined {
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) return undefined;
  const o = obj as Obj;
  const seq = o.seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return undefined;
  const time = o.time;
  if (time !== undefined && (typeof time !== "number" || !Number.isFinite(time) || time < 0)) {
    return undefined;
  }
  switch (o.kind) {
    case "decrease_reservation": {
      const ranges = fastRanges(o);
      if (ranges === undefined) return undefined;
      const e: DecreaseReservationEvent = time === undefined
        ? { seq, line, raw: o, kind: "decrease_reservation", ranges }
        : { seq, line, raw: o, time, kind: "decrease_reservation", ranges };
      if (o.scratch_mfn !== undefined) {
        const m = parseHex(o.scratch_mfn, FRAME_LIMIT);
        if (m === undefined) return undefined;
        e.scratchMfn = m;
      }
      return e;
    }
    case "increase_reservation":
    case "balloon_retrieve": {
      const ranges = fastRanges(o);
      if (ranges === undefined) return undefined;
      const kind = o.kind as "balloon_retrieve";
      const e: BalloonRetrieveEvent = time === undefined
        ? { seq, line, raw: o, kind, ranges }
        : { seq, line, raw: o, time, kind, ranges };
      if (o.mfn !== undefined) {
        const m = parseHex(o.mfn, FRAME_LIMIT);
        if (m === undefined) return undefined;
        e.mfn = m;
      }
      return e;
    }
    case "balloon_append": {
      const ranges = fastRanges(o);
      if (ranges === undefined) return undefined;
      return time === undefined
        ? { seq, line, raw: o, kind: "balloon_append", ranges }
        : { seq, line, raw: o, time, kind: "balloon_append", ranges };
    }
    case "lookup": {
      if (o.addr !== undefined) return undefined;
      const pfn = parseHex(o.pfn, FRAME_LIMIT);
      if (pfn === undefined) return undefined;
      const v = o.via;
      if (
        v !== undefined && v !== "pte" && v !== "pfn_to_mfn" && v !== "get_phys_to_machine" &&
        v !== "phys_to_machine"
      ) return undefined;
      const via = (v ?? "pte") as LookupVia;
      const iomap = o.iomap === undefined ? false : o.iomap;
      if (typeof iomap !== "boolean") return undefined;
      const e: LookupEvent = time === undefined
        ? { seq, line, raw: o, kind: "lookup", pfn, offset: 0, via, iomap }
        : { seq, line, raw: o, time, kind: "lookup", pfn, offset: 0, via, iomap };
      if (o.observed !== undefined) {
        const observed = parseU64(o.observed);
        if (observed === undefined) return undefined;
        e.observed = observed;
      }
      const by = o.by;
      if (by !== undefined) {
        if (typeof by !== "string" || by.length > MAX_TEXT) return undefined;
        e.by = by;
      }
      return e;
    }
    case "mark": {
      const text = o.text;
      if (typeof text !== "string" || text.length > MAX_TEXT) return undefined;
      return time === undefined
        ? { seq, line, raw: o, kind: "mark", text }
        : { seq, line, raw: o, time, kind: "mark", text };
    }
    default:
      return undefined;
  }
}

/** {@link pfnRanges} for the forms it accepts, or undefined where it would look closer. */
function fastRanges(o: Obj): PfnRange[] | undefined {
  const list = o.pfns;
  if (list === undefined) {
    if (o.end_pfn !== undefined || o.pages !== undefined) return undefined;
    const pfn = parseHex(o.pfn, FRAME_LIMIT);
    return pfn === undefined ? undefined : [{ pfn, endPfn: pfn + 1 }];
  }
  if (o.pfn !== undefined || !Array.isArray(list) || list.length === 0 || list.length > 64) {
    return undefined;
  }
  const ranges: PfnRange[] = [];
  for (let i = 0; i < list.length; i++) {
    const pfn = parseHex(list[i], FRAME_LIMIT);
    if (pfn === undefined || inRanges(ranges, pfn)) return undefined;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.endPfn === pfn) last.endPfn++;
    else ranges.push({ pfn, endPfn: pfn + 1 });
  }
  return ranges;
}

/** True when `pfn` is in one of `ranges` (a PFN listed twice: the full check names it). */
function inRanges(ranges: readonly PfnRange[], pfn: number): boolean {
  for (let i = 0; i < ranges.length; i++) {
    if (pfn >= ranges[i].pfn && pfn < ranges[i].endPfn) return true;
  }
  return false;
}

/** The full check of one event record, with an error naming the field. */
function checkEvent(pos: SourcePosition, obj: unknown): TraceEvent {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) {
    throw new TraceError(pos, undefined, "an event object", describe(obj));
  }
  const f: Fields = new Fields(pos, obj as Obj);
  const kind = f.obj.kind;
  if (typeof kind !== "string" || !KIND_SET.has(kind)) {
    f.fail("kind", `a known event kind (${EVENT_KINDS.join(", ")}, or end)`, kind);
  }
  const seq = f.obj.seq;
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) {
    f.fail("seq", "a non-negative integer", seq);
  }
  const base = { seq, line: pos.line, raw: obj as Obj } as {
    seq: number;
    line: number;
    raw: Obj;
    time?: number;
  };
  const time = f.obj.time;
  if (time !== undefined) {
    if (typeof time !== "number" || !Number.isFinite(time) || time < 0) {
      f.fail("time", "seconds since boot (a non-negative number)", time);
    }
    base.time = time;
  }
  switch (kind as EventKind) {
    case "e820": {
      const [start, size] = byteRange(f);
      const map = f.oneOf<E820Map>("map", ["raw", "kernel", "user"], "raw");
      return { ...base, kind: "e820", start, size, type: e820Type(f), map };
    }
    case "memory_setup": {
      const e: MemorySetupEvent = { ...base, kind: "memory_setup" };
      const max = f.optUint("max_reservation", FRAME_LIMIT, "a page count below 2^40");
      if (max !== undefined) e.maxReservation = max;
      if (f.has("expect")) {
        const x = f.object("expect");
        const count = (k: string) => x.optUint(k, FRAME_LIMIT, "a page count below 2^40");
        const list = (k: string) =>
          x.has(k)
            ? x.array(k, MAX_PFN_LIST).map((v, i) => pfnRange(x.element(k, i, v)))
            : undefined;
        const expect = {
          identity: count("identity"),
          released: count("released"),
          remapped: count("remapped"),
          populated: count("populated"),
          p2mAreaSize: x.optUint("p2m_area_size", FRAME_LIMIT, "a byte count below 2^40"),
          identityRanges: list("identity_ranges"),
          releasedRanges: list("released_ranges"),
          populatedRanges: list("populated_ranges"),
        };
        e.expect = Object.fromEntries(
          Object.entries(expect).filter(([, v]) => v !== undefined),
        );
      }
      return e;
    }
    case "set_identity":
      return { ...base, kind: "set_identity", range: pfnRange(f) };
    case "set_p2m": {
      const value = f.oneOf<P2mWriteValue>("value", ["mfn", "invalid", "identity", "foreign"]);
      const primitive = f.oneOf<P2mPrimitive>("primitive", [
        "set_phys_to_machine",
        "__set_phys_to_machine",
        "early_set_phys_to_machine",
      ], "set_phys_to_machine");
      const e: SetP2mEvent = { ...base, kind: "set_p2m", range: pfnRange(f), value, primitive };
      if (value === "mfn" || value === "foreign") {
        e.mfn = f.frame("mfn");
        // PFN pfn + i gets MFN mfn + i: the last one must be a frame number too.
        if (e.mfn + (e.range.endPfn - e.range.pfn) > FRAME_LIMIT) {
          f.fail("mfn", "a first MFN whose range ends at or below 2^40", f.obj.mfn);
        }
      }
      return e;
    }
    case "balloon_init":
      return { ...base, kind: "balloon_init" };
    case "balloon_append":
      return { ...base, kind: "balloon_append", ranges: pfnRanges(f) };
    case "balloon_retrieve":
    case "increase_reservation": {
      const e: BalloonRetrieveEvent = {
        ...base,
        kind: kind as "balloon_retrieve",
        ranges: pfnRanges(f),
      };
      if (f.has("mfn")) e.mfn = f.frame("mfn");
      return e;
    }
    case "decrease_reservation": {
      const e: DecreaseReservationEvent = {
        ...base,
        kind: "decrease_reservation",
        ranges: pfnRanges(f),
      };
      if (f.has("scratch_mfn")) e.scratchMfn = f.frame("scratch_mfn");
      return e;
    }
    case "memory_hotplug": {
      const [start, size] = byteRange(f);
      return { ...base, kind: "memory_hotplug", start, size };
    }
    case "pci_host_bridge":
      return {
        ...base,
        kind: "pci_host_bridge",
        bus: pciName(f, "bus", PCI_BUS, 'a root bus "segment:bus", e.g. "0000:00"'),
        resources: resources(f, false),
      };
    case "xen_add_device": {
      const e: XenAddDeviceEvent = {
        ...base,
        kind: "xen_add_device",
        device: pciName(f, "device", PCI_DEVICE, DEVICE_WHAT),
        resources: resources(f, true),
      };
      const xenFlags = f.optUint("xen_flags", 2 ** 32, "XEN_PCI_DEV_* flags");
      if (xenFlags !== undefined) e.xenFlags = xenFlags;
      if (f.has("physfn")) e.physfn = pciName(f, "physfn", PCI_DEVICE, DEVICE_WHAT);
      return e;
    }
    case "xen_remove_device":
      return {
        ...base,
        kind: "xen_remove_device",
        device: pciName(f, "device", PCI_DEVICE, DEVICE_WHAT),
      };
    case "pci_resource_assign":
      return {
        ...base,
        kind: "pci_resource_assign",
        device: pciName(f, "device", PCI_DEVICE, DEVICE_WHAT),
        resource: resource(f, true, 0),
        action: f.oneOf<ResourceAction>("action", [
          "assigned",
          "reassigned",
          "claimed",
          "released",
          "failed",
        ], "assigned"),
      };
    case "lookup": {
      let pfn: number;
      let offset = 0;
      if (f.has("addr")) {
        if (f.has("pfn")) f.fail("pfn", "either pfn or addr, not both", f.obj.pfn);
        const addr = f.addr("addr");
        pfn = Math.floor(addr / 4096);
        offset = addr % 4096;
      } else {
        pfn = f.frame("pfn");
      }
      const via = f.oneOf<LookupVia>("via", [
        "pte",
        "pfn_to_mfn",
        "get_phys_to_machine",
        "phys_to_machine",
      ], "pte");
      const e: LookupEvent = {
        ...base,
        kind: "lookup",
        pfn,
        offset,
        via,
        iomap: f.bool("iomap", false),
      };
      if (f.has("observed")) {
        const observed = parseU64(f.obj.observed);
        if (observed === undefined) {
          f.fail("observed", 'a 64-bit value as "0x..." hex', f.obj.observed);
        }
        e.observed = observed;
      }
      const by = f.optString("by");
      if (by !== undefined) e.by = by;
      return e;
    }
    case "p2m_dump": {
      const format = f.oneOf<"tree" | "list">("format", ["tree", "list"]);
      const lines = f.array("lines", MAX_DUMP_LINES);
      for (let i = 0; i < lines.length; i++) {
        if (typeof lines[i] !== "string" || (lines[i] as string).length > 200) {
          f.fail(`lines[${i}]`, "a debugfs line (a string of at most 200 characters)", lines[i]);
        }
      }
      return { ...base, kind: "p2m_dump", format, lines: lines as string[] };
    }
    case "mark":
      return { ...base, kind: "mark", text: f.string("text") };
  }
}

/**
 * Validates the `end` record: `{"kind":"end","events":N}`; `seq` is optional on it.
 *
 * @example
 * ```ts
 * import { validateEnd } from "./validate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(validateEnd({ file: "t", line: 9 }, { kind: "end", events: 7 }).events, 7);
 * ```
 */
export function validateEnd(
  pos: SourcePosition,
  obj: Record<string, unknown>,
): { events: number; line: number } {
  const f: Fields = new Fields(pos, obj);
  return {
    events: f.uint("events", 2 ** 53, "the number of event records before it"),
    line: pos.line,
  };
}
