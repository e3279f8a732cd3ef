/**
 * Where on-disk indices (`trace_index.ts`) live and what they are called:
 * `$P2MTRACE_CACHE_DIR`, else `$XDG_CACHE_HOME/p2mtrace`, else `$HOME/.cache/p2mtrace` — never
 * beside the user's trace.
 *
 * **Keys.** An index file is named by the trace's content — its SHA-256 — with the policy, the
 * index format, the tool version and the model's source ({@link modelFingerprint}), so a copy
 * of a trace finds its index, an edited trace never finds the old one, and an index built by
 * other model code is simply another file name. Hashing a 1 GB trace on every question would
 * cost more than the answer, so a small alias file maps a trace file's identity (device,
 * inode, size, modification and change times) to the SHA-256 computed when the trace was last
 * read whole; a trace whose identity has no alias is hashed again.
 *
 * **Bounds.** After each build the directory is pruned ({@link pruneCache}): at most
 * {@link CACHE_MAX_INDEXES} index files and {@link CACHE_MAX_BYTES} bytes of them, least
 * recently used first (an index used is touched), never the one just built; at most
 * {@link CACHE_MAX_ALIASES} aliases; temporary files of builds that died an hour ago.
 *
 * Reading needs read access to the directory, building needs write access to it; without
 * either (no `--allow-env`, `--allow-read` or `--allow-write` for it, or a directory that
 * cannot be written) commands work without the cache.
 *
 * @module
 */

import type { FileKey } from "./trace_index.ts";
import { TOOL_VERSION } from "../version.ts";
import { sha256Hex } from "../trace/sha.ts";
import { MODEL_SOURCE_FILES, MODEL_SOURCE_SHA256 } from "../model_source.ts";

/**
 * Bumped whenever the index file layout or the state encoding changes (3: each interval's
 * last change of every PFN it changed, region blocks, an interval ending after a boot pass;
 * 4: checkpoints within an interval, written against its first; 5: a checkpoint's P2M pages
 * in a block of the pages no earlier checkpoint of its group of four intervals wrote, a
 * state holding its mids' places there, a mid its leaves'; 6: change and region rows as
 * `i32` when they fit; 7: a binary directory of interval entries, each interval's blocks in a
 * record block of its own, and each P2M page checked on its own against a sum its parent holds
 * instead of page blocks hashed whole).
 */
export const INDEX_FORMAT = 7;

/** Index files kept in the cache directory at most (least recently used removed first). */
export const CACHE_MAX_INDEXES = 16;
/** Bytes of index files kept at most (about 28 indices of a 1M-event trace). */
export const CACHE_MAX_BYTES = 2 * 1024 ** 3;
/** Alias files (trace identity to SHA-256) kept at most. */
export const CACHE_MAX_ALIASES = 256;
/** A build's temporary file older than this (ms) belongs to a build that died. */
const STALE_TMP_MS = 3600_000;

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
 * The index file name for a trace's SHA-256 and a policy spec: also keyed by the index
 * format, the tool version and {@link modelFingerprint} (through `memo` when given).
 *
 * @example
 * ```ts
 * import { indexFileName } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const sha = "ab".repeat(32);
 * assert.match(await indexFileName(sha, "linux-3.12"), /^[0-9a-f]{40}\.p2mindex$/);
 * assert.notEqual(await indexFileName(sha, "linux-3.12"), await indexFileName(sha, "linux-3.16"));
 * ```
 */
export async function indexFileName(
  traceSha256: string,
  policy: string,
  memo?: FingerprintMemo,
): Promise<string> {
  const id = JSON.stringify({
    format: INDEX_FORMAT,
    tool: TOOL_VERSION,
    model: await modelFingerprint(memo),
    trace: traceSha256,
    policy,
  });
  return (await sha256Hex(new TextEncoder().encode(id))).slice(0, 40) + ".p2mindex";
}

async function aliasFileName(key: FileKey): Promise<string> {
  const id = JSON.stringify({ format: INDEX_FORMAT, key });
  return (await sha256Hex(new TextEncoder().encode(id))).slice(0, 40) + ".p2mid";
}

