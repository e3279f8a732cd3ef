/**
 * `p2mtrace import <format> ...`: turn a recording made by other tools into a trace. Each
 * format is a subcommand in {@link IMPORT_FORMATS}; `dmesg` reads a Linux boot log.
 *
 * @module
 */

import { escapeText } from "../report/text.ts";
import { EXIT, UsageError } from "../errors.ts";
import { parseUint } from "../trace/hex.ts";
import { maybeGunzip, openInput, readFailure } from "../trace/lines.ts";
import { TOOL_NAME } from "../version.ts";
import { DmesgImporter } from "../import/dmesg/importer.ts";
import { LogLineSplitter, MAX_LOG_LINE } from "../import/dmesg/log_lines.ts";
import { WrappedLineJoiner } from "../import/dmesg/wrapped_lines.ts";
import { LineNumberStripper } from "../import/dmesg/line_numbers.ts";
import { JournalJsonDecoder } from "../import/dmesg/journal_json.ts";
import { QuotedPrintableDecoder } from "../import/dmesg/quoted_printable.ts";
import { formatUnrecognised } from "../import/dmesg/unrecognised.ts";
import { parseArgs } from "./args.ts";
import type { CommandModule, SubcommandEntry } from "./commands.ts";
import type { Io } from "./io.ts";
import { checkOutput, writeOutput } from "./output.ts";
import { traceText } from "../trace/write.ts";
import { hashedStream } from "../trace/sha.ts";
import { importBpftraceCommand, importP2mDumpCommand } from "./import_runtime.ts";

const DMESG_HELP =
  `usage: ${TOOL_NAME} import dmesg LOG [-o TRACE] [--force] [--boot N] [--domain N] [--nr-pages N]

Turns a Linux boot log of a Xen guest into a p2mtrace trace: the E820 maps, the boot pass
with the kernel's own counts (memory_setup.expect), PCI host bridges, devices and BAR
assignments, the balloon driver's start, and marks for crashes. LOG may be '-' for stdin and
may be gzipped. Accepted forms: dmesg, dmesg -T, journalctl -k, syslog files, serial console
captures with (XEN) lines, journalctl -o json, mail-quoted logs ('> '), lines without timestamps,
CRLF or CR-only line ends.

Relevant lines that were not understood are reported on stderr, by pattern, with their first
line numbers. See docs/import-dmesg.md for the patterns and the decisions.

options:
  -o, --output TRACE  write the trace to TRACE (default and '-': stdout); an existing
                      file is never overwritten without --force
      --force         overwrite TRACE if it exists
      --boot N        import the Nth boot of a log that holds several (default 1)
      --domain N      from a Xen console log that relays several domains' lines
                      ('(d1) ...'), import domain N's (0: the unprefixed lines, dom0's);
                      default: the first domain whose kernel lines the log shows. One
                      domain is imported, never two mixed; the report names the others
      --nr-pages N    start_info->nr_pages (decimal or 0x hex), when the log does not show it

exit codes: 0 trace written, 64 usage, 65 the log is empty, binary or holds nothing usable,
66 LOG cannot be read, 74 TRACE cannot be written
`;

/** `import dmesg`: a boot log to a trace. */
export const importDmesgCommand: SubcommandEntry = {
  summary: "a Linux boot log (dmesg, journalctl -k, serial console) to a trace",
  help: DMESG_HELP,
  run: runImportDmesg,
};

/** Import formats: subcommand name to its entry. Add a format by adding a row. */
export const IMPORT_FORMATS: Record<string, SubcommandEntry> = {
  dmesg: importDmesgCommand,
  bpftrace: importBpftraceCommand,
  "p2m-dump": importP2mDumpCommand,
};

/** The list of formats, then each format's own help (main() prints this for `--help`). */
function importHelp(): string {
  const width = Math.max(...Object.keys(IMPORT_FORMATS).map((n) => n.length));
  const rows = Object.entries(IMPORT_FORMATS).map(([name, c]) =>
    `  ${name.padEnd(width)}  ${c.summary}`
  );
  const formats = Object.values(IMPORT_FORMATS).map((c) => c.help).join("\n");
  return `usage: ${TOOL_NAME} import <format> [options]\n\nformats:\n${rows.join("\n")}\n\n` +
    formats;
}

/**
 * `p2mtrace import <format> ...`.
 *
 * @example
 * ```ts
 * import { importCommand } from "./import.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo("[    0.000000] Released 0 page(s)\n" +
 *   "[    0.000000] xen:balloon: Initialising balloon driver\n");
 * assert.equal(await importCommand.run(["dmesg", "-"], io), 0);
 * assert.match(io.out(), /"kind":"balloon_init"/);
 * ```
 */
export const importCommand: CommandModule = {
  help: importHelp(),
  run: async (args: string[], io: Io): Promise<number> => {
    const [format, ...rest] = args;
    const known = Object.keys(IMPORT_FORMATS).join(", ");
    if (format === undefined) {
      throw new UsageError(`import: expected a format (${known}) (see '${TOOL_NAME} help import')`);
    }
    const entry = Object.hasOwn(IMPORT_FORMATS, format) ? IMPORT_FORMATS[format] : undefined;
    if (!entry) {
      throw new UsageError(
        `import: no format '${format}'; known: ${known} (see '${TOOL_NAME} help import')`,
      );
    }
    if (rest.includes("-h") || rest.includes("--help")) {
      io.stdout(entry.help);
      return EXIT.ok;
    }
    return await entry.run(rest, io);
  },
};

