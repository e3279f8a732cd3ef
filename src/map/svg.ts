/**
 * The map as one SVG picture: a title, the piecewise PFN axis with its ticks and breaks, the
 * fact lanes (E820, host bridge windows, device BARs) once, then each policy's lanes (extra
 * memory, balloon list, hot-added memory, P2M entry, P2M structure, findings), and a legend.
 * Every lane is a `<g id="lane-P-NAME">` (P: the policy's index, `f` for facts), so the HTML
 * page redraws a lane by replacing its contents.
 *
 * @module
 */

import { escapeText } from "../report/text.ts";
import type { Finding } from "../detect/finding.ts";
import { hex } from "../trace/hex.ts";
import { type Axis, buildAxis } from "./axis.ts";
import { axisCuts, coarsen, type MapFrame, type MapModel } from "./collect.ts";
import { drawFindings, drawLane, type DrawnFinding, escapeXml, sizeText } from "./draw.ts";
import { FACT_LANES, type LaneName, LANES, POLICY_LANES } from "./lanes.ts";

/** Picture width in pixels. */
export const SVG_WIDTH = 1280;
/** Left edge of the plot (lane names sit left of it). */
export const PLOT_X = 190;
/** Width of the plot. */
export const PLOT_WIDTH = SVG_WIDTH - PLOT_X - 64;

const LANE_TITLE: Record<LaneName | "findings", string> = {
  e820: "E820 map",
  bridge: "host bridge windows",
  bar: "device BARs",
  extra: "extra memory",
  balloon: "balloon list",
  hotplug: "hot-added memory",
  p2m: "P2M entry",
  structure: "P2M answered by",
  findings: "findings",
};

const LANE_HEIGHT: Record<LaneName | "findings", number> = {
  e820: 22,
  bridge: 16,
  bar: 16,
  extra: 12,
  balloon: 12,
  hotplug: 12,
  p2m: 26,
  structure: 20,
  findings: 16,
};

/** Where one lane is drawn. */
export interface LaneBox {
  /** Group id: `lane-f-e820`, `lane-0-p2m`, `lane-1-findings`. */
  id: string;
  /** Lane name, or `findings`. */
  lane: LaneName | "findings";
  /** Policy index, or -1 for a fact lane. */
  policy: number;
  /** Top edge. */
  y: number;
  /** Height. */
  h: number;
  /** Stacking rows (BARs). */
  rows: number;
}

/** The drawable form of a model: the axis, the lanes' places, and every state flattened. */
export interface MapPicture {
  /** The model. */
  model: MapModel;
  /** The axis, in plot pixels. */
  axis: Axis;
  /** Every lane's place. */
  boxes: LaneBox[];
  /** Where each policy's block starts (its heading line). */
  policyY: number[];
  /** Total height. */
  height: number;
  /** The string table of the flattened states. */
  strings: string[];
  /** Each state as `[pfn, endPfn, class, label, row, ...]` (indices into `strings`). */
  flat: number[][];
}

const TITLE_H = 58;
const AXIS_H = 104;
const POLICY_HEAD_H = 26;
const GAP = 4;

/**
 * Lays a model out: builds the axis from its cuts, coarsens crowded lanes, places the lanes.
 *
 * @example
 * ```ts
 * import { layoutMap } from "./svg.ts";
 * import { collectMap } from "./collect.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const text = await Deno.readTextFile("traces/pcie-bar-above-e820.jsonl");
 * const pic = layoutMap(await collectMap([{ reader: TraceReader.fromText("t", text),
 *   policy: "linux-3.12" }]));
 * assert.deepEqual(pic.boxes.map((b) => b.id).slice(0, 4),
 *   ["lane-f-e820", "lane-f-bridge", "lane-f-bar", "lane-0-extra"]);
 * ```
 */
