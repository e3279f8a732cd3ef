/**
 * Turns the output of `tools/p2mtrace.bt` (line format {@link LINE_PREFIX}, see
 * `line_format.ts`) into trace events:
 *
 * - `p2m` lines become `decrease_reservation` (an INVALID write by `__set_phys_to_machine`
 *   inside `decrease_reservation`, or, when that static function could not be probed, straight
 *   from the balloon worker `balloon_process`/`balloon_thread`), `increase_reservation` (a
 *   machine frame written by `set_phys_to_machine` from the balloon worker, directly or through
 *   `__xenmem_reservation_va_mapping_update`), or `set_p2m` for every other write (grant maps,
 *   hotplug invalidation, contiguous-region exchange...), with `primitive` the probed function.
 *   Consecutive writes of one thread and one kind are merged: a balloon batch becomes one event
 *   (split where the machine frames stop incrementing), and `set_p2m` runs with consecutive PFNs
 *   (and frames) become one range.
 * - `pci_notify action=add` becomes `xen_add_device` with the resources the preceding `pci_dev`
 *   and `pci_res` lines of that device reported; `action=del` becomes `xen_remove_device`.
 * - `pci_assign` becomes `pci_resource_assign` (`failed` when `ret` is not 0).
 * - `mem_add` becomes `memory_hotplug`; `balloon_target`, failed writes and `Lost N events`
 *   become `mark`s.
 *
 * @module
 */

import type { PfnRange, Resource, ResourceAction, TraceEvent } from "../../trace/event.ts";
import { FRAME_LIMIT, hex } from "../../trace/hex.ts";
import { MAX_PFN_LIST } from "../../trace/validate.ts";
import {
  BpftraceLineError,
  type BpftraceRecord,
  type P2mRecord,
  parseBpftraceLine,
  type PciAssignFn,
  SCRIPT_VERSION,
} from "./line_format.ts";

const INVALID = 0xffffffffffffffffn;
const IDENTITY_BIT = 1n << 62n;
const FOREIGN_BIT = 1n << 63n;

/** The balloon worker: `balloon_process` (a work item, up to v5.14), `balloon_thread` (v5.15+). */
export const BALLOON_WORKERS: ReadonlySet<string> = new Set(["balloon_process", "balloon_thread"]);

/** What the import produced. */
export interface BpftraceImport {
  /** Events in output order, `seq` 0 (the caller numbers them). */
  events: TraceEvent[];
  /** Notes for stderr (also `mark`s where they concern a point in time). */
  notes: string[];
  /** True when a `pci_notify` line was seen: the notifier is registered in dom0 only. */
  sawPciNotify: boolean;
  /** Lines the importer used (records). */
  records: number;
}

/** How a P2M write is replayed: a balloon decrease, a balloon increase, or a plain write. */
export type WriteClass = "decrease" | "increase" | "set";

/**
 * Classifies one P2M write by its value, primitive and call site: `decrease` (a balloon page
 * given back), `increase` (a balloon page populated) or `set` (any other write).
 *
 * @example
 * ```ts
 * import { writeClass } from "./importer.ts";
 * import assert from "node:assert/strict";
 * const w = { kind: "p2m" as const, line: 1, ns: 0, fn: "set_phys_to_machine" as const,
 *   pfn: 0x807ff, value: 0x1a2b00n, ok: true, tid: 9, caller: "balloon_process", ctx: "-",
 *   ctxCaller: "-" };
 * assert.equal(writeClass(w), "increase");
 * assert.equal(writeClass({ ...w, caller: "fill_list" }), "set");
 * ```
 */
export function writeClass(r: P2mRecord): WriteClass {
  if (!r.ok) return "set";
  const sites = [r.caller, r.ctx, r.ctxCaller];
  if (r.fn === "__set_phys_to_machine" && r.value === INVALID) {
    if (sites.includes("decrease_reservation")) return "decrease";
    if (BALLOON_WORKERS.has(r.caller)) return "decrease";
    if (
      r.ctx === "__xenmem_reservation_va_mapping_reset" && BALLOON_WORKERS.has(r.ctxCaller)
    ) return "decrease";
  }
  if (r.fn === "set_phys_to_machine" && (r.value & (IDENTITY_BIT | FOREIGN_BIT)) === 0n) {
    if (BALLOON_WORKERS.has(r.caller) || r.caller === "increase_reservation") return "increase";
    if (
      r.ctx === "__xenmem_reservation_va_mapping_update" &&
      (BALLOON_WORKERS.has(r.ctxCaller) || r.ctxCaller === "increase_reservation")
    ) return "increase";
  }
  return "set";
}

function seconds(ns: number): number {
  return Math.round(ns / 1000) / 1e6;
}

function toRanges(pfns: readonly number[]): PfnRange[] {
  const out: PfnRange[] = [];
  for (const pfn of pfns) {
    const last = out[out.length - 1];
    if (last !== undefined && last.endPfn === pfn) last.endPfn++;
    else out.push({ pfn, endPfn: pfn + 1 });
  }
  return out;
}

