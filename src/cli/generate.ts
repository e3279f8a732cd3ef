/**
 * `p2mtrace generate --events N --seed S [--kind trace|dmesg] [-o FILE] [--force]`: a
 * deterministic synthetic trace (or kernel log) for tests and benchmarks. The output streams:
 * a 10-million-event trace never sits in memory.
 *
 * @module
 */

import { EXIT, UsageError } from "../errors.ts";
import { generateTrace, TRACE_GENERATOR_VERSION } from "../gen/trace_gen.ts";
import { generateDmesg } from "../gen/dmesg_gen.ts";
import type { CommandModule } from "./commands.ts";
import { operands, parseArgs } from "./args.ts";
import { checkOutput, writeOutputParts } from "./output.ts";
import type { Io } from "./io.ts";

const HELP = `usage: p2mtrace generate --events N --seed S [--kind trace|dmesg] [-o FILE] [--force]

Writes a synthetic recording, the same for the same N and S on every machine (generator v${TRACE_GENERATOR_VERSION}):

  trace  (default) a dom0 trace: a boot (E820 map, boot pass, root buses, tens of devices,
         the balloon driver), then balloon waves page by page, lookups, BAR reassignments,
         device and memory hotplug, and at 90% a GPU hot-added with a BAR above the E820
         map (a lookup-zero finding under linux-3.12). N events plus header and end record.
  dmesg  the same machine's serial console log: Xen's E820 table, the kernel's boot pass
         and PCI scan, then a long runtime of other subsystems' lines. N lines.

options:
  --events N        how many events (trace) or lines (dmesg); 10000, 10k, 1m, 10M
  --seed S          a non-negative integer
  --kind K          trace or dmesg (default trace)
  -o, --output F    write to F instead of stdout; an existing F is never replaced
                    without --force
  --force           replace F

exit: 0 written, 64 usage, 74 F exists (without --force) or cannot be written.
`;

/**
 * Parses a count: digits with an optional `k` (thousand) or `m` (million) suffix.
 *
 * @example
 * ```ts
 * import { parseCount } from "./generate.ts";
 * import assert from "node:assert/strict";
 * assert.equal(parseCount("--events", "10k"), 10_000);
 * assert.equal(parseCount("--events", "1M"), 1_000_000);
 * assert.throws(() => parseCount("--events", "ten"), /--events takes a count/);
 * ```
 */
export function parseCount(flag: string, v: string): number {
  const m = /^(\d{1,15})([kKmM]?)$/.exec(v);
  const n = m ? Number(m[1]) * (m[2] === "" ? 1 : /k/i.test(m[2]) ? 1e3 : 1e6) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new UsageError(
      `generate: ${flag} takes a count (digits, optionally with k or m), got '${v}'`,
    );
  }
  return n;
}

/** Joins lines into chunks of about 1 MiB, each ending with a newline. */
function* chunks(lines: Iterable<string>): Generator<string> {
  let buf: string[] = [];
  let size = 0;
  for (const l of lines) {
    buf.push(l);
    size += l.length + 1;
    if (size >= 1 << 20) {
      yield buf.join("\n") + "\n";
      buf = [];
      size = 0;
    }
  }
  if (buf.length > 0) yield buf.join("\n") + "\n";
}

async function run(args: string[], io: Io): Promise<number> {
  const p = parseArgs("generate", args, {
    events: { type: "string" },
    seed: { type: "string" },
    kind: { type: "string" },
    output: { type: "string", short: "o" },
    force: { type: "boolean" },
  });
  operands("generate", p.positionals, []);
  if (typeof p.values.events !== "string") {
    throw new UsageError("generate: --events N is required (see 'p2mtrace help generate')");
  }
  if (typeof p.values.seed !== "string") {
    throw new UsageError("generate: --seed S is required (see 'p2mtrace help generate')");
  }
  const events = parseCount("--events", p.values.events);
  const seed = parseCount("--seed", p.values.seed);
  const kind = p.values.kind ?? "trace";
  if (kind !== "trace" && kind !== "dmesg") {
    throw new UsageError(`generate: --kind takes trace or dmesg, got '${kind}'`);
  }
  const lines = kind === "trace"
    ? generateTrace({ events, seed })
    : generateDmesg({ lines: events, seed });
  const output = p.values.output as string | undefined;
  if (output === undefined || output === "-") {
    for (const part of chunks(lines)) io.stdout(part);
    return EXIT.ok;
  }
  await checkOutput({ output, force: p.values.force === true });
  await writeOutputParts(io, chunks(lines), { output, force: p.values.force === true });
  return EXIT.ok;
}

/** The `generate` command. */
export const generateCommand: CommandModule = {
  help: HELP,
  run,
};
