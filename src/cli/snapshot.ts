/**
 * `p2mtrace snapshot TRACE [--at STEP] [--format text|json|debugfs] [--policy P]`
 *
 * @module
 */

import { EXIT, UsageError } from "../errors.ts";
import {
  snapshotDebugfs,
  type SnapshotInput,
  snapshotJson,
  snapshotText,
} from "../report/snapshot_report.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { parseStepName } from "./step_arg.ts";
import { cutOffMessage, withIndex } from "./cached_trace.ts";

const HELP = `usage: p2mtrace snapshot TRACE [options]

Prints the P2M and the guest state at one step of a trace (a path, a .jsonl.gz, or - for
stdin): every PFN range from 0 to the structure's limit with its entry, its class (mapped,
identity, invalid, foreign) and the structure that answers it (a private leaf, or one of the
kernel's shared pages), plus the balloon, extra memory and devices.

options:
  --at STEP         0 (before the first event), N (after every event with seq <= N), end, or
                    -N (N events before the end); past the end is an error, as in every command
                    (default: end)
  --format F        text (default), json (the snapshot document of docs/bisect.md, one line),
                    or debugfs: the exact text of /sys/kernel/debug/xen/mmu/p2m for the
                    policy's kernel era, to compare line by line with a real guest's dump
  --policy P        kernel behaviour, as for replay ('--policy list' lists them)
  --no-cache        replay from step 0: neither use nor build the trace's index (see
                    'p2mtrace help index'; a trace file of 8 MiB or more gets one on first use)

exit: 0 printed, 3 the recording was cut off before STEP (the state after the last complete
event is printed), 64 usage (also a STEP past the last event), 65 malformed trace, 66
unreadable file.
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("snapshot", args, {
    at: { type: "string" },
    format: { type: "string" },
    policy: { type: "string" },
    "no-cache": { type: "boolean" },
  });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const [file] = operands("snapshot", p.positionals, ["TRACE"]);
  const format = (p.values.format as string | undefined) ?? "text";
  if (format !== "text" && format !== "json" && format !== "debugfs") {
    throw new UsageError(`snapshot: --format takes text, json or debugfs, got '${format}'`);
  }
  const named = typeof p.values.at === "string"
    ? parseStepName("snapshot", "--at", p.values.at)
    : "end";
  const policy = p.values.policy as string | undefined;
  const { input, cut } = await withIndex(
    file,
    policy,
    p.values["no-cache"] === true,
    io,
    async (c) => {
      const point = await c.index.resolve(named);
      const { state, event } = await c.index.stateAt(point.index);
      const input: SnapshotInput = {
        trace: file,
        point,
        event,
        state,
        policySource: c.policySource,
      };
      return { input, cut: cutOffMessage(c, file, point.index) };
    },
    async () => {
      const { passFromStart } = await import("./from_start.ts");
      const { names: [at], pass } = await passFromStart(file, io.stdin, [named], policy);
      const point = await pass.walkTo(at);
      const input: SnapshotInput = {
        trace: file,
        point,
        event: pass.lastEvent,
        state: pass.state(),
        policySource: pass.policySource,
      };
      return { input, cut: pass.cutOff?.message };
    },
  );
  if (format === "debugfs") io.stdout(snapshotDebugfs(input.state.p2m));
  else if (format === "json") io.stdout(JSON.stringify(snapshotJson(input)) + "\n");
  else io.stdout(snapshotText(input));
  if (cut !== undefined) {
    io.stderr(`p2mtrace: ${cut}\n`);
    return EXIT.cutOff;
  }
  return EXIT.ok;
}

/** The `snapshot` command. */
export const snapshotCommand: CommandModule = {
  help: HELP,
  run,
};
