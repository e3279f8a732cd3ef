/**
 * Many traces in one command: `check` and `summarize` accept several traces or a directory and
 * work through them with a bounded number of workers, printing one result line per trace in a
 * stable order (the order given; a directory's traces sorted by path), for triaging a CI farm's
 * boot logs in one process instead of one Deno start per trace.
 *
 * Each trace runs the single-trace command exactly as `p2mtrace COMMAND TRACE ... --json` would
 * (same options, same exit code), in a worker when `--jobs` is above 1; this module only
 * expands operands, schedules, and turns each JSON result into one line.
 *
 * @module
 */

import { EXIT, InputError, UsageError } from "../errors.ts";
import { type Io, memoryIo } from "./io.ts";
import type { ParsedArgs } from "./args.ts";
import { reportError } from "./report_error.ts";
import { escapeText } from "../report/text.ts";
import { threadModulesReadable } from "../thread_access.ts";

/** What one trace gave: the single-trace command's exit code and output. */
export interface BatchOutcome {
  /** The trace path as expanded. */
  file: string;
  /** The exit code `p2mtrace COMMAND FILE ... --json` returns. */
  code: number;
  /** Its standard output (one JSON object when it got that far). */
  out: string;
  /** Its standard error. */
  err: string;
}

/** Runs one trace: `argv` is a full command line (`["check", FILE, ...]`). */
export type BatchRunner = (argv: string[]) => Promise<{ code: number; out: string; err: string }>;

/** File names a directory operand contributes. */
export const TRACE_SUFFIXES = [".jsonl", ".jsonl.gz"] as const;

/**
 * Expands operands: a directory becomes every trace file (`*.jsonl`, `*.jsonl.gz`) under it,
 * recursively, sorted by path (code points, so the order is the same on every machine);
 * symlinked directories are not followed (no loops). Other operands are kept as given; `-` is a usage error (stdin cannot be shared by a batch).
 * A name under a directory that is not a regular file (nor a symlink to one) is still listed,
 * so the batch reports it, and added to `irregular` when given: a FIFO there would block its
 * open forever and a device (a link to `/dev/zero`) never ends, so the batch never opens it.
 *
 * @example
 * ```ts
 * import { expandTraceOperands } from "./batch.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * await Deno.mkdir(`${dir}/b`);
 * for (const f of ["b/y.jsonl", "a.jsonl.gz", "notes.txt"]) await Deno.writeTextFile(`${dir}/${f}`, "");
 * assert.deepEqual(await expandTraceOperands([dir, "x.jsonl"]), [
 *   `${dir}/a.jsonl.gz`, `${dir}/b/y.jsonl`, "x.jsonl",
 * ]);
 * ```
 */
export async function expandTraceOperands(
  operands: readonly string[],
  irregular?: Set<string>,
): Promise<string[]> {
  const out: string[] = [];
  for (const op of operands) {
    if (op === "-") {
      // Standard input can be read once, by one trace's run: a batch cannot share it.
      throw new UsageError(
        "- (standard input) cannot be one trace of several: give it alone, or save it to a file",
      );
    }
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(op);
    } catch {
      info = undefined; // the command itself reports an unreadable trace, in its line
    }
    if (!info?.isDirectory) {
      out.push(op);
      continue;
    }
    const found: string[] = [];
    await walk(op.replace(/\/+$/, "") || "/", found, irregular);
    if (found.length === 0) {
      throw new InputError(op, "no trace files (*.jsonl, *.jsonl.gz) in this directory");
    }
    out.push(...found.sort((a, b) => a < b ? -1 : a > b ? 1 : 0));
  }
  return out;
}

async function walk(dir: string, found: string[], irregular?: Set<string>): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    throw new InputError(dir, `cannot list the directory: ${(e as Error).message}`);
  }
  for (const e of entries) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) await walk(path, found, irregular);
    else if (TRACE_SUFFIXES.some((s) => e.name.endsWith(s))) {
      found.push(path);
      // stat, not open: opening a FIFO without a writer does not return.
      if (!e.isFile && !(await Deno.stat(path).then((st) => st.isFile, () => true))) {
        irregular?.add(path);
      }
    }
  }
}

