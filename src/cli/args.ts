/**
 * Argument parsing on top of `node:util` parseArgs, with mistakes reported as
 * {@link UsageError} (exit 64) naming the flag.
 *
 * @module
 */

import { parseArgs as nodeParseArgs } from "node:util";
import { UsageError } from "../errors.ts";

/** Option spec: `string` or `boolean`, optionally repeatable, with a one-letter alias. */
export interface OptionSpec {
  /** Value type. */
  type: "string" | "boolean";
  /** One-letter alias. */
  short?: string;
  /** May be given more than once (values collected in order). */
  multiple?: boolean;
}

/** Parsed arguments. */
export interface ParsedArgs {
  /** Option values by name. */
  values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  /** Operands in order. */
  positionals: string[];
}

/**
 * Parses `args` strictly: unknown flags and missing values are usage errors.
 *
 * @example
 * ```ts
 * import { parseArgs } from "./args.ts";
 * import assert from "node:assert/strict";
 * const p = parseArgs("replay", ["t.jsonl", "--quiet"], { quiet: { type: "boolean" } });
 * assert.deepEqual(p.positionals, ["t.jsonl"]);
 * assert.equal(p.values.quiet, true);
 * assert.throws(() => parseArgs("replay", ["--at", "5", "--at", "6"], { at: { type: "string" } }),
 *   /--at given more than once/);
 * const q = parseArgs("diff", ["t.jsonl", "-2", "--at", "-1"], { at: { type: "string" } });
 * assert.deepEqual([q.positionals, q.values.at], [["t.jsonl", "-2"], "-1"]);
 * ```
 */
export function parseArgs(
  command: string,
  args: string[],
  options: Record<string, OptionSpec>,
): ParsedArgs {
  // `-N` (a step N events before the end) is a value, never a flag: hide its dash from
  // node's parser, which would take it for a short option, and give it back afterwards.
  const NEG = "\u0000";
  const hidden = args.map((a) => /^-\d+$/.test(a) ? NEG + a : a);
  const shown = <T>(v: T): T =>
    (typeof v === "string" && v.startsWith(NEG)
      ? v.slice(1)
      : Array.isArray(v)
      ? v.map(shown)
      : v) as T;
  let r;
  try {
    r = nodeParseArgs({
      args: hidden,
      options,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/\. To specify.*$/s, "") : String(e);
    throw new UsageError(`${command}: ${msg} (see 'p2mtrace help ${command}')`);
  }
  // A single-valued flag given twice (`--at 5 --at 6`) is a mistake, not "the last one wins".
  const seen = new Set<string>();
  for (const t of r.tokens ?? []) {
    if (t.kind !== "option" || options[t.name]?.multiple) continue;
    if (seen.has(t.name)) {
      throw new UsageError(
        `${command}: --${t.name} given more than once (see 'p2mtrace help ${command}')`,
      );
    }
    seen.add(t.name);
  }
  const values = Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, shown(v)]));
  return { values: values as ParsedArgs["values"], positionals: r.positionals.map(shown) };
}

/**
 * Requires exactly `names.length` operands and returns them.
 *
 * @example
 * ```ts
 * import { operands } from "./args.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(operands("diff", ["t", "1", "2"], ["TRACE", "A", "B"]), ["t", "1", "2"]);
 * assert.throws(() => operands("diff", ["t"], ["TRACE", "A", "B"]), /expected TRACE A B/);
 * ```
 */
export function operands(command: string, positionals: string[], names: string[]): string[] {
  if (positionals.length !== names.length) {
    throw new UsageError(
      `${command}: expected ${names.join(" ")}, got ${positionals.length} operand(s) ` +
        `(see 'p2mtrace help ${command}')`,
    );
  }
  return positionals;
}

/**
 * `--threads N` of `replay` and `check`: 1 parses the trace on the main thread, 2 on a second
 * thread; absent (undefined) lets the reader choose by the trace's size.
 *
 * @example
 * ```ts
 * import { parseThreads } from "./args.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseThreads("check", "1"), 1);
 * assert.equal(parseThreads("check", undefined), undefined);
 * assert.throws(() => parseThreads("check", "3"), /--threads takes 1 \(parse on the main thread\) or 2/);
 * ```
 */
export function parseThreads(command: string, value: string | undefined): 1 | 2 | undefined {
  if (value === undefined) return undefined;
  if (value === "1" || value === "2") return Number(value) as 1 | 2;
  throw new UsageError(
    `${command}: --threads takes 1 (parse on the main thread) or 2 (parse on a second ` +
      `thread), got '${value}'`,
  );
}
