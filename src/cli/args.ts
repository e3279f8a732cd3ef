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
 * ```
 */
export function parseArgs(
  command: string,
  args: string[],
  options: Record<string, OptionSpec>,
): ParsedArgs {
  let r;
  try {
    r = nodeParseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
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
  return { values: r.values as ParsedArgs["values"], positionals: r.positionals };
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
