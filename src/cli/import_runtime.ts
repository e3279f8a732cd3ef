/**
 * `import bpftrace FILE` and `import p2m-dump FILE`: runtime recordings into traces. Both write
 * a new trace, or — with `--trace TRACE` — a copy of an existing trace with the new events
 * appended (sequence numbers continue; the user's trace is never modified in place). The
 * shared output helpers ({@link traceText}, {@link writeTrace}) are also used by `record`.
 *
 * @module
 */

import { EXIT, TraceError, UsageError } from "../errors.ts";
import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import type { GuestFacts, GuestType, TraceEvent } from "../trace/event.ts";
import { FRAME_LIMIT, hex, parseUint } from "../trace/hex.ts";
import { maybeGunzip, openInput, readLineBatches } from "../trace/lines.ts";
import { TraceReader } from "../trace/read.ts";
import { endLine, eventLine, type HeaderInit, headerLine, traceText } from "../trace/write.ts";
import { validateHeader } from "../trace/validate.ts";
import { sha256Id } from "../trace/sha.ts";
import { checkBuiltEvents, checkOutput, writeOutputParts } from "./output.ts";
import { dumpLines, parseP2mDump } from "../p2m/debugfs_parse.ts";
import { importBpftraceOutput } from "../import/bpftrace/importer.ts";
import { operands, type OptionSpec, parseArgs } from "./args.ts";
import type { SubcommandEntry } from "./commands.ts";
import type { Io } from "./io.ts";

/** Largest runtime recording or dump read by `import bpftrace` and `import p2m-dump`. */
export const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

/**
 * Reads a whole input (a file, a FIFO, or stdin for `-`; gzipped or not) through the bounded
 * input path: strict UTF-8, the line cap, and at most {@link MAX_IMPORT_BYTES} of text (65
 * beyond), so `/dev/zero` or a runaway file is refused at the cap instead of filling memory.
 */
export async function readInputText(path: string, io: Io): Promise<string> {
  const input = await openInput(path, { stdin: io.stdin });
  const parts: string[] = [];
  let size = 0;
  let last: { line: number; terminated: boolean } | undefined;
  for await (const b of readLineBatches(path, await maybeGunzip(input.stream, path))) {
    for (const l of b.lines) size += l.length + 1;
    if (size > MAX_IMPORT_BYTES) {
      throw new TraceError(
        { file: path, line: b.firstLine },
        undefined,
        `an input of at most ${MAX_IMPORT_BYTES} bytes`,
        "a larger one (refused at the limit)",
      );
    }
    parts.push(b.lines.join("\n"));
    last = { line: b.firstLine, terminated: b.terminated };
  }
  if (parts.length === 0) return "";
  return parts.join("\n") + (last?.terminated ? "\n" : "");
}

/** Options shared by both runtime imports. */
export const IMPORT_OPTIONS: Record<string, OptionSpec> = {
  trace: { type: "string" },
  output: { type: "string", short: "o" },
  force: { type: "boolean" },
  type: { type: "string" },
  domain: { type: "string" },
  kernel: { type: "string" },
  xen: { type: "string" },
  "nr-pages": { type: "string" },
  description: { type: "string" },
};