export function layoutMap(model: MapModel): MapPicture {
  const axis = buildAxis(axisCuts(model), model.endPfn, { width: PLOT_WIDTH, minWidth: 9 });
  const strings: string[] = [];
  const sid = new Map<string, number>();
  const str = (s: string) => {
    let i = sid.get(s);
    if (i === undefined) {
      i = strings.length;
      strings.push(s);
      sid.set(s, i);
    }
    return i;
  };
  // One state at a time: its ranges as objects only while it is coarsened and flattened.
  const flat: number[][] = [];
  for (let id = 0; id < model.states.size; id++) {
    const a: number[] = [];
    for (const r of coarsen([model.states.ranges(id)], axis)[0]) {
      a.push(r.pfn, r.endPfn, str(r.cls), str(r.label), r.row);
    }
    flat.push(a);
  }
  const barLane = LANES.indexOf("bar");
  let barRows = 1;
  for (const f of model.frames) {
    const a = flat[f.lanes[0][barLane]];
    for (let i = 4; i < a.length; i += 5) barRows = Math.max(barRows, a[i] + 1);
  }
  const boxes: LaneBox[] = [];
  let y = TITLE_H + AXIS_H;
  for (const lane of FACT_LANES) {
    const rows = lane === "bar" ? barRows : 1;
    const h = LANE_HEIGHT[lane] * rows + (lane === "bar" ? 26 : 0);
    boxes.push({ id: `lane-f-${lane}`, lane, policy: -1, y, h, rows });
    y += h + GAP;
  }
  const policyY: number[] = [];
  model.policies.forEach((_, p) => {
    y += 6;
    policyY.push(y);
    y += POLICY_HEAD_H;
    for (const lane of [...POLICY_LANES, "findings" as const]) {
      const h = LANE_HEIGHT[lane];
      boxes.push({ id: `lane-${p}-${lane}`, lane, policy: p, y, h, rows: 1 });
      y += h + GAP;
    }
  });
  return { model, axis, boxes, policyY, height: y + 150, strings, flat };
}

/**
 * The findings of policy `p` a frame shows: those found at or before its step, with a range.
 *
 * @example
 * ```ts
 * import { visibleFindings } from "./svg.ts";
 * import type { Finding } from "../detect/finding.ts";
 * import assert from "node:assert/strict";
 * const f: Finding = { detector: "d", severity: "error", seq: 5, line: 6, kind: "k",
 *   message: "m", evidence: [], key: "k", range: { pfn: 1, endPfn: 2 } };
 * assert.equal(visibleFindings([f], 4).length, 0);
 * assert.equal(visibleFindings([f], 5)[0].pfn, 1);
 * ```
 */
export function visibleFindings(findings: readonly Finding[], step: number): DrawnFinding[] {
  const out: DrawnFinding[] = [];
  findings.forEach((f, i) => {
    if (f.seq > step || !f.range) return;
    out.push({
      i,
      pfn: f.range.pfn,
      end: f.range.endPfn,
      detector: f.detector,
      severity: f.severity,
      message: f.message,
    });
  });
  return out;
}

/** The SVG of one lane box at one frame (its contents, without the group). */
export function drawBox(pic: MapPicture, box: LaneBox, frame: MapFrame): string {
  if (box.lane === "findings") {
    const band = pic.boxes.filter((b) => b.policy === box.policy && b.lane !== "findings");
    const top = band.find((b) => b.lane === "p2m")!.y;
    return drawFindings(
      visibleFindings(pic.model.policies[box.policy].findings, frame.step),
      pic.axis,
      box.h,
      box.y - top,
    );
  }
  const id = frame.lanes[Math.max(0, box.policy)][LANES.indexOf(box.lane)];
  return drawLane(pic.flat[id], pic.strings, pic.axis, box.h, box.rows, box.lane);
}

/** The heading of a frame: `step 16 (line 17): xen_add_device ...`. */
export function frameHeading(frame: MapFrame): string {
  return frame.index === 0
    ? "step 0 (before the first event)"
    : `step ${frame.step} (line ${frame.line}): ${frame.event}`;
}

