/**
 * `p2mtrace minimize TRACE [--detector ID] [--policy P] [-o OUT] [--force]`
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { endLine, eventLine } from "../trace/write.ts";
import { choosePolicy, selectDetectors } from "../replay/replayer.ts";
import { minimizeEvents, prefixToFinding } from "../share/minimize.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import type { CommandEntry } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { checkOutput, writeOutput } from "./output.ts";

const HELP = `usage: p2mtrace minimize TRACE [options]

TRACE may be - for stdin (it is read once).

Shrinks TRACE to the fewest events that still make a detector fire, for a bug report: events
after the first step where the finding appears are dropped, then delta debugging removes every
event the finding does not need. Kept events are copied verbatim (original seq, unknown fields
and all); the header is kept and gains a "minimized" object saying what was done.

options:
  --detector ID   the finding to keep (default: the first finding of a replay)
  --policy P      kernel behaviour (as for replay)
  -o, --output F  write the trace to F (default: stdout); an existing F needs --force
  --force         overwrite F

exit: 0 written, 1 the detector never fires (nothing to minimize), 3 cut off, 64 usage,
65 malformed trace, 66 unreadable, 74 cannot write.
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("minimize", args, {
    detector: { type: "string" },
    policy: { type: "string" },
    output: { type: "string", short: "o" },
    force: { type: "boolean" },
  });
  const [file] = operands("minimize", p.positionals, ["TRACE"]);
  const output = {
    output: p.values.output as string | undefined,
    force: p.values.force === true,
    inputs: [file],
  };
  await checkOutput(output);
  const wanted = p.values.detector as string | undefined;
  if (wanted !== undefined) selectDetectors([wanted]);
  if (p.values.policy !== undefined) resolvePolicy(POLICIES, p.values.policy as string);
  // One read (stdin, a FIFO, <(...) work): up to the first finding of the detector asked for,
  // or of any detector.
  const reader = await TraceReader.open(file, io.stdin);
  const header = await reader.header();
  const { policy } = choosePolicy(header, p.values.policy as string | undefined);
  const prefix = await prefixToFinding(reader, policy, wanted);
  if (!prefix) {
    io.stderr(
      wanted === undefined
        ? `${TOOL_NAME}: minimize: ${file} has no finding under ${policy.name}: nothing to minimize\n`
        : `${TOOL_NAME}: minimize: ${wanted} never fires in ${file} under ${policy.name}\n`,
    );
    return EXIT.found;
  }
  const detector = prefix.detector;
  const r = minimizeEvents(prefix.header, prefix.events, policy, detector);
  const h = {
    ...header.raw,
    minimized: {
      from: file,
      by: `${TOOL_NAME} ${TOOL_VERSION}`,
      policy: policy.name,
      detector,
      events_up_to_finding: prefix.events.length,
      events_kept: r.events.length,
    },
  };
  const text =
    [JSON.stringify(h), ...r.events.map(eventLine), endLine(r.events.length)].join("\n") + "\n";
  await writeOutput(io, text, output);
  io.stderr(
    `${TOOL_NAME}: minimized ${file} from ${prefix.events.length} event(s) (up to the first ${detector} ` +
      `finding) to ${r.events.length} in ${r.tests} replay(s): ${r.message}\n`,
  );
  return EXIT.ok;
}

/** The `minimize` command. */
export const minimizeCommand: CommandEntry = {
  summary: "shrink a trace to the fewest events that still show a finding",
  help: HELP,
  run,
};
