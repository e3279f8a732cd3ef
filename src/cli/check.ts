/**
 * `p2mtrace check TRACE [--policy P] [--detector ID]... [--json] [--bisect-exit]`
 *
 * @module
 */

import { EXIT, UsageError } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { runTrace } from "../replay/run.ts";
import { checkJson, checkText } from "../report/check_report.ts";
import type { CommandEntry } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { checkMany, isBatch } from "./batch.ts";

const HELP = `usage: p2mtrace check TRACE [options]
       p2mtrace check TRACE|DIR... [--jobs N] [options]

Replays TRACE and prints each finding once, with its evidence (the PFN range, the event that
caused it, the entries before and after, the structure that answered).

options:
  --policy P       kernel behaviour (as for replay; '--policy list' in replay lists them)
  --detector ID    run only this detector (repeatable; default: all)
  --json           {"trace","policy","events","ending","clean","findings":[...]}
  --bisect-exit    for 'git bisect run': 0 good, 1 bad, 125 (skip) when the trace cannot
                   test the revision (3, 65, 66), 128 (git bisect stops) for anything else
  --paranoid       check every model invariant after each step (slow; exit 70 names the step)
  --jobs N         with several traces or a directory: check N traces at a time (default: the
                   number of cores)

Several traces, or a directory (every *.jsonl and *.jsonl.gz under it, sorted by path): one line
per trace, in that order: 'clean', 'found' (with the count and the first finding), or why it could
not be checked ('cut-off', 'malformed', 'unreadable', ...); --json prints the single-trace object
per line, with "exit". A total goes to stderr. Exit 1 when any trace has findings, else the exit
of the first trace that could not be checked, else 0. --bisect-exit takes one trace.

exit: 0 clean, 1 findings, 3 the recording was cut off and nothing was found before the cut,
65 malformed trace, 66 unreadable file, 64 usage, 70 internal error. With --bisect-exit
anywhere on the command line, 125 replaces 3, 65 and 66, and 128 replaces every other failure
(a typo in a flag or value, an internal error), so git bisect run stops instead of counting it.

As a git bisect predicate (bisecting kernels): at each revision boot the guest, record its boot
log, then
  p2mtrace import dmesg boot.log -o t.jsonl --force --bisect-exit &&
  p2mtrace check t.jsonl --bisect-exit --detector lookup-zero
exits 0 (good), 1 (bad) or 125 (skip: the log could not be turned into a usable trace).
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("check", args, {
    policy: { type: "string" },
    detector: { type: "string", multiple: true },
    json: { type: "boolean" },
    "bisect-exit": { type: "boolean" },
    paranoid: { type: "boolean" },
    jobs: { type: "string" },
  });
  if (await isBatch(p.positionals)) {
    if (p.values["bisect-exit"] === true) {
      throw new UsageError("check: --bisect-exit takes one TRACE, not several");
    }
    return await checkMany(p, run, io);
  }
  const [file] = operands("check", p.positionals, ["TRACE"]);
  // --bisect-exit is applied by main() to every exit, usage mistakes included (main.ts).
  const reader = await TraceReader.open(file, io.stdin);
  const res = await runTrace(reader, {
    policy: p.values.policy as string | undefined,
    detectors: (p.values.detector as string[] | undefined) ?? [],
    paranoid: p.values.paranoid === true,
  });
  const findings = res.replayer.findings;
  const name = res.policy.name;
  if (p.values.json === true) {
    io.stdout(
      JSON.stringify(checkJson(file, name, findings, res.replayer.steps, res.ending)) + "\n",
    );
  } else {
    io.stdout(checkText(file, name, findings, res.replayer.steps));
  }
  if (res.cutOff) io.stderr(`p2mtrace: ${res.cutOff.message}\n`);
  if (findings.length > 0) return EXIT.found;
  return res.cutOff ? EXIT.cutOff : EXIT.ok;
}

/** The `check` command. */
export const checkCommand: CommandEntry = {
  summary: "replay a trace and report each finding once, with evidence (exit 1 when found)",
  help: HELP,
  run,
};