/**
 * The SHA-256 recorded for the trace file identity `key` in the cache directory `dir`, or
 * undefined when there is none (or the alias file is damaged: it is then simply not used).
 *
 * @example
 * ```ts
 * import { readAlias, writeAlias } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const key = { dev: 1, ino: 2, size: 3, mtime: 4, ctime: 5 };
 * assert.equal(await readAlias(dir, key), undefined);
 * await writeAlias(dir, key, "ab".repeat(32));
 * assert.equal(await readAlias(dir, key), "ab".repeat(32));
 * assert.equal(await readAlias(dir, { ...key, ctime: 6 }), undefined);
 * ```
 */
export async function readAlias(dir: string, key: FileKey): Promise<string | undefined> {
  try {
    // Read synchronously: a cached question waits for it anyway, and an asynchronous read
    // costs a fresh process a hand-over to another thread.
    const a = JSON.parse(Deno.readTextFileSync(`${dir}/${await aliasFileName(key)}`));
    const ok = JSON.stringify(a?.key) === JSON.stringify(key) && typeof a?.sha256 === "string" &&
      /^[0-9a-f]{64}$/.test(a.sha256);
    return ok ? a.sha256 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records that the trace file with identity `key` has the SHA-256 `sha256` (written whole
 * through a temporary file, so a reader never sees half of it).
 */
export async function writeAlias(dir: string, key: FileKey, sha256: string): Promise<void> {
  const path = `${dir}/${await aliasFileName(key)}`;
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify({ key, sha256 }), { mode: 0o600 });
    await Deno.rename(tmp, path);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/**
 * Whether an index under the policy spec `policy` in the cache directory `dir` may be of the
 * bytes of a trace file of `size` bytes that has no alias of its own (a copy of an indexed
 * trace, or one rewritten in place): some alias there records a file of that size whose
 * SHA-256 has an index under `policy`. Every build records an alias for the file it read, so
 * when none does, no index of these bytes is there, and the build can hash the trace while it
 * parses it instead of reading it twice. (An index whose alias was pruned, beyond
 * {@link CACHE_MAX_ALIASES}, or never written, is then built again.)
 *
 * @example
 * ```ts
 * import { indexFileName, mayHoldIndexOf, writeAlias } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * const sha = "ab".repeat(32);
 * await writeAlias(dir, { dev: 1, ino: 2, size: 300, mtime: 4, ctime: 5 }, sha);
 * assert.equal(await mayHoldIndexOf(dir, 300, "linux-3.12"), false); // no index yet
 * await Deno.writeFile(`${dir}/${await indexFileName(sha, "linux-3.12")}`, new Uint8Array(1));
 * assert.equal(await mayHoldIndexOf(dir, 300, "linux-3.12"), true);
 * assert.equal(await mayHoldIndexOf(dir, 301, "linux-3.12"), false);
 * assert.equal(await mayHoldIndexOf(dir, 300, "linux-3.16"), false);
 * ```
 */
export async function mayHoldIndexOf(
  dir: string,
  size: number,
  policy: string,
  memo?: FingerprintMemo,
): Promise<boolean> {
  const indexes = new Set<string>(), aliases: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile) continue;
      if (e.name.endsWith(".p2mindex")) indexes.add(e.name);
      else if (e.name.endsWith(".p2mid")) aliases.push(e.name);
    }
  } catch {
    return false; // nothing to read there: nothing to find
  }
  if (indexes.size === 0) return false;
  for (const name of aliases) {
    let a;
    try {
      a = JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
    } catch {
      continue; // being replaced, or damaged: not used
    }
    if (a?.key?.size !== size || typeof a?.sha256 !== "string") continue;
    if (indexes.has(await indexFileName(a.sha256, policy, memo))) return true;
  }
  return false;
}

/** Marks an index file as used now (pruning removes the least recently used first). */
export function touchIndex(path: string): Promise<void> {
  const now = new Date();
  try {
    Deno.utimeSync(path, now, now);
  } catch { /* not ours to touch: it is simply pruned earlier */ }
  return Promise.resolve();
}

/** What {@link pruneCache} removed. */
export interface Pruned {
  /** Index files removed. */
  indexes: number;
  /** Alias and stale temporary files removed. */
  others: number;
}

