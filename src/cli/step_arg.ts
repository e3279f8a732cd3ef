/**
 * Command-line values of the time-travel commands: step names (`0`, `N`, `end`, as `replay
 * --at` takes them plus `end`), PFNs and byte addresses, and shell quoting for the exact
 * command a bug report repeats.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { ADDR_LIMIT, FRAME_LIMIT, parseUint } from "../trace/hex.ts";
import type { StepName } from "../replay/steps.ts";
import { parseStep } from "./replay.ts";

/**
 * Parses a step name: `end`, or a step number as `replay --at` takes it.
 *
 * @example
 * ```ts
 * import { parseStepName } from "./step_arg.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseStepName("snapshot", "--at", "end"), "end");
 * assert.equal(parseStepName("snapshot", "--at", "16"), 16);
 * assert.throws(() => parseStepName("snapshot", "--at", "-1"), /takes a step number/);
 * ```
 */
export function parseStepName(command: string, flag: string, v: string): StepName {
  if (v === "end") return "end";
  try {
    return parseStep(command, flag, v);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    throw new UsageError(
      `${command}: ${flag} takes a step number (a non-negative integer) or 'end', got '${v}'`,
    );
  }
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
 * Quotes one argument for a POSIX shell when it needs it.
 *
 * @example
 * ```ts
 * import { shellQuote } from "./step_arg.ts";
 * import assert from "node:assert/strict";
 * assert.equal(shellQuote("traces/a.jsonl"), "traces/a.jsonl");
 * assert.equal(shellQuote("it's"), "'it'\\''s'");
 * assert.equal(shellQuote(""), "''");
 * ```
 */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
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
