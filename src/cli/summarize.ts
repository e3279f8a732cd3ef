/**
 * `p2mtrace summarize TRACE [--policy P] [--json]`
 *
 * @module
 */

import { EXIT, UsageError } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { hex } from "../trace/hex.ts";
import { importRows, summarizeTrace, summaryMarkdown } from "../share/summarize.ts";
import { runVerdict } from "../detect/verdict.ts";
import { summaryPlainText } from "../share/summary_text.ts";
import { PROVEN, type Provenance } from "../trace/provenance.ts";
import { HeldJsonArray, jsonParts } from "../report/json_parts.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { isBatch, summarizeMany } from "./batch.ts";

const HELP = `usage: p2mtrace summarize TRACE [--policy P] [--format text|markdown] [--json]
       p2mtrace summarize TRACE|DIR... [--jobs N] [--policy P] [--json]

TRACE may be - for stdin (the summary's sha256 is that of the bytes read).

A paste-ready summary for a bug report: the trace's sha256, the guest and how the import
decided it, what was estimated or rebuilt and how many log lines were not understood, the
E820 map, PCI devices and the BARs above the E820 map, balloon and hotplug activity, event
counts, the findings under one policy (default: as for replay) with the first one's
evidence, every policy's verdict and the command that reproduces it.

  --format text       plain text within 72 columns, for a mailing list (the default,
                      on a terminal or not: the same command gives the same bytes)
  --format markdown   Markdown tables, for an issue tracker
  --json              the same facts as one object (see README)
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
    format: { type: "string" },
    jobs: { type: "string" },
  });
  if (await isBatch(p.positionals)) return await summarizeMany(p, run, io);
  const [file] = operands("summarize", p.positionals, ["TRACE"]);
  const format = (p.values.format as string | undefined) ?? "text";
  if (format !== "text" && format !== "markdown") {
    throw new UsageError(`summarize: --format must be text or markdown, not '${format}'`);
  }
  if (p.values.json === true && p.values.format !== undefined) {
    throw new UsageError("summarize: give --json or --format, not both");
  }
  if (p.values.policy !== undefined) resolvePolicy(POLICIES, p.values.policy as string);
  // Opened once and hashed while read, so stdin, a FIFO or <(...) works.
  const reader = await TraceReader.open(file, io.stdin);
  // --json holds the listed policy's findings as deflated JSON text and prints in parts.
  const held = p.values.json === true
    ? { findings: new HeldJsonArray(), unjudged: new HeldJsonArray() }
    : undefined;
  const s = await summarizeTrace(
    file,
    () => reader.sha256(),
    reader,
    p.values.policy as string | undefined,
    held,
  );
  const sha = s.sha256;
  if (held) {
    const f = s.facts;
    const parts = jsonParts({
      trace: file,
      sha256: sha,
      events: s.comparison.events,
      cut_off: s.comparison.cutOff !== undefined,
      guest: s.header.raw.guest,
      ...importJson(s.header.provenance ?? PROVEN),
      counts: Object.fromEntries([...f.counts.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1)),
      e820: { entries: f.e820.entries, ram_bytes: hex(f.e820.ramBytes), end: hex(f.e820.end) },
      bars_above_e820: f.barsAbove.map((b) => ({
        device: b.device,
        resource: b.name,
        start: hex(b.resource.start),
        end: hex(b.resource.end),
      })),
      policy: s.policy,
      findings: held.findings,
      ...(held.unjudged.length > 0 ? { cannot_judge: held.unjudged } : {}),
      verdicts: Object.fromEntries(s.comparison.results.map((r) => [
        r.policy.name,
        runVerdict(r.basis),
      ])),
    });
    for (const part of parts) io.stdout(part);
    io.stdout("\n");
  } else {
    io.stdout(format === "markdown" ? summaryMarkdown(s) : summaryPlainText(s));
  }
  if (s.comparison.cutOff) {
    io.stderr(`p2mtrace: ${s.comparison.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return EXIT.ok;
}

/** The header's provenance as `summarize --json` shows it: `{"import": {...}}`, or nothing. */
function importJson(p: Provenance): Record<string, unknown> {
  if (importRows(p).length === 0) return {};
  const o: Record<string, unknown> = {
    guest_confidence: p.typeUnknown || p.domainUnknown ? "unknown" : p.guestConfidence,
    guest_source: p.guestSource,
    estimated: p.estimated,
    reconstructed: p.reconstructed.map((r) => ({
      ...r,
      ...(r.start !== undefined ? { start: hex(r.start) } : {}),
      ...(r.end !== undefined ? { end: hex(r.end) } : {}),
    })),
  };
  if (p.relevantLines !== undefined) o.relevant_lines = p.relevantLines;
  if (p.unrecognisedLines !== undefined) o.unrecognised_lines = p.unrecognisedLines;
  return { import: o };
}

/** The `summarize` command. */
export const summarizeCommand: CommandModule = {
  help: HELP,
  run,
};
