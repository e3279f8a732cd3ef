/**
 * `summarize --format text`: the summary as plain text for a kernel mailing list, every line
 * within {@link MAIL_WIDTH} columns. Long values wrap at spaces under their column; a word
 * longer than a line is broken, never dropped; the reproduce command is continued with
 * backslashes so that a shell reads it back unchanged.
 *
 * @module
 */

import { TOOL_NAME, TOOL_VERSION } from "../version.ts";
import { hex } from "../trace/hex.ts";
import { PROVEN } from "../trace/provenance.ts";
import { fmtPfns } from "../detect/finding.ts";
import type { Finding } from "../detect/finding.ts";
import { wrap, wrapCommand } from "../report/wrap.ts";
import { escapeText } from "../report/text.ts";
import { severityText } from "../report/replay_report.ts";
import { importRows, type Summary, summaryVerdict } from "./summarize.ts";
import { blindNote } from "../detect/verdict.ts";

/** The width a mailed report fits (RFC 5322 recommends 78; kernel lists quote at 72). */
export const MAIL_WIDTH = 72;

/** `label  value`, the value wrapped under its column; a long label gets a line of its own. */
function field(out: string[], label: string, value: string, col: number, lead = ""): void {
  const head = lead + label;
  if (head.length + 2 > col) {
    out.push(...wrap(head, MAIL_WIDTH, lead + "  "));
    out.push(...wrap(value, MAIL_WIDTH - col).map((l) => " ".repeat(col) + l));
    return;
  }
  const lines = wrap(value, MAIL_WIDTH - col);
  out.push(head.padEnd(col) + lines[0]);
  for (const l of lines.slice(1)) out.push(" ".repeat(col) + l);
}

/** A paragraph wrapped with `indent` on every line. */
function para(out: string[], text: string, indent: string, hang = indent): void {
  const lines = wrap(text, MAIL_WIDTH - hang.length);
  out.push(indent + lines[0], ...lines.slice(1).map((l) => hang + l));
}

function findingLine(out: string[], n: number, f: Finding): void {
  const what = f.cannotJudge !== undefined
    ? `cannot judge (${f.cannotJudge})`
    : `(${severityText(f)})`;
  const head = `  ${n}. `;
  para(
    out,
    `step ${f.seq} (line ${f.line}) ${f.detector} ${what}: ${f.message}`,
    head,
    " ".repeat(head.length),
  );
}

/**
 * The plain-text summary.
 *
 * @example
 * ```ts ignore
 * import { summaryPlainText } from "./summary_text.ts";
 * ```
 */
export function summaryPlainText(s: Summary): string {
  const { header: h, facts: f, comparison: c } = s;
  const g = h.guest;
  const p = h.provenance ?? PROVEN;
  const out: string[] = [];
  para(out, `${TOOL_NAME} ${TOOL_VERSION} summary of ${escapeText(s.file)}`, "", "  ");
  out.push(`sha256 ${s.sha256}`);
  out.push("");
  const col = 15;
  const ending = c.cutOff ? "cut off" : "read to the end";
  field(out, "trace", `${c.events} event(s), ${ending}`, col);
  field(out, "producer", escapeText(`${h.producer}${h.id ? ` (id ${h.id})` : ""}`), col);
  const type = p.typeUnknown ? "unknown type" : g.type;
  const domain = p.domainUnknown ? "unknown domain" : g.domain;
  field(
    out,
    "guest",
    `${type} ${domain}${g.kernel ? `, Linux ${escapeText(g.kernel)}` : ""}${
      g.xen ? `, Xen ${g.xen}` : ""
    }${
      g.nrPages !== undefined
        ? `, nr_pages ${hex(g.nrPages)}`
        : g.type === "pv"
        ? ", no nr_pages"
        : ""
    }`,
    col,
  );
  for (const [k, v] of importRows(p)) field(out, k, escapeText(v), col);
  if (f.time) field(out, "time", `${f.time[0]} s to ${f.time[1]} s after boot`, col);
  field(
    out,
    "E820",
    f.e820.entries === 0
      ? (g.type === "pv" ? "none in the trace: the boot pass cannot run without it" : "none")
      : `${f.e820.entries} raw entr${f.e820.entries === 1 ? "y" : "ies"}, last ends at ` +
        `${hex(f.e820.end)} (PFN ${hex(Math.ceil(f.e820.end / 4096))})`,
    col,
  );
  field(out, "PCI", `${f.bridges} host bridge(s), ${f.devices} device(s) announced to Xen`, col);
  if (f.barsAbove.length > 0) {
    out.push("BARs above the E820 map:");
    for (const b of f.barsAbove) {
      para(
        out,
        `${b.device} ${b.name} [mem ${hex(b.resource.start)}-${hex(b.resource.end)}]`,
        "  ",
        "    ",
      );
    }
  }
  if (f.ballooned.out || f.ballooned.in) {
    field(out, "balloon", `${f.ballooned.out} page(s) out, ${f.ballooned.in} in`, col);
  }
  if (f.hotplug.length) field(out, "hotplug", f.hotplug.map(fmtPfns).join(", "), col);
  const kinds = [...f.counts.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1)
    .map(([k, n]) => `${k} ${n}`);
  field(out, "events", kinds.join(", ") || "none", col);
  out.push("", "Description:");
  para(out, escapeText(h.description), "  ");

  const mine = c.results[s.policyIndex];
  out.push("");
  const all = [...mine.findings, ...mine.unjudged];
  const note = blindNote(mine.basis);
  if (all.length === 0 && note) {
    para(out, `Findings under ${s.policy}: none, and cannot judge: ${note}.`, "", "  ");
  } else if (all.length === 0) out.push(`Findings under ${s.policy}: none.`);
  else {
    para(out, `Findings under ${s.policy}:`, "", "  ");
    all.forEach((x, i) => findingLine(out, i + 1, x));
    const first = all[0];
    out.push("");
    para(
      out,
      `Evidence of finding 1 (${first.detector}, ${
        first.cannotJudge ? "cannot judge" : severityText(first)
      }):`,
      "",
      "  ",
    );
    const labelW = Math.min(16, Math.max(...first.evidence.map(([k]) => k.length)));
    for (const [k, v] of first.evidence) field(out, k, v, 2 + labelW + 2, "  ");
  }

  out.push("", "Every policy:");
  const nameW = Math.min(20, Math.max(...c.results.map((r) => r.policy.name.length)));
  const tagW = 14;
  for (const r of c.results) {
    const { verdict, first, missing } = summaryVerdict(r);
    const text = first ? `${first.detector} at step ${first.seq}` : (missing ?? []).join("; ");
    const name = r.policy.name;
    if (name.length > nameW) {
      para(out, name, "  ", "    ");
      para(out, `${verdict.padEnd(tagW)}${text}`, " ".repeat(4 + nameW), " ".repeat(4 + nameW));
    } else {
      const lead = `  ${name.padEnd(nameW)}  ${verdict.padEnd(tagW)}`;
      const lines = wrap(text, MAIL_WIDTH - lead.length);
      out.push(
        (lead + lines[0]).trimEnd(),
        ...lines.slice(1).map((l) => " ".repeat(lead.length) + l),
      );
    }
  }

  out.push("", "Reproduce:");
  out.push(...wrapCommand(
    [TOOL_NAME, "replay", s.file, "--policy", s.policy],
    MAIL_WIDTH,
    "    ",
    "  ",
  ));
  return out.join("\n") + "\n";
}
