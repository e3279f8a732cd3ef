/**
 * `p2mtrace minimize TRACE [--detector ID] [--policy P] [--strict-minimal] [-o OUT] [--force]`
 *
 * @module
 */

import { escapeText } from "../report/text.ts";
import { EXIT } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { holdIfReadOnce } from "../trace/lines.ts";
import { endLine, eventLine } from "../trace/write.ts";
import { choosePolicy, selectDetectors } from "../replay/replayer.ts";
import { runTrace } from "../replay/run.ts";
import type { FindingSignature } from "../share/minimize_meaning.ts";
import { MINIMIZE_LIMITS, minimizeMeaning, minimizeStrict } from "../share/minimize_run.ts";
import { sha256File } from "../trace/sha.ts";
import { resolvePolicy } from "../policy/policy.ts";
import { POLICIES } from "../policy/policies.ts";
import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { checkOutput, writeOutput } from "./output.ts";

const HELP = `usage: p2mtrace minimize TRACE [options]

Shrinks TRACE for a bug report while keeping what it means: the result keeps the events the
finding's evidence rests on (the E820 map, the boot pass, the finding's device) and only
those other events without which the finding's signature (detector, PFN range, event kind)
or any policy's verdict in 'compare' would change; delta debugging drops the rest (1-minimal:
no single dropped-able event is left). Kept events are copied verbatim (original seq, unknown
fields and all); the header's description says it was minimized from the original's sha256
and what was kept, and a "minimized" object records the same.

options:
  --detector ID     the finding to keep (default: the first finding of a replay)
  --policy P        kernel behaviour (as for replay)
  --strict-minimal  keep only what makes the detector fire at all (no map, boot pass or
                    device unless needed; other policies' verdicts may change)
  -o, --output F    write the trace to F (default: stdout); an existing F needs --force
  --force           overwrite F

exit: 0 written, 1 the detector never fires (nothing to minimize), 3 cut off, 64 usage,
65 malformed trace, 66 unreadable, 74 cannot write.
`;

function rangeText(sig: FindingSignature): string {
  return sig.pfn === undefined
    ? "no PFN range"
    : `PFNs 0x${sig.pfn.toString(16)}-0x${((sig.endPfn ?? sig.pfn + 1) - 1).toString(16)}`;
}

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("minimize", args, {
    detector: { type: "string" },
    policy: { type: "string" },
    "strict-minimal": { type: "boolean" },
    output: { type: "string", short: "o" },
    force: { type: "boolean" },
  });
  const [file] = operands("minimize", p.positionals, ["TRACE"]);
  // stdin, a FIFO or <(...) can be read once only: keep its bytes (bounded) and read those again.
  const held = await holdIfReadOnce(file, io.stdin);
  const open = () => TraceReader.open(file, io.stdin, held ? { held } : {});
  const output = {
    output: p.values.output as string | undefined,
    force: p.values.force === true,
    inputs: [file],
  };
  await checkOutput(output);
  let detector = p.values.detector as string | undefined;
  if (detector !== undefined) selectDetectors([detector]);
  if (p.values.policy !== undefined) resolvePolicy(POLICIES, p.values.policy as string);
  if (detector === undefined) {
    const res = await runTrace(await open(), {
      policy: p.values.policy as string | undefined,
    });
    detector = res.replayer.findings[0]?.detector;
    if (detector === undefined) {
      io.stderr(
        `${TOOL_NAME}: minimize: ${
          escapeText(file)
        } has no finding under ${res.policy.name}: nothing to minimize\n`,
      );
      return EXIT.found;
    }
  }
  const reader = await open();
  const header = await reader.header();
  const { policy } = choosePolicy(header, p.values.policy as string | undefined);
  const sha256 = held ? await held.sha256() : await sha256File(file);
  const strict = p.values["strict-minimal"] === true;
  // P2MTRACE_DEBUG=1: each pass's figures on stderr, as it ends.
  const note = io.env("P2MTRACE_DEBUG") === "1"
    ? (what: string) => io.stderr(`${TOOL_NAME}: minimize: ${what}\n`)
    : undefined;
  const r = strict
    ? await minimizeStrict(open, file, policy, detector, MINIMIZE_LIMITS, note)
    : await minimizeMeaning(open, file, policy, detector, MINIMIZE_LIMITS, note);
  if (!r) return neverFires(io, detector, file, policy.name);
  const { events, total, tests } = r;
  const what = strict
    ? `only what makes ${detector} fire under ${policy.name} (--strict-minimal: other ` +
      "policies' verdicts may differ from the original's)"
    : `${r.kept}, and what keeps ${detector} at ${rangeText(r.signature)} ` +
      `(${r.signature.kind}) under ${policy.name} and every policy's verdict as in the original`;
  const description = `minimized from ${sha256} (${file}): kept ${events.length} of ${total} ` +
    `event(s): ${what}. Original description: ${header.description}`;
  const h = {
    ...header.raw,
    description,
    minimized: {
      from: file,
      sha256,
      by: `${TOOL_NAME} ${TOOL_VERSION}`,
      policy: policy.name,
      detector,
      strict,
      events_in: total,
      events_kept: events.length,
    },
  };
  const text = [JSON.stringify(h), ...events.map(eventLine), endLine(events.length)].join("\n") +
    "\n";
  await writeOutput(io, text, output);
  io.stderr(
    `${TOOL_NAME}: minimized ${
      escapeText(file)
    } from ${total} event(s) to ${events.length} in ${tests} ` +
      `replay(s): ${what}\n`,
  );
  return EXIT.ok;
}

function neverFires(io: Io, detector: string, file: string, policy: string): number {
  io.stderr(
    `${TOOL_NAME}: minimize: ${detector} never fires in ${escapeText(file)} under ${policy}\n`,
  );
  return EXIT.found;
}

/** The `minimize` command. */
export const minimizeCommand: CommandModule = {
  help: HELP,
  run,
};
