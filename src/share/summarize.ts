/**
 * `summarize`: a paste-ready summary of a trace for a bug report — what the guest is, what
 * the trace holds, which BARs sit above the E820 map, and what each policy finds — in one pass
 * over the file.
 *
 * @module
 */

import type { PfnRange, Resource, TraceEvent, TraceHeader } from "../trace/event.ts";
import { E820_TYPE } from "../trace/event.ts";
import { hex } from "../trace/hex.ts";
import type { TraceReader } from "../trace/read.ts";
import { comparePolicies, type Comparison, type PolicyResult } from "../replay/compare.ts";
import type { Finding } from "../detect/finding.ts";
import { blindNote, missingOf, runVerdict, VERDICT_TAG } from "../detect/verdict.ts";
import { PROVEN, type Provenance } from "../trace/provenance.ts";
import { POLICIES } from "../policy/policies.ts";
import { choosePolicy } from "../replay/replayer.ts";
import { isMmio, resourceName } from "../kernel/pci_resource.ts";
import { fmtPfns } from "../detect/finding.ts";
import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import { escapeText } from "../report/text.ts";
import { shellQuote } from "../report/shell.ts";
import type { HeldFindings } from "../report/check_report.ts";
import { findingJson } from "../report/replay_report.ts";

/** Facts gathered from the events. */
export interface TraceFacts {
  /** Events by kind. */
  counts: Map<string, number>;
  /** Earliest and latest timestamp, when events carry one (imports need not be in time order). */
  time?: [number, number];
  /** Raw E820 entries, RAM bytes, end of the last entry (bytes). */
  e820: { entries: number; ramBytes: number; end: number };
  /** MMIO BARs (device, name, resource) as last assigned, above the last E820 entry. */
  barsAbove: { device: string; name: string; resource: Resource }[];
  /** Devices announced with xen_add_device. */
  devices: number;
  /** Host bridges. */
  bridges: number;
  /** Pages given back and taken from Xen at runtime. */
  ballooned: { out: number; in: number };
  /** Hot-added memory ranges. */
  hotplug: PfnRange[];
}

/** Folds events into {@link TraceFacts}. */
export class FactCollector {
  /** The facts so far. */
  readonly facts: TraceFacts = {
    counts: new Map(),
    e820: { entries: 0, ramBytes: 0, end: 0 },
    barsAbove: [],
    devices: 0,
    bridges: 0,
    ballooned: { out: 0, in: 0 },
    hotplug: [],
  };
  #bars = new Map<string, { device: string; resource: Resource }>();

  /** Adds one event. */
  add(e: TraceEvent): void {
    const f = this.facts;
    f.counts.set(e.kind, (f.counts.get(e.kind) ?? 0) + 1);
    if (e.time !== undefined) {
      f.time = f.time
        ? [Math.min(f.time[0], e.time), Math.max(f.time[1], e.time)]
        : [e.time, e.time];
    }
    const pages = (rs: readonly PfnRange[]) => rs.reduce((n, r) => n + r.endPfn - r.pfn, 0);
    switch (e.kind) {
      case "e820":
        if (e.map !== "raw") break;
        f.e820.entries++;
        if (e.type === E820_TYPE.ram) f.e820.ramBytes += e.size;
        f.e820.end = Math.max(f.e820.end, e.start + e.size);
        break;
      case "xen_add_device":
        f.devices++;
        for (const r of e.resources) {
          this.#bars.set(`${e.device}#${r.index}`, { device: e.device, resource: r });
        }
        break;
      case "pci_resource_assign":
        this.#bars.set(`${e.device}#${e.resource.index}`, {
          device: e.device,
          resource: e.resource,
        });
        break;
      case "pci_host_bridge":
        f.bridges++;
        break;
      case "decrease_reservation":
        f.ballooned.out += pages(e.ranges);
        break;
      case "increase_reservation":
        f.ballooned.in += pages(e.ranges);
        break;
      case "memory_hotplug":
        f.hotplug.push({
          pfn: Math.floor(e.start / 4096),
          endPfn: Math.floor((e.start + e.size) / 4096),
        });
        break;
    }
  }

  /** Finishes: BARs above the E820 map (none without a map), in device order. */
  finish(): TraceFacts {
    const f = this.facts;
    if (f.e820.entries === 0) return f;
    f.barsAbove = [...this.#bars.values()]
      .filter((b) => isMmio(b.resource) && b.resource.index <= 12 && b.resource.start >= f.e820.end)
      .sort((a, b) =>
        a.device < b.device ? -1 : a.device > b.device ? 1 : a.resource.index - b.resource.index
      )
      .map((b) => ({
        device: b.device,
        name: resourceName(b.resource.index),
        resource: b.resource,
      }));
    return f;
  }
}