function guestFromOptions(
  command: string,
  values: Record<string, unknown>,
  domainDefault: { value: "dom0" | "domU"; why: string },
  notes: string[],
): GuestFacts {
  const type = (values.type as string | undefined) ?? "pv";
  if (!["pv", "hvm", "pvh"].includes(type)) {
    throw new UsageError(`${command}: --type must be pv, hvm or pvh, got ${JSON.stringify(type)}`);
  }
  let domain = values.domain as string | undefined;
  if (domain === undefined) {
    domain = domainDefault.value;
    notes.push(`no --domain: ${domain} (${domainDefault.why})`);
  } else if (domain !== "dom0" && domain !== "domU") {
    throw new UsageError(
      `${command}: --domain must be dom0 or domU, got ${JSON.stringify(domain)}`,
    );
  }
  const guest: GuestFacts = {
    type: type as GuestType,
    domain: domain as "dom0" | "domU",
    arch: "x86_64",
    pageSize: 4096,
  };
  if (values.kernel !== undefined) guest.kernel = values.kernel as string;
  if (values.xen !== undefined) guest.xen = values.xen as string;
  const nr = values["nr-pages"] as string | undefined;
  if (nr !== undefined) {
    const n = parseUint(/^\d+$/.test(nr) ? Number(nr) : nr, FRAME_LIMIT);
    if (n === undefined) {
      throw new UsageError(`${command}: --nr-pages must be a page count ("0x..." or decimal)`);
    }
    guest.nrPages = n;
  } else if (guest.type === "pv") {
    notes.push("no --nr-pages: the header has no nr_pages (use --trace with a recorded trace)");
  }
  return guest;
}

const HEADER_ONLY = ["type", "domain", "kernel", "xen", "nr-pages", "description"];

/** Checks the header built from the options: a bad value is a usage error (64). */
function checkHeader(command: string, header: HeaderInit): void {
  try {
    validateHeader({ file: "(options)", line: 1 }, JSON.parse(headerLine(header)));
  } catch (err) {
    if (!(err instanceof TraceError)) throw err;
    throw new UsageError(`${command}: an option gives a bad header value: ${err.message}`);
  }
}

/** Shared flow: new trace or a streamed copy of `--trace`, then write. */
async function emit(
  command: string,
  values: Record<string, unknown>,
  input: { name: string; text: string; what: string },
  events: TraceEvent[],
  domainDefault: { value: "dom0" | "domU"; why: string },
  notes: string[],
  io: Io,
): Promise<void> {
  const tracePath = values.trace as string | undefined;
  const base = input.name.split("/").pop() ?? input.name;
  checkBuiltEvents(events, (e) => ({ file: input.name, line: e.line }));
  const output = {
    output: values.output as string | undefined,
    force: values.force === true,
    inputs: tracePath === undefined ? [input.name] : [input.name, tracePath],
  };
  let parts: AsyncGenerator<string>;
  if (tracePath !== undefined) {
    const given = HEADER_ONLY.filter((k) => values[k] !== undefined);
    if (given.length > 0) {
      throw new UsageError(
        `${command}: --${given[0]} describes a new trace; with --trace the header is copied`,
      );
    }
    await checkOutput(output);
    // The base trace is copied as it is read: never held whole.
    const reader = await TraceReader.open(tracePath, io.stdin);
    const h = await reader.header();
    const raw: Record<string, unknown> = {
      ...h.raw,
      id: await sha256Id(h.id ?? "", input.text),
      description: `${h.description} + ${input.what} from ${base}`,
    };
    parts = (async function* () {
      yield headerLine({ ...h, raw }) + "\n";
      let seq = 0;
      let count = 0;
      for await (const batch of reader.batches()) {
        const lines: string[] = [];
        for (const e of batch) lines.push(eventLine(e));
        seq = batch[batch.length - 1].seq;
        count += batch.length;
        yield lines.join("\n") + "\n";
      }
      const added = events.map((e) => eventLine({ ...e, seq: ++seq }));
      if (added.length > 0) yield added.join("\n") + "\n";
      yield endLine(count + added.length) + "\n";
    })();
  } else {
    const guest = guestFromOptions(command, values, domainDefault, notes);
    const all = events.map((e, i) => ({ ...e, seq: i + 1 }));
    const header: HeaderInit = {
      producer: `${TOOL_NAME} ${TOOL_VERSION} ${command}`,
      id: await sha256Id(input.text),
      guest,
      description: (values.description as string | undefined) ?? `${input.what} from ${base}`,
    };
    checkHeader(command, header);
    parts = (async function* () {
      yield traceText(header, all);
    })();
  }
  for (const n of notes) io.stderr(`${TOOL_NAME} ${command}: note: ${n}\n`);
  await writeOutputParts(io, parts, output);
}

