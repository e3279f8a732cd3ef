// parseArgs against `node:util` parseArgs, which it replaces (that module cost every command
// ~16 ms to load): for argument lists drawn from flags, values, `-N` steps, `--`, `-o` forms
// and mistakes, both give the same values and operands, or the same usage message.
import fc from "fast-check";
import assert from "node:assert/strict";
import { parseArgs as nodeParseArgs } from "node:util";
import { type OptionSpec, parseArgs } from "./args.ts";

const OPTIONS: Record<string, OptionSpec> = {
  at: { type: "string" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
  detector: { type: "string", multiple: true },
  output: { type: "string", short: "o" },
  "no-cache": { type: "boolean" },
};

/** The previous implementation: node's parser, `-N` hidden from it, the same wording. */
function reference(command: string, args: string[]): unknown {
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
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/\. To specify.*$/s, "") : String(e);
    return `${command}: ${msg} (see 'p2mtrace help ${command}')`;
  }
  const seen = new Set<string>();
  for (const t of r.tokens ?? []) {
    if (t.kind !== "option" || OPTIONS[t.name]?.multiple) continue;
    if (seen.has(t.name)) {
      return `${command}: --${t.name} given more than once (see 'p2mtrace help ${command}')`;
    }
    seen.add(t.name);
  }
  const values = Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, shown(v)]));
  return { values, positionals: r.positionals.map(shown) };
}

function ours(command: string, args: string[]): unknown {
  try {
    const p = parseArgs(command, args, OPTIONS);
    return { values: { ...p.values }, positionals: p.positionals };
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const WORDS = [
  "t.jsonl",
  "-",
  "--",
  "5",
  "-5",
  "-12",
  "-x",
  "-5x",
  "end",
  "--at",
  "--at=7",
  "--at=-3",
  "--quiet",
  "--quiet=1",
  "--json",
  "--detector",
  "--detector=a",
  "--output",
  "--output=f",
  "-o",
  "-of",
  "-o=f",
  "-oq",
  "-qo",
  "-xo",
  "--bogus",
  "--bogus=1",
  "--no-cache",
  "--=x",
  "---",
  "--constructor",
  "--__proto__",
  "-",
  "",
];

Deno.test("parseArgs: the same answers and messages as node:util parseArgs", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...WORDS), { maxLength: 6 }), (args) => {
      assert.deepEqual(ours("lookup", args), reference("lookup", args), JSON.stringify(args));
    }),
    { numRuns: 3000 },
  );
});
