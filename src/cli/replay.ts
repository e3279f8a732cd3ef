/**
 * `p2mtrace replay TRACE [--policy P] [--json] [--quiet] [--at N] [--detector ID]... [--paranoid]`
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { bootPassGaps } from "../detect/basis.ts";
import { openEvents } from "../trace/threaded_read.ts";
import { runTrace } from "../replay/run.ts";
import { stepJson, stepText, summaryJson, summaryText } from "../report/replay_report.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs, parseThreads } from "./args.ts";
import type { Io } from "./io.ts";
import { parseStepName, resolveFromEnd } from "./step_arg.ts";
import { pastEndError } from "../replay/steps.ts";

const HELP = `usage: p2mtrace replay TRACE [options]

Replays a trace (a path, a .jsonl.gz, or - for stdin) under a kernel policy and prints, step by
step, what each event did to the P2M: changed PFN ranges, the kernel's messages, checks of
recorded observations, and findings; then a summary with the final P2M as coalesced ranges.

options:
  --policy P        kernel behaviour (default: the header's policy, else the one matching the
                    header's kernel version, else linux-3.12); '--policy list' lists them;
                    options as NAME:opt=value,opt=value
  --json            one JSON object per step, then {"summary": ...} (see README)
  --quiet           the summary only
  --at STEP         0 (before the first event), N (after every event with seq <= N), end, or
                    -N (N events before the end); past the end is an error, as in every command
  --detector ID     run only this detector (repeatable; default: all)
  --paranoid        walk every model structure before the first step and after each one, and
                    stop at the first broken invariant (a p2mtrace bug: exit 70 names the step);
                    slow, O(private P2M pages) per step
  --threads N       1: parse the trace on this thread; 2: parse it on a second thread while
                    this one replays (default: 2 for a file of 4 MiB or more, else 1; the
                    output is the same either way)

exit: 0 replayed (findings do not change it), 3 the recording was cut off (output covers the
events before the truncated line), 64 usage, 65 malformed trace, 66 unreadable file, 70 internal
error.
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("replay", args, {
    policy: { type: "string" },
    json: { type: "boolean" },
    quiet: { type: "boolean" },
    at: { type: "string" },
    detector: { type: "string", multiple: true },
    paranoid: { type: "boolean" },
    threads: { type: "string" },
  });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const [file] = operands("replay", p.positionals, ["TRACE"]);
  const json = p.values.json === true;
  const quiet = p.values.quiet === true;
  const named = typeof p.values.at === "string"
    ? parseStepName("replay", "--at", p.values.at)
    : "end";
  const { names: [at], stdin, held } = await resolveFromEnd(file, io.stdin, [named]);
  const atSeq = at === "end" ? undefined : at as number;
  const threads = parseThreads("replay", p.values.threads as string | undefined);
  const reader = await openEvents(file, stdin, held ? { threads, held } : { threads });
  const res = await runTrace(reader, {
    policy: p.values.policy as string | undefined,
    detectors: (p.values.detector as string[] | undefined) ?? [],
    atSeq,
    paranoid: p.values.paranoid === true,
    onStep: quiet
      ? undefined
      : (rec) => io.stdout(json ? JSON.stringify(stepJson(rec)) + "\n" : stepText(rec)),
  });
  const summary = {
    file,
    steps: res.replayer.steps,
    lastSeq: res.replayer.lastSeq,
    ending: res.ending,
    policy: res.policy,
    policySource: res.policySource,
    counts: res.replayer.counts,
    state: res.state,
    findings: res.replayer.findings,
    unjudged: res.replayer.unjudged,
    bootGaps: bootPassGaps(res.state),
    verified: res.verified,
    basis: res.replayer.basis(),
  };
  // A step past the end is the same error as in snapshot, lookup, diff and bisect.
  if (atSeq !== undefined && atSeq > 0 && res.ending !== "stopped" && !res.cutOff) {
    if (res.replayer.steps === 0 || res.replayer.lastSeq < atSeq) {
      throw pastEndError(atSeq, res.replayer.steps === 0 ? undefined : res.replayer.lastSeq);
    }
  }
  if (json) io.stdout(JSON.stringify(summaryJson(summary)) + "\n");
  else io.stdout((quiet ? "" : "\n") + summaryText(summary));
  if (res.cutOff) {
    io.stderr(`p2mtrace: ${res.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return EXIT.ok;
}

/** The `replay` command. */
export const replayCommand: CommandModule = {
  help: HELP,
  run,
};
