/**
 * Writing a command's output without losing anything a user has: stdout by default; with
 * `-o FILE`:
 *
 * - an existing file is replaced only with `--force`; without it the write is no-replace even
 *   against a concurrent writer (the file appears by `link(2)` of a finished temporary file,
 *   or is created with `O_EXCL`), never check-then-rename;
 * - an input is never overwritten;
 * - when the directory may be written (Deno's `--allow-write=DIR`, or `--allow-write`), the
 *   output is written to a temporary file with a unique name in the same directory and then
 *   linked or renamed into place, so a failure or an interrupt never leaves half a trace;
 * - with `--allow-write=FILE` alone Deno refuses any other name, so no temporary file can
 *   exist: the file is then written in place (created with `O_EXCL`, or truncated with
 *   `--force`), and removed again on failure or interrupt when this command created it;
 * - p2mtrace only ever removes files it created (its own temporary files, SIGINT/SIGTERM
 *   included).
 *
 * @module
 */

import { OutputError, type SourcePosition, TraceError } from "../errors.ts";
import { inputReason } from "../trace/lines.ts";
import { parseEventLine } from "../trace/read.ts";
import { eventLine } from "../trace/write.ts";
import type { TraceEvent } from "../trace/event.ts";
import type { Io } from "./io.ts";
import { onInterrupt } from "./interrupt.ts";

/** Where and how to write. */
export interface OutputSpec {
  /** `-o FILE`; undefined or `-` for stdout. */
  output?: string;
  /** `--force`: replace an existing file. */
  force: boolean;
  /** Inputs that must never be overwritten (`-` is ignored). */
  inputs?: readonly string[];
}

/**
 * Whether `a` and `b` name the same file: the same path after symlinks, or the same inode (a
 * hard link: writing it in place would truncate the input too).
 */
async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [sa, sb] = await Promise.all([Deno.stat(a), Deno.stat(b)]);
    if (sa.ino !== null && sb.ino !== null) return sa.dev === sb.dev && sa.ino === sb.ino;
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
  if (e instanceof Deno.errors.AlreadyExists) return "it exists (use --force to overwrite it)";
  const code = (e as { code?: unknown })?.code;
  if (code === "ENOSPC" || /no space left/i.test(String((e as Error)?.message))) {
    return "no space left on device";
  }
  return inputReason(e);
}

/**
 * Checks that `spec.output` may be written, before any work is done (the write itself checks
 * again, atomically).
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
    if (input !== "-" && (input === path || await sameFile(input, path))) {
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
 * Writes `text` to stdout or to `spec.output` (see the module documentation).
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
  await writeOutputParts(io, [text], spec);
}

/**
 * Writes `parts` (each already ending with its newline) in order, streaming: nothing is held
 * beyond the part being written.
 *
 * @example
 * ```ts
 * import { writeOutputParts } from "./output.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await writeOutputParts(undefined, ["a\n", "b\n"], { output: `${dir}/t`, force: false });
 * assert.equal(await Deno.readTextFile(`${dir}/t`), "a\nb\n");
 * await assert.rejects(
 *   () => writeOutputParts(undefined, ["c\n"], { output: `${dir}/t`, force: false }),
 *   /it exists/,
 * );
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeOutputParts(
  io: Io | undefined,
  parts: Iterable<string> | AsyncIterable<string>,
  spec: OutputSpec,
): Promise<void> {
  const path = spec.output;
  if (path === undefined || path === "-") {
    if (io === undefined) throw new TypeError("writeOutputParts: stdout needs an Io");
    for await (const p of parts) io.stdout(p);
    return;
  }
  await checkOutput(spec);
  const dir = parentDir(path);
  if (mayWrite(dir)) await writeViaTemporary(path, dir, parts, spec.force);
  else await writeInPlace(path, parts, spec.force);
}

function parentDir(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** True when Deno lets us create and link other names in `dir` (`--allow-write=DIR`). */
function mayWrite(dir: string): boolean {
  try {
    return Deno.permissions.querySync({ name: "write", path: dir }).state === "granted" &&
      Deno.permissions.querySync({ name: "read", path: dir }).state === "granted";
  } catch {
    return false;
  }
}

