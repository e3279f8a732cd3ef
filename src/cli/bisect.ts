/**
 * `p2mtrace bisect TRACE PREDICATE [options]`, `p2mtrace bisect run TRACE [options] -- CMD
 * [ARGS...]` and `p2mtrace bisect replay LOG`.
 *
 * @module
 */

import { escapeText } from "../report/text.ts";
import { EXIT, InputError, UsageError } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { inputReason } from "../trace/lines.ts";
import { Timeline } from "../replay/timeline.ts";
import {
  balloonIdentityPredicate,
  type BisectPredicate,
  detectorPredicate,
  PFN_CLASSES,
  type PfnClass,
  pfnIsPredicate,
  returnsZeroPredicate,
} from "../bisect/predicate.ts";
import { bisectScan } from "../bisect/scan.ts";
import { BisectMarkError, BisectSearch, testsLeft } from "../bisect/search.ts";
import { BisectLogError, markLine, parseLog, startLine } from "../bisect/log.ts";
import {
  BISECT_ABORTED,
  commandProbe,
  runSearch,
  type SearchPoint,
  timelinePoints,
} from "../bisect/run.ts";
import {
  type BisectTerms,
  type BugReportContext,
  DEFAULT_BISECT_TERMS,
  runResultText,
  scanJson,
  scanText,
  termWord,
} from "../report/bisect_report.ts";
import { policySpec, stepHeading } from "../report/snapshot_report.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { commandLine, parsePfnArg, parseStepName } from "./step_arg.ts";

const HELP = `usage: p2mtrace bisect TRACE PREDICATE [options]
       p2mtrace bisect run TRACE [options] -- CMD [ARGS...]
       p2mtrace bisect replay LOG
       p2mtrace bisect log SESSION

Finds the first step of a trace (a path, a .jsonl.gz, or - for stdin) after which something is
wrong, and prints 'step N is the first bad step' with the event and its line, the state of the
affected PFNs before and after, why it is bad, whether it holds again later, and a paste-ready
block for a bug report.

The built-in predicates are scanned exactly, every step from 0 to the end (one replay; a
property of the P2M need not stay bad once it went bad):
  --detector ID             bad once detector ID has reported a finding (e.g. lookup-zero)
  --pfn X --returns-zero    bad when a PTE built for PFN X is 0 (its lookup is INVALID)
  --pfn X --is CLASS        bad when PFN X looks up CLASS: identity, invalid, mapped, foreign
  --balloon-identity        bad when a ballooned or extra-memory PFN looks up identity

'bisect run' binary-searches with an external command, as 'git bisect run' does: the command
gets the snapshot of each probed step as a JSON file (path in $P2MTRACE_SNAPSHOT; also on its
standard input; $P2MTRACE_STEP, $P2MTRACE_TRACE, $P2MTRACE_POLICY are set) and exits 0 for
good, 1-127 for bad, 125 to skip the step; 128 and above abort. Both endpoints are tested
first. Its output is a bisect log: 'bisect replay LOG' reads it back (edit it to drop a
wrong mark); 'bisect log SESSION' keeps only its log lines. It needs --allow-run and
--allow-write (the temporary snapshot file).

options:
  --policy P          kernel behaviour, as for replay ('--policy list' lists them)
  --term-good WORD    call good steps WORD in messages (quoted), e.g. --term-good fixed
  --term-bad WORD     call bad steps WORD, e.g. --term-bad broken
  --json              (scan) one JSON object (see docs/bisect.md)
  --good STEP         (run) the good endpoint (default 0)
  --bad STEP          (run) the bad endpoint (default end)
  --timeout SECONDS   (run) kill a command still running after SECONDS (with everything it
                      started: its process group) and mark that step skip

exit: 0 a first bad step was found (or, for run, the candidates it could be); 1 no bad step;
2 bisect run stopped (the command aborted, or an endpoint could not be tested or was good
where it should be bad); 3 the recording was cut off (the steps before the truncated line
were used); 64 usage (a command that is not executable included); 65 malformed trace or log;
66 unreadable file. SIGINT/SIGTERM kill the command's process group, remove the snapshot file
and exit 130/143.
`;

