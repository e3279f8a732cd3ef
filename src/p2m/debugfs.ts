/**
 * The kernel's `/sys/kernel/debug/xen/mmu/p2m` text for a modelled table (p2m-semantics.md
 * section 7), and its comparison with a recorded dump. The tree eras (v3.10-3.18) classify each
 * PFN below MAX_DOMAIN_PAGES by (level, type) in the kernel's order — a GiB on the shared
 * mid-missing page is "top missing" even when an aliased slot makes it identity — and print a
 * line per change; v3.19+ reads the raw list, where the shared identity page reads INVALID and
 * is printed "missing". The loop runs over runs, not PFNs.
 *
 * @module
 */

import { MAX_DOMAIN_PAGES, PFNS_PER_MID } from "./constants.ts";
import { increments, K } from "./leaf_runs.ts";
import type { P2m, Structure } from "./table.ts";

const LEVEL = ["top", "middle", "entry", "abnormal", "error"];
const T_IDENTITY = 0, T_MISSING = 1, T_PFN = 2, T_ABNORMAL = 3;
const TYPE = ["identity", "missing", "pfn", "abnormal"];

/** A dump line's range and label, parsed loosely for reports. */
function classifyTree(structure: Structure, kind: number): [number, number] {
  switch (structure) {
    case "mid-missing":
      return [0, T_MISSING];
    case "mid-identity":
    case "identity-leaf":
      return [1, T_IDENTITY];
    case "missing-leaf":
      return [1, T_MISSING];
    default:
      if (kind === K.INVALID) return [2, T_MISSING];
      if (kind === K.IDENTITY) return [2, T_IDENTITY];
      return [2, T_PFN];
  }
}

function classifyList(structure: Structure, kind: number): number {
  // Raw list contents: the shared identity page holds INVALID.
  if (structure === "identity-leaf" || structure === "mid-identity") return T_MISSING;
  if (kind === K.INVALID) return T_MISSING;
  if (kind === K.IDENTITY) return T_IDENTITY;
  return T_PFN;
}

/**
 * The dump the kernel of `table`'s era would print, line by line (each line starts with a
 * space, as seq_printf writes it).
 *
 * @example
 * ```ts
 * import { P2m } from "./table.ts";
 * import { renderDump } from "./debugfs.ts";
 * import assert from "node:assert/strict";
 * const lines = renderDump(P2m.build("T12", 0x40000));
 * assert.deepEqual(lines, [
 *   " [0x0->0x40000] pfn",
 *   " [0x0->0x40000] level entry",
 *   " [0x40000->0x7cfffff] missing",
 *   " [0x40000->0x7cfffff] level top",
 * ]);
 * ```
 */
export function renderDump(table: P2m): string[] {
  return table.era === "L19" ? renderList(table) : renderTree(table);
}

function renderTree(table: P2m): string[] {
  const out: string[] = [];
  const last = MAX_DOMAIN_PAGES - 1;
  let prevType = -1, prevLevel = -1, prevPfnType = 0, prevPfnLevel = 0;
  const at = (pfn: number, lvl: number, type: number) => {
    if (pfn === 0) {
      prevLevel = lvl;
      prevType = type;
    }
    if (prevType !== type) {
      out.push(` [0x${prevPfnType.toString(16)}->0x${pfn.toString(16)}] ${TYPE[prevType]}`);
      prevPfnType = pfn;
      prevType = type;
    }
    if (prevLevel !== lvl) {
      out.push(
        ` [0x${prevPfnLevel.toString(16)}->0x${pfn.toString(16)}] level ${LEVEL[prevLevel]}`,
      );
      prevPfnLevel = pfn;
      prevLevel = lvl;
    }
  };
  table.forEachRun(0, last, (p, e, kind, base, structure) => {
    if (structure === "identity-leaf") {
      // p2m_dump_show tests p2m_top[t] == p2m_mid_missing before it looks at the leaf, so an
      // identity leaf aliased into the shared mid-missing page (v3.12) prints as top/missing.
      forEachGib(p, e, (a) => {
        if (midSharedAt(table, a) === MID_SHARED_MISSING) at(a, 0, T_MISSING);
        else at(a, 1, T_IDENTITY);
      });
      return;
    }
    const [lvl, type] = classifyTree(structure, kind);
    // An entry of value 0 is "abnormal": only the first PFN of an MFN run based at 0.
    if (structure === "private-leaf" && increments(kind) && base === 0 && kind === K.MFN) {
      at(p, 2, T_ABNORMAL);
      if (p + 1 < e) at(p + 1, lvl, type);
      return;
    }
    at(p, lvl, type);
  });
  at(last, 3, T_ABNORMAL);
  return out;
}

