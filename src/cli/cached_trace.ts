/**
 * The on-disk index behind `snapshot`, `lookup` and `diff` (and `p2mtrace index`): find the
 * trace file's index in the cache, check it, build it on first use for a large trace, and
 * fall back to a replay from step 0 — with one note on stderr — whenever the cache cannot be
 * used. Stdin, FIFOs and `.gz` traces are never indexed (nothing to seek in). The answers
 * are the same with or without the index (`tests/index_cache_test.ts`).
 *
 * @module
 */

import type { TraceReader } from "../trace/read.ts";
import type { TraceHeader } from "../trace/event.ts";
import type { Policy } from "../policy/policy.ts";
import { choosePolicy, type PolicySource } from "../policy/choose.ts";
import { policySpec } from "../report/snapshot_report.ts";
import {
  buildTraceIndex,
  type BuiltIndex,
  fileKey,
  IndexUnusable,
  TraceIndex,
} from "../replay/trace_index.ts";
import {
  AUTO_INDEX_BYTES,
  cacheDir,
  indexFileName,
  mayHoldIndexOf,
  pruneCache,
  readAlias,
  touchIndex,
  writeAlias,
} from "../replay/index_cache.ts";
import { CutOffError, HeapLimitError } from "../errors.ts";
import { validateHeader } from "../trace/validate.ts";
import { parseJson } from "../trace/json_keys.ts";
import { escapeText } from "../report/text.ts";
import type { Io } from "./io.ts";
import { YOUNG_GENERATION_MB } from "./capped_heap.ts";
import type { ErrorData } from "../trace/threaded_read.ts";
import { threadModulesReadable } from "../thread_access.ts";

/** A trace answered from its index. */
export interface CachedTrace {
  /** The checked index. */
  index: TraceIndex;
  /** The trace header. */
  header: TraceHeader;
  /** The policy. */
  policy: Policy;
  /** Where the policy came from. */
  policySource: PolicySource;
}

/** Bytes of a trace read to find its header without the streaming reader. */
const HEAD_BYTES = 64 * 1024;

/**
 * The status and first {@link HEAD_BYTES} of `path` when it is a regular file that is not
 * gzip; undefined otherwise (the replay reports what is wrong with the file).
 */
