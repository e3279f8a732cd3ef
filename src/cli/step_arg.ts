/**
 * Command-line values of the time-travel commands: step names (`0`, `N`, `end`, `-N`, one
 * grammar for every command), PFNs and byte addresses, and shell quoting for the exact
 * command a bug report repeats.
 *
 * @module
 */

import { CutOffError, UsageError } from "../errors.ts";
import { ADDR_LIMIT, FRAME_LIMIT, parseUint } from "../trace/hex.ts";
import { StepIndex, type StepName } from "../replay/steps.ts";
import type { HeldInput } from "../trace/lines.ts";
import { shellQuote } from "../report/shell.ts";

/** The one message for a step name that is not one (every time-travel command uses it). */
const STEP_GRAMMAR = "a step: 0, N (after every event with seq <= N), end, or -N (N events " +
  "before the end)";

/**
 * Parses a step name, the same for `replay --at`, `snapshot --at`, `lookup --at`, `diff A B`
 * and `bisect run --good/--bad`: `0`, `N`, `end`, or `-N` (N events before the end).
 *
 * @example
 * ```ts
 * import { parseStepName } from "./step_arg.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseStepName("snapshot", "--at", "end"), "end");
 * assert.equal(parseStepName("snapshot", "--at", "16"), 16);
 * assert.equal(parseStepName("snapshot", "--at", "-1"), -1);
 * assert.throws(() => parseStepName("snapshot", "--at", "x"),
 *   /snapshot: --at takes a step: 0, N \(after every event with seq <= N\), end, or -N/);
 * ```
 */
export function parseStepName(command: string, flag: string, v: string): StepName {
  if (v === "end") return "end";
  const m = /^(-?)(\d+)$/.exec(v);
  const n = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(n) || (m[1] === "-" && n === 0)) {
    throw new UsageError(`${command}: ${flag} takes ${STEP_GRAMMAR}, got '${v}'`);
  }
  return m[1] === "-" ? -n : n;
}

/**
 * Turns `-N` step names into step numbers, which needs the trace's length: one extra read of
 * the trace (an input that can be read only once, stdin, a FIFO or `<(...)`, is held in memory,
 * bounded, so the command reads the same bytes again: open it with the returned `held`). Other
 * names pass through; the returned `stdin` is what the command reads next.
 *
 * @example
 * ```ts
 * import { resolveFromEnd } from "./step_arg.ts";
 * import assert from "node:assert/strict";
 * const r = await resolveFromEnd("traces/pcie-bar-above-e820.jsonl", new ReadableStream(), [-1, "end", 3]);
 * assert.deepEqual(r.names, [20, "end", 3]);
 * ```
 */
export async function resolveFromEnd(
  file: string,
  stdin: ReadableStream<Uint8Array>,
  names: StepName[],
): Promise<{ names: StepName[]; stdin: ReadableStream<Uint8Array>; held?: HeldInput }> {
  if (!names.some((n) => typeof n === "number" && n < 0)) return { names, stdin };
  // Loaded here: the commands that parse step names answer from an index without the reader.
  const { holdIfReadOnce } = await import("../trace/lines.ts");
  const { TraceReader } = await import("../trace/read.ts");
  const held = await holdIfReadOnce(file, stdin);
  const reader = await TraceReader.open(file, stdin, held ? { held } : {});
  await reader.header();
  const seqs: number[] = [];
  try {
    for await (const batch of reader.batches()) for (const e of batch) seqs.push(e.seq);
  } catch (e) {
    if (!(e instanceof CutOffError)) throw e; // the command itself reports the cut
  }
  const index = new StepIndex(seqs);
  const resolved = names.map((n) => typeof n === "number" && n < 0 ? index.resolve(n).step : n);
  return held ? { names: resolved, stdin, held } : { names: resolved, stdin };
}

function parseNumber(v: string, limit: number): number | undefined {
  if (/^0[xX][0-9a-fA-F]+$/.test(v)) return parseUint(v, limit);
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) && n < limit ? n : undefined;
  }
  return undefined;
}

/**
 * Parses a PFN: `0x...` hex or decimal, below 2^40.
 *
 * @example
 * ```ts
 * import { parsePfnArg } from "./step_arg.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parsePfnArg("lookup", "PFN", "0x3800000"), 0x3800000);
 * assert.equal(parsePfnArg("lookup", "PFN", "156"), 156);
 * assert.throws(() => parsePfnArg("lookup", "PFN", "0xzz"), /PFN takes a frame number/);
 * ```
 */
export function parsePfnArg(command: string, what: string, v: string): number {
  const n = parseNumber(v, FRAME_LIMIT);
  if (n === undefined) {
    throw new UsageError(
      `${command}: ${what} takes a frame number below 2^40 ("0x..." hex or decimal), got '${v}'`,
    );
  }
  return n;
}

/**
 * Parses a byte address: `0x...` hex or decimal, below 2^52.
 *
 * @example
 * ```ts
 * import { parseAddrArg } from "./step_arg.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseAddrArg("lookup", "--addr", "0x3800000010"), 0x3800000010);
 * ```
 */
export function parseAddrArg(command: string, what: string, v: string): number {
  const n = parseNumber(v, ADDR_LIMIT);
  if (n === undefined) {
    throw new UsageError(
      `${command}: ${what} takes a byte address below 2^52 ("0x..." hex or decimal), got '${v}'`,
    );
  }
  return n;
}

/**
 * A command line as a user would type it: `p2mtrace` and the quoted arguments.
 *
 * @example
 * ```ts
 * import { commandLine } from "./step_arg.ts";
 * import assert from "node:assert/strict";
 * assert.equal(commandLine(["bisect", "t.jsonl", "--term-bad", "no bus"]),
 *   "p2mtrace bisect t.jsonl --term-bad 'no bus'");
 * ```
 */
export function commandLine(argv: readonly string[]): string {
  return ["p2mtrace", ...argv].map(shellQuote).join(" ");
}
