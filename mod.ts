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
export * from "./src/detect/basis.ts";
export { main } from "./src/cli/main.ts";
export { type Io, memoryIo } from "./src/cli/io.ts";
