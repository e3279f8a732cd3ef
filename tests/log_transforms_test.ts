/**
 * The real-log corpus re-wrapped the ways a log reaches a bug report: every log of
 * tests/fixtures/real-logs as CRLF, CR-only, UTF-16LE/BE with a BOM, HTML-escaped (a web
 * archive), quoted-printable (a mail body, soft breaks at 76 columns), numbered (a pastebin),
 * `dmesg -T` (wall-clock stamps instead of the monotonic ones) and flattened into one paragraph
 * (newlines lost). Each must import to the same trace as the original: only the input hash in the
 * header may differ. Where a wrapping loses something by its nature, the comparison says what it
 * leaves out and why (`dmesg -T` has no event times; a flattened log loses its blank and
 * unprefixed lines, so line numbers cited in the header move).
 *
 * Contract pinned: a transport changes bytes, never what the kernel printed, so it never changes
 * the events (`log_lines.ts` line ends and encodings, `prefix.ts` `uncopied`,
 * `quoted_printable.ts`, `line_numbers.ts`, `LogLineSplitter`'s kernel-prefix boundaries).
 *
 * Runtime: a few seconds (44 logs, 9 wrappings, in-process).
 *
 * @module
 */

import assert from "node:assert/strict";
import { main } from "../src/cli/main.ts";
import { memoryIo } from "../src/cli/io.ts";
import { utf16 } from "./support/utf16.ts";
import "./support/repo_root.ts";

const DIR = new URL("./fixtures/real-logs/", import.meta.url);
const LOGS = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".log"))
  .sort();

/** Imports `bytes` from stdin in-process; returns exit code and stdout. */
async function importBytes(bytes: Uint8Array): Promise<{ code: number; out: string }> {
  const io = { ...memoryIo(), stdin: ReadableStream.from([bytes]) };
  const code = await main(["import", "dmesg", "-"], io);
  return { code, out: io.out() };
}

const enc = new TextEncoder();

/** RFC 2045 quoted-printable as a mailer writes it: `=` and 8-bit bytes as `=XX`, soft breaks. */
function quotedPrintable(text: string): string {
  return text.split("\n").map((line) => {
    let out = "";
    for (const b of enc.encode(line)) {
      out += b === 0x3d || b > 0x7e || (b < 0x20 && b !== 9)
        ? "=" + b.toString(16).toUpperCase().padStart(2, "0")
        : String.fromCharCode(b);
    }
    out = out.replace(/[ \t]$/, (c) => "=" + c.charCodeAt(0).toString(16).toUpperCase());
    const parts: string[] = [];
    while (out.length > 76) {
      let cut = 75;
      // Never split an =XX escape.
      if (out[cut - 1] === "=") cut -= 1;
      else if (out[cut - 2] === "=") cut -= 2;
      parts.push(out.slice(0, cut) + "=");
      out = out.slice(cut);
    }
    parts.push(out);
    return parts.join("\n");
  }).join("\n");
}

const DAYS = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `dmesg -T`: the monotonic stamp becomes the wall clock at boot plus it, to the second. */
function dmesgT(text: string): string {
  const boot = Date.UTC(2026, 10, 24, 10, 0, 0);
  return text.replace(/^\[\s*(\d+)\.\d+\] ?/gm, (_m, s: string) => {
    const d = new Date(boot + Number(s) * 1000);
    const p = (n: number) => String(n).padStart(2, "0");
    return `[${DAYS[Math.floor(d.getTime() / 86400000) % 7]} ${MONTHS[d.getUTCMonth()]} ` +
      `${String(d.getUTCDate()).padStart(2, " ")} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:` +
      `${p(d.getUTCSeconds())} ${d.getUTCFullYear()}] `;
  });
}

/** A line that starts with a prefix every line of its kind has (a time, a level, a console). */
const PREFIXED = new RegExp(
  "^(?:> ?)*(?:\\[ *\\d+\\.\\d{6}\\]|<\\d{1,3}>|\\((?:XEN|early|d\\d+(?:v\\d+)?)\\) |" +
    "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \\d]\\d \\d\\d:\\d\\d:\\d\\d|" +
    "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d)",
);

/** A log saved still quoted-printable-encoded (=3D, soft breaks). */
const isQuotedPrintable = (t: string) => /=3D|=$/m.test(t);

/** A kernel line as `dmesg` prints it: the printk time first. */
const DMESG_LINE = /^\[ *(\d+)\.(\d{6})\] (.*)$/;