/**
 * The CSS class of a policy's verdict so far (the frame's `verdicts`, `verdictSoFar`): `ok` only
 * when clean, `cj` when it cannot be judged, `bad` when something was found.
 *
 * @example
 * ```ts
 * import { verdictClass } from "./svg.ts";
 * import assert from "node:assert/strict";
 * assert.equal(verdictClass("cannot-judge"), "cj");
 * ```
 */
export function verdictClass(v: string): string {
  return v === "clean" ? "ok" : v === "cannot-judge" ? "cj" : "bad";
}

/** A round physical address for a tick: ` (224G)`, ` (3.75G)`, ` (3064M)`, or nothing. */
function addressNote(pfn: number): string {
  if (pfn === 0) return "";
  if (pfn % 0x10000 === 0) return ` (${pfn / 0x40000}G)`; // a quarter GiB: 3.75G
  if (pfn % 0x100 === 0 && pfn < 0x400000) return ` (${pfn / 0x100}M)`;
  return "";
}

function axisSvg(pic: MapPicture): string {
  const ax = pic.axis;
  const out: string[] = [];
  const top = TITLE_H;
  const lineY = top + AXIS_H - 14;
  const bottom = pic.boxes[pic.boxes.length - 1].y + pic.boxes[pic.boxes.length - 1].h;
  out.push(`<g id="axis" transform="translate(${PLOT_X},0)">`);
  // Gridlines at every segment boundary, behind the lanes.
  for (let i = 0; i <= ax.starts.length; i++) {
    const x = i < ax.starts.length ? ax.x[i] : ax.width;
    out.push(`<line class="grid" x1="${x}" y1="${lineY}" x2="${x}" y2="${bottom}"/>`);
  }
  out.push(`<line class="axis" x1="0" y1="${lineY}" x2="${ax.width}" y2="${lineY}"/>`);
  let lastLabel = -Infinity;
  for (let i = 0; i <= ax.starts.length; i++) {
    const pfn = i < ax.starts.length ? ax.starts[i] : ax.endPfn;
    const x = i < ax.starts.length ? ax.x[i] : ax.width;
    out.push(`<line class="tick" x1="${x}" y1="${lineY - 4}" x2="${x}" y2="${lineY + 4}"/>`);
    if (x - lastLabel >= 12) {
      lastLabel = x;
      out.push(
        `<text class="tl" transform="translate(${x + 3},${lineY - 6}) rotate(-55)">${hex(pfn)}${
          addressNote(pfn)
        }</text>`,
      );
    }
  }
  ax.starts.forEach((s, i) => {
    if (!ax.compressed[i]) return;
    const end = i + 1 < ax.starts.length ? ax.starts[i + 1] : ax.endPfn;
    const cx = ax.x[i] + ax.w[i] / 2;
    out.push(
      `<path class="brk" d="M${cx - 4},${lineY + 5} l3,-10 M${cx},${lineY + 5} l3,-10"><title>${
        escapeXml(`compressed: ${sizeText(end - s)} drawn in ${ax.w[i]} px`)
      }</title></path>`,
    );
    const t = `≈${sizeText(end - s)}`;
    if (ax.w[i] >= t.length * 5.5 + 4) {
      out.push(`<text class="bl" x="${cx}" y="${lineY + 14}">${escapeXml(t)}</text>`);
    }
  });
  out.push("</g>");
  out.push(
    `<text class="lt" x="${PLOT_X - 8}" y="${lineY + 4}" text-anchor="end">PFN (hex)</text>`,
  );
  return out.join("\n");
}

