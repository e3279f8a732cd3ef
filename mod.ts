/**
 * p2mtrace: record and replay the P2M (PFN to machine frame) table of a Xen PV Linux guest,
 * and find the first event after which a lookup goes wrong. This module re-exports the
 * library API; the command line is `cli.ts`.
 *
 * ```ts
 * import { runTrace, TraceReader } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const reader = TraceReader.fromText("t.jsonl", [
 *   '{"format":"p2mtrace","version":1,"producer":"hand","description":"a BAR above RAM",' +
 *     '"guest":{"type":"pv","domain":"dom0","nr_pages":"0x40000"}}',
 *   '{"seq":1,"kind":"e820","start":"0x0","end":"0x3fffffff","type":"ram"}',
 *   '{"seq":2,"kind":"memory_setup"}',
 *   '{"seq":3,"kind":"xen_add_device","device":"0000:01:00.0","resources":' +
 *     '[{"index":0,"start":"0x80000000","end":"0x80003fff","flags":"0x40200"}]}',
 * ].join("\n") + "\n");
 * const result = await runTrace(reader, { policy: "linux-3.12" });
 * assert.equal(result.replayer.findings[0].detector, "lookup-zero");
 * ```
 *
 * The entry points behind `import`, `record`, `validate`, `minimize` and `summarize`:
 *
 * ```ts
 * import {
 *   DmesgImporter,
 *   importBpftraceOutput,
 *   memoryReader,
 *   minimizeEvents,
 *   POLICIES,
 *   recordGuest,
 *   resolvePolicy,
 *   summarizeTrace,
 *   summaryMarkdown,
 *   traceText,
 *   TraceReader,
 *   validateStream,
 * } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * // import dmesg: push a boot log line by line, then assemble the trace.
 * const dmesg = new DmesgImporter("boot.log");
 * for (const line of [
 *   "[    0.000000] Linux version 3.12.0 (gcc)",
 *   "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
 *   "[    0.000000] Xen: [mem 0x0000000000100000-0x000000003fffffff] usable",
 * ]) dmesg.push(line);
 * const boot = dmesg.finish();
 * assert.ok(boot.events.some((e) => e.kind === "e820"));
 *
 * // import bpftrace: the runtime script's output; a file with no p2mtrace line is refused.
 * assert.throws(() => importBpftraceOutput("", "run.txt"), /none of them a p2mtrace line/);
 *
 * // record: a guest's /sys and /proc, here from memory instead of a directory.
 * const rec = await recordGuest(memoryReader({
 *   "/sys/firmware/memmap/0/start": "0x0\n",
 *   "/sys/firmware/memmap/0/end": "0x3fffffff\n",
 *   "/sys/firmware/memmap/0/type": "System RAM\n",
 * }));
 * assert.ok(rec.events.some((e) => e.kind === "e820"));
 *
 * // validate: every problem of a trace text, by name.
 * const text = traceText(boot.header, boot.events);
 * const v = await validateStream("boot.jsonl", ReadableStream.from([new TextEncoder().encode(text)]));
 * assert.deepEqual(v.problems.filter((p) => p.severity === "error"), []);
 *
 * // minimize: the fewest events that still show the finding.
 * const header = await TraceReader.fromText("t", text).header();
 * const lookup = { seq: 99, line: 99, kind: "lookup", pfn: 0x90000, offset: 0, via: "pte", iomap: false } as const;
 * const small = minimizeEvents(header, [...boot.events, lookup], resolvePolicy(POLICIES, "linux-3.12"), "lookup-zero");
 * assert.ok(small.events.length <= boot.events.length + 1);
 *
 * // summarize: facts and every policy's verdict, as Markdown.
 * const summary = await summarizeTrace("boot.jsonl", "0".repeat(64), TraceReader.fromText("boot.jsonl", text), undefined);
 * assert.match(summaryMarkdown(summary), /boot\.jsonl/);
 * ```
 *
 * @module
 */

export * from "./src/errors.ts";
export * from "./src/version.ts";
export * from "./src/trace/event.ts";
export * from "./src/trace/hex.ts";
export * from "./src/trace/read.ts";
export * from "./src/trace/provenance.ts";
export * from "./src/trace/write.ts";
export { validateEnd, validateEvent, validateHeader } from "./src/trace/validate.ts";
export * from "./src/p2m/constants.ts";
export { K, type KindCode } from "./src/p2m/leaf_runs.ts";
export * from "./src/p2m/table.ts";
export * from "./src/p2m/lookup.ts";
export * from "./src/p2m/pfn_set.ts";
export * from "./src/p2m/debugfs.ts";
export * from "./src/policy/policy.ts";
export * from "./src/policy/policies.ts";
export * from "./src/model/state.ts";
export * from "./src/model/outcome.ts";
export * from "./src/replay/step.ts";
export * from "./src/replay/verify.ts";
export * from "./src/replay/replayer.ts";
export * from "./src/replay/run.ts";
export * from "./src/replay/steps.ts";
export * from "./src/replay/forward.ts";
export * from "./src/replay/timeline.ts";
export * from "./src/replay/blame.ts";
export * from "./src/p2m/table_diff.ts";
export * from "./src/bisect/predicate.ts";
export * from "./src/bisect/scan.ts";
export * from "./src/bisect/search.ts";
export * from "./src/bisect/log.ts";
export * from "./src/bisect/run.ts";
export * from "./src/bisect/command.ts";
export * from "./src/report/snapshot_report.ts";
export * from "./src/report/lookup_report.ts";
export * from "./src/report/diff_report.ts";
export * from "./src/report/bisect_report.ts";
export * from "./src/detect/finding.ts";
export * from "./src/detect/detectors.ts";
export { DmesgImporter, type ImportOptions } from "./src/import/dmesg/importer.ts";
export { type ImportResult } from "./src/import/dmesg/assemble.ts";
export { UnrecognisedLines, type UnrecognisedPattern } from "./src/import/dmesg/unrecognised.ts";
export type { Comparison, PolicyResult } from "./src/replay/compare.ts";
export type { HeldFindings } from "./src/report/check_report.ts";
export { HeldJsonArray, jsonParts } from "./src/report/json_parts.ts";
export { type BpftraceImport, importBpftraceOutput } from "./src/import/bpftrace/importer.ts";
export { recordGuest, type Recording } from "./src/import/sysfs/assemble.ts";
export {
  directoryReader,
  type MemoryEntry,
  memoryReader,
  type ReadResult,
  type SysfsReader,
} from "./src/import/sysfs/reader.ts";
export { minimizeEvents, type MinimizeResult, prefixToFinding } from "./src/share/minimize.ts";
export {
  summarizeTrace,
  type Summary,
  summaryMarkdown,
  type TraceFacts,
} from "./src/share/summarize.ts";
export {
  type Problem,
  type ProblemSeverity,
  validateStream,
  type Validation,
} from "./src/share/validate.ts";
export * from "./src/detect/basis.ts";
export * from "./src/detect/verdict.ts";
export { main } from "./src/cli/main.ts";
export { type Io, memoryIo } from "./src/cli/io.ts";
