/**
 * Where on-disk indices (`trace_index.ts`) live: `$P2MTRACE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/p2mtrace`, else `$HOME/.cache/p2mtrace` — never beside the user's trace.
 * One file per trace file identity (device, inode, size, modification and change times),
 * policy, tool version and index format, so a stale key is simply another file name; the
 * file itself records the trace's SHA-256. Reading needs read access to the directory,
 * building needs write access to it; without either (no `--allow-env`, `--allow-read` or
 * `--allow-write` for it, or a directory that cannot be written) commands work without the
 * cache.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { type FileKey, INDEX_FORMAT } from "./trace_index.ts";
import { TOOL_VERSION } from "../version.ts";

/**
 * Traces at least this large get an index on first use by `snapshot`, `lookup` and `diff`
 * (about 65k events: below it a replay from step 0 costs less than the build); `p2mtrace
 * index` builds one for any trace, and an existing index is used whatever the size.
 */
export const AUTO_INDEX_BYTES = 8 << 20;

/** The cache directory, or why there is none. */
export type CacheDir = { dir: string; why?: undefined } | { dir?: undefined; why: string };

function granted(desc: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(desc).state === "granted";
  } catch {
    return false;
  }
}

/**
 * The cache directory from the environment (`env`, as the CLI's `Io` reads it), if it may be
 * read (`write` true: also written).
 *
 * @example
 * ```ts
 * import { cacheDir } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const env = (n: string) => ({ XDG_CACHE_HOME: "/tmp/c", HOME: "/home/u" } as Record<string, string>)[n];
 * assert.equal(cacheDir(env, false).dir ?? "/tmp/c/p2mtrace", "/tmp/c/p2mtrace");
 * assert.match(cacheDir(() => undefined, false).why ?? "", /no cache directory/);
 * ```
 */
export function cacheDir(env: (name: string) => string | undefined, write: boolean): CacheDir {
  const own = env("P2MTRACE_CACHE_DIR");
  const xdg = env("XDG_CACHE_HOME");
  const home = env("HOME");
  const dir = own ? own : xdg ? `${xdg}/p2mtrace` : home ? `${home}/.cache/p2mtrace` : undefined;
  if (dir === undefined) {
    return { why: "no cache directory (P2MTRACE_CACHE_DIR, XDG_CACHE_HOME and HOME are unset)" };
  }
  if (!granted({ name: "read", path: dir })) return { why: `no read access to ${dir}` };
  if (write && !granted({ name: "write", path: dir })) {
    return { why: `no write access to ${dir} (--allow-write)` };
  }
  return { dir };
}

/**
 * The index file name for a trace file identity and policy spec.
 *
 * @example
 * ```ts
 * import { indexFileName } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const key = { dev: 1, ino: 2, size: 3, mtime: 4, ctime: 5 };
 * assert.match(indexFileName(key, "linux-3.12"), /^[0-9a-f]{40}\.p2mindex$/);
 * assert.notEqual(indexFileName(key, "linux-3.12"), indexFileName(key, "linux-3.16"));
 * ```
 */
export function indexFileName(key: FileKey, policy: string): string {
  const id = JSON.stringify({ format: INDEX_FORMAT, tool: TOOL_VERSION, key, policy });
  return createHash("sha256").update(id).digest("hex").slice(0, 40) + ".p2mindex";
}
