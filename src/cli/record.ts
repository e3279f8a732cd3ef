/**
 * `record [--root DIR] [-o trace.jsonl] [--force]`: reads the running guest's firmware map,
 * resource trees, PCI devices, balloon state, hypervisor facts and P2M dump and writes a trace
 * of that machine (see docs/record.md). `--root DIR` reads the same layout from a captured copy.
 * A live guest needs `--allow-all` (Deno refuses `/proc` and `/sys` to less); `--root` needs
 * `--allow-read`. The only write is `-o`. Without an E820 map nothing is written: exit 77 when
 * Deno or the kernel refused the reads, 66 when the files are not there.
 *
 * @module
 */

import { EXIT, InputError, NoPermissionError } from "../errors.ts";
import { TOOL_NAME } from "../version.ts";
import { recordGuest } from "../import/sysfs/assemble.ts";
import {
  directoryReader,
  failureReason,
  NOT_ALLOWED,
  PERMISSION_DENIED,
  REFUSED_BY_DENO,
} from "../import/sysfs/reader.ts";
import { parseArgs } from "./args.ts";
import type { CommandModule } from "./commands.ts";
import { headerLine, traceText } from "../trace/write.ts";
import { validateHeader } from "../trace/validate.ts";
import { checkBuiltEvents, writeOutput } from "./output.ts";
import type { Io } from "./io.ts";
import { UsageError } from "../errors.ts";

const HELP = `usage: ${TOOL_NAME} record [--root DIR] [-o trace.jsonl] [--force]

Records the state of the Xen guest it runs in as a trace: the E820 map (the raw map rebuilt
from /sys/firmware/memmap, which in a PV guest is the kernel's rewritten map), PCI host bridge
windows (/proc/iomem, /proc/ioports), each PCI device's resources (/sys/bus/pci/devices; as
xen_add_device in dom0), the balloon driver's state, hypervisor facts and, when readable, the
P2M dump /sys/kernel/debug/xen/mmu/p2m (root, debugfs mounted). Missing or unreadable files
are noted on stderr and as marks in the trace. See docs/record.md.

  --root DIR     read DIR/sys/... and DIR/proc/... instead of the live system (a captured copy)
  -o, --output   write the trace to this file instead of stdout
  --force        overwrite an existing output file

In a live guest run it as root with Deno's --allow-all: since Deno 1.43, /proc and /sys are
refused to anything less (--allow-read never reaches them). --root DIR needs --allow-read only.
  p2mtrace record --root captured -o boot.jsonl

exit codes: 0 ok (notes are not errors), 64 usage, 66 no E820 map (the files are not there,
or --root DIR does not exist), 74 output not writable, 77 no E820 map because Deno or the
kernel refused the reads (the message says: --allow-all, or root)
`;

/**
 * Why a recording without an E820 map has nothing to replay, as the error to exit with: 77 when
 * Deno or the kernel refused the reads (naming the flag or privilege), else 66.
 *
 * @example
 * ```ts
 * import { noMapError } from "./record.ts";
 * import { REFUSED_BY_DENO } from "../import/sysfs/reader.ts";
 * import assert from "node:assert/strict";
 * const e = noMapError("/", [`/sys/firmware/memmap: ${REFUSED_BY_DENO}: ...`]);
 * assert.equal(e.exitCode, 77);
 * assert.match(e.message, /--allow-all/);
 * assert.equal(noMapError("/tmp/copy", ["/proc/iomem: no such file: ..."]).exitCode, 66);
 * ```
 */
export function noMapError(root: string, notes: readonly string[]): InputError | NoPermissionError {
  const has = (reason: string) => notes.some((n) => n.includes(`: ${reason}`));
  const lead = "record: no E820 map could be read (/sys/firmware/memmap, /proc/iomem), so " +
    "there is nothing to replay";
  if (has(REFUSED_BY_DENO)) {
    return new NoPermissionError(
      `${lead}: Deno refused the reads: run it with --allow-all (since Deno 1.43 nothing less ` +
        "reaches /proc and /sys; 'p2mtrace record' from tools/install.sh does), as root",
    );
  }
  if (has(NOT_ALLOWED)) {
    return new NoPermissionError(`${lead}: Deno refused the reads under ${root}: add --allow-read`);
  }
  if (has(PERMISSION_DENIED)) {
    return new NoPermissionError(`${lead}: the kernel refused the reads: run it as root`);
  }
  return new InputError(
    root,
    "no /sys/firmware/memmap or /proc/iomem there (not a Linux guest, or a captured copy " +
      "without them; see docs/record.md)",
  );
}

async function checkRoot(root: string): Promise<void> {
  try {
    const st = await Deno.stat(root);
    if (!st.isDirectory) throw new InputError(root, "--root names a file, not a directory");
  } catch (e) {
    if (e instanceof InputError) throw e;
    if (e instanceof Deno.errors.NotCapable) {
      throw new NoPermissionError(`record: Deno refused to read --root ${root}: add --allow-read`);
    }
    throw new InputError(root, `--root: ${failureReason(e)}`);
  }
}

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
  if (values.root !== undefined) await checkRoot(root);
  const rec = await recordGuest(directoryReader(root));
  for (const n of rec.notes) io.stderr(`${TOOL_NAME} record: note: ${n}\n`);
  if (!rec.events.some((e) => e.kind === "e820")) throw noMapError(root, rec.notes);
  // An event the guest's files made invalid is a data error naming that file and line.
  checkBuiltEvents(rec.events, () => ({ file: root, line: 1 }));
  validateHeader({ file: root, line: 1 }, JSON.parse(headerLine(rec.header)));
  const text = traceText(rec.header, rec.events);
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
 * assert.match(recordCommand.help, /record/);
 * await assert.rejects(
 *   () => recordCommand.run(["--root", "/nonexistent-p2mtrace-root"], memoryIo()),
 *   /--root: no such file/,
 * );
 * ```
 */
export const recordCommand: CommandModule = {
  help: HELP,
  run,
};