/** Option mistakes are usage errors (64), reported before any input is read. */
function checkOptions(command: string, values: Record<string, unknown>): void {
  if (values.trace !== undefined) {
    const given = HEADER_ONLY.filter((k) => values[k] !== undefined);
    if (given.length > 0) {
      throw new UsageError(
        `${command}: --${given[0]} describes a new trace; with --trace the header is copied`,
      );
    }
  } else guestFromOptions(command, values, { value: "domU", why: "" }, []);
}

/** FILE and --trace cannot both be standard input. */
function checkStdin(command: string, file: string, values: Record<string, unknown>): void {
  if (file === "-" && values.trace === "-") {
    throw new UsageError(`${command}: FILE and --trace cannot both be - (standard input)`);
  }
}

/** Help text of `import p2m-dump`. */
export const IMPORT_P2M_DUMP_HELP =
  `usage: ${TOOL_NAME} import p2m-dump FILE [--trace TRACE] [-o OUT] [--force]
       [--type pv|hvm|pvh] [--domain dom0|domU] [--kernel REL] [--xen VER] [--nr-pages N]

Turns a saved /sys/kernel/debug/xen/mmu/p2m (FILE, or - for stdin) into a p2m_dump event.
The dump is parsed first (tree format with level lines, v3.10-3.18, or list format, v3.19+);
a line that is not the kernel's is an error naming the line.

  --trace TRACE  append the event to a copy of TRACE (written to -o or stdout; TRACE itself is
                 never modified); otherwise a new trace is written with a header from:
  --type, --domain, --kernel, --xen, --nr-pages, --description
  -o, --output   write to this file instead of stdout; --force overwrites an existing file

exit codes: 0 ok, 64 usage, 65 malformed dump or trace, 66 unreadable input, 74 unwritable output
`;

/**
 * `import p2m-dump FILE [--trace TRACE]`.
 *
 * @example
 * ```ts
 * import { importP2mDump } from "./import_runtime.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo(" [0x0->0x80000] pfn\n [0x80000->0x80200] missing\n");
 * assert.equal(await importP2mDump(["-", "--domain", "domU", "--nr-pages", "0x80000"], io), 0);
 * assert.match(io.out(), /"kind":"p2m_dump","format":"list"/);
 * ```
 */
export async function importP2mDump(args: string[], io: Io): Promise<number> {
  const command = "import p2m-dump";
  const { values, positionals } = parseArgs(command, args, IMPORT_OPTIONS);
  const [file] = operands(command, positionals, ["FILE"]);
  checkStdin(command, file, values);
  checkOptions(command, values);
  const text = await readInputText(file, io);
  const lines = dumpLines(text).filter((l) => l.trim() !== "");
  const dump = parseP2mDump(lines, { file });
  if (dump.ranges.length === 0) {
    throw new TraceError({ file, line: 1 }, undefined, "a non-empty p2m dump", "no lines");
  }
  const notes: string[] = [];
  if (dump.inferredTail) {
    notes.push(
      `${file}: no type line covers [${hex(dump.inferredTail.pfn)}, ` +
        `${hex(dump.inferredTail.endPfn)}): the kernel's final flush leaves an abnormal tail`,
    );
  }
  const event: TraceEvent = { seq: 0, line: 1, kind: "p2m_dump", format: dump.format, lines };
  await emit(
    command,
    values,
    { name: file, text, what: `p2m dump (${dump.format} format)` },
    [event],
    { value: "domU", why: "a dump alone does not say" },
    notes,
    io,
  );
  return EXIT.ok;
}