function indexable(path: string): { stat: Deno.FileInfo; head: Uint8Array } | undefined {
  try {
    const stat = Deno.statSync(path);
    if (!stat.isFile) return undefined;
    const file = Deno.openSync(path, { read: true });
    try {
      const head = new Uint8Array(HEAD_BYTES);
      let n = 0;
      for (let got; n < head.length && (got = file.readSync(head.subarray(n))) !== null;) n += got;
      const gzip = n >= 2 && head[0] === 0x1f && head[1] === 0x8b;
      return gzip ? undefined : { stat, head: head.subarray(0, n) };
    } finally {
      file.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * The header of the trace whose first bytes are `head`, when its line is complete in them and
 * validates exactly as the trace reader would take it (the first non-blank line, UTF-8, one
 * JSON object); undefined otherwise (the reader then reads it, and reports what is wrong).
 * Reading it here spares a cached answer the streaming reader and its hash of the input.
 */
function headerIn(name: string, head: Uint8Array): TraceHeader | undefined {
  const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  try {
    for (let start = 0, line = 1;; line++) {
      const nl = head.indexOf(10, start);
      if (nl < 0) return undefined;
      const text = dec.decode(head.subarray(start, nl));
      if (text.trim() !== "") return validateHeader({ file: name, line }, parseJson(text));
      start = nl + 1;
    }
  } catch {
    return undefined;
  }
}

/**
 * The streaming reader of `file`, loaded only when a question needs it (a header longer than
 * {@link HEAD_BYTES}, a trace not hashed yet): an answer from the index reads neither.
 */
async function openReader(file: string): Promise<TraceReader> {
  return await (await import("../trace/read.ts")).TraceReader.open(file);
}

function note(io: Io, text: string): void {
  io.stderr(`p2mtrace: note: ${text}\n`);
}

/**
 * Builds (or rebuilds) the index of `file` under `policyOpt` in `dir`, records the trace's
 * SHA-256 for its file identity, bounds the cache (`pruneCache`) and opens the index. Errors
 * propagate: trace errors as the replay would report them, cache errors as thrown.
 */
export async function buildIndex(
  file: string,
  header: TraceHeader,
  policyOpt: string | undefined,
  policy: Policy,
  dir: string,
): Promise<TraceIndex> {
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new IndexUnusable(`cannot create ${dir}: ${e instanceof Error ? e.message : e}`);
  }
  const built = await buildIndexOnCappedHeap(file, file, policyOpt, dir);
  // The alias and the bound only save work and space: failing them leaves a usable index.
  await writeAlias(dir, built.key, built.sha256).catch(() => {});
  await pruneCache(dir, built.path).catch(() => {});
  const index = await TraceIndex.open(built.path, file, header, policySpec(policy), built.sha256);
  index.usePolicy(policy);
  return index;
}

/**
 * The index of `file` under `policyOpt`, or undefined when the command should replay from
 * step 0: `--no-cache`, stdin, a FIFO or gzip, no usable cache directory, a trace smaller
 * than {@link AUTO_INDEX_BYTES} without an index, or a trace the build could not replay (the
 * replay then reports its error exactly as without the cache). A damaged or stale index file
 * is ignored with a note and rebuilt.
 */
export async function openCached(
  file: string,
  policyOpt: string | undefined,
  noCache: boolean,
  io: Io,
): Promise<CachedTrace | undefined> {
  if (noCache || file === "-") return undefined;
  const found = indexable(file);
  if (found === undefined) return undefined;
  const { stat } = found;
  let header = headerIn(file, found.head);
  try {
    header ??= await (await openReader(file)).header();
  } catch {
    return undefined;
  }
  const { policy, source } = choosePolicy(header, policyOpt);
  const spec = policySpec(policy);
  const large = stat.size >= AUTO_INDEX_BYTES;
  const read = cacheDir(io.env, false);
  if (read.dir === undefined) {
    if (large) note(io, `not using the index cache: ${read.why}; replaying from step 0`);
    return undefined;
  }
  const write = cacheDir(io.env, true);
  const memo = { dir: read.dir, write: write.dir !== undefined };
  // The trace's SHA-256: recorded for this file identity, or hashed now when an index of a
  // file of its size is there (a copied or touched trace then finds the index of the same
  // bytes). Otherwise no index of these bytes is there: a large trace's build hashes the bytes
  // it parses, and nothing reads the trace twice.
  const key = fileKey(stat);
  let sha = await readAlias(read.dir, key);
  const aliased = sha !== undefined;
  if (sha === undefined && await mayHoldIndexOf(read.dir, stat.size, spec, memo)) {
    try {
      // Raw bytes, not split into lines: a build parses them anyway.
      sha = await (await import("../trace/sha.ts")).sha256File(file);
    } catch {
      return undefined; // the replay reports what is wrong with the trace
    }
  }
  let rebuild = large;
  if (sha !== undefined) {
    const path = `${read.dir}/${await indexFileName(sha, spec, memo)}`;
    try {
      const index = await TraceIndex.open(path, file, header, spec, sha);
      index.usePolicy(policy);
      if (write.dir !== undefined) {
        if (!aliased) await writeAlias(write.dir, key, sha).catch(() => {});
        await touchIndex(path);
      }
      return { index, header, policy, policySource: source };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory)) {
        const why = e instanceof IndexUnusable || e instanceof SyntaxError
          ? e.message
          : `cannot read it (${e instanceof Error ? e.message : String(e)})`;
        note(io, `ignoring the index cache file ${escapeText(path)}: ${why}`);
        rebuild = true;
      }
    }
  }
  if (!rebuild) return undefined;
  if (write.dir === undefined) {
    note(io, `not using the index cache: ${write.why}; replaying from step 0`);
    return undefined;
  }
  try {
    const index = await buildIndex(file, header, policyOpt, policy, write.dir);
    return { index, header, policy, policySource: source };
  } catch (e) {
    if (e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable) {
      note(
        io,
        `not using the index cache: cannot write ${escapeText(write.dir)}; replaying from step 0`,
      );
    } else if (e instanceof IndexUnusable || e instanceof HeapLimitError) {
      note(io, `not using the index cache: ${e.message}; replaying from step 0`);
    }
    // Anything else is the trace's own error: the replay reports it as without the cache.
    return undefined;
  }
}

/**
 * The cut-off message for an answer at event `index`, as the replay gives it: only a step
 * that needs every complete event (the replay read up to the cut).
 */
