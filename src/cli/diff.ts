/**
 * `p2mtrace diff TRACE A B [--json] [--policy P]`
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { ForwardPass } from "../replay/forward.ts";
import type { StepName } from "../replay/steps.ts";
import type { ModelState } from "../model/state.ts";
import { diffTables } from "../p2m/table_diff.ts";
import { type DiffInput, diffJson, type DiffSide, diffText } from "../report/diff_report.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandEntry } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { parseStepName } from "./step_arg.ts";

const HELP = `usage: p2mtrace diff TRACE A B [options]

Compares the P2M at two steps of a trace (a path, a .jsonl.gz, or - for stdin) and prints the
PFN ranges whose entry differs, coalesced, with the value at A and at B. Entries are compared
by value (kind and frame), not by the structure that holds them.

A and B are steps: 0 (before the first event), N (after every event with seq <= N) or end.

options:
  --json            one JSON object (see docs/bisect.md)
  --policy P        kernel behaviour, as for replay ('--policy list' lists them)

exit: 0 no differences, 1 differences (as diff), 3 the recording was cut off before a step,
64 usage (also a step past the last event), 65 malformed trace, 66 unreadable file.
`;

function order(name: StepName): number {
  return name === "end" ? Infinity : name;
}

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("diff", args, { json: { type: "boolean" }, policy: { type: "string" } });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const [file, aArg, bArg] = operands("diff", p.positionals, ["TRACE", "A", "B"]);
  const a = parseStepName("diff", "A", aArg);
  const b = parseStepName("diff", "B", bArg);
  const pass = await ForwardPass.open(await TraceReader.open(file, io.stdin), {
    policy: p.values.policy as string | undefined,
  });
  const [first, second] = order(a) <= order(b) ? [a, b] : [b, a];
  const sides: { side: DiffSide; state: ModelState }[] = [];
  for (const name of [first, second]) {
    const point = await pass.walkTo(name);
    sides.push({ side: { point, event: pass.lastEvent }, state: pass.state() });
  }
  const [sa, sb] = order(a) <= order(b) ? sides : [sides[1], sides[0]];
  const input: DiffInput = {
    trace: file,
    policy: pass.policy,
    a: sa.side,
    b: sb.side,
    diffs: diffTables(sa.state.p2m, sb.state.p2m),
  };
  io.stdout(p.values.json === true ? JSON.stringify(diffJson(input)) + "\n" : diffText(input));
  if (pass.cutOff) {
    io.stderr(`p2mtrace: ${pass.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return input.diffs.length ? EXIT.found : EXIT.ok;
}

/** The `diff` command. */
export const diffCommand: CommandEntry = {
  summary: "the PFN ranges whose entry differs between two steps (exit 1 when any do)",
  help: HELP,
  run,
};
