/**
 * Parser of the kernel's P2M dump, `/sys/kernel/debug/xen/mmu/p2m` (CONFIG_XEN_DEBUG_FS), in
 * both of its formats (p2m-semantics.md section 7):
 *
 * - **tree** (v3.10-v3.18, the 3-level p2m): the kernel walks every PFN below
 *   MAX_DOMAIN_PAGES, classifies it as a (level, type) pair and prints a *type line*
 *   ` [0x<start>->0x<pfn>] <type>` when the type changes at `pfn` and a *level line*
 *   ` [0x<start>->0x<pfn>] level <level>` when the level changes (type line first when both
 *   change). At the last PFN it forces (abnormal, abnormal) to flush what is pending, so the
 *   dump covers `[0, MAX_DOMAIN_PAGES - 1)` and the last PFN itself is never shown.
 * - **list** (v3.19+, the linear p2m list): type lines only, covering `[0, xen_p2m_size)`.
 *
 * **Ranges are half-open.** A line is printed when the classification changes *at* `pfn`, so
 * `[start->pfn]` ends at the first PFN of the next range: `->0x<end>` is exclusive. The type
 * lines form one partition of `[0, end)` and the level lines another; the parsed result is their
 * common refinement: sorted, non-overlapping, contiguous from PFN 0, with adjacent ranges of
 * equal (type, level) coalesced, so two dumps (or a dump and a model) compare range by range.
 *
 * One inference: when the last run of a tree dump has type `abnormal`, the forced flush does not
 * change the type and the kernel prints no type line for it; the level lines still reach the
 * end. That tail is therefore typed `abnormal` and reported in {@link P2mDump.inferredTail}.
 *
 * @module
 */

import { type SourcePosition, TraceError } from "../errors.ts";
import type { PfnRange } from "../trace/event.ts";
import { FRAME_LIMIT } from "../trace/hex.ts";

/** Where the kernel creates the dump (debugfs must be mounted; root only, mode 0600). */
export const P2M_DUMP_PATH = "/sys/kernel/debug/xen/mmu/p2m";

/** Type names the kernel prints, in its own order. */
export const P2M_DUMP_TYPES = ["identity", "missing", "pfn", "abnormal"] as const;
/**
 * What a PFN's entry is: `identity` (IDENTITY_FRAME or a shared identity leaf/mid), `missing`
 * (INVALID or a shared missing leaf/mid), `pfn` (a machine or foreign frame), `abnormal` (tree
 * era: a NULL pointer or a 0 entry; also the forced final flush).
 */
export type P2mDumpType = typeof P2M_DUMP_TYPES[number];

/** Level names the kernel prints (tree era), in its own order. */
export const P2M_DUMP_LEVELS = ["top", "middle", "entry", "abnormal", "error"] as const;
/**
 * Where the tree decided the type: `top` (the GiB's top slot: shared mid-missing or NULL),
 * `middle` (the 2 MiB leaf pointer: shared identity/missing leaf, or NULL), `entry` (the value
 * in a private leaf). `abnormal` and `error` exist in the kernel's table but are never printed.
 */
export type P2mDumpLevel = typeof P2M_DUMP_LEVELS[number];

/** One run of PFNs with one classification: `[pfn, endPfn)`. */
export interface P2mDumpRange {
  /** First PFN. */
  pfn: number;
  /** One past the last PFN. */
  endPfn: number;
  /** The type the kernel printed for these PFNs. */
  type: P2mDumpType;
  /** The tree level (tree format only). */
  level?: P2mDumpLevel;
}

/** A parsed dump. */
export interface P2mDump {
  /** `tree` when the dump has level lines, else `list`. */
  format: "tree" | "list";
  /** Sorted, contiguous from 0, coalesced, half-open. Empty for an empty dump. */
  ranges: P2mDumpRange[];
  /** End of the covered PFNs (0 for an empty dump); PFNs at or above it were not shown. */
  endPfn: number;
  /** Tree format: the tail whose type was inferred as `abnormal` (no type line covered it). */
  inferredTail?: PfnRange;
}

/**
 * A dump line that is not what the kernel prints, or that breaks the dump's structure. The
 * message names the file and line (or the trace line and `lines[i]`) and what was expected.
 *
 * @example
 * ```ts
 * import { P2mDumpError, parseP2mDump } from "./debugfs_parse.ts";
 * import assert from "node:assert/strict";
 * assert.throws(() => parseP2mDump([" [0x0->0x10] pfn", " [0x20->0x30] missing"], { file: "p2m" }),
 *   (e: unknown) => e instanceof P2mDumpError && e.message.startsWith("p2m:2: expected a range"));
 * ```
 */
