/**
 * The map as one self-contained HTML page: the SVG of the first step, a slider over the kept
 * steps (each with its event), exact PFN and address under the pointer, each finding's
 * evidence on click, and the data to redraw any step. Nothing is fetched: the stylesheet, the
 * data (`<script type="application/json">`) and the script are inline, so the file works from
 * `file://` and offline. The script draws the lanes with the same functions that draw the static
 * SVG (`draw.ts`), shipped as their source; the page carries only the compact data, not the
 * drawn lanes.
 *
 * @module
 */

import { axisPfn } from "./axis.ts";
import { CHAR_PX, CLIENT_FUNCTIONS, escapeXml } from "./draw.ts";
import { escapeControls } from "../report/text.ts";
import { LANES } from "./lanes.ts";
import {
  frameHeading,
  MAP_CSS,
  type MapPicture,
  PLOT_X,
  renderSvg,
  verdictClass,
  visibleFindings,
} from "./svg.ts";

const PAGE_CSS = `
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111;background:#f4f6f8}
header{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #ddd;padding:8px 20px}
#controls{display:flex;align-items:center;gap:8px}
#slider{flex:0 0 420px}
#stepinfo{flex:1 1 auto;min-width:0;font-size:13px;font-family:ui-monospace,"DejaVu Sans Mono",monospace;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
#note{font-size:12px;color:#555;margin-top:4px}
#wrap{padding:10px 20px;overflow-x:auto}
#tip{position:fixed;pointer-events:none;background:#263238;color:#fff;font:12px ui-monospace,"DejaVu Sans Mono",monospace;padding:6px 8px;border-radius:4px;white-space:pre;z-index:3}
section{margin:0 20px 16px;background:#fff;border:1px solid #ddd;border-radius:4px;padding:10px 14px;max-width:1240px}
section h2{font-size:15px;margin:0 0 8px}
table.ev{border-collapse:collapse;font-size:13px}table.ev td{padding:2px 10px 2px 0;vertical-align:top}
table.ev td:first-child{color:#555;white-space:nowrap}
ul.fl{margin:0;padding-left:18px;font-size:13px}ul.fl li{cursor:pointer;margin:2px 0}
ul.fl li.future{color:#999}
.sel{outline:2px solid #111}
`;

/**
 * A flattened lane state (`[pfn, endPfn, class, label, row, ...]`) as a compact string: per
 * range, base-36 numbers for the gap since the previous range's end, the length, the class,
 * the label and the row, comma-separated. About half the size of the JSON array.
 *
 * @example
 * ```ts
 * import { decodeState, encodeState } from "./html.ts";
 * import assert from "node:assert/strict";
 * const flat = [0, 0x9c, 0, 1, 0, 0x3800000, 0x3c00000, 2, 3, 1];
 * assert.equal(encodeState(flat), "0,4c,0,1,0,yykpw,2hwcg,2,3,1");
 * assert.deepEqual(decodeState(encodeState(flat)), flat);
 * assert.deepEqual(decodeState(""), []);
 * ```
 */
export function encodeState(flat: number[]): string {
  const out: string[] = [];
  let prev = 0;
  for (let i = 0; i < flat.length; i += 5) {
    out.push(
      (flat[i] - prev).toString(36),
      (flat[i + 1] - flat[i]).toString(36),
      flat[i + 2].toString(36),
      flat[i + 3].toString(36),
      flat[i + 4].toString(36),
    );
    prev = flat[i + 1];
  }
  return out.join(",");
}

/** The inverse of {@link encodeState} (it runs in the page). */
export function decodeState(text: string): number[] {
  if (!text) return [];
  const t = text.split(",");
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < t.length; i += 5) {
    const pfn = prev + parseInt(t[i], 36);
    const end = pfn + parseInt(t[i + 1], 36);
    out.push(pfn, end, parseInt(t[i + 2], 36), parseInt(t[i + 3], 36), parseInt(t[i + 4], 36));
    prev = end;
  }
  return out;
}

