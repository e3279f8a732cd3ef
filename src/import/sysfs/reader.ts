/**
 * The only file I/O `record` does: reading text files, listing directories and reading symlinks
 * of a Linux guest's `/sys` and `/proc`, or of a captured copy under a root directory. Every
 * failure comes back as a value (`{ ok: false, reason }`) so the assembler can degrade with a
 * note instead of crashing. {@link memoryReader} serves the same interface from a map, for
 * tests and examples.
 *
 * @module
 */

import { escapeText } from "../../report/text.ts";

/** A read that worked, or why it did not. */
export type ReadResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Read-only access to a guest's files by absolute guest path (`/proc/iomem`). */
export interface SysfsReader {
  /** Reads a whole text file. */
  read(path: string): Promise<ReadResult<string>>;
  /** Lists the names in a directory, sorted by code point (deterministic). */
  list(path: string): Promise<ReadResult<string[]>>;
  /** The target of a symbolic link (e.g. a VF's `physfn`). */
  link(path: string): Promise<ReadResult<string>>;
}

/**
 * A short reason for a failed read, without a stack trace.
 *
 * @example
 * ```ts
 * import { failureReason } from "./reader.ts";
 * import assert from "node:assert/strict";
 * assert.equal(failureReason(new Deno.errors.NotFound("x")), "no such file");
 * ```
 */
export function failureReason(e: unknown): string {
  if (e instanceof Deno.errors.NotFound) return "no such file";
  if (e instanceof Deno.errors.NotCapable) return "not allowed (run with --allow-read)";
  if (e instanceof Deno.errors.PermissionDenied) return "permission denied (not root?)";
  if (e instanceof Deno.errors.IsADirectory) return "is a directory";
  if (e instanceof Deno.errors.NotADirectory) return "not a directory";
  return e instanceof Error ? e.message : String(e);
}

/** Joins a root directory and an absolute guest path. */
function under(root: string, path: string): string {
  const r = root.endsWith("/") ? root.slice(0, -1) : root;
  return r + (path.startsWith("/") ? path : "/" + path);
}

/**
 * Largest file `record` reads (real `/proc/iomem` and memmap files are a few KiB; a P2M dump of
 * a 1 TiB guest is a few MiB). A larger file is refused with a note, never read whole.
 */
export const MAX_SYSFS_FILE_BYTES = 64 * 1024 * 1024;

/** Reads a regular file of at most {@link MAX_SYSFS_FILE_BYTES}, as UTF-8 (lenient: sysfs text). */
async function readCapped(path: string): Promise<ReadResult<string>> {
  const file = await Deno.open(path, { read: true });
  try {
    const st = await file.stat();
    if (!st.isFile) {
      return { ok: false, reason: "not a regular file (a device, FIFO or socket is refused)" };
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      size += n;
      if (size > MAX_SYSFS_FILE_BYTES) {
        return { ok: false, reason: `larger than ${MAX_SYSFS_FILE_BYTES} bytes: refused` };
      }
      parts.push(buf.slice(0, n));
    }
    const all = new Uint8Array(size);
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return { ok: true, value: new TextDecoder().decode(all) };
  } finally {
    file.close();
  }
}

/** `a/./b/../c` to `a/c`, by name only. */
function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return (path.startsWith("/") ? "/" : "") + out.join("/");
}

function isInside(dir: string, path: string): boolean {
  return dir === "/" || path === dir || path.startsWith(dir + "/");
}

