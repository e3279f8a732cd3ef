/**
 * Runs the external predicate of `bisect run` on one snapshot, with git's exit-code contract:
 * 0 good, 1-127 bad except 125 skip, 128 and above (or death by a signal) abort the bisect.
 * The snapshot JSON (docs/bisect.md) is written to a temporary file named by the environment
 * variable `P2MTRACE_SNAPSHOT` and also given on standard input; `P2MTRACE_STEP`,
 * `P2MTRACE_TRACE` and `P2MTRACE_POLICY` name the step, the trace and the policy. The file is
 * removed when the command ends. The command's own output goes to our standard error.
 *
 * This is the only part of p2mtrace that starts processes (`--allow-run`) or writes a file
 * it was not asked to (`--allow-write`, for the temporary file).
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import type { BisectMark } from "./search.ts";

/** The command and its arguments. */
export interface PredicateCommand {
  /** Program (looked up on PATH). */
  cmd: string;
  /** Arguments. */
  args: readonly string[];
}

/** What one run of the command means. */
export type CommandVerdict =
  | { mark: BisectMark; code: number }
  | { abort: string; code: number | null };

/**
 * The meaning of an exit status under git's contract.
 *
 * @example
 * ```ts
 * import { verdictOf } from "./command.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(verdictOf(0, null), { mark: "good", code: 0 });
 * assert.deepEqual(verdictOf(125, null), { mark: "skip", code: 125 });
 * assert.deepEqual(verdictOf(3, null), { mark: "bad", code: 3 });
 * assert.equal("abort" in verdictOf(128, null), true);
 * assert.equal("abort" in verdictOf(1, "SIGKILL"), true);
 * ```
 */
export function verdictOf(code: number, signal: string | null): CommandVerdict {
  if (signal !== null) return { abort: `killed by ${signal}`, code: null };
  if (code === 0) return { mark: "good", code };
  if (code === 125) return { mark: "skip", code };
  if (code >= 1 && code <= 127) return { mark: "bad", code };
  return { abort: `exit ${code} (128 and above abort a bisect run)`, code };
}

async function forward(stream: ReadableStream<Uint8Array>, out: (t: string) => void) {
  for await (const text of stream.pipeThrough(new TextDecoderStream())) out(text);
}

function permissionHint(e: unknown, what: string): never {
  if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
    throw new UsageError(
      `bisect run: ${what} needs permission: run p2mtrace with --allow-run (to start the ` +
        `command) and --allow-write (for the temporary snapshot file)`,
    );
  }
  throw e;
}

/**
 * Runs `command` on a snapshot (its JSON text) and returns the verdict. `env` adds variables
 * to the inherited environment; `stderr` receives the command's output.
 */
export async function runPredicateCommand(
  command: PredicateCommand,
  snapshotJsonText: string,
  env: Record<string, string>,
  stderr: (text: string) => void,
): Promise<CommandVerdict> {
  let path: string;
  try {
    path = await Deno.makeTempFile({ prefix: "p2mtrace-snapshot-", suffix: ".json" });
    await Deno.writeTextFile(path, snapshotJsonText);
  } catch (e) {
    permissionHint(e, "writing the snapshot file");
  }
  try {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(command.cmd, {
        args: [...command.args],
        env: { ...env, P2MTRACE_SNAPSHOT: path },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new UsageError(`bisect run: command '${command.cmd}' not found`);
      }
      permissionHint(e, `running '${command.cmd}'`);
    }
    const feed = (async () => {
      const w = child.stdin.getWriter();
      try {
        await w.write(new TextEncoder().encode(snapshotJsonText));
        await w.close();
      } catch {
        // The command need not read its standard input: a closed pipe is fine.
      }
    })();
    const [status] = await Promise.all([
      child.status,
      forward(child.stdout, stderr),
      forward(child.stderr, stderr),
      feed,
    ]);
    return verdictOf(status.code, status.signal);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
