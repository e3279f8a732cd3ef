/**
 * `p2mtrace map TRACE [--policy P | --compare P1,P2] [--at STEP] [--format html|svg|text]`
 *
 * @module
 */

import { EXIT, UsageError } from "../errors.ts";
import { TraceReader } from "../trace/read.ts";
import { type HeldInput, holdIfReadOnce } from "../trace/lines.ts";
import { collectMap, DEFAULT_MAX_FRAMES } from "../map/collect.ts";
import { layoutMap, renderSvg } from "../map/svg.ts";
import { renderText } from "../map/text.ts";
import { renderHtml } from "../map/html.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { checkOutput, writeOutput } from "./output.ts";
import { parseStepName, resolveFromEnd } from "./step_arg.ts";

const HELP = `usage: p2mtrace map TRACE [options]

Draws the guest's PFN space at a step of a trace (a path, a .jsonl.gz, or - for stdin): the
E820 map by type, host bridge windows, device BARs (0000:03:00.0 BAR 1), extra memory, the
balloon list, hot-added memory, and the P2M itself: each PFN's entry (mapped, identity,
INVALID, foreign) and the structure that answers it (a private leaf, the shared identity or
missing leaf, mid-missing, mid-identity, outside the tree, beyond the list), with the findings
where they are. The axis is piecewise: long uniform runs are compressed (marked with a
break), so a 4 KiB BAR and a 512 GiB tree fit one picture.

options:
  --format F        html (default): one self-contained page with the picture, a slider over
                    the steps (every step of a trace of up to ${DEFAULT_MAX_FRAMES} events; of a longer one,
                    every step that changed something, sampled down to ${DEFAULT_MAX_FRAMES}), exact PFNs and
                    addresses on hover, and each finding's evidence on click;
                    svg: the picture at STEP; text: the same lanes for a terminal or mail
  --policy P        kernel behaviour, as for replay ('--policy list' lists them)
  --compare P1,P2   stack several policies at the same step (repeatable or comma-separated)
  --at STEP         0, N (after every event with seq <= N) or end (default: end)
  --width N         text columns (default 72, at least 40)
  --ascii           text in ASCII instead of Unicode block characters
  -o, --output FILE write there instead of stdout; --force replaces an existing file

exit: 0 drawn, 3 the recording was cut off (the map ends at the last complete event), 64
usage (also a STEP past the last event), 65 malformed trace, 66 unreadable file, 74 the
output cannot be written.
`;

function policiesOf(values: Record<string, unknown>): (string | undefined)[] {
  const compare = (values.compare as string[] | undefined) ?? [];
  const policy = values.policy as string | undefined;
  if (compare.length && policy !== undefined) {
    throw new UsageError("map: give --policy or --compare, not both");
  }
  if (!compare.length) return [policy];
  const list = compare.flatMap((c) => c.split(",")).map((s) => s.trim()).filter((s) => s);
  if (!list.length) {
    throw new UsageError("map: --compare takes policy names, e.g. linux-3.12,linux-3.16");
  }
  return list;
}

async function readers(
  file: string,
  n: number,
  io: Io,
  held: HeldInput | undefined,
): Promise<TraceReader[]> {
  // Standard input, a FIFO or <(...) is read once (held, bounded); every policy replays the
  // same bytes.
  held ??= n > 1 ? await holdIfReadOnce(file, io.stdin) : undefined;
  const out: TraceReader[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await TraceReader.open(file, io.stdin, held ? { held } : {}));
  }
  return out;
}

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("map", args, {
    format: { type: "string" },
    policy: { type: "string" },
    compare: { type: "string", multiple: true },
    at: { type: "string" },
    width: { type: "string" },
    ascii: { type: "boolean" },
    output: { type: "string", short: "o" },
    force: { type: "boolean" },
  });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const [file] = operands("map", p.positionals, ["TRACE"]);
  const format = (p.values.format as string | undefined) ?? "html";
  if (format !== "html" && format !== "svg" && format !== "text") {
    throw new UsageError(`map: --format takes html, svg or text, got '${format}'`);
  }
  let width = 72;
  if (p.values.width !== undefined) {
    const w = String(p.values.width);
    width = /^\d+$/.test(w) ? Number(w) : NaN;
    if (!(width >= 40 && width <= 1000)) {
      throw new UsageError(`map: --width takes a number of columns from 40 to 1000, got '${w}'`);
    }
  }
  const named = typeof p.values.at === "string" ? parseStepName("map", "--at", p.values.at) : "end";
  const { names: [at], stdin, held } = await resolveFromEnd(file, io.stdin, [named]);
  const policies = policiesOf(p.values);
  const spec = {
    output: p.values.output as string | undefined,
    force: p.values.force === true,
    inputs: [file],
  };
  await checkOutput(spec);
  const rs = await readers(file, policies.length, { ...io, stdin }, held);
  const model = await collectMap(rs.map((reader, i) => ({ reader, policy: policies[i] })), { at });
  let text: string;
  if (format === "text") {
    text = renderText(model, model.initial, { width, ascii: p.values.ascii === true });
  } else {
    const pic = layoutMap(model);
    text = format === "svg" ? renderSvg(pic, model.initial, { standalone: true }) : renderHtml(pic);
  }
  await writeOutput(io, text, spec);
  if (model.cutOff) {
    io.stderr(`p2mtrace: ${model.cutOff.message}\n`);
    return EXIT.cutOff;
  }
  return EXIT.ok;
}

/** The `map` command. */
export const mapCommand: CommandModule = {
  help: HELP,
  run,
};
