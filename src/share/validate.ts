/**
 * `validate`: checks a whole trace without stopping at the first problem, and reports named
 * problems with a severity, a count and the first line (as Perfetto's trace_processor reports
 * import problems). It never crashes and never allocates more than one line at a time.
 *
 * @module
 */

import { TraceError } from "../errors.ts";
import type { EventKind, TraceHeader } from "../trace/event.ts";
import { type LineBatch, maybeGunzip, readLineBatches } from "../trace/lines.ts";
import { validateEnd, validateEvent, validateHeader } from "../trace/validate.ts";
import { RecordChecks } from "../trace/checks.ts";
import { ObjectKeysError } from "../trace/json_keys.ts";
import { parseRecord } from "../trace/read.ts";

/** How much a problem matters. */
export type ProblemSeverity = "error" | "warning" | "info";

/** One named problem. */
export interface Problem {
  /** Stable name, e.g. `not-json`, `bad-field:pfn`, `unknown-field`. */
  name: string;
  /** `error` makes the trace unusable for replay; `warning` and `info` do not. */
  severity: ProblemSeverity;
  /** How many times it occurred. */
  count: number;
  /** First line it occurred on (0: the file as a whole). */
  firstLine: number;
  /** The first occurrence, in words. */
  example: string;
}

/** What `validate` found. */
export interface Validation {
  /** The header, when line 1 was a valid one. */
  header?: TraceHeader;
  /** Valid event records. */
  events: number;
  /** Event records by kind. */
  counts: Map<string, number>;
  /** Problems, in order of first occurrence. */
  problems: Problem[];
}

/** Fields each kind accepts besides `seq`, `kind` and `time` (traces/README.md). */
const FIELDS: Record<EventKind, readonly string[]> = {
  e820: ["start", "end", "size", "type", "map"],
  memory_setup: ["max_reservation", "expect"],
  set_identity: ["pfn", "end_pfn", "pages"],
  set_p2m: ["pfn", "end_pfn", "pages", "value", "mfn", "primitive"],
  balloon_init: [],
  balloon_append: ["pfn", "end_pfn", "pages", "pfns"],
  balloon_retrieve: ["pfn", "end_pfn", "pages", "pfns", "mfn"],
  decrease_reservation: ["pfn", "end_pfn", "pages", "pfns", "scratch_mfn"],
  increase_reservation: ["pfn", "end_pfn", "pages", "pfns", "mfn"],
  memory_hotplug: ["start", "end", "size"],
  pci_host_bridge: ["bus", "resources"],
  xen_add_device: ["device", "resources", "xen_flags", "physfn"],
  xen_remove_device: ["device"],
  pci_resource_assign: ["device", "index", "start", "end", "flags", "name", "action"],
  lookup: ["pfn", "addr", "via", "iomap", "observed", "by"],
  p2m_dump: ["format", "lines"],
  mark: ["text"],
};
const COMMON = new Set(["seq", "kind", "time"]);

/** The problem name of a validation error. */
function problemName(e: TraceError): string {
  if (e.field === undefined) {
    if (e.expected.startsWith("one JSON object")) return "not-json";
    if (e.expected === "UTF-8 text") return "bad-encoding";
    if (e.expected.startsWith("a line of at most")) return "line-too-long";
    if (e.expected === "gzip data") return "bad-gzip";
    if (e.expected.startsWith("nothing after the end record")) return "after-end";
    if (e.expected.startsWith("an event object")) return "not-an-object";
    return "bad-record";
  }
  if (e.field === "kind") return "unknown-kind";
  if (e.field === "seq" && e.expected.startsWith("a value greater")) return "seq-order";
  if (e.expected.startsWith("a raw E820 entry that does not overlap")) return "e820-overlap";
  if (e.field === "events") return "end-count";
  return `bad-field:${e.field.replace(/\[\d+\]/g, "[]")}`;
}