/**
 * Reads the guest's files under `root` (`/` for the live system, or a captured copy). Needs
 * only read permission. A captured copy is untrusted: every path is resolved (symlinks
 * followed) and anything that resolves outside `root` is refused with a reason, so nothing of
 * a file outside the root reaches the trace; links inside it (as `cp -a` keeps a sysfs
 * capture's relative links) keep working. Files must be regular and at most
 * {@link MAX_SYSFS_FILE_BYTES}.
 *
 * @example
 * ```ts
 * import { directoryReader } from "./reader.ts";
 * import assert from "node:assert/strict";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/proc`);
 * await Deno.symlink("/etc/hostname", `${root}/proc/iomem`);
 * const r = await directoryReader(root).read("/proc/iomem");
 * assert.equal(r.ok, false);
 * assert.match(r.ok ? "" : r.reason, /outside the root/);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function directoryReader(root: string): SysfsReader {
  let realRoot: Promise<string> | undefined;
  const rootPath = () => realRoot ??= Deno.realPath(root);
  /** The real path of `path` under the root, or a refusal when it leaves the root. */
  const resolve = async (path: string): Promise<ReadResult<string>> => {
    const real = await Deno.realPath(under(root, path));
    const base = await rootPath();
    if (!isInside(base, real)) {
      return {
        ok: false,
        reason: `resolves outside the root (to ${escapeText(real)}): refused`,
      };
    }
    return { ok: true, value: real };
  };
  return {
    async read(path) {
      try {
        const real = await resolve(path);
        return real.ok ? await readCapped(real.value) : real;
      } catch (e) {
        return { ok: false, reason: failureReason(e) };
      }
    },
    async list(path) {
      try {
        const real = await resolve(path);
        if (!real.ok) return real;
        const names: string[] = [];
        for await (const entry of Deno.readDir(real.value)) names.push(entry.name);
        return { ok: true, value: names.sort() };
      } catch (e) {
        return { ok: false, reason: failureReason(e) };
      }
    },
    async link(path) {
      try {
        const full = under(root, path);
        const target = await Deno.readLink(full);
        // Only a link whose target stays inside the root is reported (judged by name, so a
        // capture that left the target out still names it).
        if (root !== "/") {
          const dir = full.slice(0, full.lastIndexOf("/"));
          const where = normalize(target.startsWith("/") ? target : `${dir}/${target}`);
          if (!isInside(normalize(under(root, "/")), where)) {
            return {
              ok: false,
              reason: `points outside the root (to ${escapeText(target)}): refused`,
            };
          }
        }
        return { ok: true, value: target };
      } catch (e) {
        return { ok: false, reason: failureReason(e) };
      }
    },
  };
}

/** What a {@link memoryReader} path holds: file text, a symlink, or a failure to simulate. */
export type MemoryEntry = string | { link: string } | { error: string };

/**
 * A reader over an in-memory map of guest paths. Directories are implied by the paths below
 * them. An `{ error }` entry makes reading that path fail with that reason (permissions).
 *
 * @example
 * ```ts
 * import { memoryReader } from "./reader.ts";
 * import assert from "node:assert/strict";
 * const r = memoryReader({
 *   "/sys/firmware/memmap/1/type": "Reserved\n",
 *   "/sys/firmware/memmap/0/type": "System RAM\n",
 *   "/sys/kernel/debug/xen/mmu/p2m": { error: "permission denied (not root?)" },
 * });
 * assert.deepEqual(await r.list("/sys/firmware/memmap"), { ok: true, value: ["0", "1"] });
 * assert.deepEqual(await r.read("/sys/firmware/memmap/0/type"), { ok: true, value: "System RAM\n" });
 * assert.equal((await r.read("/sys/kernel/debug/xen/mmu/p2m")).ok, false);
 * assert.deepEqual(await r.read("/proc/iomem"), { ok: false, reason: "no such file" });
 * ```
 */
export function memoryReader(files: Record<string, MemoryEntry>): SysfsReader {
  const entries = new Map(Object.entries(files));
  return {
    read(path) {
      const e = entries.get(path);
      if (e === undefined) {
        const isDir = [...entries.keys()].some((k) => k.startsWith(path + "/"));
        return Promise.resolve({ ok: false, reason: isDir ? "is a directory" : "no such file" });
      }
      if (typeof e === "string") return Promise.resolve({ ok: true, value: e });
      if ("error" in e) return Promise.resolve({ ok: false, reason: e.error });
      return Promise.resolve({ ok: false, reason: "is a symbolic link" });
    },
    list(path) {
      const own = entries.get(path);
      if (own !== undefined && typeof own !== "string" && "error" in own) {
        return Promise.resolve({ ok: false, reason: own.error });
      }
      const prefix = path.endsWith("/") ? path : path + "/";
      const names = new Set<string>();
      for (const k of entries.keys()) {
        if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split("/")[0]);
      }
      if (names.size === 0) return Promise.resolve({ ok: false, reason: "no such file" });
      return Promise.resolve({ ok: true, value: [...names].sort() });
    },
    link(path) {
      const e = entries.get(path);
      if (e !== undefined && typeof e !== "string" && "link" in e) {
        return Promise.resolve({ ok: true, value: e.link });
      }
      return Promise.resolve({
        ok: false,
        reason: e === undefined ? "no such file" : "not a link",
      });
    },
  };
}
