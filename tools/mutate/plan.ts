/**
 * The pure half of the mutation harness: a mutant's text edit, the seeded sample, and the
 * score table. A mutant names one exact piece of source text and its replacement; when that
 * text is no longer in the file (someone changed the code) the mutant is **stale** and must be
 * restated, never silently counted; when it occurs more than once it is **ambiguous** (the
 * mutant must quote more context).
 *
 * @module
 */

import { Prng } from "../../src/gen/prng.ts";

/** One planted bug. */
export interface Mutant {
  /** Stable id: `<area>-<what>`, e.g. `read-seq-decreasing`. */
  id: string;
  /** Repository-relative path of the mutated file. */
  file: string;
  /** Exact source text, occurring exactly once in the file. */
  original: string;
  /** What replaces it. */
  replacement: string;
  /** The kernel rule or contract the mutant breaks. */
  breaks: string;
  /** Test files (repository-relative) that should kill it; the fallback set runs after them. */
  tests: string[];
  /** Why the mutant cannot change behaviour: it is then listed, not run. */
  equivalent?: string;
}

/** Result of applying a mutant's edit to a file's text. */
export type Applied =
  | { status: "applied"; text: string }
  | { status: "stale" | "ambiguous"; text?: undefined };

/**
 * Replaces the mutant's `original` text in `source` by its `replacement`.
 *
 * @example
 * ```ts
 * import { applyMutant } from "./plan.ts";
 * import assert from "node:assert/strict";
 * const m = { original: "a <= b", replacement: "a === b" };
 * assert.deepEqual(applyMutant("if (a <= b) x();", m), { status: "applied", text: "if (a === b) x();" });
 * assert.equal(applyMutant("if (a < b) x();", m).status, "stale");
 * assert.equal(applyMutant("a <= b; a <= b", m).status, "ambiguous");
 * ```
 */
export function applyMutant(
  source: string,
  m: Pick<Mutant, "original" | "replacement">,
): Applied {
  const at = source.indexOf(m.original);
  if (at < 0 || m.original === "") return { status: "stale" };
  if (source.indexOf(m.original, at + 1) >= 0) return { status: "ambiguous" };
  return {
    status: "applied",
    text: source.slice(0, at) + m.replacement + source.slice(at + m.original.length),
  };
}

/**
 * A seed string as a generator seed (FNV-1a, 32 bits), so a CI run can be seeded by any text
 * (a commit id) and printed for replay.
 *
 * @example
 * ```ts
 * import { seedOf } from "./plan.ts";
 * import assert from "node:assert/strict";
 * assert.equal(seedOf("17"), seedOf("17"));
 * assert.notEqual(seedOf("17"), seedOf("18"));
 * ```
 */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * `n` mutants drawn without replacement by a generator seeded with `seed`, in list order.
 *
 * @example
 * ```ts
 * import { sample } from "./plan.ts";
 * import assert from "node:assert/strict";
 * const xs = [1, 2, 3, 4, 5, 6];
 * assert.deepEqual(sample(xs, 3, "a"), sample(xs, 3, "a"));
 * assert.equal(sample(xs, 3, "a").length, 3);
 * assert.deepEqual(sample(xs, 10, "a"), xs);
 * ```
 */
export function sample<T>(items: readonly T[], n: number, seed: string): T[] {
  if (n >= items.length) return items.slice();
  const prng = new Prng(seedOf(seed));
  const idx = items.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, n).sort((a, b) => a - b).map((i) => items[i]);
}

/** How one mutant ended. */
export type Verdict = "killed" | "survived" | "stale" | "ambiguous" | "equivalent";

/** One row of the score: a file or a directory. */
export interface ScoreRow {
  /** File or directory. */
  name: string;
  /** Mutants per verdict. */
  counts: Record<Verdict, number>;
}

/**
 * Killed/survived counts per file and per directory (`src/trace/`), in name order.
 *
 * @example
 * ```ts
 * import { score } from "./plan.ts";
 * import assert from "node:assert/strict";
 * const rows = score([
 *   { file: "src/trace/read.ts", verdict: "killed" },
 *   { file: "src/trace/checks.ts", verdict: "survived" },
 * ]);
 * assert.deepEqual(rows.dirs.map((r) => [r.name, r.counts.killed, r.counts.survived]),
 *   [["src/trace/", 1, 1]]);
 * assert.equal(rows.files.length, 2);
 * ```
 */
export function score(
  results: readonly { file: string; verdict: Verdict }[],
): { files: ScoreRow[]; dirs: ScoreRow[] } {
  const files = new Map<string, ScoreRow>();
  const dirs = new Map<string, ScoreRow>();
  const bump = (map: Map<string, ScoreRow>, name: string, v: Verdict) => {
    let row = map.get(name);
    if (!row) {
      row = {
        name,
        counts: { killed: 0, survived: 0, stale: 0, ambiguous: 0, equivalent: 0 },
      };
      map.set(name, row);
    }
    row.counts[v]++;
  };
  for (const r of results) {
    bump(files, r.file, r.verdict);
    bump(dirs, r.file.slice(0, r.file.lastIndexOf("/") + 1), r.verdict);
  }
  const sorted = (m: Map<string, ScoreRow>) =>
    [...m.values()].sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return { files: sorted(files), dirs: sorted(dirs) };
}
