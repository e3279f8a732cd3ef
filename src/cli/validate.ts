/**
 * `p2mtrace validate TRACE [--json]`
 *
 * @module
 */

import { escapeText } from "../report/text.ts";
import { EXIT } from "../errors.ts";
import { openInput } from "../trace/lines.ts";
import { validateStream, type Validation } from "../share/validate.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import type { Io } from "./io.ts";

const HELP = `usage: p2mtrace validate TRACE [--json]

Checks every line of TRACE without stopping at the first problem and prints a table of named
problems: severity, how often, the first line, an example. Errors (not-json, unknown-kind,
bad-field:<field>, seq-order, e820-overlap, after-end, end-count, empty,
bad-encoding, line-too-long, bad-gzip) make a trace unusable
for replay; warnings (cut-off, no-end-record, no-nr-pages, no-events) and info (unknown-field:
kept and ignored) do not.

  --json   {"trace","header":bool,"events","counts":{kind:n},"problems":[{"name","severity",
           "count","first_line","example"}],"ok":bool}

exit: 0 no errors, 65 errors, 66 unreadable file, 64 usage.
`;

/** The text table of a validation. */
export function validationText(file: string, v: Validation): string {
  const errors = v.problems.filter((p) => p.severity === "error").length;
  const out = [
    `validate: ${escapeText(file)}: ${v.events} valid event(s); header ${
      v.header ? "ok" : "missing or invalid"
    }; ` +
    (errors === 0 ? "usable" : `${errors} kind(s) of error: not usable for replay`),
  ];
  if (v.counts.size > 0) {
    out.push(
      "events: " +
        [...v.counts.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([k, n]) => `${k} ${n}`)
          .join(", "),
    );
  }
  if (v.problems.length === 0) {
    out.push("no problems");
    return out.join("\n") + "\n";
  }
  const w = Math.max(7, ...v.problems.map((p) => p.name.length));
  out.push(`${"problem".padEnd(w)}  severity  count  first line  example`);
  for (const p of v.problems) {
    out.push(
      `${p.name.padEnd(w)}  ${p.severity.padEnd(8)}  ${String(p.count).padStart(5)}  ` +
        `${(p.firstLine === 0 ? "-" : String(p.firstLine)).padStart(10)}  ${p.example}`,
    );
  }
  return out.join("\n") + "\n";
}

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("validate", args, { json: { type: "boolean" } });
  const [file] = operands("validate", p.positionals, ["TRACE"]);
  const v = await validateStream(file, (await openInput(file, { stdin: io.stdin })).stream);
  const ok = !v.problems.some((x) => x.severity === "error");
  if (p.values.json === true) {
    io.stdout(
      JSON.stringify({
        trace: file,
        header: v.header !== undefined,
        events: v.events,
        counts: Object.fromEntries([...v.counts.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1)),
        problems: v.problems.map((x) => ({
          name: x.name,
          severity: x.severity,
          count: x.count,
          first_line: x.firstLine,
          example: x.example,
        })),
        ok,
      }) + "\n",
    );
  } else {
    io.stdout(validationText(file, v));
  }
  return ok ? EXIT.ok : EXIT.dataError;
}

/** The `validate` command. */
export const validateCommand: CommandModule = {
  help: HELP,
  run,
};
