/**
 * `p2mtrace lookup TRACE PFN|--addr ADDR [--at STEP] [--history] [--json] [--policy P]`
 *
 * @module
 */

import { EXIT, UsageError } from "../errors.ts";
import { PfnHistory } from "../replay/blame.ts";
import { type LookupInput, lookupJson, lookupText } from "../report/lookup_report.ts";
import { policyListText } from "../report/policy_list.ts";
import type { CommandModule } from "./commands.ts";
import { parseArgs } from "./args.ts";
import type { Io } from "./io.ts";
import { parseAddrArg, parsePfnArg, parseStepName } from "./step_arg.ts";
import { cutOffMessage, withIndex } from "./cached_trace.ts";
import { initialState } from "../model/state.ts";

const HELP = `usage: p2mtrace lookup TRACE PFN [options]
       p2mtrace lookup TRACE --addr ADDR [options]

Looks one PFN up at one step of a trace (a path, a .jsonl.gz, or - for stdin) and says where
the answer comes from: the raw entry (get_phys_to_machine), pfn_to_mfn, the PTE a mapping
gets (pfn_pte, and with _PAGE_IOMAP), the bus address (phys_to_machine), which structure
answered (a private leaf, a shared identity or missing leaf, the shared mid-missing page,
outside the tree, ...), what the PFN is (E820 entry, balloon, device BAR, bridge window), and
the event that last changed it.

PFN is a frame number ("0x..." hex or decimal); --addr takes a byte address instead.

options:
  --addr ADDR       look up the page holding this byte address (the bus address keeps the
                    offset)
  --at STEP         0 (before the first event), N (after every event with seq <= N), end, or
                    -N (N events before the end); past the end is an error, as in every command
                    (default: end)
  --history         also list every step that changed this PFN, with before and after
  --json            one JSON object (see docs/bisect.md)
  --policy P        kernel behaviour, as for replay ('--policy list' lists them)
  --no-cache        replay from step 0: neither use nor build the trace's index (see
                    'p2mtrace help index'; a trace file of 8 MiB or more gets one on first use)

exit: 0 printed, 3 the recording was cut off before STEP, 64 usage (also a STEP past the last
event), 65 malformed trace, 66 unreadable file.
`;

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("lookup", args, {
    addr: { type: "string" },
    at: { type: "string" },
    history: { type: "boolean" },
    json: { type: "boolean" },
    policy: { type: "string" },
    "no-cache": { type: "boolean" },
  });
  if (p.values.policy === "list") {
    io.stdout(policyListText());
    return EXIT.ok;
  }
  const addrArg = p.values.addr as string | undefined;
  const want = addrArg === undefined ? 2 : 1;
  if (p.positionals.length !== want) {
    throw new UsageError(
      `lookup: expected ${
        want === 2 ? "TRACE PFN (or TRACE --addr ADDR)" : "TRACE with --addr ADDR, and no PFN"
      }, got ${p.positionals.length} operand(s) (see 'p2mtrace help lookup')`,
    );
  }
  const file = p.positionals[0];
  let pfn: number, offset = 0;
  if (addrArg !== undefined) {
    const addr = parseAddrArg("lookup", "--addr", addrArg);
    pfn = Math.floor(addr / 4096);
    offset = addr % 4096;
  } else pfn = parsePfnArg("lookup", "PFN", p.positionals[1]);
  const named = typeof p.values.at === "string"
    ? parseStepName("lookup", "--at", p.values.at)
    : "end";
  const policy = p.values.policy as string | undefined;
  const showHistory = p.values.history === true;
  const common = { trace: file, pfn, offset, byAddr: addrArg !== undefined, showHistory };
  const print = (input: LookupInput) =>
    p.values.json === true ? JSON.stringify(lookupJson(input)) + "\n" : lookupText(input);
  // The answer is printed into a string inside each way: a state from the index reads its
  // P2M leaves (each checked) only as the report needs them, and a damaged one must still
  // fall back to the replay.
  const { text, cut } = await withIndex(
    file,
    policy,
    p.values["no-cache"] === true,
    io,
    async (c) => {
      const point = await c.index.resolve(named);
      const { state, event, changes } = await c.index.pfnHistory(pfn, point.index, showHistory);
      const history = new PfnHistory(pfn);
      history.changes.push(...changes);
      const input: LookupInput = {
        ...common,
        point,
        event,
        state,
        initial: initialState(c.header.guest, c.policy).p2m.entry(pfn),
        policySource: c.policySource,
        history,
      };
      return { text: print(input), cut: cutOffMessage(c, file, point.index) };
    },
    async () => {
      const { passFromStart } = await import("./from_start.ts");
      const { names: [at], pass } = await passFromStart(file, io.stdin, [named], policy);
      const initial = pass.state().p2m.entry(pfn);
      const history = new PfnHistory(pfn);
      const point = await pass.walkTo(at, (rec) => history.add(rec));
      const input: LookupInput = {
        ...common,
        point,
        event: pass.lastEvent,
        state: pass.state(),
        initial,
        policySource: pass.policySource,
        history,
      };
      return { text: print(input), cut: pass.cutOff?.message };
    },
  );
  io.stdout(text);
  if (cut !== undefined) {
    io.stderr(`p2mtrace: ${cut}\n`);
    return EXIT.cutOff;
  }
  return EXIT.ok;
}

/** The `lookup` command. */
export const lookupCommand: CommandModule = {
  help: HELP,
  run,
};
