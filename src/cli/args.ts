/**
 * Argument parsing with mistakes reported as {@link UsageError} (exit 64) naming the flag:
 * the strict subset of `node:util` parseArgs the commands use (long options, `--name=value`,
 * a one-letter alias, `--` ending options), with its wording (`args_test.ts` checks both give
 * the same answers and messages). Written here because loading `node:util` cost every command
 * about 16 ms of startup.
 *
 * @module
 */

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
  const fail = (...lines: string[]): never => {
    const last = `${lines.at(-1)} (see 'p2mtrace help ${command}')`;
    const all = [...lines.slice(0, -1), last];
    throw new UsageError(`${command}: ${all[0]}`, ...all.slice(1));
  };
  const spec = (name: string) => Object.hasOwn(options, name) ? options[name] : undefined;
  const longOf = (short: string) =>
    Object.keys(options).find((name) => options[name].short === short) ?? short;
  // Options as [name, rawName, value, inline] in order, then positionals. `-N` (a step N
  // events before the end) is a value, never a flag.
  const tokens: [string, string, string | undefined, boolean][] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const next = () => i + 1 < args.length ? args[++i] : undefined;
    const string = (name: string) => spec(name)?.type === "string";
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=", 3);
      const name = a.slice(2, eq < 0 ? a.length : eq);
      if (eq >= 0) tokens.push([name, a.slice(0, eq), a.slice(eq + 1), true]);
      else tokens.push([name, a, string(name) ? next() : undefined, false]);
    } else if (a.length < 2 || a[0] !== "-" || /^-\d+$/.test(a)) positionals.push(a);
    else {
      // -abc: an option a letter; a string option's letter takes the rest (-ofile), or as
      // the last letter the next argument.
      for (let c = 1; c < a.length; c++) {
        const name = longOf(a[c]);
        if (!string(name)) tokens.push([name, `-${a[c]}`, undefined, false]);
        else if (c === a.length - 1) tokens.push([name, `-${a[c]}`, next(), false]);
        else {
          tokens.push([name, `-${a[c]}`, a.slice(c + 1), true]);
          break;
        }
      }
    }
  }
  const values: ParsedArgs["values"] = {};
  for (const [name, raw, value, inline] of tokens) {
    const o = spec(name);
    if (o === undefined) fail(`Unknown option '${raw}'`);
    const flag = `${o!.short ? `-${o!.short}, ` : ""}--${name}`;
    if (o!.type === "string" && value === undefined) {
      fail(`Option '${flag} <value>' argument missing`);
    }
    if (o!.type === "boolean" && value !== undefined) {
      fail(`Option '${flag}' does not take an argument`);
    }
    if (
      !inline && value !== undefined && value.length > 1 && value[0] === "-" &&
      !/^-\d+$/.test(value)
    ) {
      const example = raw.startsWith("--") ? `'${raw}=-XYZ'` : `'--${name}=-XYZ' or '${raw}-XYZ'`;
      fail(
        `Option '${raw}' argument is ambiguous.`,
        `Did you forget to specify the option argument for '${raw}'?`,
        `To specify an option argument starting with a dash use ${example}.`,
      );
    }
    const v = value ?? true;
    if (o!.multiple) ((values[name] ??= []) as (string | boolean)[]).push(v);
    else values[name] = v;
  }
  // A single-valued flag given twice (`--at 5 --at 6`) is a mistake, not "the last one wins".
  const seen = new Set<string>();
  for (const [name] of tokens) {
    if (options[name].multiple) continue;
    if (seen.has(name)) fail(`--${name} given more than once`);
    seen.add(name);
  }
  return { values, positionals };
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