/**
 * Runs `argvFor(file)` for every file with at most `jobs` in flight and hands each outcome to
 * `emit` in the order of `files`, as soon as it and every earlier one are done.
 *
 * @example
 * ```ts
 * import { runBatch } from "./batch.ts";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * await runBatch(["a", "b", "c"], (f) => ["check", f], 2,
 *   async ([, f]) => ({ code: f === "b" ? 1 : 0, out: f, err: "" }),
 *   (o) => seen.push(`${o.file}:${o.code}`));
 * assert.deepEqual(seen, ["a:0", "b:1", "c:0"]);
 * ```
 */
export async function runBatch(
  files: readonly string[],
  argvFor: (file: string) => string[],
  jobs: number,
  runner: BatchRunner,
  emit: (outcome: BatchOutcome) => void,
): Promise<void> {
  const done = new Map<number, BatchOutcome>();
  let next = 0, emitted = 0;
  const flush = () => {
    while (done.has(emitted)) {
      emit(done.get(emitted)!);
      done.delete(emitted++);
    }
  };
  const lane = async () => {
    while (next < files.length) {
      const i = next++;
      const r = await runner(argvFor(files[i]));
      done.set(i, { file: files[i], ...r });
      flush();
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, lane));
}

/**
 * A runner that spreads commands over `jobs` module workers, each running the CLI's `main`
 * with in-memory I/O. Workers inherit the process's permissions. Call `close()` when done.
 */
