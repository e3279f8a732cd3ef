/**
 * Drawing a lane and its findings as SVG elements. These functions run in two places: here,
 * to draw the static picture and the map's first step, and in the browser, where the HTML page
 * carries their source (`Function.prototype.toString`, as browser automation tools ship
 * functions to a page) and redraws a lane when the step slider moves. So each is
 * self-contained: it calls only the others listed in {@link CLIENT_FUNCTIONS} and the axis's
 * `segmentOf` and `axisX`, and uses no imports.
 *
 * A lane's ranges travel as a flat array: `[pfn, endPfn, class, label, row, ...]`, class and
 * label as indices into a string table.
 *
 * @module
 */

import type { Axis } from "./axis.ts";
import { axisX, segmentOf } from "./axis.ts";

/** The width of one character of label text, in pixels (11 px sans-serif). */
export const CHAR_PX = 6.2;

/**
 * Escapes text for XML content and attributes; control, bidi and invisible format characters
 * (which XML forbids or which would reorder or hide what is drawn) become visible `\uXXXX`
 * escapes, the same characters as `escapeControls` in src/report/text.ts (written out here
 * because this function also runs in the page; a test checks both agree); LF and TAB stay
 * (tooltips use them).
 *
 * @example
 * ```ts
 * import { escapeXml } from "./draw.ts";
 * import assert from "node:assert/strict";
 * assert.equal(escapeXml('a<b & "c"'), "a&lt;b &amp; &quot;c&quot;");
 * assert.equal(escapeXml("x\u202ey\u200b\u001b"), "x\\u202ey\\u200b\\u001b");
 * ```
 */
export function escapeXml(s: string): string {
  const controls = new RegExp(
    "[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u061c\\u180e\\u200b-\\u200f" +
      "\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff\\ufff9-\\ufffb]",
    "g",
  );
  return s.replace(controls, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"))
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
      /"/g,
      "&quot;",
    );
}

/**
 * A page count as a size: `4 KiB`, `16 GiB`, `1.5 MiB`.
 *
 * @example
 * ```ts
 * import { sizeText } from "./draw.ts";
 * import assert from "node:assert/strict";
 * assert.equal(sizeText(1), "4 KiB");
 * assert.equal(sizeText(0x400000), "16 GiB");
 * assert.equal(sizeText(0x180), "1.5 MiB");
 * ```
 */
export function sizeText(pages: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = pages * 4;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const t = v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  return `${t} ${units[u]}`;
}

/**
 * A PFN range for people: `0x3800000-0x3bfffff (4194304 pages, 16 GiB)`.
 *
 * @example
 * ```ts
 * import { pfnRangeText } from "./draw.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pfnRangeText(0x9c, 0x100), "PFN 0x9c-0xff (100 pages, 400 KiB)");
 * assert.equal(pfnRangeText(5, 6), "PFN 0x5 (1 page, 4 KiB)");
 * ```
 */
export function pfnRangeText(pfn: number, endPfn: number): string {
  const n = endPfn - pfn;
  const span = n === 1 ? "0x" + pfn.toString(16) : "0x" + pfn.toString(16) + "-0x" +
    (endPfn - 1).toString(16);
  return "PFN " + span + " (" + n + (n === 1 ? " page, " : " pages, ") + sizeText(n) + ")";
}

