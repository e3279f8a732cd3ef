/**
 * `p2mtrace diff TRACE A B [--json] [--policy P]`
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import type { StepName, StepPoint } from "../replay/steps.ts";
import type { ModelState } from "../model/state.ts";
import { diffTables } from "../p2m/table_diff.ts";
import { type DiffInput, diffJson, type DiffSide, diffText } from "../report/diff_report.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { parseStepName } from "./step_arg.ts";
import { cutOffMessage, withIndex } from "./cached_trace.ts";
import type { Policy } from "../policy/policy.ts";

const HELP = `usage: p2mtrace diff TRACE A B [options]

Compares the P2M at two steps of a trace (a path, a .jsonl.gz, or - for stdin) and prints the
PFN ranges whose entry differs, coalesced, with the value at A and at B. Entries are compared
by value (kind and frame), not by the structure that holds them.

A and B are steps: 0 (before the first event), N (after every event with seq <= N) or end.

options:
  --json            one JSON object (see docs/bisect.md)
  --policy P        kernel behaviour, as for replay ('--policy list' lists them)
  --no-cache        replay from step 0: neither use nor build the trace's index (see
                    'p2mtrace help index'; a trace file of 8 MiB or more gets one on first use)

exit: 0 no differences, 1 differences (as diff), 3 the recording was cut off before a step,
64 usage (also a step past the last event), 65 malformed trace, 66 unreadable file.
`;

function order(name: StepName): number {
  return name === "end" ? Infinity : name;
}

interface Side {
  side: DiffSide;
  state: ModelState;
}

function diffInput(trace: string, policy: Policy, a: Side, b: Side): DiffInput {
  return { trace, policy, a: a.side, b: b.side, diffs: diffTables(a.state.p2m, b.state.p2m) };
}

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("diff", args, {
    json: { type: "boolean" },
    policy: { type: "string" },
    "no-cache": { type: "boolean" },
  });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const [file, aArg, bArg] = operands("diff", p.positionals, ["TRACE", "A", "B"]);
  const named = [parseStepName("diff", "A", aArg), parseStepName("diff", "B", bArg)];
  const policy = p.values.policy as string | undefined;
  const { input, cut } = await withIndex(
    file,
    policy,
    p.values["no-cache"] === true,
    io,
    async (c) => {
      // Resolved in the order the replay walks them, so the same step is named in an error.
      const swap = order(named[0]) > order(named[1]);
      const points: StepPoint[] = [];
      for (const name of swap ? [named[1], named[0]] : named) {
        points.push(await c.index.resolve(name));
      }
      const sides: Side[] = [];
      for (const point of swap ? [points[1], points[0]] : points) {
        const { state, event } = await c.index.stateAt(point.index);
        sides.push({ side: { point, event }, state });
      }
      const [sa, sb] = sides;
      const last = Math.max(sa.side.point.index, sb.side.point.index);
      return { input: diffInput(file, c.policy, sa, sb), cut: cutOffMessage(c, file, last) };
    },
    async () => {
      const { passFromStart } = await import("./from_start.ts");
      const { names: [a, b], pass } = await passFromStart(file, io.stdin, named, policy);
      const [first, second] = order(a) <= order(b) ? [a, b] : [b, a];
      const sides: Side[] = [];
      for (const name of [first, second]) {
        const point = await pass.walkTo(name);
        sides.push({ side: { point, event: pass.lastEvent }, state: pass.state() });
      }
      const [sa, sb] = order(a) <= order(b) ? sides : [sides[1], sides[0]];
      return { input: diffInput(file, pass.policy, sa, sb), cut: pass.cutOff?.message };
    },
  );
  io.stdout(p.values.json === true ? JSON.stringify(diffJson(input)) + "\n" : diffText(input));
  if (cut !== undefined) {
    io.stderr(`p2mtrace: ${cut}\n`);
    return EXIT.cutOff;
  }
  return input.diffs.length ? EXIT.found : EXIT.ok;
}

/** The `diff` command. */
export const diffCommand: CommandModule = {
  help: HELP,
  run,
};
