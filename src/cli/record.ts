/**
 * `record [--root DIR] [-o trace.jsonl] [--force]`: reads the running guest's firmware map,
 * resource trees, PCI devices, balloon state, hypervisor facts and P2M dump and writes a trace
 * of that machine (see docs/record.md). `--root DIR` reads the same layout from a captured copy.
 * Reading needs only `--allow-read`; the only write is `-o`.
 *
 * @module
 */

import { EXIT } from "../errors.ts";
import { TOOL_NAME } from "../version.ts";
import { recordGuest } from "../import/sysfs/assemble.ts";
import { directoryReader } from "../import/sysfs/reader.ts";
import { parseArgs } from "./args.ts";
import type { CommandEntry } from "./commands.ts";
import { traceText } from "../trace/write.ts";
import { selfCheck, writeOutput } from "./output.ts";
import type { Io } from "./io.ts";
import { UsageError } from "../errors.ts";

const HELP = `usage: ${TOOL_NAME} record [--root DIR] [-o trace.jsonl] [--force]

Records the state of the Xen guest it runs in as a trace: the E820 map (the raw map rebuilt
from /sys/firmware/memmap, which in a PV guest is the kernel's rewritten map), PCI host bridge
windows (/proc/iomem, /proc/ioports), each PCI device's resources (/sys/bus/pci/devices; as
xen_add_device in dom0), the balloon driver's state, hypervisor facts and, when readable, the
P2M dump /sys/kernel/debug/xen/mmu/p2m (root only). Missing or unreadable files are noted on
stderr and as marks in the trace; they never stop the recording. See docs/record.md.

  --root DIR     read DIR/sys/... and DIR/proc/... instead of the live system (a captured copy)
  -o, --output   write the trace to this file instead of stdout
  --force        overwrite an existing output file

Run it as: deno run --allow-read cli.ts record            (add --allow-write=FILE for -o FILE)

exit codes: 0 ok (notes are not errors), 64 usage, 74 output not writable
`;

async function run(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs("record", args, {
    root: { type: "string" },
    output: { type: "string", short: "o" },
    force: { type: "boolean" },
  });
  if (positionals.length > 0) {
    throw new UsageError(
      `record: unexpected operand ${JSON.stringify(positionals[0])} ` +
        "(see 'p2mtrace help record')",
    );
  }
  const root = (values.root as string | undefined) ?? "/";
  const rec = await recordGuest(directoryReader(root));
  const text = traceText(rec.header, rec.events);
  await selfCheck(text);
  for (const n of rec.notes) io.stderr(`${TOOL_NAME} record: note: ${n}\n`);
  await writeOutput(io, text, {
    output: values.output as string | undefined,
    force: values.force === true,
  });
  return EXIT.ok;
}

/**
 * The `record` command.
 *
 * @example
 * ```ts
 * import { recordCommand } from "./record.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * assert.match(recordCommand.summary, /record/);
 * const io = memoryIo();
 * assert.equal(await recordCommand.run(["--root", "/nonexistent-p2mtrace-root"], io), 0);
 * assert.match(io.err(), /note: \/sys\/firmware\/memmap: /);
 * ```
 */
export const recordCommand: CommandEntry = {
  summary: "record the running Xen guest's memory map, PCI devices, balloon and P2M dump",
  help: HELP,
  run,
};
