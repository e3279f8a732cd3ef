/**
 * The report of lines the importer did not understand but that look relevant to the P2M
 * (they mention e820, p2m, 1-1, balloon, a BAR, a bridge window, Xen, a pfn...). Lines are
 * grouped by their shape (numbers, devices and addresses replaced by placeholders), counted,
 * and the first line numbers kept, so a reader sees at a glance what was dropped and where.
 * Memory is bounded: at most {@link MAX_PATTERNS} shapes are kept, the rest are counted
 * together.
 *
 * @module
 */

import { escapeText } from "../../report/text.ts";

/** Most distinct line shapes the report keeps. */
export const MAX_PATTERNS = 200;
/** Line numbers kept per shape. */
export const MAX_LINES_PER_PATTERN = 5;

/** Words that make an unrecognised kernel line worth reporting. */
export const RELEVANT_KERNEL =
  /e820|p2m|1-1 mapping|1:1|balloon|\bBAR\b|bridge window|xen|\bpfn|\bmfn|identity|\[mem |\[io |pcifront|root bus|host bridge|Populating|Freeing|Released|Remapped|page\(s\)|RAM map/i;
const RELEVANT_XEN =
  /e820|p2m|\bpfn|\bmfn|identity|RAM map|Dom0 alloc|PCI add|PCI remove|ramdisk|balloon/i;

/**
 * True when an unrecognised line looks relevant enough to report.
 *
 * @example
 * ```ts
 * import { looksRelevant } from "./unrecognised.ts";
 * import assert from "node:assert/strict";
 * assert.equal(looksRelevant("e820: lacanning 1 areas for low memory corruption", "kernel"), true);
 * assert.equal(looksRelevant("NET: Registered protocol family 16", "kernel"), false);
 * assert.equal(looksRelevant("Scrubbing Free RAM: done.", "xen"), false);
 * ```
 */
export function looksRelevant(text: string, source: "kernel" | "xen"): boolean {
  return (source === "xen" ? RELEVANT_XEN : RELEVANT_KERNEL).test(text);
}

/**
 * The shape of a line: PCI names, hex and decimal numbers (whole words) replaced by
 * placeholders.
 *
 * @example
 * ```ts
 * import { lineShape } from "./unrecognised.ts";
 * import assert from "node:assert/strict";
 * assert.equal(lineShape("pci 0000:00:1f.0: quirk: [io  0x0400-0x047f] claimed by ICH6"),
 *   "pci <dev>: quirk: [io <hex>-<hex>] claimed by ICH6");
 * ```
 */
export function lineShape(text: string): string {
  return text
    .replace(/[0-9a-f]{4,5}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/gi, "<dev>")
    .replace(/\b[0-9a-f]{4,5}:[0-9a-f]{2}\b/gi, "<bus>")
    .replace(/0x[0-9a-f]+/gi, "<hex>")
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{5,}\b/gi, "<hex>")
    .replace(/\b\d+(?:\.\d+)?\b/g, "<n>")
    .replace(/\s+/g, " ")
    .slice(0, 120);
}

/**
 * True when at least half of the relevant lines were not understood: the import then rests on a
 * minority of what the log says.
 *
 * @example
 * ```ts
 * import { mostNotUnderstood } from "./unrecognised.ts";
 * import assert from "node:assert/strict";
 * assert.equal(mostNotUnderstood(30, 40), true);
 * assert.equal(mostNotUnderstood(3, 40), false);
 * ```
 */
export function mostNotUnderstood(unrecognised: number, relevant: number): boolean {
  return unrecognised > 0 && unrecognised * 2 >= relevant;
}

/** One shape of unrecognised line. */
export interface UnrecognisedPattern {
  /** The shape ({@link lineShape}). */
  shape: string;
  /** How many lines had it. */
  count: number;
  /** The first line numbers (1-based, in the input). */
  lines: number[];
  /** The first such line, verbatim (message text, at most 200 characters). */
  example: string;
}

/** Collects unrecognised relevant lines. */
export class UnrecognisedLines {
  #patterns = new Map<string, UnrecognisedPattern>();
  #overflow = 0;
  #total = 0;

  /** Records one line. */
  add(text: string, line: number): void {
    this.#total++;
    const shape = lineShape(text);
    const p = this.#patterns.get(shape);
    if (p) {
      p.count++;
      if (p.lines.length < MAX_LINES_PER_PATTERN) p.lines.push(line);
      return;
    }
    if (this.#patterns.size >= MAX_PATTERNS) {
      this.#overflow++;
      return;
    }
    this.#patterns.set(shape, { shape, count: 1, lines: [line], example: text.slice(0, 200) });
  }

  /** Number of lines recorded. */
  get total(): number {
    return this.#total;
  }

  /** Lines whose shape did not fit in the table. */
  get overflow(): number {
    return this.#overflow;
  }

  /** The shapes, most frequent first, then by first line. */
  patterns(): UnrecognisedPattern[] {
    return [...this.#patterns.values()].sort((a, b) =>
      b.count - a.count || a.lines[0] - b.lines[0]
    );
  }
}

/**
 * The report as text for stderr (empty when nothing was left unrecognised).
 *
 * @example
 * ```ts
 * import { formatUnrecognised, UnrecognisedLines } from "./unrecognised.ts";
 * import assert from "node:assert/strict";
 * const u = new UnrecognisedLines();
 * u.add("e820: lacanning 1 areas", 7);
 * assert.equal(formatUnrecognised(u, "boot.log"),
 *   "boot.log: 1 relevant line(s) not understood, by pattern:\n" +
 *   "      1  e820: lacanning <n> areas\n" +
 *          "         first at line 7: e820: lacanning 1 areas\n");
 * ```
 */
export function formatUnrecognised(
  u: UnrecognisedLines,
  file: string,
  relevant?: number,
): string {
  if (u.total === 0) return "";
  const out: string[] = [];
  const name = escapeText(file);
  if (relevant !== undefined && mostNotUnderstood(u.total, relevant)) {
    out.push(
      `${name}: most relevant lines were not understood (${u.total} of ${relevant}): the log's ` +
        "line prefix or its kernel's wording is one the importer does not know; the trace " +
        "shows only what the other lines proved (see docs/import-dmesg.md, Accepted log forms)",
    );
  }
  out.push(`${name}: ${u.total} relevant line(s) not understood, by pattern:`);
  for (const p of u.patterns()) {
    out.push(`${String(p.count).padStart(7)}  ${p.shape}`);
    const at = p.lines.length === 1 ? "line" : "lines";
    out.push(`         first at ${at} ${p.lines.join(", ")}: ${p.example}`);
  }
  if (u.overflow > 0) out.push(`${String(u.overflow).padStart(7)}  (other patterns)`);
  return out.join("\n") + "\n";
}
