/**
 * `p2mtrace check TRACE [--policy P] [--detector ID]... [--json] [--bisect-exit]`
 *
 * @module
 */

import { CutOffError, EXIT, InputError, TraceError, UsageError } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { runTrace } from "../replay/run.ts";
import { checkJson, checkText } from "../report/check_report.ts";
import type { CommandEntry } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { reportError } from "./report_error.ts";
import { checkMany, isBatch } from "./batch.ts";

const HELP = `usage: p2mtrace check TRACE [options]
       p2mtrace check TRACE|DIR... [--jobs N] [options]

Replays TRACE and prints each finding once, with its evidence (the PFN range, the event that
caused it, the entries before and after, the structure that answered).

options:
  --policy P       kernel behaviour (as for replay; '--policy list' in replay lists them)
  --detector ID    run only this detector (repeatable; default: all)
  --json           {"trace","policy","events","ending","clean","findings":[...]}
  --bisect-exit    exit 125 ("cannot test") instead of 65/66/3 when the trace is unusable,
                   so that 'git bisect run p2mtrace check --bisect-exit ...' skips that kernel
  --paranoid       check every model invariant after each step (slow; exit 70 names the step)
  --jobs N         with several traces or a directory: check N traces at a time (default: the
                   number of cores)

Several traces, or a directory (every *.jsonl and *.jsonl.gz under it, sorted by path): one line
per trace, in that order: 'clean', 'found' (with the count and the first finding), or why it could
not be checked ('cut-off', 'malformed', 'unreadable', ...); --json prints the single-trace object
per line, with "exit". A total goes to stderr. Exit 1 when any trace has findings, else the exit
of the first trace that could not be checked, else 0. --bisect-exit takes one trace.

exit: 0 clean, 1 findings, 3 the recording was cut off and nothing was found before the cut,
65 malformed trace, 66 unreadable file, 64 usage, 70 internal error; with --bisect-exit 125
replaces 3, 65, 66, and 128 (git bisect run stops) replaces 64 and 70 found after the options.

As a git bisect predicate (bisecting kernels): at each revision boot the guest, record its boot
log, then
  p2mtrace import dmesg boot.log -o t.jsonl --force &&
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
  const bisect = p.values["bisect-exit"] === true;
  if (await isBatch(p.positionals)) {
    if (bisect) throw new UsageError("check: --bisect-exit takes one TRACE, not several");
    return await checkMany(p, run, io);
  }
  const [file] = operands("check", p.positionals, ["TRACE"]);
  try {
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
    if (findings.length > 0) {
      if (res.cutOff) io.stderr(`p2mtrace: ${res.cutOff.message}\n`);
      return EXIT.found;
    }
    if (res.cutOff) {
      io.stderr(`p2mtrace: ${res.cutOff.message}\n`);
      return bisect ? EXIT.cannotTest : EXIT.cutOff;
    }
    return EXIT.ok;
  } catch (e) {
    if (
      bisect && (e instanceof TraceError || e instanceof InputError || e instanceof CutOffError)
    ) {
      io.stderr(`p2mtrace: ${e.message} (cannot test: exit 125)\n`);
      return EXIT.cannotTest;
    }
    if (bisect) {
      // A usage mistake or a p2mtrace bug says nothing about the revision: stop git bisect
      // instead of letting it count the exit as "bad".
      const code = reportError(e, io);
      io.stderr(`p2mtrace: the check failed with exit ${code} (git bisect run stops: exit 128)\n`);
      return EXIT.abortBisect;
    }
    throw e;
  }
}

/** The `check` command. */
export const checkCommand: CommandEntry = {
  summary: "replay a trace and report each finding once, with evidence (exit 1 when found)",
  help: HELP,
  run,
};
