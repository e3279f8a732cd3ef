/**
 * Where on-disk indices (`trace_index.ts`) live: `$P2MTRACE_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/p2mtrace`, else `$HOME/.cache/p2mtrace` — never beside the user's trace.
 * One file per trace file identity (device, inode, size, modification and change times),
 * policy, tool version, index format and the model's source ({@link modelFingerprint}), so a stale key is simply another file name; the
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
  const id = JSON.stringify({
    format: INDEX_FORMAT,
    tool: TOOL_VERSION,
    model: modelFingerprint(),
    key,
    policy,
  });
  return createHash("sha256").update(id).digest("hex").slice(0, 40) + ".p2mindex";
}

/** Source directories whose code decides a replayed state (the index's states depend on it). */
const MODEL_DIRS = ["model", "p2m", "kernel", "policy", "trace", "replay"];
let fingerprint: string | undefined;

/**
 * SHA-256 of the names, sizes and modification times of the model's source files (src/model,
 * p2m, kernel, policy, trace, replay; tests excluded: statting them costs a few ms where
 * reading them would cost tens), so that an index built by other model code — a checkout with a fixed kernel
 * rule under the same version number — is another file name, never a stale answer. When the
 * source cannot be read (a published package, no read access to it) it is "-": the tool
 * version then stands for the code.
 *
 * @example
 * ```ts
 * import { modelFingerprint } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * assert.match(modelFingerprint(), /^([0-9a-f]{16}|-)$/);
 * ```
 */
export function modelFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  try {
    const root = new URL("../", import.meta.url);
    if (root.protocol !== "file:") return fingerprint = "-";
    const h = createHash("sha256");
    const walk = (dir: URL) => {
      const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1);
      for (const e of entries) {
        if (e.isDirectory) walk(new URL(`${e.name}/`, dir));
        else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
          const st = Deno.statSync(new URL(e.name, dir));
          h.update(`${e.name} ${st.size} ${st.mtime?.getTime()}\n`);
        }
      }
    };
    for (const d of MODEL_DIRS) walk(new URL(`${d}/`, root));
    fingerprint = h.digest("hex").slice(0, 16);
  } catch {
    fingerprint = "-";
  }
  return fingerprint;
}
