/**
 * Whether another thread may load p2mtrace's own modules. Deno loads a worker's modules as
 * dynamic imports, which need read access to them: the launcher grants `--allow-read`, but
 * `--allow-read=TRACE` alone (reading a trace needs only read access to it) does not reach them,
 * and a worker started anyway fails with Deno's own permission error. Callers then do the work on
 * this thread instead. The query asks for nothing and never prompts.
 *
 * @module
 */

/**
 * True when the modules under `src/` may be read, so a worker thread can load them.
 *
 * @example
 * ```ts
 * import { threadModulesReadable } from "./thread_access.ts";
 * import assert from "node:assert/strict";
 * // The doc tests run with --allow-read.
 * assert.equal(threadModulesReadable(), true);
 * ```
 */
export function threadModulesReadable(): boolean {
  const src = new URL("./", import.meta.url);
  if (src.protocol !== "file:") return false;
  return Deno.permissions.querySync({ name: "read", path: src }).state === "granted";
}