function clientScript(): string {
  const fns = CLIENT_FUNCTIONS.concat([
    axisPfn,
    decodeState,
    visibleFindings,
    verdictClass,
    frameHeading,
  ] as never[]).map((f) => f.toString()).join("\n");
  return `"use strict";
const CHAR_PX = ${CHAR_PX};
${fns}
const D = JSON.parse(document.getElementById("map-data").textContent);
D.flat = D.states.map(decodeState);
const ax = D.axis;
const drawn = {};
const slider = document.getElementById("slider");
const tip = document.getElementById("tip");
const svg = document.getElementById("map");
let current = -1;
function laneIndex(name) { return D.lanes.indexOf(name); }
function show(fi) {
  const fr = D.frames[fi];
  for (const b of D.boxes) {
    const g = document.getElementById(b.id);
    let key, html;
    if (b.lane === "findings") {
      const fs = visibleFindings(D.policies[b.policy].findings, fr.step);
      key = "f" + fs.length;
      if (drawn[b.id] === key) continue;
      html = drawFindings(fs, ax, b.h, b.band);
    } else {
      key = fr.lanes[Math.max(0, b.policy)][laneIndex(b.lane)];
      if (drawn[b.id] === key) continue;
      html = drawLane(D.flat[key], D.strings, ax, b.h, b.rows, b.lane);
    }
    g.innerHTML = html;
    drawn[b.id] = key;
  }
  D.policies.forEach((p, i) => {
    const el = document.getElementById("verdict-" + i);
    el.textContent = fr.verdicts[i][1];
    el.setAttribute("class", "pv " + verdictClass(fr.verdicts[i][0]));
  });
  const h = frameHeading(fr);
  document.getElementById("heading").textContent = h;
  document.getElementById("stepinfo").textContent = (fi + 1) + "/" + D.frames.length + "  " + h;
  document.querySelectorAll("ul.fl li").forEach((li) => {
    li.classList.toggle("future", Number(li.dataset.seq) > fr.step);
  });
  slider.value = String(fi);
  current = fi;
  document.body.dataset.frame = String(fi);
  document.body.dataset.step = String(fr.step);
}
function evidence(p, i) {
  const f = D.policies[p].findings[i];
  const rows = [["policy", D.policies[p].spec], ["detector", f.detector + " (" + f.severity + ")"],
    ["step", f.seq + " (line " + f.line + ", " + f.kind + ")"]];
  if (f.range) rows.push(["PFNs", pfnRangeText(f.range.pfn, f.range.endPfn)]);
  for (const e of f.evidence) rows.push(e);
  document.getElementById("evidence-title").textContent = f.message;
  document.getElementById("evidence-body").innerHTML = "<table class=\\"ev\\">" + rows.map((r) =>
    "<tr><td>" + escapeXml(r[0]) + "</td><td>" + escapeXml(r[1]) + "</td></tr>").join("") + "</table>";
  document.getElementById("evidence").dataset.shown = f.detector;
}
slider.addEventListener("input", () => show(Number(slider.value)));
document.getElementById("prev").addEventListener("click", () => show(Math.max(0, current - 1)));
document.getElementById("next").addEventListener("click", () =>
  show(Math.min(D.frames.length - 1, current + 1)));
svg.addEventListener("click", (ev) => {
  const t = ev.target.closest("[data-finding]");
  if (!t) return;
  const p = Number(t.closest("g.lane").id.split("-")[1]);
  evidence(p, Number(t.dataset.finding));
});
document.querySelectorAll("ul.fl li").forEach((li) => li.addEventListener("click", () => {
  const seq = Number(li.dataset.seq);
  let fi = D.frames.length - 1;
  for (let k = 0; k < D.frames.length; k++) if (D.frames[k].step >= seq) { fi = k; break; }
  show(fi);
  evidence(Number(li.dataset.policy), Number(li.dataset.i));
}));
svg.addEventListener("mousemove", (ev) => {
  const pt = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(svg.getScreenCTM().inverse());
  const x = pt.x - ${PLOT_X};
  if (x < 0 || x > ax.width) { tip.hidden = true; return; }
  const pfn = axisPfn(ax, x);
  let text = "PFN 0x" + pfn.toString(16) + "  address 0x" + (pfn * 4096).toString(16);
  const r = ev.target.closest("[data-pfn]");
  if (r) {
    const title = r.querySelector("title");
    if (title) text += "\\n" + title.textContent;
  }
  tip.textContent = text;
  tip.hidden = false;
  tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 4) + "px";
  tip.style.top = (ev.clientY + 16) + "px";
});
svg.addEventListener("mouseleave", () => { tip.hidden = true; });
show(D.initial);
`;
}