async function runImportDmesg(args: string[], io: Io): Promise<number> {
  const p = parseArgs("import dmesg", args, {
    output: { type: "string", short: "o" },
    force: { type: "boolean" },
    boot: { type: "string" },
    domain: { type: "string" },
    "nr-pages": { type: "string" },
  });
  if (p.positionals.length !== 1) {
    throw new UsageError(
      `import dmesg: expected LOG, got ${p.positionals.length} operand(s) ` +
        `(see '${TOOL_NAME} import dmesg --help')`,
    );
  }
  const log = p.positionals[0];
  const output = p.values.output as string | undefined;
  const force = p.values.force === true;
  const boot = positiveInt(p.values.boot as string | undefined, "--boot");
  const nrPages = pageCount(p.values["nr-pages"] as string | undefined);
  const domain = domainId(p.values.domain as string | undefined);
  const out = { output, force, inputs: [log] };
  await checkOutput(out);

  const importer = new DmesgImporter(log, {
    ...(boot !== undefined ? { boot } : {}),
    ...(nrPages !== undefined ? { nrPages } : {}),
    ...(domain !== undefined ? { domain } : {}),
  });
  // The id hashes the log as text, so a log and its .gz give the same trace.
  const input = await hashedStream(
    await maybeGunzip((await openInput(log, { stdin: io.stdin })).stream, log),
  );
  const splitter = new LogLineSplitter();
  const journal = new JournalJsonDecoder();
  const qp = new QuotedPrintableDecoder();
  const numbers = new LineNumberStripper();
  const joiner = new WrappedLineJoiner();
  const reader = input.stream.getReader();
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (e) {
      throw readFailure(log, importer.lineNumber + 1, e);
    }
    if (chunk.done) break;
    // Line numbers were put on the text as pasted, so they come off before its mail encoding.
    const lines = splitter.push(chunk.value).flatMap((l) => journal.push(l))
      .flatMap((l) => numbers.push(l));
    for (const line of lines.flatMap((l) => qp.push(l))) {
      for (const l of joiner.push(line)) importer.push(l);
    }
    // Counted after the chunk's lines: a log given as one large chunk has shown its kernel.
    importer.read(chunk.value.length);
  }
  const unjournaled = [...splitter.end().flatMap((l) => journal.push(l)), ...journal.end()];
  const unnumbered = [...unjournaled.flatMap((l) => numbers.push(l)), ...numbers.end()];
  const rest = [...unnumbered.flatMap((l) => qp.push(l)), ...qp.end()];
  for (const line of [...rest.flatMap((l) => joiner.push(l)), ...joiner.end()]) {
    importer.push(line);
  }
  const js = journal.stats;
  if (js.entries > 0) importer.journalRead(js.entries, js.kernel, js.unreadable);
  const cuts = splitter.cuts;
  if (cuts !== undefined) {
    importer.linesCut(cuts.count, cuts.firstLine, MAX_LOG_LINE);
    io.stderr(
      `${TOOL_NAME}: warning: ${log}: line ${cuts.firstLine}: ${cuts.count} line(s) longer than ` +
        `${MAX_LOG_LINE} characters with no line end or kernel line prefix were cut\n`,
    );
  }
  let result;
  try {
    result = importer.finish({ digest: input.digest() });
  } catch (e) {
    // Show what was not understood: it often says why nothing was usable.
    io.stderr(formatUnrecognised(importer.unrecognised, log, importer.relevantLines));
    throw e;
  }
  await writeOutput(io, traceText(result.header, result.events), out);

  const kinds = new Map<string, number>();
  for (const e of result.events) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  const summary = [...kinds].map(([k, n]) => `${n} ${k}`).join(", ");
  const g = result.header.guest;
  io.stderr(
    `${TOOL_NAME}: import dmesg: ${
      escapeText(log)
    }: ${result.lines} line(s) -> ${result.events.length} ` +
      `event(s) (${summary}); ${g.type} ${g.domain}` +
      `${g.kernel ? `, Linux ${g.kernel}` : ""}` +
      `${g.nrPages !== undefined ? `, nr_pages 0x${g.nrPages.toString(16)}` : ""}` +
      `${result.header.policy ? `, policy ${result.header.policy}` : ""}\n`,
  );
  for (const w of result.warnings) io.stderr(`${TOOL_NAME}: warning: ${w}\n`);
  io.stderr(formatUnrecognised(result.unrecognised, log, result.relevantLines));
  return EXIT.ok;
}

function positiveInt(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,6}$/.test(text) || Number(text) < 1) {
    throw new UsageError(`import dmesg: ${flag} expects a positive integer, got '${text}'`);
  }
  return Number(text);
}

/** A Xen domain id: 0 to 32751 (DOMID_FIRST_RESERVED is 0x7ff0). */
function domainId(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) >= 0x7ff0) {
    throw new UsageError(
      `import dmesg: --domain expects a Xen domain id (0 to 32751), got '${text}'`,
    );
  }
  return Number(text);
}

function pageCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,15}$/.test(text) ? Number(text) : parseUint(text, 2 ** 40);
  if (n === undefined || n === 0 || n >= 2 ** 40) {
    throw new UsageError(
      `import dmesg: --nr-pages expects a page count (decimal or 0x hex, 1 to 2^40-1), ` +
        `got '${text}'`,
    );
  }
  return n;
}