export function cutOffMessage(c: CachedTrace, name: string, index: number): string | undefined {
  const cut = c.index.cut;
  if (cut === null || index !== c.index.events) return undefined;
  return new CutOffError({ file: name, line: cut.line }, cut.eventsRead).message;
}

/**
 * Runs `cached` on the trace's index, or `replay` when there is none or the index turns out
 * unusable while answering (a note says so): both must print the same.
 */
export async function withIndex<T>(
  file: string,
  policyOpt: string | undefined,
  noCache: boolean,
  io: Io,
  cached: (c: CachedTrace) => Promise<T>,
  replay: () => Promise<T>,
): Promise<T> {
  const c = await openCached(file, policyOpt, noCache, io);
  if (c !== undefined) {
    try {
      return await cached(c);
    } catch (e) {
      if (!(e instanceof IndexUnusable)) throw e;
      c.index.close();
      note(io, `ignoring the index cache file ${escapeText(c.index.path)}: ${e.message}`);
      // Removed, so that it is rebuilt (on the next use of a large trace, or by `index`).
      await Deno.remove(c.index.path).catch(() => {});
    } finally {
      c.index.close();
    }
  }
  return await replay();
}

/**
 * The old generation of the thread an index build runs on ({@link buildIndexOnCappedHeap}), in
 * MB. What a build holds follows one interval, not the trace (`trace_index.ts`); on the main
 * thread's heap, V8 let it grow to ~330 MB of RSS at 10M events.
 */
export const INDEX_OLD_GENERATION_MB = 512;

/** What the index build's thread (`index_thread.ts`) posts. */
export type IndexThreadResult =
  | { built: BuiltIndex }
  | { error: ErrorData }
  | { outOfHeap: true };

/**
 * Builds the index of the trace file `path` (`trace_index.ts`'s {@link buildTraceIndex}, with
 * its arguments) on a worker thread whose young generation is {@link YOUNG_GENERATION_MB} and
 * old generation {@link INDEX_OLD_GENERATION_MB}, as the streaming commands run, so that
 * `p2mtrace index` and the first cached `snapshot`, `lookup` or `diff` stay near a replay's
 * peak; the trace is parsed on one more thread, as a replay parses it. Its errors are thrown
 * here as the same classes with the same messages (a trace's errors as the replay gives them,
 * {@link IndexUnusable}, a permission error); a thread out of heap is a
 * {@link HeapLimitError}. Where a thread could not load the modules, it builds on this one.
 */
export async function buildIndexOnCappedHeap(
  path: string,
  name: string,
  policy: string | undefined,
  dir: string,
): Promise<BuiltIndex> {
  if (!threadModulesReadable()) return await buildTraceIndex(path, name, policy, dir);
  const { Worker } = await import("node:worker_threads");
  const mark = new SharedArrayBuffer(8);
  const view = new Int32Array(mark);
  const outOfHeap = () => Atomics.load(view, 0) === 1;
  const got = await new Promise<IndexThreadResult>((resolve, reject) => {
    const w = new Worker(new URL("./index_thread.ts", import.meta.url), {
      workerData: { args: [path, name, policy, dir], mark },
      resourceLimits: {
        maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
        maxOldGenerationSizeMb: INDEX_OLD_GENERATION_MB,
      },
    });
    w.once("message", (m: IndexThreadResult) => {
      if (!outOfHeap()) return resolve(m);
      void w.terminate();
      resolve({ outOfHeap: true });
    });
    w.once(
      "error",
      (e: Error & { code?: string }) =>
        e?.code === "ERR_WORKER_OUT_OF_MEMORY" || outOfHeap()
          ? resolve({ outOfHeap: true })
          : reject(e),
    );
    w.once("exit", (code: number) =>
      resolve(
        outOfHeap() ? { outOfHeap: true } : {
          error: { kind: "Error", message: `the index build's thread ended with code ${code}` },
        },
      ));
  });
  if ("built" in got) return got.built;
  if ("error" in got) {
    const d = got.error;
    if (d.kind === "IndexUnusable") throw new IndexUnusable(d.message);
    if (d.kind === "PermissionDenied") throw new Deno.errors.PermissionDenied(d.message);
    if (d.kind === "NotCapable") throw new Deno.errors.NotCapable(d.message);
    throw (await import("../trace/threaded_read.ts")).rebuildError(d);
  }
  throw new HeapLimitError("index", Atomics.load(view, 1) || INDEX_OLD_GENERATION_MB);
}