export function workerRunner(jobs: number): BatchRunner & { close(): void } {
  const idle: Worker[] = [];
  const all: Worker[] = [];
  const waiting: ((w: Worker) => void)[] = [];
  const take = (): Promise<Worker> => {
    const w = idle.pop();
    if (w) return Promise.resolve(w);
    if (all.length < jobs) {
      const fresh = new Worker(new URL("./batch_worker.ts", import.meta.url), { type: "module" });
      all.push(fresh);
      return Promise.resolve(fresh);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const give = (w: Worker) => {
    const r = waiting.shift();
    if (r) r(w);
    else idle.push(w);
  };
  const run = async (argv: string[]) => {
    const w = await take();
    try {
      return await new Promise<{ code: number; out: string; err: string }>((resolve) => {
        w.onmessage = (m: MessageEvent) => resolve(m.data);
        w.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          resolve({
            code: EXIT.internal,
            out: "",
            err: `p2mtrace: internal error: ${e.message}\n`,
          });
        };
        w.postMessage(argv);
      });
    } finally {
      give(w);
    }
  };
  return Object.assign(run, { close: () => all.forEach((w) => w.terminate()) });
}

/** `--jobs N`: a positive integer, default the number of cores. */
export function parseJobs(command: string, value: string | undefined): number {
  if (value === undefined) return Math.max(1, navigator.hardwareConcurrency ?? 1);
  if (!/^[1-9][0-9]{0,3}$/.test(value)) {
    throw new UsageError(
      `${command}: --jobs must be a whole number from 1 to 9999, got '${value}'`,
    );
  }
  return Number(value);
}

/** The word a result line starts with, for exit codes that are not the command's own verdict. */
export function outcomeWord(code: number): string {
  switch (code) {
    case EXIT.cutOff:
      return "cut-off";
    case EXIT.cannotJudge:
      return "cannot-judge";
    case EXIT.dataError:
      return "malformed";
    case EXIT.noInput:
      return "unreadable";
    case EXIT.usage:
      return "usage";
    case EXIT.internal:
      return "internal";
    case EXIT.ioError:
      return "io-error";
    default:
      return `exit-${code}`;
  }
}

/** The last message a failed command printed, without the tool's prefix, on one line. */
export function outcomeMessage(o: BatchOutcome): string {
  const lines = o.err.split("\n").filter((l) => l.trim() !== "");
  const last = lines.at(-1) ?? `exit ${o.code}`;
  return last.replace(/^p2mtrace: /, "");
}

/**
 * The batch's exit code: 1 when any trace has findings, else the code of the first trace (in
 * output order) that could not be judged, else 0.
 *
 * @example
 * ```ts
 * import { batchExit } from "./batch.ts";
 * import assert from "node:assert/strict";
 * assert.equal(batchExit([0, 65, 1]), 1);
 * assert.equal(batchExit([0, 66, 65]), 66);
 * assert.equal(batchExit([0, 0]), 0);
 * ```
 */
export function batchExit(codes: readonly number[]): number {
  if (codes.includes(EXIT.found)) return EXIT.found;
  return codes.find((c) => c !== EXIT.ok) ?? EXIT.ok;
}

/**
 * Runs a batch with `jobs` workers (in this thread when `jobs` is 1, there is one file, or the
 * workers could not load p2mtrace's modules: with `--allow-read=DIR` alone, reading the traces
 * needs nothing more, so the batch runs them here one at a time). A file in `irregular` is
 * never opened: its outcome is 66, not a regular file ({@link expandTraceOperands}).
 */
export async function runTraces(
  files: readonly string[],
  argvFor: (file: string) => string[],
  jobs: number,
  inProcess: BatchRunner,
  emit: (outcome: BatchOutcome) => void,
  irregular: ReadonlySet<string> = new Set(),
): Promise<number[]> {
  const codes: number[] = [];
  const guard = (runner: BatchRunner): BatchRunner => (argv) =>
    irregular.has(argv[1]) ? Promise.resolve(notRegular(argv[1])) : runner(argv);
  const collect = (o: BatchOutcome) => {
    codes.push(o.code);
    emit(o);
  };
  if (jobs <= 1 || files.length <= 1 || !threadModulesReadable()) {
    await runBatch(files, argvFor, 1, guard(inProcess), collect);
    return codes;
  }
  const runner = workerRunner(jobs);
  try {
    await runBatch(files, argvFor, jobs, guard(runner), collect);
  } finally {
    runner.close();
  }
  return codes;
}

/**
 * A runner for this thread: `run` (a command's own implementation) with in-memory I/O.
 *
 * @example
 * ```ts
 * import { captured } from "./batch.ts";
 * import assert from "node:assert/strict";
 * const r = await captured(async (args, io) => { io.stdout(args.join(",")); return 3; })(["check", "a"]);
 * assert.deepEqual(r, { code: 3, out: "a", err: "" });
 * ```
 */
export function captured(run: (args: string[], io: Io) => Promise<number>): BatchRunner {
  return async (argv) => {
    const io = memoryIo();
    let code: number;
    try {
      code = await run(argv.slice(1), io);
    } catch (e) {
      code = reportError(e, io);
    }
    return { code, out: io.out(), err: io.err() };
  };
}

/**
 * True when a command's operands ask for a batch: more than one, or one directory.
 *
 * @example
 * ```ts
 * import { isBatch } from "./batch.ts";
 * import assert from "node:assert/strict";
 * assert.equal(await isBatch(["traces"]), true);
 * assert.equal(await isBatch(["traces/pcie-bar-above-e820.jsonl"]), false);
 * assert.equal(await isBatch(["a", "b"]), true);
 * ```
 */
export async function isBatch(operands: readonly string[]): Promise<boolean> {
  if (operands.length !== 1) return operands.length > 1;
  if (operands[0] === "-") return false;
  try {
    return (await Deno.stat(operands[0])).isDirectory;
  } catch {
    return false;
  }
}

// The options each trace's own run gets: everything but the operands, --jobs and --json.
function passOn(values: ParsedArgs["values"]): string[] {
  const out: string[] = [];
  if (values.policy !== undefined) out.push("--policy", values.policy as string);
  for (const d of (values.detector as string[] | undefined) ?? []) out.push("--detector", d);
  if (values.paranoid === true) out.push("--paranoid");
  return out;
}

type Json = Record<string, unknown>;

/**
 * Runs a batch of one command over `p`'s operands and prints a line per trace: `word`, the
 * file, then `describe(result)` (or why the trace could not be run); `--json` prints each
 * trace's own JSON object with `exit`. The tally goes to stderr.
 */
async function many(
  command: "check" | "summarize",
  p: ParsedArgs,
  run: (args: string[], io: Io) => Promise<number>,
  io: Io,
  word: (result: Json) => string,
  describe: (result: Json) => string,
): Promise<number> {
  const irregular = new Set<string>();
  const files = await expandTraceOperands(p.positionals, irregular);
  const jobs = parseJobs(command, p.values.jobs as string | undefined);
  const rest = passOn(p.values);
  const tally = new Map<string, number>();
  const codes = await runTraces(
    files,
    (f) => [command, f, ...rest, "--json"],
    jobs,
    captured(run),
    (o) => {
      const result = o.out !== "" &&
          (o.code === EXIT.ok || o.code === EXIT.found || o.code === EXIT.cannotJudge)
        ? JSON.parse(o.out) as Json
        : undefined;
      const w = result ? word(result) : outcomeWord(o.code);
      tally.set(w, (tally.get(w) ?? 0) + 1);
      if (p.values.json === true) {
        const obj = result ? { ...result, exit: o.code } : {
          trace: o.file,
          exit: o.code,
          error: outcomeMessage(o),
        };
        io.stdout(JSON.stringify(obj) + "\n");
      } else {
        const text = result ? describe(result) : outcomeMessage(o);
        io.stdout(`${w.padEnd(10)} ${escapeText(o.file)}  ${escapeText(text)}\n`);
      }
    },
    irregular,
  );
  const words = [...tally.entries()].map(([w, n]) => `${n} ${w}`).join(", ");
  io.stderr(`${command}: ${files.length} trace(s): ${words}\n`);
  return batchExit(codes);
}

/** The outcome of a name under a directory that is not a regular file: never opened. */
function notRegular(file: string): { code: number; out: string; err: string } {
  const e = new InputError(
    file,
    "not a regular file (a FIFO, device or socket under a directory is not opened; " +
      "name it as an operand to read it)",
  );
  return { code: e.exitCode, out: "", err: `p2mtrace: ${e.message}\n` };
}

/**
 * `check TRACE|DIR...`: a line per trace, `clean` or `found` with the policy, the event count,
 * the number of findings and the first one.
 */
export function checkMany(
  p: ParsedArgs,
  run: (args: string[], io: Io) => Promise<number>,
  io: Io,
): Promise<number> {
  const word = (r: Json) =>
    r.clean ? "clean" : r.verdict === "cannot-judge" ? "cannot-judge" : "found";
  return many("check", p, run, io, word, (r) => {
    const findings = r.findings as { detector: string; seq: number; line: number }[];
    const head = `${r.policy}: ${r.events} event(s)`;
    if (findings.length === 0) return head;
    const f = findings[0];
    return `${head}, ${findings.length} finding(s), first ${f.detector} at step ${f.seq} ` +
      `(line ${f.line})`;
  });
}

/**
 * `summarize TRACE|DIR...`: a line per trace with its verdict under the chosen policy, the
 * sha256 (first 12 digits), the guest, the event count, the BARs above the E820 map and every
 * policy's verdict.
 */
export function summarizeMany(
  p: ParsedArgs,
  run: (args: string[], io: Io) => Promise<number>,
  io: Io,
): Promise<number> {
  const verdictOf = (r: Json) => (r.verdicts as Record<string, string>)[r.policy as string];
  return many("summarize", p, run, io, verdictOf, (r) => {
    const g = (r.guest ?? {}) as Record<string, unknown>;
    const guest = [g.type, g.domain, g.kernel].filter((x) => typeof x === "string").join(" ");
    const verdicts = Object.entries(r.verdicts as Record<string, string>)
      .map(([policy, v]) => `${policy}=${v}`).join(" ");
    const bars = (r.bars_above_e820 as unknown[]).length;
    return `sha256:${String(r.sha256).slice(0, 12)}  ${guest || "guest ?"}  ` +
      `${r.events} event(s), ${bars} BAR(s) above E820  ${verdicts}`;
  });
}