function termsOf(values: Record<string, unknown>): BisectTerms {
  const good = (values["term-good"] as string | undefined) ?? DEFAULT_BISECT_TERMS.good;
  const bad = (values["term-bad"] as string | undefined) ?? DEFAULT_BISECT_TERMS.bad;
  for (const [flag, w] of [["--term-good", good], ["--term-bad", bad]]) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(w)) {
      throw new UsageError(`bisect: ${flag} takes a word (letters, digits, - and _), got '${w}'`);
    }
  }
  if (good === bad) throw new UsageError("bisect: --term-good and --term-bad must differ");
  return { good, bad };
}

function predicateOf(values: Record<string, unknown>): BisectPredicate {
  const detector = values.detector as string | undefined;
  const pfnArg = values.pfn as string | undefined;
  const zero = values["returns-zero"] === true;
  const is = values.is as string | undefined;
  const balloon = values["balloon-identity"] === true;
  const forms = [detector !== undefined, pfnArg !== undefined, balloon].filter((x) => x).length;
  if (forms !== 1) {
    throw new UsageError(
      "bisect: give one predicate: --detector ID, --pfn X --returns-zero, --pfn X --is CLASS, " +
        "or --balloon-identity (or 'bisect run' with a command)",
    );
  }
  if (pfnArg === undefined && (zero || is !== undefined)) {
    throw new UsageError("bisect: --returns-zero and --is need --pfn X");
  }
  if (detector !== undefined) return detectorPredicate(detector);
  if (balloon) return balloonIdentityPredicate();
  const pfn = parsePfnArg("bisect", "--pfn", pfnArg!);
  if (zero === (is !== undefined)) {
    throw new UsageError("bisect: --pfn X takes exactly one of --returns-zero or --is CLASS");
  }
  if (zero) return returnsZeroPredicate(pfn);
  if (!(PFN_CLASSES as readonly string[]).includes(is!)) {
    throw new UsageError(`bisect: --is takes ${PFN_CLASSES.join(", ")}, got '${is}'`);
  }
  return pfnIsPredicate(pfn, is as PfnClass);
}

/** Opens a trace once, hashing its bytes as they are read (a FIFO or stdin is read once). */
async function openHashed(
  file: string,
  io: Io,
): Promise<{ reader: TraceReader; sha256: () => Promise<string> }> {
  const reader = await TraceReader.open(file, io.stdin);
  return { reader, sha256: () => reader.sha256() };
}