/**
 * The page.
 *
 * @example
 * ```ts
 * import { renderHtml } from "./html.ts";
 * import { layoutMap } from "./svg.ts";
 * import { collectMap } from "./collect.ts";
 * import { TraceReader } from "../trace/read.ts";
 * import assert from "node:assert/strict";
 * const text = await Deno.readTextFile("traces/pcie-bar-above-e820.jsonl");
 * const html = renderHtml(layoutMap(await collectMap([{ reader: TraceReader.fromText("t", text),
 *   policy: "linux-3.16" }])));
 * assert.match(html, /^<!DOCTYPE html>/);
 * assert.doesNotMatch(html, /<script src|<link /);
 * ```
 */
export function renderHtml(pic: MapPicture): string {
  const m = pic.model;
  const p2mTop = (p: number) => pic.boxes.find((b) => b.policy === p && b.lane === "p2m")!.y;
  const data = {
    trace: m.trace,
    axis: pic.axis,
    strings: pic.strings,
    states: pic.flat.map(encodeState),
    lanes: LANES,
    frames: m.frames,
    boxes: pic.boxes.map((b) => ({
      ...b,
      band: b.lane === "findings" ? b.y - p2mTop(b.policy) : 0,
    })),
    policies: m.policies.map((p) => ({ spec: p.spec, findings: p.findings })),
    initial: m.initial,
  };
  // Every string made safe to show (control, bidi and invisible characters as visible
  // escapes: the page puts them in the DOM as they are), "<" escaped so no string in the data
  // can close the script element.
  const json = JSON.stringify(data, (_k, v) => typeof v === "string" ? escapeControls(v) : v)
    .replace(/</g, "\\u003c");
  const note = `${m.frames.length} of ${m.events + 1} steps: ${m.sampling}` +
    (m.sampling === "every step" ? "" : ` (${m.changedSteps} steps changed the state)`) +
    `; ${m.events} event(s). Hover for the exact PFN and address; click a red marker for its evidence.`;
  const list = m.policies.flatMap((p, pi) =>
    p.findings.map((f, i) =>
      `<li data-policy="${pi}" data-i="${i}" data-seq="${f.seq}">${
        escapeXml(`${p.spec}, step ${f.seq}: ${f.detector}: ${f.message}`)
      }</li>`
    ).concat(
      p.findingsOmitted
        ? [`<li>${p.findingsOmitted} more finding(s) of ${escapeXml(p.spec)} not shown</li>`]
        : [],
    )
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(`p2mtrace map: ${m.trace}`)}</title>
<style>${PAGE_CSS}${MAP_CSS}</style>
</head>
<body>
<header>
<div id="controls"><button id="prev" title="previous step">&#9664;</button><input id="slider" type="range" min="0" max="${
    m.frames.length - 1
  }" value="${m.initial}" aria-label="step"><button id="next" title="next step">&#9654;</button><span id="stepinfo"></span></div>
<div id="note">${escapeXml(note)}</div>
</header>
<div id="wrap">
${renderSvg(pic, m.initial, { standalone: false, emptyLanes: true })}</div>
<div id="tip" hidden></div>
<section id="evidence"><h2 id="evidence-title">Evidence</h2><div id="evidence-body">Click a finding (a red marker in a findings lane, or one in the list below) to see its evidence.</div></section>
<section id="findings"><h2>Findings (${
    m.policies.map((p) => `${escapeXml(p.spec)}: ${p.findings.length + p.findingsOmitted}`).join(
      ", ",
    )
  })</h2><ul class="fl">
${list.join("\n")}
</ul></section>
<script type="application/json" id="map-data">${json}</script>
<script>
${clientScript()}</script>
</body>
</html>
`;
}
