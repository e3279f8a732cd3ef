/**
 * The map as a terminal picture: the same lanes as the SVG, one line each, on a piecewise
 * axis of `width - 13` columns, in Unicode block characters or plain ASCII, with the axis's
 * ticks lettered and listed, a legend, and the findings so far. Every line fits `width`.
 *
 * @module
 */

import { escapeText } from "../report/text.ts";
import { hex } from "../trace/hex.ts";
import { type Axis, axisPfn, buildAxis } from "./axis.ts";
import { axisCuts, type MapModel } from "./collect.ts";
import { sizeText } from "./draw.ts";
import { FACT_LANES, type LaneName, type LaneRange, LANES, POLICY_LANES } from "./lanes.ts";
import { frameHeading } from "./svg.ts";

/** Options of {@link renderText}. */
export interface TextOptions {
  /** Columns (default 72). */
  width: number;
  /** ASCII instead of Unicode block characters. */
  ascii: boolean;
}

const LABEL_W = 13;

/** Glyphs per class: [Unicode, ASCII, legend name]. */
const GLYPHS: Record<string, [string, string, string]> = {
  ram: ["█", "#", "RAM"],
  reserved: ["▒", "=", "reserved"],
  acpi: ["░", "a", "ACPI"],
  nvs: ["░", "n", "NVS"],
  unusable: ["▓", "x", "unusable"],
  other: ["▒", "?", "other"],
  window: ["─", "-", "bridge window"],
  bar: ["█", "B", "BAR"],
  "bar-prefetch": ["▓", "P", "prefetchable BAR"],
  extra: ["░", "e", "extra"],
  balloon: ["▒", "b", "ballooned"],
  hotplug: ["▓", "h", "hot-added"],
  mapped: ["█", "#", "mapped"],
  identity: ["▒", "=", "identity"],
  invalid: ["·", ".", "INVALID"],
  foreign: ["▓", "f", "foreign"],
  mixed: ["░", "%", "mixed"],
  "private-leaf": ["█", "P", "private leaf"],
  "identity-leaf": ["▒", "i", "shared identity leaf"],
  "missing-leaf": ["░", "m", "shared missing leaf"],
  "mid-missing": ["·", ".", "mid-missing"],
  "mid-identity": ["▓", "I", "mid-identity"],
  "outside-tree": ["╌", "o", "outside the tree"],
  "beyond-list": ["┄", "l", "beyond the list"],
};

const LEGEND: [string, string[]][] = [
  ["e820", ["ram", "reserved", "acpi", "nvs", "unusable"]],
  ["memory", ["window", "bar", "bar-prefetch", "extra", "balloon", "hotplug"]],
  ["p2m", ["mapped", "identity", "invalid", "foreign", "mixed"]],
  ["answered", [
    "private-leaf",
    "identity-leaf",
    "missing-leaf",
    "mid-missing",
    "mid-identity",
    "outside-tree",
    "beyond-list",
  ]],
];

const TITLES: Record<LaneName | "findings", string> = {
  e820: "E820",
  bridge: "windows",
  bar: "BARs",
  extra: " extra",
  balloon: " balloon",
  hotplug: " hot-added",
  p2m: " P2M entry",
  structure: " answered by",
  findings: " findings",
};

/** Cuts a line to `width` columns, marking the cut with `...`. */
function fit(s: string, width: number): string {
  const cs = [...s];
  return cs.length <= width ? s : cs.slice(0, width - 3).join("") + "...";
}

/** Wraps `items` (joined by two spaces) into lines of at most `width`, each led by `lead`. */
function wrap(lead: string, items: string[], width: number): string[] {
  const out: string[] = [];
  let line = lead;
  for (const it of items) {
    const add = line.trim() === lead.trim() ? it : `  ${it}`;
    if ([...line].length + [...add].length > width && line !== lead) {
      out.push(line);
      line = " ".repeat([...lead].length) + it;
    } else line += add;
  }
  out.push(line);
  return out.map((l) => fit(l, width));
}

/** The PFN interval each column covers. */
function columns(ax: Axis): [number, number][] {
  const out: [number, number][] = [];
  for (let c = 0; c < ax.width; c++) {
    const a = c === 0 ? 0 : axisPfn(ax, c);
    const b = c + 1 >= ax.width ? ax.endPfn : axisPfn(ax, c + 1);
    out.push([a, Math.max(b, a + 1)]);
  }
  return out;
}

/** One lane as a line: each column shows the range that covers most of its pages. */
function laneLine(rs: LaneRange[], cols: [number, number][], ascii: boolean): string {
  let line = "";
  let k = 0;
  for (const [a, b] of cols) {
    while (k < rs.length && rs[k].endPfn <= a) k++;
    let best: LaneRange | undefined;
    let bestOverlap = 0;
    for (let j = k; j < rs.length && rs[j].pfn < b; j++) {
      const o = Math.min(b, rs[j].endPfn) - Math.max(a, rs[j].pfn);
      if (o > bestOverlap) {
        best = rs[j];
        bestOverlap = o;
      }
    }
    if (best) {
      const g = GLYPHS[best.cls];
      line += g ? (ascii ? g[1] : g[0]) : "?";
    } else line += " ";
  }
  return line;
}

