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
import { comparePolicies, type Comparison } from "../replay/compare.ts";
import { POLICIES } from "../policy/policies.ts";
import { choosePolicy } from "../replay/replayer.ts";
import { isMmio, resourceName } from "../kernel/pci_resource.ts";
import { fmtPfns } from "../detect/finding.ts";
import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import { escapeText } from "../report/text.ts";

/** Facts gathered from the events. */
export interface TraceFacts {
  /** Events by kind. */
  counts: Map<string, number>;
  /** First and last timestamp, when events carry one. */
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
    if (e.time !== undefined) f.time = f.time ? [f.time[0], e.time] : [e.time, e.time];
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

  /** Finishes: BARs above the E820 map, in device order. */
  finish(): TraceFacts {
    const f = this.facts;
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
 * function giving it once the trace has been read (a reader that hashes as it reads).
 */
export async function summarizeTrace(
  file: string,
  sha256: string | (() => Promise<string>),
  reader: TraceReader,
  policyOption: string | undefined,
): Promise<Summary> {
  const header = await reader.header();
  const { policy } = choosePolicy(header, policyOption);
  const names = [...POLICIES.keys()];
  const spec = policyOption ?? policy.name;
  const list = names.includes(spec) ? names : [spec, ...names];
  const facts = new FactCollector();
  const comparison = await comparePolicies(reader, list, [], (e) => facts.add(e));
  const policyIndex = list.indexOf(spec);
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
  const out: string[] = [];
  out.push(`## ${TOOL_NAME} summary: ${s.file}`, "");
  out.push("| | |", "| --- | --- |");
  const ending = c.cutOff ? "cut off" : "read to the end";
  out.push(`| trace | ${c.events} event(s), ${ending}; sha256 \`${s.sha256}\` |`);
  out.push(`| producer | ${escapeText(h.producer)}${h.id ? ` (id ${escapeText(h.id)})` : ""} |`);
  out.push(
    `| guest | ${g.type} ${g.domain}${g.kernel ? `, Linux ${escapeText(g.kernel)}` : ""}${
      g.xen ? `, Xen ${g.xen}` : ""
    }` +
      `${
        g.nrPages !== undefined ? `, nr_pages ${hex(g.nrPages)} (${gib(g.nrPages * 4096)})` : ""
      } |`,
  );
  if (f.time) out.push(`| time | ${f.time[0]} s to ${f.time[1]} s after boot |`);
  out.push(
    `| E820 | ${f.e820.entries} raw entr${f.e820.entries === 1 ? "y" : "ies"}, ${
      gib(f.e820.ramBytes)
    } RAM, ` +
      `last entry ends at ${hex(f.e820.end)} (PFN ${hex(Math.ceil(f.e820.end / 4096))}) |`,
  );
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
  if (mine.findings.length === 0) out.push("None.");
  for (const x of mine.findings) {
    out.push(`- step ${x.seq} (line ${x.line}) **${x.detector}**: ${x.message}`);
  }
  out.push(
    "",
    "### Every policy",
    "",
    "| policy | verdict | first finding |",
    "| --- | --- | --- |",
  );
  for (const r of c.results) {
    const worst = r.findings.find((x) => x.severity === "error") ?? r.findings[0];
    const verdict = r.findings.length === 0
      ? "clean"
      : r.findings.some((x) => x.severity === "error")
      ? "BAD"
      : "warn";
    out.push(
      `| ${r.policy.name} | ${verdict} | ${
        worst ? `${worst.detector} at step ${worst.seq}` : ""
      } |`,
    );
  }
  out.push(
    "",
    `_${TOOL_NAME} ${TOOL_VERSION}; replay with \`${TOOL_NAME} replay ${s.file} --policy ${s.policy}\`_`,
  );
  return out.join("\n") + "\n";
}