/** A fresh temporary name: short enough that any output name up to NAME_MAX still works. */
function temporaryName(dir: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  const id = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${dir}/.p2mtrace-${id}.tmp`;
}

async function writeParts(
  f: Deno.FsFile,
  parts: Iterable<string> | AsyncIterable<string>,
): Promise<void> {
  const enc = new TextEncoder();
  let sinceYield = 0;
  for await (const part of parts) {
    const bytes = enc.encode(part);
    let off = 0;
    while (off < bytes.length) off += f.writeSync(bytes.subarray(off));
    // A long write lets the event loop run now and then, so SIGINT/SIGTERM can clean up.
    sinceYield += bytes.length;
    if (sinceYield >= 4 << 20) {
      sinceYield = 0;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}

async function writeViaTemporary(
  path: string,
  dir: string,
  parts: Iterable<string> | AsyncIterable<string>,
  force: boolean,
): Promise<void> {
  let tmp = "";
  let f: Deno.FsFile | undefined;
  for (let attempt = 0; f === undefined; attempt++) {
    tmp = temporaryName(dir);
    try {
      f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 8) {
        throw new OutputError(path, writeReason(e));
      }
    }
  }
  let created = true;
  const removeTmp = () => {
    if (!created) return;
    created = false;
    try {
      Deno.removeSync(tmp);
    } catch { /* already gone */ }
  };
  const done = onInterrupt(removeTmp);
  try {
    try {
      await writeParts(f, parts);
    } finally {
      f.close();
    }
    if (force) await Deno.rename(tmp, path);
    else {
      // link(2) fails if the name exists: no-replace even against a concurrent writer.
      await Deno.link(tmp, path);
      removeTmp();
    }
    created = false;
  } catch (e) {
    removeTmp();
    if (e instanceof OutputError) throw e;
    throw new OutputError(path, writeReason(e));
  } finally {
    done();
  }
}

async function writeInPlace(
  path: string,
  parts: Iterable<string> | AsyncIterable<string>,
  force: boolean,
): Promise<void> {
  let f: Deno.FsFile;
  try {
    f = await Deno.open(
      path,
      force
        ? { write: true, create: true, truncate: true }
        : { write: true, createNew: true, mode: 0o644 },
    );
  } catch (e) {
    throw new OutputError(path, writeReason(e));
  }
  // Only a file this command created may be removed again.
  let ours = !force;
  const remove = () => {
    if (!ours) return;
    ours = false;
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  };
  const done = onInterrupt(remove);
  try {
    try {
      await writeParts(f, parts);
    } finally {
      f.close();
    }
    ours = false;
  } catch (e) {
    remove();
    if (e instanceof OutputError) throw e;
    throw new OutputError(path, writeReason(e));
  } finally {
    done();
  }
}

/**
 * Checks every event built from other files (`record`, the importers) as the trace reader will
 * read it back, before anything is written: a failure is a data error (65) naming the file and
 * line the event came from (its `origin`, else `fallback(event)`) and the field, never the trace
 * being written.
 *
 * @example
 * ```ts
 * import { checkBuiltEvents } from "./output.ts";
 * import assert from "node:assert/strict";
 * const mark = { seq: 1, line: 0, kind: "mark" as const, text: "x".repeat(70_000),
 *   origin: { file: "/sys/bus/pci/devices", line: 1 } };
 * assert.throws(() => checkBuiltEvents([mark], () => ({ file: "-", line: 0 })),
 *   /\/sys\/bus\/pci\/devices:1: field "text": .*a mark event that does not make a valid trace record$/);
 * ```
 */
export function checkBuiltEvents(
  events: readonly TraceEvent[],
  fallback: (e: TraceEvent) => SourcePosition,
): void {
  for (const e of events) {
    try {
      parseEventLine("-", e.line, eventLine(e));
    } catch (err) {
      if (!(err instanceof TraceError)) throw err;
      throw new TraceError(
        e.origin ?? fallback(e),
        err.field,
        err.expected,
        `a ${e.kind} event that does not make a valid trace record`,
      );
    }
  }
}
