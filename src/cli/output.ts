/**
 * Writing a command's output without losing anything a user has: stdout by default; with
 * `-o FILE` an existing file is replaced only with `--force`, an input is never overwritten,
 * and the write goes to a temporary file renamed into place, so a failure never leaves half a
 * trace.
 *
 * @module
 */

import { OutputError } from "../errors.ts";
import { inputReason } from "../trace/lines.ts";
import { TraceReader } from "../trace/read.ts";
import type { Io } from "./io.ts";

/** Where and how to write. */
export interface OutputSpec {
  /** `-o FILE`; undefined or `-` for stdout. */
  output?: string;
  /** `--force`: replace an existing file. */
  force: boolean;
  /** Inputs that must never be overwritten (`-` is ignored). */
  inputs?: readonly string[];
}

async function samePath(a: string, b: string): Promise<boolean> {
  try {
    return (await Deno.realPath(a)) === (await Deno.realPath(b));
  } catch {
    return false;
  }
}

function writeReason(e: unknown): string {
  if (e instanceof Deno.errors.NotCapable) {
    return "not allowed (run with --allow-write for this file)";
  }
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied";
  return inputReason(e);
}

/**
 * Checks that `spec.output` may be written, before any work is done.
 *
 * @example
 * ```ts
 * import { checkOutput } from "./output.ts";
 * await checkOutput({ force: false }); // stdout: always fine
 * ```
 */
export async function checkOutput(spec: OutputSpec): Promise<void> {
  const path = spec.output;
  if (path === undefined || path === "-") return;
  for (const input of spec.inputs ?? []) {
    if (input !== "-" && (input === path || await samePath(input, path))) {
      throw new OutputError(
        path,
        "it is an input of this command (p2mtrace never modifies its input)",
      );
    }
  }
  try {
    const st = await Deno.lstat(path);
    if (!spec.force) throw new OutputError(path, "it exists (use --force to overwrite it)");
    if (!st.isFile) throw new OutputError(path, "it is not a regular file");
  } catch (e) {
    if (e instanceof OutputError) throw e;
    if (!(e instanceof Deno.errors.NotFound)) throw new OutputError(path, writeReason(e));
  }
}

/**
 * Writes `text` to stdout or to `spec.output` (see {@link checkOutput}).
 *
 * @example
 * ```ts
 * import { writeOutput } from "./output.ts";
 * import { memoryIo } from "./io.ts";
 * import assert from "node:assert/strict";
 * const io = memoryIo();
 * await writeOutput(io, "x\n", { force: false });
 * assert.equal(io.out(), "x\n");
 * ```
 */
export async function writeOutput(io: Io, text: string, spec: OutputSpec): Promise<void> {
  const path = spec.output;
  if (path === undefined || path === "-") {
    io.stdout(text);
    return;
  }
  await checkOutput(spec);
  const tmp = `${path}.p2mtrace-tmp`;
  try {
    await Deno.writeTextFile(tmp, text, { createNew: true });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new OutputError(path, writeReason(e));
  }
}

/**
 * Reads a produced trace back with {@link TraceReader}; a failure is a bug in p2mtrace, reported
 * as an internal error rather than a corrupt file left for the user.
 *
 * @example
 * ```ts
 * import { selfCheck } from "./output.ts";
 * import assert from "node:assert/strict";
 * await assert.rejects(() => selfCheck('{"format":"p2mtrace"}\n'), /field "version"/);
 * ```
 */
export async function selfCheck(text: string): Promise<void> {
  const r = TraceReader.fromText("(output)", text);
  await r.header();
  for await (const _ of r.batches()) { /* validate every event */ }
  if (r.end === undefined) throw new Error("produced trace has no end record");
}