/** The short name drawn inside a range: its label up to the first ` [` or ` (`. */
export function shortLabel(label: string): string {
  const cut = label.search(/ [[(]/);
  return cut < 0 ? label : label.slice(0, cut);
}

function fmt(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/**
 * One lane as SVG: a rect per range (class `r c-CLASS`, its exact range in `data-pfn` and
 * `data-end`, a `<title>` with the label and the range), and the short label inside when it
 * fits. Rows stack within the lane's height `h`.
 *
 * @example
 * ```ts
 * import { drawLane } from "./draw.ts";
 * import { buildAxis } from "./axis.ts";
 * import assert from "node:assert/strict";
 * const ax = buildAxis(new Map(), 0x100, { width: 200, minWidth: 1 });
 * const svg = drawLane([0, 0x80, 0, 1, 0], ["ram", "E820 ram [mem 0x0-0x7ffff]"], ax, 20, 1, "e820");
 * assert.match(svg, /<rect class="r c-ram" x="0" y="0" width="100" height="20" data-pfn="0x0"/);
 * assert.match(svg, /<text class="t" x="50" y="14">E820 ram<\/text>/);
 * ```
 */
export function drawLane(
  flat: number[],
  strings: string[],
  ax: Axis,
  h: number,
  rows: number,
  lane: string,
): string {
  const out: string[] = [];
  const texts: string[] = [];
  // BAR names rarely fit inside a BAR: they go on two label lines below the rows, each name
  // at its BAR's left edge (or right-aligned at the plot's end), where it does not collide.
  const below = lane === "bar" ? 26 : 0;
  const rowH = (h - below) / Math.max(1, rows);
  const lineEnd = [-Infinity, -Infinity];
  for (let i = 0; i < flat.length; i += 5) {
    const pfn = flat[i], end = flat[i + 1];
    const cls = strings[flat[i + 2]], label = strings[flat[i + 3]];
    const x0 = axisX(ax, pfn), x1 = axisX(ax, end);
    const w = Math.max(x1 - x0, 1);
    const y = flat[i + 4] * rowH;
    const title = escapeXml(label + "\n" + pfnRangeText(pfn, end));
    out.push(
      '<rect class="r c-' + cls + '" x="' + fmt(x0) + '" y="' + fmt(y) + '" width="' + fmt(w) +
        '" height="' + fmt(rowH - (rows > 1 ? 1 : 0)) + '" data-pfn="0x' + pfn.toString(16) +
        '" data-end="0x' + end.toString(16) + '"><title>' + title +
        "</title></rect>",
    );
    const name = shortLabel(label);
    const tw = name.length * CHAR_PX;
    if (rowH >= 11 && w >= tw + 6) {
      texts.push(
        '<text class="t" x="' + fmt(x0 + w / 2) + '" y="' + fmt(y + rowH / 2 + 4) + '">' +
          escapeXml(name) + "</text>",
      );
    } else if (below) {
      const left = x0 + 3 + tw <= ax.width ? x0 + 3 : Math.max(0, ax.width - tw - 2);
      for (let k = 0; k < 2; k++) {
        if (left < lineEnd[k] + 8) continue;
        lineEnd[k] = left + tw;
        const ty = rows * rowH + 11 + k * 13;
        texts.push(
          '<line class="lead" x1="' + fmt(x0 + Math.min(w, 2) / 2) + '" y1="' +
            fmt(rows * rowH) + '" x2="' + fmt(x0 + Math.min(w, 2) / 2) + '" y2="' +
            fmt(ty - 9) + '"/><text class="tb" x="' + fmt(left) + '" y="' + fmt(ty) + '">' +
            escapeXml(name) + "</text>",
        );
        break;
      }
    }
  }
  return out.join("") + texts.join("");
}

/** A finding as the picture needs it: its range, when it has one, and an index to its evidence. */
export interface DrawnFinding {
  /** Index into the policy's findings. */
  i: number;
  /** First PFN. */
  pfn: number;
  /** One past the last. */
  end: number;
  /** Detector id. */
  detector: string;
  /** `error` or `warning`. */
  severity: string;
  /** One line. */
  message: string;
}

/**
 * The findings of one policy as SVG: a marker of at least 4 px in the findings lane (height
 * `h`), with its detector named when it fits, and a band of height `bandH` above it over the
 * policy's P2M lanes (drawn translucent, so the lanes stay readable).
 *
 * @example
 * ```ts
 * import { drawFindings } from "./draw.ts";
 * import { buildAxis } from "./axis.ts";
 * import assert from "node:assert/strict";
 * const ax = buildAxis(new Map(), 0x100, { width: 100, minWidth: 1 });
 * const svg = drawFindings([{ i: 0, pfn: 0x10, end: 0x11, detector: "lookup-zero",
 *   severity: "error", message: "m" }], ax, 14, 40);
 * assert.match(svg, /class="finding sev-error" x="6.3" y="0" width="4"/);
 * ```
 */
export function drawFindings(fs: DrawnFinding[], ax: Axis, h: number, bandH: number): string {
  const out: string[] = [];
  const spans: [number, number, string][] = [];
  for (const f of fs) {
    const x0 = axisX(ax, f.pfn), x1 = axisX(ax, f.end);
    const w = Math.max(x1 - x0, 4);
    spans.push([x0, x0 + w, f.detector]);
    const title = escapeXml(f.detector + ": " + f.message + "\n" + pfnRangeText(f.pfn, f.end));
    out.push(
      '<rect class="band sev-' + f.severity + '" x="' + fmt(x0) + '" y="' + fmt(-bandH) +
        '" width="' + fmt(w) + '" height="' + fmt(bandH) + '"/>',
    );
    out.push(
      '<rect class="finding sev-' + f.severity + '" x="' + fmt(x0) + '" y="0" width="' +
        fmt(w) + '" height="' + fmt(h) + '" data-finding="' + f.i + '" data-pfn="0x' +
        f.pfn.toString(16) + '" data-end="0x' + f.end.toString(16) + '"><title>' + title +
        "</title></rect>",
    );
  }
  // One name per cluster of touching markers of one detector: inside the cluster when it
  // fits, else after it (or before it at the plot's end), never over another name.
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const texts: string[] = [];
  let nameEnd = -Infinity;
  for (let k = 0; k < spans.length;) {
    let end = spans[k][1];
    let n = k + 1;
    while (n < spans.length && spans[n][2] === spans[k][2] && spans[n][0] <= end + 1) {
      end = Math.max(end, spans[n][1]);
      n++;
    }
    const x0 = spans[k][0];
    const name = spans[k][2];
    const tw = name.length * CHAR_PX;
    let tx = end - x0 >= tw + 6 ? x0 + (end - x0 - tw) / 2 : end + 4;
    if (tx + tw > ax.width) tx = x0 - 4 - tw;
    if (tx >= nameEnd + 6 && tx >= 0) {
      nameEnd = tx + tw;
      texts.push(
        '<text class="t ft" x="' + fmt(tx + tw / 2) + '" y="' + fmt(h / 2 + 4) + '">' +
          escapeXml(name) + "</text>",
      );
    }
    k = n;
  }
  return out.join("") + texts.join("");
}

/** Every function the page needs to redraw lanes, in an order that defines each before use. */
export const CLIENT_FUNCTIONS: readonly ((...args: never[]) => unknown)[] = [
  segmentOf,
  axisX,
  escapeXml,
  sizeText,
  pfnRangeText,
  shortLabel,
  fmt,
  drawLane,
  drawFindings,
];