/** Everything `summarize` prints. */
export interface Summary {
  /** The trace as named. */
  file: string;
  /** sha256 of the file. */
  sha256: string;
  /** Header. */
  header: TraceHeader;
  /** Facts. */
  facts: TraceFacts;
  /** The policy findings are listed for. */
  policy: string;
  /** Its index in `comparison.results`. */
  policyIndex: number;
  /** Every policy's results. */
  comparison: Comparison;
}

/**
 * Reads the trace once: facts plus every policy's findings. `sha256` is the file's digest, or a
 * function giving it once the trace has been read (a reader that hashes as it reads). With
 * `held`, the listed policy's findings go there as JSON text (`summarize --json`) and its result
 * keeps only what a verdict reads, as the other policies' do.
 */
export async function summarizeTrace(
  file: string,
  sha256: string | (() => Promise<string>),
  reader: TraceReader,
  policyOption: string | undefined,
  held?: HeldFindings,
): Promise<Summary> {
  const header = await reader.header();
  const { policy } = choosePolicy(header, policyOption);
  const names = [...POLICIES.keys()];
  const spec = policyOption ?? policy.name;
  const list = names.includes(spec) ? names : [spec, ...names];
  const facts = new FactCollector();
  const policyIndex = list.indexOf(spec);
  // Every finding of the policy the summary lists (or their JSON text in `held`); the others
  // give a verdict only.
  const comparison = await comparePolicies(reader, list, [], {
    onEvent: (e) => facts.add(e),
    complete: (i) => i === policyIndex && held === undefined,
    onFinding: held
      ? (i, f, judged) => {
        if (i === policyIndex) (judged ? held.findings : held.unjudged).push(findingJson(f));
      }
      : undefined,
  });
  const digest = typeof sha256 === "string" ? sha256 : await sha256();
  return {
    file,
    sha256: digest,
    header,
    facts: facts.finish(),
    policy: spec,
    policyIndex,
    comparison,
  };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

/** A policy's verdict word (`clean`, `warn`, `BAD`, `cannot judge`) and its first finding. */
export function summaryVerdict(
  r: PolicyResult,
): { verdict: string; first?: Finding; missing?: string[] } {
  const v = runVerdict(r.basis);
  if (v === "cannot-judge") {
    return { verdict: "cannot judge", first: r.unjudged[0], missing: missingOf(r.basis) };
  }
  if (v === "clean") return { verdict: "clean" };
  const first = r.findings.find((x) => x.severity === "error") ?? r.findings[0];
  return { verdict: VERDICT_TAG[v], first };
}

/**
 * What the import decided, estimated, rebuilt and did not understand, as label/value rows; none
 * for a hand-written trace.
 *
 * @example
 * ```ts
 * import { importRows } from "./summarize.ts";
 * import { PROVEN } from "../trace/provenance.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(importRows(PROVEN), []);
 * assert.deepEqual(importRows({ ...PROVEN, relevantLines: 40, unrecognisedLines: 30 }),
 *   [["log lines", "30 of 40 relevant line(s) not understood: most of the log was not"]]);
 * ```
 */
export function importRows(p: Provenance): [string, string][] {
  const rows: [string, string][] = [];
  if (p.typeUnknown || p.domainUnknown || p.guestConfidence !== "proven" || p.guestSource.length) {
    const how = p.typeUnknown || p.domainUnknown
      ? "unknown"
      : p.guestConfidence === "proven"
      ? "proven"
      : `${p.guestConfidence} (not proven)`;
    const from = p.guestSource.length > 0
      ? `${how === "proven" ? " by" : ", from"}: ${p.guestSource.join("; ")}`
      : "";
    rows.push(["guest type", `${how}${from}`]);
  }
  if (p.estimated.length > 0) {
    rows.push(["estimated", p.estimated.map((e) => `${e.field} (${e.how})`).join("; ")]);
  }
  if (p.reconstructed.length > 0) {
    rows.push([
      "reconstructed",
      p.reconstructed.map((r) => {
        const range = r.start !== undefined && r.end !== undefined
          ? ` [mem ${hex(r.start)}-${hex(r.end)}]`
          : "";
        const type = r.type !== undefined ? ` ${r.type}` : "";
        const line = r.line !== undefined ? ` from line ${r.line}` : "";
        const text = r.text !== undefined ? `: ${r.text}` : "";
        return `${r.what}${range}${type}${line}${text}`;
      }).join("; "),
    ]);
  }
  const u = p.unrecognisedLines;
  if (u !== undefined && (u > 0 || p.relevantLines !== undefined)) {
    const of = p.relevantLines !== undefined ? ` of ${p.relevantLines}` : "";
    const most = p.relevantLines !== undefined && u * 2 > p.relevantLines
      ? ": most of the log was not"
      : "";
    rows.push(["log lines", `${u}${of} relevant line(s) not understood${most}`]);
  }
  return rows;
}

function guestText(g: TraceHeader["guest"], p: Provenance): string {
  const type = p.typeUnknown ? "unknown type" : g.type;
  const domain = p.domainUnknown ? "unknown domain" : g.domain;
  return `${type} ${domain}${g.kernel ? `, Linux ${escapeText(g.kernel)}` : ""}${
    g.xen ? `, Xen ${g.xen}` : ""
  }${
    g.nrPages !== undefined
      ? `, nr_pages ${hex(g.nrPages)} (${gib(g.nrPages * 4096)})`
      : g.type === "pv"
      ? ", no nr_pages"
      : ""
  }`;
}

function e820Text(f: TraceFacts, g: TraceHeader["guest"]): string {
  if (f.e820.entries === 0) {
    return g.type === "pv"
      ? "none in the trace: the boot pass cannot run without it"
      : "none in the trace";
  }
  return `${f.e820.entries} raw entr${f.e820.entries === 1 ? "y" : "ies"}, ${
    gib(f.e820.ramBytes)
  } RAM, last entry ends at ${hex(f.e820.end)} (PFN ${hex(Math.ceil(f.e820.end / 4096))})`;
}

/**
 * The Markdown text of a summary.
 *
 * @example
 * ```ts ignore
 * import { summaryMarkdown } from "./summarize.ts";
 * ```
 */
export function summaryMarkdown(s: Summary): string {
  const { header: h, facts: f, comparison: c } = s;
  const g = h.guest;
  const p = h.provenance ?? PROVEN;
  const cell = (t: string) => t.replace(/\|/g, "\\|");
  const out: string[] = [];
  out.push(`## ${TOOL_NAME} summary: ${escapeText(s.file)}`, "");
  out.push("| | |", "| --- | --- |");
  const ending = c.cutOff ? "cut off" : "read to the end";
  out.push(`| trace | ${c.events} event(s), ${ending}; sha256 \`${s.sha256}\` |`);
  out.push(`| producer | ${escapeText(h.producer)}${h.id ? ` (id ${escapeText(h.id)})` : ""} |`);
  out.push(`| guest | ${guestText(g, p)} |`);
  for (const [k, v] of importRows(p)) out.push(`| ${k} | ${cell(escapeText(v))} |`);
  if (f.time) out.push(`| time | ${f.time[0]} s to ${f.time[1]} s after boot |`);
  out.push(`| E820 | ${e820Text(f, g)} |`);
  out.push(`| PCI | ${f.bridges} host bridge(s), ${f.devices} device(s) announced to Xen |`);
  if (f.barsAbove.length > 0) {
    const bars = f.barsAbove.map((b) =>
      `${b.device} ${escapeText(b.name)} [mem ${hex(b.resource.start)}-${hex(b.resource.end)}]`
    );
    out.push(`| BARs above the E820 map | ${bars.join("; ")} |`);
  }
  if (f.ballooned.out || f.ballooned.in) {
    out.push(
      `| balloon | ${f.ballooned.out} page(s) given back, ${f.ballooned.in} taken from Xen |`,
    );
  }
  if (f.hotplug.length) out.push(`| memory hotplug | ${f.hotplug.map(fmtPfns).join(", ")} |`);
  const kinds = [...f.counts.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1).map(([k, n]) =>
    `${k} ${n}`
  );
  out.push(`| events | ${kinds.join(", ")} |`);
  out.push("", `> ${escapeText(h.description)}`, "");
  const mine = c.results[s.policyIndex];
  out.push(`### Findings under ${s.policy}`, "");
  const note = blindNote(mine.basis);
  if (mine.findings.length === 0 && mine.unjudged.length === 0) {
    out.push(note ? `None, and cannot judge: ${escapeText(note)}.` : "None.");
  }
  for (const x of mine.findings) {
    const lowered = x.doubts ? ` (lowered confidence: ${x.doubts.join("; ")})` : "";
    out.push(`- step ${x.seq} (line ${x.line}) **${x.detector}**${lowered}: ${x.message}`);
  }
  for (const x of mine.unjudged) {
    out.push(
      `- step ${x.seq} (line ${x.line}) **${x.detector}** cannot judge (${x.cannotJudge}): ` +
        x.message,
    );
  }
  out.push(
    "",
    "### Every policy",
    "",
    "| policy | verdict | first finding |",
    "| --- | --- | --- |",
  );
  for (const r of c.results) {
    const { verdict, first, missing } = summaryVerdict(r);
    out.push(
      `| ${r.policy.name} | ${verdict} | ${
        first ? `${first.detector} at step ${first.seq}` : escapeText((missing ?? []).join("; "))
      } |`,
    );
  }
  out.push(
    "",
    `_${TOOL_NAME} ${TOOL_VERSION}; replay with \`${TOOL_NAME} replay ${
      shellQuote(s.file)
    } --policy ${s.policy}\`_`,
  );
  return out.join("\n") + "\n";
}