/** Help text of `import bpftrace`. */
export const IMPORT_BPFTRACE_HELP =
  `usage: ${TOOL_NAME} import bpftrace FILE [--trace TRACE] [-o OUT] [--force]
       [--type pv|hvm|pvh] [--domain dom0|domU] [--kernel REL] [--xen VER] [--nr-pages N]

Turns the output of tools/p2mtrace.bt (FILE, or - for stdin; see docs/runtime-tracing.md)
into trace events: balloon decrease/increase_reservation, other P2M writes as set_p2m,
xen_add_device / xen_remove_device, pci_resource_assign, memory_hotplug, and marks.
Lines that are not p2mtrace lines are skipped; a malformed p2mtrace line is an error naming
the line and the field.

  --trace TRACE  append the events to a copy of TRACE (e.g. what 'record' wrote at the start);
                 TRACE itself is never modified. Otherwise a new trace is written with:
  --type (default pv), --domain (default: dom0 if the notifier fired, else domU), --kernel,
  --xen, --nr-pages, --description
  -o, --output   write to this file instead of stdout; --force overwrites an existing file

exit codes: 0 ok, 64 usage, 65 malformed output or trace, 66 unreadable input, 74 unwritable output
`;

/**
 * `import bpftrace FILE [--trace TRACE]`.
 *
 * @example
 * ```ts
 * import { importBpftrace } from "./import_runtime.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo([
 *   "p2mtrace1 100 begin script=1",
 *   "p2mtrace1 200 pci_notify action=del dev=0000:03:00.0",
 *   "p2mtrace1 300 end",
 * ].join("\n"));
 * assert.equal(await importBpftrace(["-", "--nr-pages", "0x80000"], io), 0);
 * assert.match(io.out(), /"kind":"xen_remove_device","time":0,"device":"0000:03:00.0"/);
 * ```
 */
export async function importBpftrace(args: string[], io: Io): Promise<number> {
  const command = "import bpftrace";
  const { values, positionals } = parseArgs(command, args, IMPORT_OPTIONS);
  const [file] = operands(command, positionals, ["FILE"]);
  checkStdin(command, file, values);
  checkOptions(command, values);
  const text = await readInputText(file, io);
  const result = importBpftraceOutput(text, file);
  const domainDefault = result.sawPciNotify
    ? { value: "dom0" as const, why: "the Xen PCI notifier fired, which it does only in dom0" }
    : { value: "domU" as const, why: "the Xen PCI notifier never fired" };
  await emit(
    command,
    values,
    { name: file, text, what: "runtime events (tools/p2mtrace.bt)" },
    result.events,
    domainDefault,
    [...result.notes],
    io,
  );
  return EXIT.ok;
}

/**
 * `import bpftrace` as a command-table entry (for `IMPORT_FORMATS` in src/cli/import.ts).
 *
 * @example
 * ```ts
 * import { importBpftraceCommand } from "./import_runtime.ts";
 * import assert from "node:assert/strict";
 * assert.match(importBpftraceCommand.help, /^usage: p2mtrace import bpftrace FILE/);
 * ```
 */
export const importBpftraceCommand: SubcommandEntry = {
  summary: "output of tools/p2mtrace.bt (runtime P2M, balloon, PCI events) to trace events",
  help: IMPORT_BPFTRACE_HELP,
  run: importBpftrace,
};

/**
 * `import p2m-dump` as a command-table entry (for `IMPORT_FORMATS` in src/cli/import.ts).
 *
 * @example
 * ```ts
 * import { importP2mDumpCommand } from "./import_runtime.ts";
 * import assert from "node:assert/strict";
 * assert.match(importP2mDumpCommand.help, /^usage: p2mtrace import p2m-dump FILE/);
 * ```
 */
export const importP2mDumpCommand: SubcommandEntry = {
  summary: "a saved /sys/kernel/debug/xen/mmu/p2m to a p2m_dump event",
  help: IMPORT_P2M_DUMP_HELP,
  run: importP2mDump,
};