export class P2mDumpError extends TraceError {
  /** Builds the error; see {@link TraceError}. */
  constructor(position: SourcePosition, field: string | undefined, expected: string, got?: string) {
    super(position, field, expected, got);
    this.name = "P2mDumpError";
  }
}

/** Where the lines come from, for error messages. */
export interface DumpSource {
  /** File name as the user gave it. */
  file: string;
  /** 1-based line number of `lines[0]` in `file` (default 1). */
  firstLine?: number;
  /**
   * Set when the lines are the `lines` array of a `p2m_dump` event on this trace line: errors
   * then name the trace line and the field `lines[i]`.
   */
  eventLine?: number;
}

const LINE = /^\s*\[0x([0-9a-fA-F]{1,16})->0x([0-9a-fA-F]{1,16})\]\s+(?:(level)\s+)?(\S+)\s*$/;
const LINE_WHAT = '" [0x<start>->0x<end>] <type>" or " [0x<start>->0x<end>] level <level>"';

interface Run<T> {
  pfn: number;
  endPfn: number;
  name: T;
}

function snippet(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 57) + "..." : text);
}

function frame(digits: string): number {
  // 16 hex digits at most by the pattern; anything at or above 2^40 is rejected by the caller.
  return digits.length > 11 ? Infinity : parseInt(digits, 16);
}

/**
 * Parses the dump's lines (blank lines are skipped) into sorted, coalesced, half-open ranges.
 * Throws {@link P2mDumpError} naming the line and what was expected.
 *
 * @example
 * ```ts
 * import { parseP2mDump } from "./debugfs_parse.ts";
 * import assert from "node:assert/strict";
 * const dump = parseP2mDump([
 *   " [0x0->0x9e] pfn",
 *   " [0x9e->0x100] identity",
 *   " [0x100->0x200] pfn",
 *   " [0x0->0x200] level entry",
 *   " [0x200->0x40000] missing",
 *   " [0x200->0x40000] level middle",
 * ], { file: "p2m" });
 * assert.equal(dump.format, "tree");
 * assert.deepEqual(dump.ranges, [
 *   { pfn: 0, endPfn: 0x9e, type: "pfn", level: "entry" },
 *   { pfn: 0x9e, endPfn: 0x100, type: "identity", level: "entry" },
 *   { pfn: 0x100, endPfn: 0x200, type: "pfn", level: "entry" },
 *   { pfn: 0x200, endPfn: 0x40000, type: "missing", level: "middle" },
 * ]);
 * assert.equal(dump.endPfn, 0x40000);
 * ```
 */
export function parseP2mDump(lines: readonly string[], source: DumpSource): P2mDump {
  const first = source.firstLine ?? 1;
  const at = (i: number): [SourcePosition, string | undefined] =>
    source.eventLine !== undefined
      ? [{ file: source.file, line: source.eventLine }, `lines[${i}]`]
      : [{ file: source.file, line: first + i }, undefined];
  const err = (i: number, expected: string, got?: string): P2mDumpError => {
    const [pos, field] = at(i);
    return new P2mDumpError(pos, field, expected, got);
  };

  const types: Run<P2mDumpType>[] = [];
  const levels: Run<P2mDumpLevel>[] = [];
  let lastLine = -1;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i];
    if (text.trim() === "") continue;
    const m = LINE.exec(text);
    if (!m) throw err(i, `a p2m dump line ${LINE_WHAT}`, snippet(text));
    const [, startHex, endHex, levelWord, name] = m;
    const start = frame(startHex);
    const end = frame(endHex);
    if (start >= FRAME_LIMIT) throw err(i, "a start PFN below 2^40", `0x${startHex}`);
    if (end > FRAME_LIMIT) throw err(i, "an end PFN no greater than 2^40", `0x${endHex}`);
    const isLevel = levelWord !== undefined;
    const runs: Run<string>[] = isLevel ? levels : types;
    const names: readonly string[] = isLevel ? P2M_DUMP_LEVELS : P2M_DUMP_TYPES;
    if (!names.includes(name)) {
      throw err(
        i,
        `a ${isLevel ? "level" : "type"} name (${names.join(", ")})`,
        JSON.stringify(name),
      );
    }
    const expectedStart = runs.length === 0 ? 0 : runs[runs.length - 1].endPfn;
    if (start !== expectedStart) {
      const what = isLevel ? "level" : "type";
      const why = runs.length === 0
        ? `0x0 (the first ${what} line starts at PFN 0)`
        : `0x${expectedStart.toString(16)} (where the previous ${what} line ended)`;
      throw err(i, `a range starting at ${why}`, `0x${startHex}`);
    }
    if (end <= start) throw err(i, `an exclusive end above the start 0x${startHex}`, `0x${endHex}`);
    runs.push({ pfn: start, endPfn: end, name });
    lastLine = i;
  }

  if (levels.length === 0) {
    return { format: "list", ranges: coalesce(types.map(toRange)), endPfn: endOf(types) };
  }
  const typeEnd = endOf(types);
  const levelEnd = endOf(levels);
  if (typeEnd > levelEnd) {
    throw err(
      lastLine,
      `level lines reaching PFN 0x${typeEnd.toString(16)} like the type lines (the kernel ` +
        `flushes the level at the last PFN)`,
      `level lines ending at 0x${levelEnd.toString(16)}`,
    );
  }
  const dump: P2mDump = { format: "tree", ranges: [], endPfn: levelEnd };
  if (typeEnd < levelEnd) {
    types.push({ pfn: typeEnd, endPfn: levelEnd, name: "abnormal" });
    dump.inferredTail = { pfn: typeEnd, endPfn: levelEnd };
  }
  dump.ranges = coalesce(refine(types, levels));
  return dump;
}

