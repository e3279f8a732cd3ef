/**
 * `p2mtrace compare TRACE [--json] [--policy P]... [--detector ID]...`
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { comparePolicies } from "../replay/compare.ts";
import { compareJson, compareText, holdFindings } from "../report/check_report.ts";
import { jsonParts } from "../report/json_parts.ts";
import { POLICIES } from "../policy/policies.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";

const HELP = `usage: p2mtrace compare TRACE [options]

Replays TRACE under every policy (one pass over the file) and prints a matrix: rows are
policies, columns the detectors that fired under at least one of them, each cell the step at
which that detector first fired ('.' when it never did, '?' when its findings cannot be judged
because the trace lacks what the boot pass needs: docs/verdicts.md), then a one-line verdict
per policy (clean, warn, BAD, '?'). The text fits 100 columns.

options:
  --policy P       compare only these policies (repeatable, with options: seed-v1:primitive=ideal)
  --detector ID    run only these detectors (repeatable)
  --json           {"trace","events","cut_off","detectors":[ids],"policies":[{"policy","summary",
                   "verdict":"clean"|"warn"|"bad"|"cannot-judge","errors","warnings",
                   "first":{id: step},"findings":[...]}]}, with "first_unjudged" and
                   "cannot_judge":[...] when findings cannot be judged

exit: 0 (the comparison is the answer), 3 cut off, 64 usage, 65 malformed trace, 66 unreadable.
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("compare", args, {
    policy: { type: "string", multiple: true },
    detector: { type: "string", multiple: true },
    json: { type: "boolean" },
  });
  const [file] = operands("compare", p.positionals, ["TRACE"]);
  const policies = (p.values.policy as string[] | undefined) ?? [...POLICIES.keys()];
  const reader = await TraceReader.open(file, io.stdin);
  const json = p.values.json === true;
  // The text needs each policy's first findings only; --json lists every finding, held as
  // deflated JSON text until the pass ends (policies print in order) and printed in parts.
  const { held, onFinding } = holdFindings(policies.length);
  const c = await comparePolicies(
    reader,
    policies,
    (p.values.detector as string[] | undefined) ?? [],
    { complete: () => false, onFinding: json ? onFinding : undefined },
  );
  if (json) {
    for (const part of jsonParts(compareJson(file, c, held))) io.stdout(part);
    io.stdout("\n");
  } else {
    io.stdout(compareText(file, c));
  }
  if (c.cutOff) {
    io.stderr(`p2mtrace: ${c.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return EXIT.ok;
}

/** The `compare` command. */
export const compareCommand: CommandModule = {
  help: HELP,
  run,
};
