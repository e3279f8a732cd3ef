/**
 * `p2mtrace check TRACE [--policy P] [--detector ID]... [--json] [--bisect-exit]`
 *
 * @module
 */

import { CutOffError, EXIT, InputError, TraceError, UsageError } from "../errors.ts";
import { openEvents } from "../trace/threaded_read.ts";
import { runTrace } from "../replay/run.ts";
import { checkJson, checkText } from "../report/check_report.ts";
import { runVerdict } from "../detect/verdict.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs, parseThreads } from "./args.ts";
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
  --json           {"trace","policy","events","ending","clean","findings":[...]}, with
                   "verdict","cannot_judge":[...],"missing":[...] when findings cannot be
                   judged and "boot_missing":[...] when the boot pass did not run
  --bisect-exit    exit 125 ("cannot test") instead of 65/66/4/3 when the trace is unusable
                   or cannot be judged, so that 'git bisect run p2mtrace check --bisect-exit
                   ...' skips that kernel
  --paranoid       check every model invariant after each step (slow; exit 70 names the step)
  --threads N      1: parse the trace on this thread; 2: on a second thread while this one
                   replays (default: 2 for a file of 4 MiB or more, else 1; same output)
  --jobs N         with several traces or a directory: check N traces at a time (default: the
                   number of cores)

Several traces, or a directory (every *.jsonl and *.jsonl.gz under it, sorted by path): one line
per trace, in that order: 'clean', 'found' (with the count and the first finding), or why it could
not be checked ('cut-off', 'malformed', 'unreadable', ...); --json prints the single-trace object
per line, with "exit". A total goes to stderr. Exit 1 when any trace has findings, else the exit
of the first trace that could not be checked, else 0. --bisect-exit takes one trace.

Findings whose detector rests on the boot pass (xen_memory_setup) are not judged when the
trace lacks what the pass needs (no raw E820 map, no nr_pages, no memory_setup event yet):
they are listed as "cannot judge (<what is missing>)", never as errors. Findings that rest
on estimated facts (the header's estimated, reconstructed, guest_confidence) say "lowered
confidence" and why. See docs/verdicts.md.

exit: 0 clean, 1 findings, 4 cannot judge (findings cannot be judged, or nothing was found
on a P2M the boot pass never built: finding nothing there proves nothing), 3 the recording
was cut off and nothing was found before the cut, 65 malformed trace, 66 unreadable file,
64 usage, 70 internal error; with --bisect-exit 125 replaces 3, 4, 65, 66, and 128 (git
bisect run stops) replaces 64 and 70 found after the options.

As a git bisect predicate (bisecting kernels): at each revision boot the guest, record its boot
log, then
  p2mtrace import dmesg boot.log -o t.jsonl --force &&
  p2mtrace check t.jsonl --bisect-exit --detector lookup-zero
exits 0 (good), 1 (bad) or 125 (skip: the log could not be turned into a usable trace, or
it lacks what a verdict needs, such as the E820 map or nr_pages).
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("check", args, {
    policy: { type: "string" },
    detector: { type: "string", multiple: true },
    json: { type: "boolean" },
    "bisect-exit": { type: "boolean" },
    paranoid: { type: "boolean" },
    threads: { type: "string" },
    jobs: { type: "string" },
  });
  const bisect = p.values["bisect-exit"] === true;
  if (await isBatch(p.positionals)) {
    if (bisect) throw new UsageError("check: --bisect-exit takes one TRACE, not several");
    return await checkMany(p, run, io);
  }
  const [file] = operands("check", p.positionals, ["TRACE"]);
  const threads = parseThreads("check", p.values.threads as string | undefined);
  try {
    const reader = await openEvents(file, io.stdin, { threads });
    const res = await runTrace(reader, {
      policy: p.values.policy as string | undefined,
      detectors: (p.values.detector as string[] | undefined) ?? [],
      paranoid: p.values.paranoid === true,
    });
    const name = res.policy.name;
    const basis = res.replayer.basis();
    if (p.values.json === true) {
      io.stdout(
        JSON.stringify(checkJson(file, name, basis, res.replayer.steps, res.ending)) + "\n",
      );
    } else {
      io.stdout(checkText(file, name, basis, res.replayer.steps));
    }
    const verdict = runVerdict(basis);
    if (verdict === "bad" || verdict === "warn") {
      if (res.cutOff) io.stderr(`p2mtrace: ${res.cutOff.message}\n`);
      return EXIT.found;
    }
    // A recording cut before its boot pass is cut off (3) first: the pass lacks what the cut
    // removed. Findings that cannot be judged, or an unknown guest, keep 4.
    const onlyCut = res.cutOff !== undefined && basis.unjudged.length === 0 &&
      basis.guestGaps.length === 0;
    if (verdict === "cannot-judge" && !onlyCut) {
      if (res.cutOff) io.stderr(`p2mtrace: ${res.cutOff.message}\n`);
      if (!bisect) return EXIT.cannotJudge;
      io.stderr(`p2mtrace: cannot judge this trace (cannot test: exit 125)\n`);
      return EXIT.cannotTest;
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
export const checkCommand: CommandModule = {
  help: HELP,
  run,
};