/**
 * Bounds the cache directory `dir`: keeps at most `maxIndexes` index files of at most
 * `maxBytes` bytes together, the most recently used (modified or touched) first, and always
 * `keep` (the index just built, even when larger than the bound); at most
 * {@link CACHE_MAX_ALIASES} alias files; removes build temporaries older than an hour. Files
 * that are not the cache's are left alone.
 *
 * @example
 * ```ts
 * import { pruneCache } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const dir = await Deno.makeTempDir();
 * for (let i = 0; i < 4; i++) {
 *   await Deno.writeFile(`${dir}/${i}.p2mindex`, new Uint8Array(100));
 *   await Deno.utime(`${dir}/${i}.p2mindex`, i, i); // 0 is the least recently used
 * }
 * await Deno.writeTextFile(`${dir}/notes.txt`, "mine");
 * const r = await pruneCache(dir, `${dir}/0.p2mindex`, { maxIndexes: 2, maxBytes: 1e9 });
 * assert.deepEqual(r, { indexes: 2, others: 0 });
 * const left = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
 * assert.deepEqual(left, ["0.p2mindex", "3.p2mindex", "notes.txt"]);
 * ```
 */
export async function pruneCache(
  dir: string,
  keep: string,
  bounds: { maxIndexes: number; maxBytes: number } = {
    maxIndexes: CACHE_MAX_INDEXES,
    maxBytes: CACHE_MAX_BYTES,
  },
): Promise<Pruned> {
  const indexes: { path: string; size: number; used: number }[] = [];
  const aliases: { path: string; used: number }[] = [];
  const pruned: Pruned = { indexes: 0, others: 0 };
  const remove = async (path: string, what: keyof Pruned) => {
    try {
      await Deno.remove(path);
      pruned[what]++;
    } catch { /* gone already, or not ours to remove */ }
  };
  const now = Date.now();
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    const path = `${dir}/${e.name}`;
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(path);
    } catch {
      continue;
    }
    const used = st.mtime?.getTime() ?? 0;
    if (/\.p2m(index|id|fp)\..+\.tmp$/.test(e.name)) {
      if (now - used > STALE_TMP_MS) await remove(path, "others");
    } else if (e.name.endsWith(".p2mindex")) indexes.push({ path, size: st.size, used });
    else if (e.name.endsWith(".p2mid")) aliases.push({ path, used });
  }
  indexes.sort((a, b) => b.used - a.used || (a.path < b.path ? -1 : 1));
  let count = 0, bytes = 0;
  for (const f of indexes.filter((f) => f.path === keep)) count++, bytes += f.size;
  for (const f of indexes) {
    if (f.path === keep) continue;
    if (count + 1 > bounds.maxIndexes || bytes + f.size > bounds.maxBytes) {
      await remove(f.path, "indexes");
    } else count++, bytes += f.size;
  }
  aliases.sort((a, b) => b.used - a.used || (a.path < b.path ? -1 : 1));
  for (const a of aliases.slice(CACHE_MAX_ALIASES)) await remove(a.path, "others");
  return pruned;
}

/** Source directories whose code decides a replayed state (the index's states depend on it). */
export const MODEL_DIRS: readonly string[] = [
  "model",
  "p2m",
  "kernel",
  "policy",
  "trace",
  "replay",
];
let fingerprint: Promise<string> | undefined;

/** Where {@link memoFingerprint} keeps its memo, and whether it may write it. */
export interface FingerprintMemo {
  /** The cache directory. */
  dir: string;
  /** Whether the memo may be written (write access to `dir`). */
  write: boolean;
}