const LEGEND: [string, [string, string][]][] = [
  ["E820", [["ram", "RAM"], ["reserved", "reserved"], ["acpi", "ACPI"], ["nvs", "NVS"], [
    "unusable",
    "unusable",
  ]]],
  ["memory", [
    ["window", "bridge window"],
    ["bar", "BAR"],
    ["bar-prefetch", "prefetchable BAR"],
    [
      "extra",
      "extra",
    ],
    ["balloon", "ballooned"],
    ["hotplug", "hot-added"],
  ]],
  ["P2M entry", [["mapped", "mapped"], ["identity", "identity 1:1"], ["invalid", "INVALID"], [
    "foreign",
    "foreign",
  ], ["mixed", "mixed (too small)"]]],
  ["answered by", [
    ["private-leaf", "private leaf"],
    ["identity-leaf", "shared identity leaf"],
    [
      "missing-leaf",
      "shared missing leaf",
    ],
    ["mid-missing", "mid-missing"],
    ["mid-identity", "mid-identity"],
    [
      "outside-tree",
      "outside the tree",
    ],
    ["beyond-list", "beyond the list"],
  ]],
  ["findings", [["finding sev-error", "error"], ["finding sev-warning", "warning"]]],
];

function legendSvg(y: number): string {
  const out: string[] = [`<g id="legend" transform="translate(20,${y})">`];
  LEGEND.forEach(([title, items], row) => {
    const ry = row * 22;
    out.push(`<text class="lg-t" x="0" y="${ry + 11}">${title}</text>`);
    let x = 90;
    for (const [cls, name] of items) {
      const c = cls.startsWith("finding") ? cls : `r c-${cls}`;
      out.push(`<rect class="${c}" x="${x}" y="${ry}" width="16" height="13"/>`);
      out.push(`<text class="lg" x="${x + 21}" y="${ry + 11}">${escapeXml(name)}</text>`);
      x += 34 + name.length * 6.6;
    }
  });
  out.push("</g>");
  return out.join("\n");
}

/** The stylesheet of the picture (also used by the HTML page). */
export const MAP_CSS = `
svg.p2mmap{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;background:#fff}
.title{font-size:16px;font-weight:600;fill:#111}.sub{font-size:12px;fill:#333}
.lt{font-size:12px;fill:#222}.ph{font-size:13px;font-weight:600;fill:#111}.pv{font-size:12px}
.pv.bad{fill:#c62828;font-weight:600}.pv.ok{fill:#2e7d32}.pv.cj{fill:#8a5a00;font-weight:600}
.tl{font-size:10px;fill:#444;font-family:ui-monospace,"DejaVu Sans Mono",monospace}
.bl{font-size:9px;fill:#666;text-anchor:middle}
.grid{stroke:#eceff1;stroke-width:1}.axis{stroke:#333;stroke-width:1}.tick{stroke:#333}
.brk{stroke:#d84315;stroke-width:1.5;fill:none}
.lanebg{fill:#fafafa;stroke:#e0e0e0}
.t{font-size:11px;text-anchor:middle;fill:#111;paint-order:stroke;stroke:#fff;stroke-width:3px;pointer-events:none}
.ft{fill:#b71c1c}
.tb{font-size:11px;fill:#0d47a1;pointer-events:none}.lead{stroke:#0d47a1;stroke-width:1}
.lg-t{font-size:12px;font-weight:600}.lg{font-size:11px;fill:#222}
.r{stroke:#fff;stroke-width:.5}
.c-ram{fill:#66bb6a}.c-reserved{fill:#9e9e9e}.c-acpi{fill:#ffb74d}.c-nvs{fill:#ff8a65}
.c-unusable{fill:#6d4c41}.c-other{fill:#bdbdbd}
.c-window{fill:#bbdefb;stroke:#64b5f6}.c-bar{fill:#1565c0}.c-bar-prefetch{fill:#5e35b1}
.c-extra{fill:#ffe082}.c-balloon{fill:#ffa000}.c-hotplug{fill:#4db6ac}
.c-mapped{fill:#43a047}.c-identity{fill:#1e88e5}.c-invalid{fill:#cfd8dc}.c-foreign{fill:#8e24aa}
.c-mixed{fill:#78909c}
.c-private-leaf{fill:#81c784}.c-identity-leaf{fill:#64b5f6}.c-missing-leaf{fill:#e0e0e0}
.c-mid-missing{fill:#b0bec5}.c-mid-identity{fill:#0d47a1}.c-outside-tree{fill:#f5f5f5;stroke:#bdbdbd}
.c-beyond-list{fill:#eceff1;stroke:#bdbdbd}
.finding{cursor:pointer}.sev-error{fill:#d32f2f}.sev-warning{fill:#f9a825}
.band{pointer-events:none;opacity:.16}
`;