/**
 * The map at frame `f` as text.
 *
 * @example
 * ```ts
 * import { renderText } from "./text.ts";
 * import { collectMap } from "./collect.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const text = await Deno.readTextFile("traces/pcie-bar-above-e820.jsonl");
 * const m = await collectMap([{ reader: TraceReader.fromText("t", text), policy: "linux-3.12" }]);
 * const out = renderText(m, m.frames.length - 1, { width: 72, ascii: true });
 * assert.ok(out.split("\n").every((l) => l.length <= 72));
 * assert.match(out, /lookup-zero/);
 * ```
 */
export function renderText(m: MapModel, f: number, opts: TextOptions): string {
  const width = opts.width;
  const plotW = width - LABEL_W;
  const ax = buildAxis(axisCuts(m), m.endPfn, { width: plotW, minWidth: 1 });
  const cols = columns(ax);
  const frame = m.frames[f];
  const out: string[] = [];
  const g = m.header.guest;
  out.push(
    fit(
      `map of ${escapeText(m.trace)} (${g.type} ${g.domain}${g.kernel ? `, ${g.kernel}` : ""})`,
      width,
    ),
  );
  out.push(fit(frameHeading(frame), width));
  out.push("");
  // Ticks: a letter at each segment start that has room, listed below.
  const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let tickRow = "";
  let brkRow = "";
  const ticks: string[] = [];
  let n = 0;
  ax.starts.forEach((s, i) => {
    const x = ax.x[i];
    if (tickRow.length <= x && x < plotW - 1 && n < letters.length) {
      tickRow = tickRow.padEnd(x) + letters[n];
      ticks.push(`${letters[n]} ${hex(s)}`);
      n++;
    }
    if (ax.compressed[i]) {
      brkRow = brkRow.padEnd(x) + (opts.ascii ? "~" : "≈").repeat(Math.max(1, ax.w[i]));
    }
  });
  ticks.push(`| ${hex(ax.endPfn)} (end, ${sizeText(ax.endPfn)})`);
  out.push("PFN".padEnd(LABEL_W) + tickRow.padEnd(plotW).slice(0, plotW - 1) + "|");
  out.push("".padEnd(LABEL_W) + brkRow);
  const state = (p: number, lane: LaneName) => m.states.ranges(frame.lanes[p][LANES.indexOf(lane)]);
  for (const lane of FACT_LANES) {
    if (lane === "bar") {
      const rs = state(0, lane);
      const rows = Math.max(1, ...rs.map((r) => r.row + 1));
      for (let row = 0; row < rows; row++) {
        out.push(
          TITLES[lane].padEnd(LABEL_W) +
            laneLine(rs.filter((r) => r.row === row), cols, opts.ascii),
        );
      }
    } else out.push(TITLES[lane].padEnd(LABEL_W) + laneLine(state(0, lane), cols, opts.ascii));
  }
  m.policies.forEach((pol, p) => {
    out.push(fit(`${pol.spec}: ${frame.verdicts[p][1]}`, width));
    for (const lane of POLICY_LANES) {
      out.push(
        TITLES[lane].padEnd(LABEL_W) +
          laneLine(state(p, lane), cols, opts.ascii),
      );
    }
    let fl = "";
    for (const [a, b] of cols) {
      const hit = pol.findings.filter((x) =>
        x.seq <= frame.step && x.range && x.range.pfn < b && x.range.endPfn > a
      );
      fl += hit.some((x) => x.severity === "error") ? "!" : hit.length ? "?" : " ";
    }
    out.push(TITLES.findings.padEnd(LABEL_W) + fl);
  });
  out.push("");
  out.push(...wrap("ticks: ", ticks, width));
  out.push(
    fit(
      `${opts.ascii ? "~" : "≈"} under the axis: a compressed segment (drawn narrower than a ` +
        "linear axis would)",
      width,
    ),
  );
  for (const [name, classes] of LEGEND) {
    out.push(
      ...wrap(
        `${name}:`.padEnd(10),
        classes.map((c) => `${opts.ascii ? GLYPHS[c][1] : GLYPHS[c][0]} ${GLYPHS[c][2]}`),
        width,
      ),
    );
  }
  out.push(fit("findings: ! error  ? warning", width));
  m.policies.forEach((pol) => {
    for (const x of pol.findings) {
      if (x.seq > frame.step) continue;
      out.push(fit(`${pol.spec} step ${x.seq}: ${x.detector}: ${x.message}`, width));
    }
  });
  return out.map((l) => l.trimEnd()).join("\n") + "\n";
}