function endOf(runs: Run<string>[]): number {
  return runs.length === 0 ? 0 : runs[runs.length - 1].endPfn;
}

function toRange(r: Run<P2mDumpType>): P2mDumpRange {
  return { pfn: r.pfn, endPfn: r.endPfn, type: r.name };
}

/** Common refinement of two partitions of the same `[0, end)`. */
function refine(types: Run<P2mDumpType>[], levels: Run<P2mDumpLevel>[]): P2mDumpRange[] {
  const out: P2mDumpRange[] = [];
  let t = 0;
  let l = 0;
  let pfn = 0;
  while (t < types.length && l < levels.length) {
    const endPfn = Math.min(types[t].endPfn, levels[l].endPfn);
    out.push({ pfn, endPfn, type: types[t].name, level: levels[l].name });
    pfn = endPfn;
    if (types[t].endPfn === endPfn) t++;
    if (levels[l].endPfn === endPfn) l++;
  }
  return out;
}

/**
 * Merges adjacent ranges with the same type and level (the input must be sorted and contiguous).
 *
 * @example
 * ```ts
 * import { coalesce } from "./debugfs_parse.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(coalesce([
 *   { pfn: 0, endPfn: 4, type: "pfn" }, { pfn: 4, endPfn: 9, type: "pfn" },
 *   { pfn: 9, endPfn: 10, type: "missing" },
 * ]), [{ pfn: 0, endPfn: 9, type: "pfn" }, { pfn: 9, endPfn: 10, type: "missing" }]);
 * ```
 */
export function coalesce(ranges: readonly P2mDumpRange[]): P2mDumpRange[] {
  const out: P2mDumpRange[] = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (
      last !== undefined && last.endPfn === r.pfn && last.type === r.type && last.level === r.level
    ) {
      last.endPfn = r.endPfn;
    } else {
      out.push({ ...r });
    }
  }
  return out;
}

/**
 * The dump's classification of one PFN (binary search), or undefined when the dump does not
 * cover it (at or above {@link P2mDump.endPfn}).
 *
 * @example
 * ```ts
 * import { dumpRangeAt, parseP2mDump } from "./debugfs_parse.ts";
 * import assert from "node:assert/strict";
 * const dump = parseP2mDump([" [0x0->0x80] pfn", " [0x80->0x100] identity"], { file: "p2m" });
 * assert.equal(dumpRangeAt(dump, 0x90)?.type, "identity");
 * assert.equal(dumpRangeAt(dump, 0x100), undefined);
 * ```
 */
export function dumpRangeAt(dump: P2mDump, pfn: number): P2mDumpRange | undefined {
  let lo = 0;
  let hi = dump.ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = dump.ranges[mid];
    if (pfn < r.pfn) hi = mid - 1;
    else if (pfn >= r.endPfn) lo = mid + 1;
    else return r;
  }
  return undefined;
}

/**
 * Splits a dump file's text into its lines (a final newline does not make an extra line).
 *
 * @example
 * ```ts
 * import { dumpLines } from "./debugfs_parse.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(dumpLines(" [0x0->0x10] pfn\r\n [0x10->0x20] missing\n"),
 *   [" [0x0->0x10] pfn", " [0x10->0x20] missing"]);
 * ```
 */
export function dumpLines(text: string): string[] {
  const lines = text.split("\n").map((l) => l.endsWith("\r") ? l.slice(0, -1) : l);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