interface Group {
  cls: WriteClass;
  recs: P2mRecord[];
  pfns: Set<number>;
}

/** Whether `r` continues `g` as one event. */
function extends_(g: Group, r: P2mRecord, cls: WriteClass): boolean {
  const last = g.recs[g.recs.length - 1];
  if (cls !== g.cls || r.fn !== last.fn || r.tid !== last.tid || !r.ok || !last.ok) return false;
  if (g.pfns.has(r.pfn) || g.recs.length >= MAX_PFN_LIST) return false;
  if (cls === "decrease") return true;
  if (cls === "increase") return r.value === last.value + 1n;
  if (r.pfn !== last.pfn + 1) return false;
  const k = valueKind(r);
  if (k !== valueKind(last)) return false;
  if (k === "mfn" || k === "foreign") return r.value === last.value + 1n;
  return k === "invalid" || k === "identity";
}

type ValueKind = "invalid" | "identity" | "foreign" | "mfn" | "odd";

function valueKind(r: P2mRecord): ValueKind {
  if (r.value === INVALID) return "invalid";
  if ((r.value & FOREIGN_BIT) !== 0n) {
    return (r.value & ~FOREIGN_BIT) < BigInt(FRAME_LIMIT) ? "foreign" : "odd";
  }
  if ((r.value & IDENTITY_BIT) !== 0n) {
    return (r.value & ~IDENTITY_BIT) === BigInt(r.pfn) ? "identity" : "odd";
  }
  return r.value < BigInt(FRAME_LIMIT) ? "mfn" : "odd";
}

function describeWrite(r: P2mRecord): string {
  return `${r.fn}(${hex(r.pfn)}, ${hex(r.value)}) from ${r.caller}` +
    (r.ctx === "-" ? "" : ` in ${r.ctx}${r.ctxCaller === "-" ? "" : ` from ${r.ctxCaller}`}`);
}

function flush(g: Group, out: TraceEvent[]): void {
  const first = g.recs[0];
  const time = seconds(first.ns);
  if (g.cls === "decrease") {
    out.push({
      seq: 0,
      line: first.line,
      time,
      kind: "decrease_reservation",
      ranges: toRanges(g.recs.map((r) => r.pfn)),
    });
    return;
  }
  if (g.cls === "increase") {
    out.push({
      seq: 0,
      line: first.line,
      time,
      kind: "increase_reservation",
      ranges: toRanges(g.recs.map((r) => r.pfn)),
      mfn: Number(first.value),
    });
    return;
  }
  const last = g.recs[g.recs.length - 1];
  const range = { pfn: first.pfn, endPfn: last.pfn + 1 };
  const k = valueKind(first);
  if (k === "odd") {
    out.push({
      seq: 0,
      line: first.line,
      time,
      kind: "mark",
      text: `bpftrace: ${
        describeWrite(first)
      }: a value the trace format cannot express; not replayed`,
    });
    return;
  }
  const e: TraceEvent = {
    seq: 0,
    line: first.line,
    time,
    kind: "set_p2m",
    range,
    value: k,
    primitive: first.fn,
  };
  if (k === "mfn") e.mfn = Number(first.value);
  if (k === "foreign") e.mfn = Number(first.value & ~FOREIGN_BIT);
  out.push(e);
  if (!first.ok) {
    out.push({
      seq: 0,
      line: first.line,
      time,
      kind: "mark",
      text: `bpftrace: ${describeWrite(first)} returned false in the guest`,
    });
  }
}

const ASSIGN_ACTION: Record<PciAssignFn, ResourceAction> = {
  pci_assign_resource: "assigned",
  pci_reassign_resource: "reassigned",
  pci_claim_resource: "claimed",
  pci_release_resource: "released",
};

/**
 * Parses the whole output and converts it. Throws {@link BpftraceLineError} for a malformed
 * line of a known kind (naming file, line and field).
 *
 * @example
 * ```ts
 * import { importBpftraceOutput } from "./importer.ts";
 * import assert from "node:assert/strict";
 * const out = importBpftraceOutput([
 *   "Attaching 12 probes...",
 *   "p2mtrace1 1000000 begin script=1",
 *   "p2mtrace1 2000000 p2m fn=__set_phys_to_machine pfn=0x1000 value=0xffffffffffffffff ok=1 " +
 *     "tid=7 caller=__xenmem_reservation_va_mapping_reset ctx=decrease_reservation ctxcaller=balloon_thread",
 *   "p2mtrace1 2000100 p2m fn=__set_phys_to_machine pfn=0x1001 value=0xffffffffffffffff ok=1 " +
 *     "tid=7 caller=__xenmem_reservation_va_mapping_reset ctx=decrease_reservation ctxcaller=balloon_thread",
 *   "p2mtrace1 3000000 end",
 * ].join("\n"), "out.txt");
 * assert.deepEqual(out.events, [{
 *   seq: 0, line: 3, time: 0.002, kind: "decrease_reservation",
 *   ranges: [{ pfn: 0x1000, endPfn: 0x1002 }],
 * }]);
 * assert.deepEqual(out.notes, []);
 * ```
 */
