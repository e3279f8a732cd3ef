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
import { onInterrupt } from "../cli/interrupt.ts";
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

/** Copies a child's output to `out` until it ends or `stop` resolves. */
async function forward(
  stream: ReadableStream<Uint8Array>,
  out: (t: string) => void,
  stop: Promise<void>,
): Promise<void> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  const stopped = stop.then(() => undefined);
  try {
    for (;;) {
      const r = await Promise.race([reader.read(), stopped]);
      if (r === undefined || r.done) break;
      out(r.value);
    }
  } catch {
    /* the pipe broke: the output is advisory */
  } finally {
    reader.cancel().catch(() => {});
  }
}

function permissionHint(e: unknown, what: string, cmd?: string): never {
  if (e instanceof Deno.errors.PermissionDenied && cmd !== undefined) {
    throw new UsageError(
      `bisect run: '${cmd}' is not executable (chmod +x it, or run it through its ` +
        `interpreter, e.g. sh ${cmd})`,
    );
  }
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
  timeoutSeconds?: number,
): Promise<CommandVerdict> {
  let path: string;
  try {
    path = await Deno.makeTempFile({ prefix: "p2mtrace-snapshot-", suffix: ".json" });
  } catch (e) {
    permissionHint(e, "writing the snapshot file");
  }
  let child: Deno.ChildProcess | undefined;
  // The predicate runs in its own process group (detached: setsid), so everything it starts
  // can be killed with it: on a timeout, and on SIGINT/SIGTERM of p2mtrace.
  const killGroup = () => {
    if (child === undefined) return;
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* already gone */ }
  };
  const cleanup = onInterrupt(() => {
    killGroup();
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
  });
  try {
    try {
      await Deno.writeTextFile(path, snapshotJsonText);
    } catch (e) {
      permissionHint(e, "writing the snapshot file");
    }
    try {
      child = new Deno.Command(command.cmd, {
        args: [...command.args],
        env: { ...env, P2MTRACE_SNAPSHOT: path },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        detached: true,
      }).spawn();
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        throw new UsageError(`bisect run: command '${command.cmd}' not found`);
      }
      permissionHint(e, `running '${command.cmd}'`, command.cmd);
    }
    const running = child;
    const feed = (async () => {
      const w = running.stdin.getWriter();
      try {
        await w.write(new TextEncoder().encode(snapshotJsonText));
        await w.close();
      } catch {
        // The command need not read its standard input: a closed pipe is fine.
      }
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timedOut = false;
    if (timeoutSeconds !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        killGroup();
      }, timeoutSeconds * 1000);
    }
    // Only the exit status is waited for: a child that keeps the pipes open (a daemon the
    // predicate started) must not hang the bisect. Output still in the pipes gets a moment.
    let exited!: () => void;
    const stop = new Promise<void>((resolve) => exited = resolve);
    const out = forward(running.stdout, stderr, stop);
    const err = forward(running.stderr, stderr, stop);
    const status = await running.status;
    clearTimeout(timer);
    setTimeout(exited, 50);
    await Promise.all([out, err]);
    feed.catch(() => {});
    if (timedOut) {
      stderr(`the command did not finish within ${timeoutSeconds} s: killed; step marked skip\n`);
      return { mark: "skip", code: 125 };
    }
    return verdictOf(status.code, status.signal);
  } finally {
    cleanup();
    killGroup();
    await Deno.remove(path).catch(() => {});
  }
}