/**
 * Validates a trace read from `stream`.
 *
 * @example
 * ```ts
 * import { validateStream } from "./validate.ts";
 * import assert from "node:assert/strict";
 * const text = '{"format":"p2mtrace","version":1,"producer":"t","description":"x",' +
 *   '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x100"}}\n' +
 *   '{"seq":1,"kind":"mark","text":"a","note":"kept"}\n{"seq":2,"kind":"warp"}\n';
 * const v = await validateStream("t", ReadableStream.from([new TextEncoder().encode(text)]));
 * assert.deepEqual(v.problems.map((p) => [p.name, p.severity, p.firstLine]), [
 *   ["unknown-field", "info", 2],
 *   ["unknown-kind", "error", 3],
 *   ["no-end-record", "warning", 0],
 * ]);
 * ```
 */
export async function validateStream(
  name: string,
  stream: ReadableStream<Uint8Array>,
): Promise<Validation> {
  const problems = new Map<string, Problem>();
  const note = (n: string, severity: ProblemSeverity, line: number, example: string) => {
    const p = problems.get(n);
    if (p) p.count++;
    else problems.set(n, { name: n, severity, count: 1, firstLine: line, example });
  };
  const v: Validation = { events: 0, counts: new Map(), problems: [] };
  const checks = new RecordChecks(name);
  let sawHeader = false;
  const batches = readLineBatches(name, await maybeGunzip(stream, name), { encoding: "mark" });
  for (;;) {
    let next: IteratorResult<LineBatch>;
    try {
      next = await batches.next();
    } catch (err) {
      // A limit of the reader (line length, gzip data): reading cannot go on past it.
      if (!(err instanceof TraceError)) throw err;
      note(problemName(err), "error", err.position.line, err.message);
      if (!sawHeader) sawHeader = true;
      break;
    }
    if (next.done) break;
    const batch = next.value;
    const bad = new Set(batch.badEncoding ?? []);
    for (let i = 0; i < batch.lines.length; i++) {
      const text = batch.lines[i];
      const line = batch.firstLine + i;
      if (text.trim() === "") continue;
      if (bad.has(i)) {
        note("bad-encoding", "error", line, `line ${line} is not valid UTF-8`);
        if (!sawHeader) sawHeader = true;
        continue;
      }
      let obj: unknown;
      try {
        obj = parseRecord(text);
      } catch (err) {
        if (err instanceof ObjectKeysError) {
          note(err.problem, "error", line, err.traceError({ file: name, line }).message);
          if (!sawHeader) sawHeader = true;
          continue;
        }
        if (!batch.terminated && !sawHeader) {
          note("bad-header", "error", line, "the header line is cut off: no newline, not JSON");
        } else if (!batch.terminated) {
          note("cut-off", "warning", line, "the last line has no newline and is not complete JSON");
        } else {
          note("not-json", "error", line, `line ${line} is not JSON`);
        }
        if (!sawHeader) sawHeader = true;
        continue;
      }
      try {
        if (!sawHeader) {
          sawHeader = true;
          v.header = validateHeader({ file: name, line }, obj);
          if (v.header.guest.type === "pv" && v.header.guest.nrPages === undefined) {
            note(
              "no-nr-pages",
              "warning",
              line,
              "a PV guest without guest.nr_pages: memory_setup cannot run",
            );
          }
          continue;
        }
        checks.record(line);
        const o = obj as Record<string, unknown>;
        if (o?.kind === "end" && typeof o === "object") {
          checks.end(line, validateEnd({ file: name, line }, o).events);
          continue;
        }
        const e = validateEvent({ file: name, line }, obj);
        checks.event(e);
        v.events++;
        v.counts.set(e.kind, (v.counts.get(e.kind) ?? 0) + 1);
        for (const k of Object.keys(o)) {
          if (!COMMON.has(k) && !FIELDS[e.kind].includes(k)) {
            note("unknown-field", "info", line, `field "${k}" of ${e.kind} is kept and ignored`);
          }
        }
      } catch (err) {
        if (!(err instanceof TraceError)) throw err;
        note(problemName(err), "error", line, err.message);
      }
    }
  }
  if (!sawHeader) note("empty", "error", 1, "no header: the file is empty");
  else if (v.header && checks.endLine === undefined && !problems.has("cut-off")) {
    note("no-end-record", "warning", 0, "no end record: the recording may be incomplete");
  }
  if (sawHeader && v.events === 0) note("no-events", "warning", 0, "the trace has no events");
  v.problems = [...problems.values()];
  return v;
}