/** Options of {@link renderSvg}. */
export interface SvgOptions {
  /** Wrap in a standalone document with an XML declaration and the stylesheet. */
  standalone: boolean;
  /** Leave the lane groups empty (the HTML page's script draws them). */
  emptyLanes?: boolean;
}

/**
 * The picture at frame `f` (an index into the model's frames).
 *
 * @example
 * ```ts
 * import { layoutMap, renderSvg } from "./svg.ts";
 * import { collectMap } from "./collect.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const text = await Deno.readTextFile("traces/pcie-bar-above-e820.jsonl");
 * const pic = layoutMap(await collectMap([{ reader: TraceReader.fromText("t", text),
 *   policy: "linux-3.12" }]));
 * const svg = renderSvg(pic, pic.model.frames.length - 1, { standalone: true });
 * assert.match(svg, /0000:03:00\.0 BAR 1 \[mem 0x3800000000-0x3bffffffff\]/);
 * assert.match(svg, /data-finding="0"/);
 * ```
 */
export function renderSvg(pic: MapPicture, f: number, opts: SvgOptions): string {
  const m = pic.model;
  const frame = m.frames[f];
  const out: string[] = [];
  if (opts.standalone) out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="p2mmap" id="map" width="${SVG_WIDTH}" ` +
      `height="${pic.height}" viewBox="0 0 ${SVG_WIDTH} ${pic.height}">`,
  );
  if (opts.standalone) out.push(`<style>${MAP_CSS}</style>`);
  out.push(`<rect x="0" y="0" width="${SVG_WIDTH}" height="${pic.height}" fill="#fff"/>`);
  const guest = m.header.guest;
  out.push(
    `<text class="title" x="20" y="22">${
      escapeXml(
        `${escapeText(m.trace)}: ${guest.type} ${guest.domain}${
          guest.kernel ? `, kernel ${guest.kernel}` : ""
        } — the guest's PFN space`,
      )
    }</text>`,
  );
  out.push(
    `<text class="sub" id="heading" x="20" y="42">${escapeXml(frameHeading(frame))}</text>`,
  );
  out.push(axisSvg(pic));
  for (const b of pic.boxes) {
    if (b.policy >= 0 && b.lane === "extra") {
      const p = b.policy;
      const pol = m.policies[p];
      const [v, verdict] = frame.verdicts[p];
      out.push(
        `<text x="20" y="${pic.policyY[p] + 17}"><tspan class="ph">${escapeXml(pol.spec)}</tspan>` +
          `<tspan dx="14" class="pv ${verdictClass(v)}" id="verdict-${p}">${
            escapeXml(verdict)
          }</tspan><tspan dx="14" class="sub">${escapeXml(pol.summary)}</tspan></text>`,
      );
    }
    out.push(
      `<text class="lt" x="${PLOT_X - 8}" y="${b.y + b.h / 2 + 4}" text-anchor="end">${
        LANE_TITLE[b.lane]
      }</text>`,
    );
    out.push(
      `<rect class="lanebg" x="${PLOT_X}" y="${b.y}" width="${PLOT_WIDTH}" height="${b.h}"/>`,
    );
    out.push(
      `<g id="${b.id}" class="lane" data-lane="${b.lane}" transform="translate(${PLOT_X},${b.y})">${
        opts.emptyLanes ? "" : drawBox(pic, b, frame)
      }</g>`,
    );
  }
  out.push(legendSvg(pic.height - 130));
  out.push("</svg>");
  return out.join("\n") + "\n";
}