export function importBpftraceOutput(text: string, file: string): BpftraceImport {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const records: BpftraceRecord[] = [];
  const notes: string[] = [];
  let chatter = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i];
    if (raw.trim() === "") continue;
    const pos = { file, line: i + 1 };
    const r = parseBpftraceLine(raw, pos);
    if ("record" in r) records.push(r.record);
    else if (r.skipped === "unknown-kind") {
      notes.push(
        `${file}:${i + 1}: unknown kind ${JSON.stringify(r.kind)} skipped (a newer script?)`,
      );
    } else if (!/^Attaching \d+ probes?\.\.\.$/.test(raw.trim())) chatter++;
  }
  if (records.length === 0 && !notes.some((n) => n.includes("unknown kind"))) {
    // Nothing of tools/p2mtrace.bt at all: the wrong file, not an empty recording.
    throw new BpftraceLineError(
      { file, line: 1 },
      undefined,
      "output of tools/p2mtrace.bt (lines starting with p2mtrace)",
      `${chatter} line(s), none of them a p2mtrace line`,
    );
  }
  if (chatter > 0) notes.push(`${file}: ${chatter} line(s) that are not p2mtrace lines skipped`);

  const begin = records.find((r) => r.kind === "begin");
  if (begin === undefined) {
    notes.push(`${file}: no begin line: the head of the output is missing`);
  } else if (begin.kind === "begin" && begin.script !== SCRIPT_VERSION) {
    throw new BpftraceLineError(
      { file, line: begin.line },
      "script",
      `${SCRIPT_VERSION} (this importer reads tools/p2mtrace.bt version ${SCRIPT_VERSION})`,
      String(begin.script),
    );
  }
  if (!records.some((r) => r.kind === "end")) {
    notes.push(`${file}: no end line: bpftrace did not stop cleanly or the output was cut off`);
  }

  const events: TraceEvent[] = [];
  const pending = new Map<string, Map<number, Resource>>();
  let group: Group | undefined;
  let sawPciNotify = false;
  const close = () => {
    if (group) flush(group, events);
    group = undefined;
  };
  for (const r of records) {
    if (r.kind === "p2m") {
      const cls = writeClass(r);
      if (group && extends_(group, r, cls)) {
        group.recs.push(r);
        group.pfns.add(r.pfn);
      } else {
        close();
        group = { cls, recs: [r], pfns: new Set([r.pfn]) };
      }
      continue;
    }
    close();
    switch (r.kind) {
      case "begin":
      case "end":
        break;
      case "lost":
        notes.push(`${file}:${r.line}: bpftrace lost ${r.count} event(s): the trace is incomplete`);
        events.push({
          seq: 0,
          line: 0,
          kind: "mark",
          text: `bpftrace lost ${r.count} event(s) here: later state may be wrong`,
        });
        break;
      case "pci_dev":
        pending.set(r.dev, new Map());
        break;
      case "pci_res": {
        const list = pending.get(r.dev) ?? new Map<number, Resource>();
        list.set(r.index, { index: r.index, start: r.start, end: r.end, flags: r.flags });
        pending.set(r.dev, list);
        break;
      }
      case "pci_notify": {
        sawPciNotify = true;
        const time = seconds(r.ns);
        if (r.action === "del") {
          events.push({ seq: 0, line: 0, time, kind: "xen_remove_device", device: r.dev });
          break;
        }
        const res = pending.get(r.dev);
        if (res === undefined) {
          notes.push(
            `${file}:${r.line}: ${r.dev} was notified without a pci_dev line before it: ` +
              "xen_add_device with no resources",
          );
        }
        const resources = [...(res ?? new Map()).values()].sort((a, b) => a.index - b.index);
        events.push({ seq: 0, line: 0, time, kind: "xen_add_device", device: r.dev, resources });
        break;
      }
      case "pci_assign":
        events.push({
          seq: 0,
          line: 0,
          time: seconds(r.ns),
          kind: "pci_resource_assign",
          device: r.dev,
          resource: { index: r.index, start: r.start, end: r.end, flags: r.flags },
          action: r.ret === 0 ? ASSIGN_ACTION[r.fn] : "failed",
        });
        break;
      case "mem_add":
        events.push({
          seq: 0,
          line: 0,
          time: seconds(r.ns),
          kind: "memory_hotplug",
          start: r.start,
          size: r.end - r.start + 1,
        });
        break;
      case "balloon_target":
        events.push({
          seq: 0,
          line: 0,
          time: seconds(r.ns),
          kind: "mark",
          text: `balloon target set to ${r.pages} pages (${hex(r.pages)})`,
        });
        break;
    }
  }
  close();
  return { events, notes, sawPciNotify, records: records.length };
}