async function scan(args: string[], io: Io): Promise<number> {
  const p = parseArgs("bisect", args, {
    policy: { type: "string" },
    detector: { type: "string" },
    pfn: { type: "string" },
    "returns-zero": { type: "boolean" },
    is: { type: "string" },
    "balloon-identity": { type: "boolean" },
    "term-good": { type: "string" },
    "term-bad": { type: "string" },
    json: { type: "boolean" },
  });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const [file] = operands("bisect", p.positionals, ["TRACE"]);
  const terms = termsOf(p.values);
  const predicate = predicateOf(p.values);
  const { reader, sha256 } = await openHashed(file, io);
  const result = await bisectScan(reader, predicate, {
    policy: p.values.policy as string | undefined,
  });
  const context: BugReportContext = {
    command: commandLine(["bisect", ...args]),
    trace: file,
    sha256: await sha256(),
    header: result.header,
    policy: result.policy,
    policySource: result.policySource,
    predicate: `${predicate.spec} (${predicate.meaning})`,
    events: result.runs[result.runs.length - 1].to.index,
    ending: result.ending,
    terms,
  };
  const input = { result, predicate, context };
  io.stdout(p.values.json === true ? JSON.stringify(scanJson(input)) + "\n" : scanText(input));
  if (result.cutOff) {
    io.stderr(`p2mtrace: ${result.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return result.firstBad ? EXIT.ok : EXIT.found;
}

/** Longest `--timeout` accepted: a day. */
const MAX_TIMEOUT_SECONDS = 86_400;

function timeoutOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(n > 0 && n <= MAX_TIMEOUT_SECONDS)) {
    throw new UsageError(
      `bisect run: --timeout takes seconds (more than 0, at most ${MAX_TIMEOUT_SECONDS}), ` +
        `got '${text}'`,
    );
  }
  return n;
}

function position(points: readonly SearchPoint[], index: number): number {
  return index - points[0].point.index;
}

async function runCommand(args: string[], io: Io): Promise<number> {
  const dash = args.indexOf("--");
  if (dash < 0 || dash === args.length - 1) {
    throw new UsageError(
      "bisect run: expected TRACE [options] -- CMD [ARGS...] (the command after '--')",
    );
  }
  const own = args.slice(0, dash);
  const [cmd, ...cmdArgs] = args.slice(dash + 1);
  const p = parseArgs("bisect run", own, {
    policy: { type: "string" },
    good: { type: "string" },
    bad: { type: "string" },
    "term-good": { type: "string" },
    "term-bad": { type: "string" },
    timeout: { type: "string" },
  });
  const [file] = operands("bisect run", p.positionals, ["TRACE"]);
  const timeout = timeoutOf(p.values.timeout as string | undefined);
  const terms = termsOf(p.values);
  const goodName = typeof p.values.good === "string"
    ? parseStepName("bisect run", "--good", p.values.good)
    : 0;
  const badName = typeof p.values.bad === "string"
    ? parseStepName("bisect run", "--bad", p.values.bad)
    : "end";
  const { reader, sha256 } = await openHashed(file, io);
  const t = await Timeline.build(reader, {
    policy: p.values.policy as string | undefined,
    findings: false,
  });
  const digest = await sha256();
  const points = timelinePoints(t);
  if (points.length < 2) {
    throw new UsageError(
      `bisect run: ${escapeText(file)} has no step after step 0: nothing to bisect`,
    );
  }
  const good = position(points, t.resolve(goodName).index);
  const bad = position(points, t.resolve(badName).index);
  if (!(good < bad)) {
    throw new UsageError(
      `bisect run: the ${termWord(terms, "good")} endpoint (step ${points[good].point.step}) ` +
        `must come before the ${termWord(terms, "bad")} one (step ${points[bad].point.step})`,
    );
  }
  const emit = (line: string) => io.stdout(line + "\n");
  const last = points[points.length - 1].point.step;
  emit(
    `p2mtrace bisect run on ${escapeText(file)}: ${points.length} steps (0 to ${last}) under ` +
      `${policySpec(t.policy)} (${t.policySource})`,
  );
  const quoted = commandLine([cmd, ...cmdArgs]).replace(/^p2mtrace /, "");
  emit(`command: ${quoted}`);
  emit(startLine({
    trace: file,
    policy: policySpec(t.policy),
    sha256: digest,
    termGood: terms.good === DEFAULT_BISECT_TERMS.good ? undefined : terms.good,
    termBad: terms.bad === DEFAULT_BISECT_TERMS.bad ? undefined : terms.bad,
  }));
  const { outcome } = await runSearch({
    points,
    good,
    bad,
    terms,
    emit,
    probe: commandProbe(t, points, { cmd, args: cmdArgs }, (text) => io.stderr(text), timeout),
  });
  const found = outcome.kind === "found" ? outcome.position : undefined;
  io.stdout(runResultText({
    outcome,
    points,
    terms,
    tables: found !== undefined
      ? {
        before: found > 0 ? t.stateAt(points[found - 1].point.index).p2m : undefined,
        after: t.stateAt(points[found].point.index).p2m,
      }
      : undefined,
    context: {
      command: commandLine(["bisect", "run", ...args]),
      trace: file,
      sha256: digest,
      header: t.header,
      policy: t.policy,
      policySource: t.policySource,
      predicate: `the command ${quoted} (0 ${terms.good}, 1-127 ${terms.bad}, 125 skip)`,
      events: t.events,
      ending: t.ending,
      terms,
    },
  }));
  if (t.cutOff) {
    io.stderr(`p2mtrace: ${t.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return outcome.kind === "no-bad"
    ? EXIT.found
    : outcome.kind === "aborted"
    ? BISECT_ABORTED
    : EXIT.ok;
}

async function readText(path: string, io: Io): Promise<string> {
  if (path === "-") return await new Response(io.stdin).text();
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new InputError(path, inputReason(e));
  }
}

async function replay(args: string[], io: Io): Promise<number> {
  const p = parseArgs("bisect replay", args, {});
  const [logFile] = operands("bisect replay", p.positionals, ["LOG"]);
  const log = parseLog(logFile, await readText(logFile, io));
  const s = log.start;
  if (s.trace === "-" && logFile === "-") {
    throw new UsageError("bisect replay: the log and its trace cannot both be standard input");
  }
  const terms: BisectTerms = { good: s.termGood ?? "good", bad: s.termBad ?? "bad" };
  const { reader, sha256 } = await openHashed(s.trace, io);
  const t = await Timeline.build(reader, { policy: s.policy, findings: false });
  const digest = await sha256();
  if (s.sha256 !== undefined && s.sha256 !== digest) {
    throw new BisectLogError(
      logFile,
      1,
      `the trace ${escapeText(s.trace)} has sha256 ${digest}, the log was made on ${s.sha256}: ` +
        `the trace changed since, so its marks may not apply`,
    );
  }
  const points = timelinePoints(t);
  const emit = (line: string) => io.stdout(line + "\n");
  emit(
    `replaying ${escapeText(logFile)}: ${log.marks.length} mark(s) on ${
      escapeText(s.trace)
    } under ${policySpec(t.policy)}`,
  );
  emit(startLine({ ...s, policy: policySpec(t.policy), sha256: digest }));
  const search = new BisectSearch(points.length);
  for (const m of log.marks) {
    let pos: number;
    try {
      pos = position(points, t.resolve(m.step).index);
    } catch (e) {
      if (!(e instanceof UsageError)) throw e;
      throw new BisectLogError(logFile, m.line, e.message);
    }
    try {
      search.mark(pos, m.mark);
    } catch (e) {
      if (!(e instanceof BisectMarkError)) throw e;
      throw new BisectLogError(logFile, m.line, `'${markLine(m.mark, m.step)}': ${e.message}`);
    }
    const word = m.mark === "skip" ? "skip" : termWord(terms, m.mark);
    emit(`${stepHeading(points[pos].point, points[pos].event)}: ${word}`);
    emit(markLine(m.mark, points[pos].point.step));
  }
  const r = search.result();
  if (r.kind === "open") {
    const next = points[r.next];
    emit(
      `${r.left} step(s) left to test (about ${testsLeft(r.left)} more run(s)); ` +
        `next: ${stepHeading(next.point, next.event)}`,
    );
    return EXIT.ok;
  }
  if (r.kind === "needs") {
    emit(`no ${termWord(terms, r.mark)} mark yet: the log does not bound the search`);
    return EXIT.ok;
  }
  const found = r.kind === "found" ? r.position : undefined;
  io.stdout(runResultText({
    outcome: r.kind === "found"
      ? { kind: "found", position: r.position }
      : { kind: "ambiguous", positions: r.positions },
    points,
    terms,
    tables: found !== undefined
      ? {
        before: found > 0 ? t.stateAt(points[found - 1].point.index).p2m : undefined,
        after: t.stateAt(points[found].point.index).p2m,
      }
      : undefined,
  }));
  return EXIT.ok;
}

/** `bisect log FILE`: the log lines of a saved session, normalized (as `git bisect log`). */
async function logOnly(args: string[], io: Io): Promise<number> {
  const p = parseArgs("bisect log", args, {});
  const [file] = operands("bisect log", p.positionals, ["FILE"]);
  const log = parseLog(file, await readText(file, io));
  io.stdout(
    [startLine(log.start), ...log.marks.map((m) => markLine(m.mark, m.step))].join("\n") + "\n",
  );
  return EXIT.ok;
}

async function run(args: string[], io: Io): Promise<number> {
  if (args[0] === "run") return await runCommand(args.slice(1), io);
  if (args[0] === "replay") return await replay(args.slice(1), io);
  if (args[0] === "log") return await logOnly(args.slice(1), io);
  return await scan(args, io);
}

/** The `bisect` command (scan, `run` and `replay`). */
export const bisectCommand: CommandModule = {
  help: HELP,
  run,
};