/**
 * SHA-256 (16 hex digits) of the content of the model's source files (src/model, p2m, kernel,
 * policy, trace, replay; tests excluded), so that an index built by other model code — a
 * checkout with a fixed kernel rule under the same version number — is another file name,
 * never a stale answer. Computed once per process.
 *
 * The fingerprint of the source as committed is generated into `src/model_source.ts`
 * (`tools/model_source.ts`; `tests/model_source_test.ts` fails when it is stale), so a
 * question need not read and hash the source (about 430 KB). A checkout's files may have
 * been edited since, though, and an index their old code built must then not be used: from a
 * source tree (a `file:` URL), the generated value is taken only when a memo in `memo.dir`
 * says that files with exactly these identities — path, device, inode, size, modification
 * and status change times of each listed file and of their directories, which any write, new
 * or removed file changes — had this content ({@link memoFingerprint}: the identities are one
 * `stat` each, about 70; the first question after a checkout or an edit hashes the source and
 * writes the memo). Without a memo directory the source is hashed. When the source cannot
 * be read (a published package, no read access to it) the generated value stands for it.
 *
 * @example
 * ```ts
 * import { modelFingerprint } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * assert.match(await modelFingerprint(), /^[0-9a-f]{16}$/);
 * ```
 */
export function modelFingerprint(memo?: FingerprintMemo): Promise<string> {
  const root = new URL("../", import.meta.url);
  fingerprint ??= root.protocol === "file:"
    ? memoFingerprint(root, MODEL_DIRS, memo, MODEL_SOURCE_FILES).catch(() => MODEL_SOURCE_SHA256)
    : Promise.resolve(MODEL_SOURCE_SHA256);
  return fingerprint;
}

/**
 * The `.ts` files (tests excluded) below `dirs` of `root`, relative to it, in name order (the
 * list `src/model_source.ts` holds).
 *
 * @example
 * ```ts
 * import { MODEL_DIRS, modelSourceFiles } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const files = modelSourceFiles(new URL("../", import.meta.url), MODEL_DIRS);
 * assert.ok(files.includes("model/state.ts") && !files.includes("model/state_codec_test.ts"));
 * ```
 */
export function modelSourceFiles(root: URL, dirs: readonly string[]): string[] {
  return sourceFiles(root, dirs).map(([rel]) => rel);
}

/** The `.ts` files (tests excluded) below `dirs` of `root`, in name order, with their paths. */
function sourceFiles(root: URL, dirs: readonly string[]): [string, URL][] {
  const out: [string, URL][] = [];
  const walk = (dir: URL, rel: string) => {
    const entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1);
    for (const e of entries) {
      if (e.isDirectory) walk(new URL(`${e.name}/`, dir), `${rel}${e.name}/`);
      else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) {
        out.push([`${rel}${e.name}`, new URL(e.name, dir)]);
      }
    }
  };
  for (const d of dirs) walk(new URL(`${d}/`, root), `${d}/`);
  return out;
}

/**
 * SHA-256 (16 hex digits) of the paths and bytes of the `.ts` files (tests excluded) below
 * `dirs` of the directory `root`, in name order: it changes when any byte does, whatever
 * the files' times.
 *
 * @example
 * ```ts
 * import { sourceFingerprint } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const root = new URL(`file://${await Deno.makeTempDir()}/`);
 * await Deno.mkdir(new URL("model/", root));
 * await Deno.writeTextFile(new URL("model/a.ts", root), "export const x = 1;\n");
 * const before = await sourceFingerprint(root, ["model"]);
 * await Deno.writeTextFile(new URL("model/a_test.ts", root), "// a test\n");
 * assert.equal(await sourceFingerprint(root, ["model"]), before);
 * // Same name, size and times, other bytes: another fingerprint.
 * const { mtime } = Deno.statSync(new URL("model/a.ts", root));
 * await Deno.writeTextFile(new URL("model/a.ts", root), "export const x = 2;\n");
 * await Deno.utime(new URL("model/a.ts", root), mtime!, mtime!);
 * assert.notEqual(await sourceFingerprint(root, ["model"]), before);
 * ```
 */
export async function sourceFingerprint(root: URL, dirs: readonly string[]): Promise<string> {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const [rel, url] of sourceFiles(root, dirs)) {
    const body = Deno.readFileSync(url);
    parts.push(enc.encode(`${rel} ${body.length}\n`), body);
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (all.set(p, at), at + p.length), 0);
  return (await sha256Hex(all)).slice(0, 16);
}

/**
 * A file changed this recently (ms) may change again within the same timestamp, so its
 * times cannot stand for its bytes yet (git's "racily clean" entries): no memo is written.
 */
const RACY_MS = 2000;