/** `forEachLeaf`'s sharing code for the shared mid-missing page. */
const MID_SHARED_MISSING = 1;

/** How the mid above `pfn` is shared (0 private, 1 mid-missing, 2 mid-identity). */
function midSharedAt(table: P2m, pfn: number): number {
  let shared = 0;
  table.forEachLeaf(pfn, pfn + 1, (_l, _s, mid) => {
    shared = mid;
  });
  return shared;
}

/** Calls `cb(a)` for the start of each GiB-bounded piece of `[p, e)`. */
function forEachGib(p: number, e: number, cb: (a: number) => void): void {
  for (let a = p; a < e; a = (Math.floor(a / PFNS_PER_MID) + 1) * PFNS_PER_MID) cb(a);
}

function renderList(table: P2m): string[] {
  const out: string[] = [];
  const size = table.structureLimit;
  let prev = -1, first = 0;
  table.forEachRun(0, size, (p, _e, kind, _b, structure) => {
    const type = classifyList(structure, kind);
    if (prev === -1) prev = type;
    if (type !== prev) {
      out.push(` [0x${first.toString(16)}->0x${p.toString(16)}] ${TYPE[prev]}`);
      prev = type;
      first = p;
    }
  });
  out.push(` [0x${first.toString(16)}->0x${size.toString(16)}] ${TYPE[Math.max(prev, 0)]}`);
  return out;
}

/** The outcome of comparing a recorded dump with the model. */
export interface DumpComparison {
  /** What was checked. */
  what: string;
  /** The recorded line at the first difference (or "same"). */
  recorded: string;
  /** The model's line there (or "same"). */
  model: string;
  /** True when every line agrees. */
  ok: boolean;
  /** PFNs of the first differing line, when it names a range. */
  range?: { pfn: number; endPfn: number };
}

const RANGE = /\[0x([0-9a-f]+)->0x([0-9a-f]+)\]/i;

/**
 * Compares a recorded dump with the model's, line by line (leading and trailing blanks
 * ignored), and reports the first difference, rr-style.
 *
 * @example
 * ```ts
 * import { P2m } from "./table.ts";
 * import { compareDump, renderDump } from "./debugfs.ts";
 * import assert from "node:assert/strict";
 * const t = P2m.build("T12", 0x40000);
 * assert.equal(compareDump(t, "tree", renderDump(t)).ok, true);
 * const c = compareDump(t, "tree", [" [0x0->0x3ffff] pfn"]);
 * assert.equal(c.ok, false);
 * assert.equal(c.recorded, "[0x0->0x3ffff] pfn");
 * ```
 */
export function compareDump(
  table: P2m,
  format: "tree" | "list",
  lines: readonly string[],
): DumpComparison {
  const modelFormat = table.era === "L19" ? "list" : "tree";
  const what = `p2m dump (${lines.length} lines, ${format} format)`;
  if (format !== modelFormat) {
    return {
      what,
      recorded: `${format}-format dump`,
      model: `${modelFormat}-format dump (the policy's era prints that format)`,
      ok: false,
    };
  }
  const model = renderDump(table);
  const rec = lines.map((l) => l.trim()).filter((l) => l !== "");
  const n = Math.max(rec.length, model.length);
  for (let i = 0; i < n; i++) {
    const a = rec[i];
    const b = model[i]?.trim();
    if (a !== b) {
      const m = RANGE.exec(a ?? b ?? "");
      const range = m ? { pfn: parseInt(m[1], 16), endPfn: parseInt(m[2], 16) } : undefined;
      const r: DumpComparison = {
        what: `${what}, line ${i + 1}`,
        recorded: a ?? "(end of dump)",
        model: b ?? "(end of dump)",
        ok: false,
      };
      if (range) r.range = range;
      return r;
    }
  }
  return { what, recorded: "same", model: "same", ok: true };
}