/** The log's kernel lines with their printk time: what the kernel's journal entries hold. */
const kernelTimed = (t: string) =>
  t.split("\n").filter((l) => DMESG_LINE.test(l)).join("\n") + "\n";

/**
 * The kernel lines of `t` as journalctl's JSON entries (fields as `journalctl -o json` prints a
 * kernel entry), another program's entry after every tenth, each entry through `format`.
 */
function journal(t: string, format: (r: Record<string, unknown>) => string): string {
  const out: string[] = [];
  let n = 0;
  for (const line of t.split("\n")) {
    const m = DMESG_LINE.exec(line);
    if (m === null) continue;
    const us = String(Number(m[1]) * 1e6 + Number(m[2]));
    out.push(format({
      __CURSOR: `s=5c1e;i=${++n}`,
      __REALTIME_TIMESTAMP: String(1663619136000000 + Number(us)),
      __MONOTONIC_TIMESTAMP: String(9000000 + Number(us)),
      _BOOT_ID: "0f3c2a7e5b1d4c6e8f9a0b1c2d3e4f50",
      _TRANSPORT: "kernel",
      PRIORITY: "6",
      SYSLOG_FACILITY: "0",
      SYSLOG_IDENTIFIER: "kernel",
      MESSAGE: m[3],
      _SOURCE_MONOTONIC_TIMESTAMP: us,
      _HOSTNAME: "dom0",
    }));
    if (n % 10 === 0) {
      out.push(format({
        __CURSOR: `s=5c1e;i=${n}b`,
        _TRANSPORT: "stdout",
        SYSLOG_IDENTIFIER: "systemd",
        MESSAGE: "Started Journal Service.",
      }));
    }
  }
  return out.join("\n") + "\n";
}

/** How a wrapping changes the bytes, and what the comparison must leave out. */
interface Wrapping {
  bytes(text: string): Uint8Array;
  /** Drops event times (the wrapping has none). */
  noTimes?: true;
  /** Line numbers cited in the header and marks move (lines merged or removed). */
  linesMove?: true;
  /** Runs of blanks become one (quoted text in marks and notes differs in them and is cut later). */
  blanksCollapse?: true;
  /** The text the wrapping starts from, when not the whole log. */
  original?: (text: string) => string;
  /** Fewest logs that must import (exit 0) after the wrapping; default 20. */
  least?: number;
  /** Logs the wrapping does not apply to. */
  skip?: (text: string) => boolean;
}