/** The path of the directory `root` (a `file:` URL ending in "/"), ending in its separator. */
function filePath(root: URL): string {
  const p = decodeURIComponent(root.pathname);
  // file:///C:/x/ on Windows is C:/x/ (Deno takes either separator there).
  return /^\/[A-Za-z]:\//.test(p) ? p.slice(1) : p;
}

/** FNV-1a (32 bits, hex) of `text`: a memo's file name, not a check of anything. */
function fnv(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * The paths (relative to `root`) whose identities stand for the source: with `files` (the
 * list `src/model_source.ts` holds), those files and every directory from each of `dirs` down
 * to them (a file added or removed there changes its directory's times); without, the files
 * found below `dirs` now.
 */
function identityPaths(root: URL, dirs: readonly string[], files?: readonly string[]): string[] {
  if (files === undefined) return sourceFiles(root, dirs).map(([rel]) => rel);
  const out = new Set<string>(dirs.map((d) => `${d}/`));
  for (const f of files) {
    for (let at = f.indexOf("/"); at >= 0; at = f.indexOf("/", at + 1)) out.add(f.slice(0, at + 1));
  }
  return [...out, ...files];
}

/**
 * {@link sourceFingerprint}, found through a memo in `memo.dir` (one per source tree) that
 * maps the identities of the source's files — path, device, inode, size, modification and
 * status change times, which any write changes — to their fingerprint, so that a question
 * does not read and hash the model's source on every run. With `files` (the list
 * `src/model_source.ts` holds), those files and their directories stand for the source (no
 * directory is listed: a file added or removed changes its directory's times; one missing
 * hashes the source again). A memo is written only when no file changed in the last two
 * seconds; one that does not match every identity is not used.
 *
 * @example
 * ```ts
 * import { memoFingerprint, sourceFingerprint } from "./index_cache.ts";
 * import assert from "node:assert/strict";
 * const root = new URL(`file://${await Deno.makeTempDir()}/`);
 * const memo = { dir: await Deno.makeTempDir(), write: true };
 * await Deno.mkdir(new URL("model/", root));
 * await Deno.writeTextFile(new URL("model/a.ts", root), "export const x = 1;\n");
 * const old = new Date(Date.now() - 60_000);
 * await Deno.utime(new URL("model/a.ts", root), old, old);
 * assert.equal(await memoFingerprint(root, ["model"], memo), await sourceFingerprint(root, ["model"]));
 * ```
 */
export async function memoFingerprint(
  root: URL,
  dirs: readonly string[],
  memo?: FingerprintMemo,
  files?: readonly string[],
): Promise<string> {
  if (memo === undefined) return await sourceFingerprint(root, dirs);
  const now = Date.now();
  let racy = false;
  let ids: string;
  // Paths as strings: a URL costs a fresh process more than the stat itself (58 stats: about
  // 0.7 ms by path, 3-8 ms by URL).
  const base = filePath(root);
  try {
    ids = JSON.stringify(
      identityPaths(root, dirs, files).map((rel) => {
        const st = Deno.statSync(base + rel);
        const m = st.mtime?.getTime() ?? 0, c = st.ctime?.getTime() ?? now;
        if (!(now - Math.max(m, c) >= RACY_MS)) racy = true;
        return [rel, st.dev, st.ino, st.size, m, c];
      }),
    );
  } catch {
    return await sourceFingerprint(root, dirs); // a listed file is gone: the source changed
  }
  const path = `${memo.dir}/${fnv(root.href)}${fnv(`${root.href}\n`)}.p2mfp`;
  try {
    const m = JSON.parse(Deno.readTextFileSync(path));
    if (m?.files === ids && /^[0-9a-f]{16}$/.test(m?.fingerprint)) return m.fingerprint;
  } catch { /* no memo, or not one to use */ }
  const fresh = await sourceFingerprint(root, dirs);
  if (memo.write && !racy) {
    const tmp = `${path}.${Deno.pid}.${crypto.randomUUID()}.tmp`;
    try {
      Deno.writeTextFileSync(tmp, JSON.stringify({ files: ids, fingerprint: fresh }), {
        mode: 0o600,
      });
      Deno.renameSync(tmp, path);
    } catch {
      await Deno.remove(tmp).catch(() => {});
    }
  }
  return fresh;
}
