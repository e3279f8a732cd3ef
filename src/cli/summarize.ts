/**
 * `p2mtrace summarize TRACE [--policy P] [--json]`
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { hex } from "../trace/hex.ts";
import { summarizeTrace, summaryMarkdown } from "../share/summarize.ts";
import { findingJson } from "../report/replay_report.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import type { CommandEntry } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { isBatch, summarizeMany } from "./batch.ts";

const HELP = `usage: p2mtrace summarize TRACE [--policy P] [--json]
       p2mtrace summarize TRACE|DIR... [--jobs N] [--policy P] [--json]

TRACE may be - for stdin (the summary's sha256 is that of the bytes read).

A paste-ready Markdown summary for a bug report: the trace's sha256, the guest, the E820 map,
PCI devices and the BARs above the E820 map, balloon and hotplug activity, event counts, the
findings under one policy (default: as for replay) and every policy's verdict.

  --json   the same facts as one object (see README)
  --jobs N with several traces or a directory (every *.jsonl and *.jsonl.gz under it, sorted by
           path): summarize N at a time (default: the number of cores) and print one line per
           trace, in that order: its verdict under the policy, sha256, guest, events, BARs above
           the E820 map and every policy's verdict; --json prints each trace's object with "exit".
           Exit 0, else the exit of the first trace that could not be summarized.

exit: 0, 3 cut off, 64 usage, 65 malformed trace, 66 unreadable.
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("summarize", args, {
    policy: { type: "string" },
    json: { type: "boolean" },
    jobs: { type: "string" },
  });
  if (await isBatch(p.positionals)) return await summarizeMany(p, run, io);
  const [file] = operands("summarize", p.positionals, ["TRACE"]);
  if (p.values.policy !== undefined) resolvePolicy(POLICIES, p.values.policy as string);
  // Opened once and hashed while read, so stdin, a FIFO or <(...) works.
  const reader = await TraceReader.open(file, io.stdin);
  const s = await summarizeTrace(
    file,
    () => reader.sha256(),
    reader,
    p.values.policy as string | undefined,
  );
  const sha = s.sha256;
  if (p.values.json === true) {
    const f = s.facts;
    io.stdout(
      JSON.stringify({
        trace: file,
        sha256: sha,
        events: s.comparison.events,
        cut_off: s.comparison.cutOff !== undefined,
        guest: s.header.raw.guest,
        counts: Object.fromEntries([...f.counts.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1)),
        e820: { entries: f.e820.entries, ram_bytes: hex(f.e820.ramBytes), end: hex(f.e820.end) },
        bars_above_e820: f.barsAbove.map((b) => ({
          device: b.device,
          resource: b.name,
          start: hex(b.resource.start),
          end: hex(b.resource.end),
        })),
        policy: s.policy,
        findings: s.comparison.results[s.policyIndex].findings.map(findingJson),
        verdicts: Object.fromEntries(s.comparison.results.map((r) => [
          r.policy.name,
          r.findings.length === 0
            ? "clean"
            : r.findings.some((x) => x.severity === "error")
            ? "bad"
            : "warn",
        ])),
      }) + "\n",
    );
  } else {
    io.stdout(summaryMarkdown(s));
  }
  if (s.comparison.cutOff) {
    io.stderr(`p2mtrace: ${s.comparison.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return EXIT.ok;
}

/** The `summarize` command. */
export const summarizeCommand: CommandEntry = {
  summary: "a paste-ready Markdown summary of a trace for a bug report",
  help: HELP,
  run,
};