const WRAPPINGS: Record<string, Wrapping> = {
  crlf: { bytes: (t) => enc.encode(t.replaceAll("\n", "\r\n")) },
  "cr-only": { bytes: (t) => enc.encode(t.replaceAll("\n", "\r")) },
  "utf-16le-bom": { bytes: (t) => utf16(t, true, true) },
  "utf-16be-bom": { bytes: (t) => utf16(t, false, true) },
  "html-entities": {
    bytes: (t) =>
      enc.encode(t.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")),
  },
  "quoted-printable": {
    bytes: (t) => enc.encode(quotedPrintable(t)),
    linesMove: true,
    // A log saved still encoded (=3D, soft breaks) is decoded once, as a mail reader does;
    // encoding it again would need two decodings, which no reader does.
    skip: isQuotedPrintable,
  },
  "numbered-paste": {
    bytes: (t) =>
      enc.encode(t.replace(/\n$/, "").split("\n").map((l, i) => `${i + 1} | ${l}`).join("\n")),
  },
  "dmesg-T": { bytes: (t) => enc.encode(dmesgT(t)), noTimes: true },
  "one-paragraph": {
    bytes: (t) => enc.encode(t.split("\n").filter((l) => l.trim() !== "").join(" ")),
    linesMove: true,
    // Only a line that starts with a prefix can be told apart once the newlines are gone: an
    // unprefixed line (plain dmesg, a wrapped rest, an annotation) joins the line before it.
    // The wrapping and the original both keep only the prefixed lines.
    original: (t) => t.split("\n").filter((l) => PREFIXED.test(l)).join("\n") + "\n",
  },
  "journalctl-json": {
    bytes: (t) => enc.encode(journal(t, (r) => JSON.stringify(r))),
    linesMove: true,
    original: kernelTimed,
    skip: isQuotedPrintable,
    // Of the logs with kernel lines timed by printk (no Xen console, no wall clock only).
    least: 15,
  },
  "journalctl-json-pretty": {
    bytes: (t) =>
      enc.encode(journal(t, (r) => {
        const fields = Object.entries(r).map(([k, v]) =>
          `\t${JSON.stringify(k)} : ${JSON.stringify(v)}`
        );
        return `{\n${fields.join(",\n")}\n}`;
      })),
    linesMove: true,
    original: kernelTimed,
    skip: isQuotedPrintable,
    // Of the logs with kernel lines timed by printk (no Xen console, no wall clock only).
    least: 15,
  },
  "web-page-text": {
    // A page's text as a browser renders it: newlines lost and every run of blanks one space.
    bytes: (t) =>
      enc.encode(t.split("\n").filter((l) => l.trim() !== "").join(" ").replace(/\s+/g, " ")),
    linesMove: true,
    blanksCollapse: true,
    original: (t) => t.split("\n").filter((l) => PREFIXED.test(l)).join("\n") + "\n",
  },
};

/** The trace with what a wrapping may change taken out. */
function comparable(out: string, w: Wrapping): unknown[] {
  return out.trimEnd().split("\n").map((line, i) => {
    const rec = JSON.parse(line);
    if (i === 0) {
      delete rec.id;
      if (rec.source) delete rec.source.sha256, delete rec.source.sha256_blocks;
      if (w.noTimes && rec.source) delete rec.source.timestamps;
      if (w.linesMove && rec.source) delete rec.source.lines;
    }
    if (w.noTimes) delete rec.time;
    // The note that says the log was read as journalctl's JSON is the wrapping's own.
    if (Array.isArray(rec.notes)) {
      rec.notes = rec.notes.filter((n: string) => !n.startsWith("read as journalctl JSON"));
      if (rec.notes.length === 0) delete rec.notes;
    }
    // Without times a console's repeated log ends at its repeated hand-over line, not a time.
    if (w.noTimes && Array.isArray(rec.notes)) {
      rec.notes = rec.notes.map((n: string) =>
        n.replace(/repeated lines up to .* were skipped/, "repeated lines up to T were skipped")
      );
    }
    if (!w.linesMove) return rec;
    // Line numbers cited in text ("line 12", "lines 3, 4") and in `reconstructed[].line`.
    const text = JSON.stringify(rec).replace(/\b(lines?) \d+(?:, \d+)*/g, "$1 N")
      .replace(/"line":\d+/g, '"line":0');
    if (!w.blanksCollapse) return JSON.parse(text);
    // Quoted lines are cut at a length, which the collapsed blanks move: compare their heads.
    return JSON.parse(
      text.replace(/ {2,}/g, " "),
      (_k, v) => typeof v === "string" ? v.slice(0, 100) : v,
    );
  });
}

const originals = new Map<string, Promise<{ code: number; out: string }>>();

for (const [name, wrapping] of Object.entries(WRAPPINGS)) {
  Deno.test(`a real log imports to the same trace when wrapped as ${name}`, async () => {
    const diverged: string[] = [];
    let imported = 0;
    for (const log of LOGS) {
      const whole = Deno.readTextFileSync(new URL(log, DIR));
      if (wrapping.skip?.(whole)) continue;
      const text = wrapping.original ? wrapping.original(whole) : whole;
      let o = wrapping.original ? undefined : originals.get(log);
      if (!o) o = importBytes(enc.encode(text));
      if (!wrapping.original) originals.set(log, o);
      const want = await o;
      const got = await importBytes(wrapping.bytes(text));
      if (got.code !== want.code) {
        diverged.push(`${log}: exit ${got.code}, not ${want.code}`);
        continue;
      }
      if (want.code !== 0) continue;
      imported++;
      const a = comparable(got.out, wrapping).map((r) => JSON.stringify(r));
      const b = comparable(want.out, wrapping).map((r) => JSON.stringify(r));
      const i = a.findIndex((r, k) => r !== b[k]);
      if (i >= 0 || a.length !== b.length) {
        const k = i >= 0 ? i : Math.min(a.length, b.length);
        let p = 0;
        while (p < (a[k] ?? "").length && a[k][p] === b[k]?.[p]) p++;
        diverged.push(
          `${log}: record ${k + 1}: got ...${a[k]?.slice(Math.max(0, p - 150), p + 150)}... ` +
            `want ...${b[k]?.slice(Math.max(0, p - 150), p + 150)}...`,
        );
      }
    }
    assert.deepEqual(diverged, []);
    // Not vacuous: most logs import (a wrapping that broke every log would fail above anyway).
    assert.ok(imported >= (wrapping.least ?? 20), `${imported} log(s) imported with exit 0`);
  });
}
