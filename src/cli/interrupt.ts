/**
 * What must be undone when the user interrupts a command (SIGINT, SIGTERM): temporary files
 * to remove, a predicate's process group to kill. Each piece of work registers its cleanup
 * while it runs; on a signal every registered cleanup runs (synchronously, so nothing is left
 * half done) and the process exits with 128 + the signal number, as a shell reports a command
 * killed by that signal.
 *
 * @module
 */

const cleanups = new Set<() => void>();
const SIGNALS = [["SIGINT", 2], ["SIGTERM", 15]] as const;
const handlers = new Map<Deno.Signal, () => void>();

function install(): void {
  for (const [name, number] of SIGNALS) {
    const handler = () => {
      for (const c of [...cleanups]) {
        try {
          c();
        } catch { /* best effort: the next cleanup must still run */ }
      }
      Deno.exit(128 + number);
    };
    try {
      Deno.addSignalListener(name, handler);
      handlers.set(name, handler);
    } catch { /* no signals here (e.g. Windows for SIGTERM): nothing to undo on one */ }
  }
}

function uninstall(): void {
  for (const [name, handler] of handlers) Deno.removeSignalListener(name, handler);
  handlers.clear();
}

/**
 * Runs `cleanup` if SIGINT or SIGTERM arrives before the returned function is called; call it
 * when the work is done (the signal handlers are removed with the last registration, so a
 * process with nothing to clean keeps the default behaviour).
 *
 * @example
 * ```ts
 * import { onInterrupt } from "./interrupt.ts";
 * const done = onInterrupt(() => {});
 * done();
 * ```
 */
export function onInterrupt(cleanup: () => void): () => void {
  const own = () => cleanup();
  if (cleanups.size === 0) install();
  cleanups.add(own);
  return () => {
    if (!cleanups.delete(own)) return;
    if (cleanups.size === 0) uninstall();
  };
}
