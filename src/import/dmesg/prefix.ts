/**
 * Strips what surrounds a kernel message in the forms people paste, so the line patterns only
 * ever see the message text. The grammar is data: {@link PREFIX_FORMS} lists every known prefix
 * form once, with a name, an example and what it tells (a time since boot, a wall clock, where
 * the line came from). {@link stripPrefix} strips forms repeatedly, in any stacking, each form at
 * most once per line: `> 12 | Nov 24 10:00:00 host kernel: <6>[    1.5] msg` loses five.
 *
 * Forms marked `outer` (mail quotes, pastebin line numbers, indentation) are wrapped around a
 * line by the person who pasted it, so they are tried only before any inner form; forms marked
 * `after` (Xen's own timestamp, a relayed domain's `DOM1: `) only right after a named form. Before the forms, CR, ANSI
 * colour escapes and other control characters are removed, and binary noise flags the line as
 * garbled.
 *
 * A timestamp is one grammar (`WALL_TIME`: dates, a bare time of day, Unix seconds) for the
 * time-only form and the syslog header alike; what follows a time alone is the message
 * whatever its shape, including dev_printk's `driver device: ` (see {@link stripPrefix}).
 *
 * A prefix this grammar does not know is not fatal: the importer looks for a kernel message in
 * the first {@link MAX_UNKNOWN_PREFIX} characters of a line it did not understand
 * (`findKernelBody` in kernel_lines.ts).
 *
 * @module
 */

/** Where a line came from. */
export type LineSource = "kernel" | "xen" | "guest" | "other";

/** A log line with its prefixes removed. */
export interface StrippedLine {
  /** The message, trimmed. */
  text: string;
  /** Seconds since boot from a dmesg timestamp, when the line had one. */
  time?: number;
  /** The line carried a wall-clock timestamp (dmesg -T, ISO, syslog) that is not kept. */
  wallClock: boolean;
  /** `kernel` (Linux printk), `xen` (hypervisor), `guest` (another domain's console through
   * Xen, `(d1)`), `other` (syslog from a user-space program). */
  source: LineSource;
  /** For `guest` lines: the domain id Xen printed (`(d1)` is 1). */
  domid?: number;
  /** The line held NUL bytes, replacement characters or other binary noise. */
  garbled: boolean;
  /** Names of the prefix forms stripped, outermost first. */
  forms: string[];
  /** An inner form (a time, syslog, level, console prefix) was stripped: the message follows. */
  inner: boolean;
  /** The host of the syslog header stripped, when there was one (see `stripPrefix`). */
  syslogHost?: string;
}

/** What a prefix form tells about its line, besides being removed. */
export type PrefixEffect =
  | "none"
  | "time"
  | "kmsg-time"
  | "wall-clock"
  | "syslog"
  | "syslog-time"
  | "syslog-5424"
  | "xen"
  | "guest";

/** One prefix form of the grammar. */
export interface PrefixForm {
  /** Name (used in tests, docs and `StrippedLine.forms`). */
  name: string;
  /** Where it comes from, in a few words. */
  what: string;
  /** A prefix of this form, as it appears in a log. */
  example: string;
  /** Characters the form can start with. */
  first: string;
  /** The pattern, anchored at the start; group 1 is a time or program name (see `effect`). */
  re: RegExp;
  /** What the prefix tells. */
  effect: PrefixEffect;
  /** Wrapped around the line by whoever pasted it: only tried before any inner form. */
  outer?: boolean;
  /** Only tried right after one of these forms. */
  after?: readonly string[];
}

const MONTHS = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAYS = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
/** A time of day, with an optional fraction (`.123456`, or `,123` as ISO 8601 allows). */
const HMS = "\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d{1,9})?";
/** A numeric zone: `Z`, `+02:00`, `+0200`, or ` +0200` after a blank (`date '+%F %T %z'`). */
const NUM_ZONE = "(?:Z|[+-]\\d\\d:?\\d\\d| [+-]\\d\\d:?\\d\\d)";
/** `2022-09-19T20:25:36.123+02:00`, `2022-09-19 20:25:36`, `2022/09/19 20:25:36`. */
const DATE_FIRST = `\\d{4}(?:-\\d\\d-|/\\d\\d/)\\d\\d[T ]${HMS}${NUM_ZONE}?`;
/** `Nov 24 10:00:00.123456` (syslog, journalctl short, short-precise). */
const MONTH_FIRST = `${MONTHS} [ \\d]\\d ${HMS}`;
/**
 * A day name makes the stamp a whole `date`-style one, which may carry a zone name and, as
 * ctime does, the year after the time: `Mon 2022-09-19 20:25:36 CEST` (journalctl short-full),
 * `Tue Nov 24 10:00:00 2026` (dmesg -T). Without a day name a capital word after the time is
 * the message's (`NUMA turned off`), never taken for a zone.
 */
const WITH_DAY = `${DAYS},? (?:${DATE_FIRST}|${MONTH_FIRST})` +
  "(?: [A-Z]{2,5})?(?: \\d{4})?";
/**
 * Every wall-clock timestamp shape (dates, a bare time of day, Unix seconds), as a group:
 * what a timestamp is, stated once, for the time-only form and the syslog header alike.
 */
const WALL_TIME = `(?:${WITH_DAY}|${DATE_FIRST}|${MONTH_FIRST}|${HMS}|\\d{9,11}\\.\\d{1,9})`;
/** A syslog facility.priority, as BusyBox syslogd writes it between host and tag. */
const FACILITY_PRIORITY =
  "(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\\d)\\." +
  "(?:emerg|alert|crit|err|warn|warning|notice|info|debug)";
/**
 * ` host tag: ` after a syslog time: the tag is `kernel`, `program[pid]` or `program`; BusyBox
 * puts a `kern.info` facility.priority before it.
 */
const HOST_TAG = ` (?<host>\\S{1,64})(?: ${FACILITY_PRIORITY})? ` +
  "(?<prog>[^\\s:\\[]{1,64})(?<pid>\\[\\d{1,10}\\])?: ";
const DIGITS = "0123456789";
const SPACE = " \t";

/**
 * Every prefix form, tried in this order (longer forms before their own beginnings).
 *
 * @example
 * ```ts
 * import { PREFIX_FORMS } from "./prefix.ts";
 * import assert from "node:assert/strict";
 * for (const f of PREFIX_FORMS) assert.ok(f.re.test(f.example), f.name);
 * ```
 */
export const PREFIX_FORMS: readonly PrefixForm[] = [
  {
    name: "mail-quote",
    what: "mail quoting, nested",
    example: "> > ",
    first: `>${SPACE}`,
    re: /^(?:[ \t]*>)+[ \t]?/,
    effect: "none",
    outer: true,
  },
  {
    name: "pastebin-line-number",
    what: "line numbers of a pastebin or gist copy",
    example: "  12 | ",
    first: DIGITS + SPACE + "L",
    // "12 |", "12.", "12<TAB>"; "12", "12:", "L12" and "L12:" then blanks only before what
    // can only begin a log line (a dmesg time, a level, a quote, "(XEN)", a syslog or ISO
    // date), since "0: 0x100" may be a message of its own.
    re: new RegExp(
      "^[ \\t]{0,8}(?:\\d{1,7}(?:[ \\t]{0,4}[|│¦][ \\t]?|\\.[ \\t]|\\t)|L?\\d{1,7}:?[ \\t]{1,8}" +
        `(?=\\[ *\\d+\\.\\d+\\]|<\\d>|>|\\(XEN\\)|\\d{4}-\\d\\d-\\d\\d|(?:${DAYS}|${MONTHS}) ))`,
    ),
    effect: "none",
    outer: true,
  },
  {
    name: "indent",
    what: "indentation",
    example: "    ",
    first: SPACE,
    re: /^[ \t]+/,
    effect: "none",
    outer: true,
  },
  {
    name: "syslog",
    what:
      "a syslog header: any wall-clock time (journalctl short, -precise, -iso, -full, -unix; RFC 3164; rsyslog), host, tag",
    example: "Nov 24 10:00:00.123456 host kernel: ",
    first: DIGITS + "ADFJMNOSTW",
    re: new RegExp(`^${WALL_TIME}${HOST_TAG}`),
    effect: "syslog",
  },
  {
    name: "rfc5424",
    what: "an RFC 5424 syslog header: priority, version, time, host, app, procid, msgid, data",
    example: "<6>1 2022-09-19T20:25:36.123+02:00 host kernel - - - ",
    first: "<",
    re:
      /^<\d{1,3}>1 \S{1,64} (?<host>\S{1,255}) (?<prog>\S{1,48}) \S{1,128} \S{1,32} (?:-|(?:\[(?:[^\]\\]|\\.){0,1024}\])+)(?: \ufeff?|$)/,
    effect: "syslog-5424",
  },
  {
    name: "xen-time",
    what: "Xen's console_timestamps (date, datems, boot, raw)",
    example: "[2022-09-19 20:25:36.123] ",
    first: "[",
    re: /^\[[0-9a-fA-F.: -]{1,40}\] ?/,
    effect: "none",
    after: ["xen-console"],
  },
  {
    name: "syslog-monotonic",
    what: "journalctl short-monotonic and short-delta, kern.log around a dmesg time",
    example: "[    1.234567] host kernel: ",
    first: "[",
    re: new RegExp(
      `^\\[\\s*(\\d{1,10}\\.\\d{1,9})(?:\\s*<\\s*\\d{1,10}\\.\\d{1,9}>)?\\]${HOST_TAG}`,
    ),
    effect: "syslog-time",
  },
  {
    name: "kmsg",
    what: "a /dev/kmsg record: level, sequence, microseconds, flags",
    example: "6,123,456789,-;",
    first: DIGITS,
    re: /^\d{1,3},\d{1,20},(\d{1,20}),[-+c][^;]{0,64};/,
    effect: "kmsg-time",
  },
  {
    name: "facility-level",
    what: "dmesg -x",
    example: "kern  :info  : ",
    first: "acdfklmnsu",
    re:
      /^(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)\s*:\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*: /,
    effect: "none",
  },
  {
    name: "level",
    what: "dmesg -r / --raw, /proc/kmsg",
    example: "<6>",
    first: "<",
    re: /^<\d{1,3}>/,
    effect: "none",
  },
  {
    name: "kernel-tag",
    what: "a syslog program tag without time and host",
    example: "kernel: ",
    first: "k",
    re: /^kernel: /,
    effect: "none",
  },
  {
    name: "dmesg-time",
    what: "dmesg: seconds since boot (kept as the event time), with dmesg -d's delta",
    example: "[    1.234567] ",
    first: "[",
    re: /^\[\s*(\d{1,10}\.\d{1,9})(?:\s*<\s*\d+\.\d+>)?\]\s?/,
    effect: "time",
  },
  {
    name: "serial-relative",
    what: "grabserial's elapsed and delta times",
    example: "[0:00:01.234567 0.000012] ",
    first: "[",
    re: /^\[\d{1,4}:\d\d:\d\d\.\d{1,9} +\d{1,8}\.\d{1,9}\]\s?/,
    effect: "wall-clock",
  },
  {
    // util-linux dmesg.c: short_ctime's strftime "%b%e %H:%M" on the first line of a minute,
    // then "[%+ld.%06ld]"-style deltas: neither dates an event since boot.
    name: "dmesg-reltime",
    what: "dmesg -H, --reltime, -e: '[Mon D HH:MM]', then '[  +0.000012]' deltas",
    example: "[  +0.000012] ",
    first: "[",
    re: new RegExp(`^\\[(?:${MONTHS}[ \\d]\\d \\d\\d:\\d\\d|\\s*\\+\\d{1,10}\\.\\d{1,9})\\]\\s?`),
    effect: "wall-clock",
  },
  {
    name: "wall-time",
    what:
      "a wall-clock time alone, bare or in brackets: dmesg -T and --time-format iso, ts, serial and console capture tools, trimmed journals",
    example: "[Tue Nov 24 10:00:00 2026] ",
    first: DIGITS + "[ADFJMNOSTW",
    re: new RegExp(`^(?:\\[${WALL_TIME}\\]\\s*|${WALL_TIME}\\s+)`),
    effect: "wall-clock",
  },
  {
    name: "caller-id",
    what: "printk caller ids (CONFIG_PRINTK_CALLER)",
    example: "[    T1] ",
    first: "[",
    re: /^\[\s*[TC]\d{1,7}\]\s?/,
    effect: "none",
  },
  {
    name: "xen-console",
    what: "the hypervisor's own lines on the Xen console",
    example: "(XEN) ",
    first: "(",
    re: /^\(XEN\)(?: |$)/,
    effect: "xen",
  },
  {
    // drivers/tty/hvc/hvc_xen.c xenboot_write_console: a PV domU's early console
    // (earlyprintk=xen) writes "(early) " before each chunk it is given, through the
    // hypervisor's console_io: the guest's own kernel lines, not another domain's.
    name: "xenboot",
    what: "a PV domU's early Xen console (earlyprintk=xen)",
    example: "(early) ",
    first: "(",
    re: /^\(early\) /,
    effect: "none",
  },
  {
    name: "guest-console",
    what: "another domain's console output relayed by Xen",
    example: "(d1) ",
    first: "(",
    re: /^\(d(\d{1,5})(?:v\d{1,5})?\) /,
    effect: "guest",
  },
  {
    // xen/arch/arm/vpl011.c vpl011_write_data_xen: a domain's emulated PL011 UART (dom0less
    // guests on Arm) is printed by Xen's printk as "DOM%u: %s", so after "(XEN) " and its
    // timestamp: domain N's own console line, never the hypervisor's (nor dom0's).
    name: "xen-relayed-domain",
    what: "a domain's vpl011 console relayed by Xen's printk",
    example: "DOM1: ",
    first: "D",
    re: /^DOM(\d{1,5}): /,
    effect: "guest",
    after: ["xen-console", "xen-time"],
  },
];

/** Bytes of a line searched for a kernel message after a prefix the grammar does not know. */
export const MAX_UNKNOWN_PREFIX = 120;

/** Most prefixes stripped from one line (there are fewer forms; a bound on the loop). */
const MAX_STACK = PREFIX_FORMS.length;

/** For each ASCII code, the indices of the forms that can start with it. */
const BY_FIRST: number[][] = (() => {
  const table: number[][] = Array.from({ length: 128 }, () => []);
  PREFIX_FORMS.forEach((f, i) => {
    for (const ch of new Set(f.first)) table[ch.charCodeAt(0)].push(i);
  });
  return table;
})();

// deno-lint-ignore no-control-regex
const SUSPICIOUS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/;
// deno-lint-ignore no-control-regex
const CONTROL = /\u001b\[[0-9;?]*[ -/]*[@-~]|[\u0000-\u0008\u000b-\u001f\u007f]/g;

/**
 * Removes the prefixes of one raw log line (without its line terminator). `syslogHosts` are
 * the hosts this log's unambiguous syslog headers named (`kernel:` or `program[pid]:` tags;
 * the importer collects {@link StrippedLine.syslogHost}): only after one of them is a tag
 * without a pid another program's line; otherwise the time alone is stripped and the rest is
 * the message, as a time-only prefix before `pcifront pci-0: ...` needs.
 *
 * @example
 * ```ts
 * import { stripPrefix } from "./prefix.ts";
 * import assert from "node:assert/strict";
 * const s = stripPrefix("> > [    1.500000] Released 0 page(s)\r");
 * assert.equal(s.text, "Released 0 page(s)");
 * assert.equal(s.time, 1.5);
 * assert.deepEqual(s.forms, ["mail-quote", "dmesg-time"]);
 * assert.equal(stripPrefix("Nov 24 10:00:00 host kernel: Linux version 6.1.0").text,
 *   "Linux version 6.1.0");
 * assert.equal(stripPrefix("(XEN)  0000000000000000 - 000000000009ec00 (usable)").source, "xen");
 * assert.equal(stripPrefix("[Tue Nov 24 10:00:00 2026] Xen version: 4.17").wallClock, true);
 * assert.equal(stripPrefix("6,312,1234567,-;Released 0 page(s)").time, 1.234567);
 * const devLine = "Nov 24 10:00:00 pcifront pci-0: claiming resource 0000:00:00.0/0";
 * assert.equal(stripPrefix(devLine).text, "pcifront pci-0: claiming resource 0000:00:00.0/0");
 * assert.equal(stripPrefix("Nov 24 10:00:00 gw dhclient: DHCPACK", new Set(["gw"])).source,
 *   "other");
 * ```
 */
export function stripPrefix(raw: string, syslogHosts?: ReadonlySet<string>): StrippedLine {
  let s = COPIED.test(raw) ? uncopied(raw) : raw;
  let garbled = false;
  if (SUSPICIOUS.test(s)) {
    if (s.includes("\u0000") || s.includes("\ufffd") || looksBinary(s)) garbled = true;
    s = s.replace(CONTROL, "");
  }
  let time: number | undefined;
  let wallClock = false;
  let source: LineSource = "kernel";
  let domid: number | undefined;
  const forms: string[] = [];
  let used = 0; // bit set of form indices already stripped
  let inner = false;
  let last: string | undefined;
  let syslogHost: string | undefined;
  for (let depth = 0; depth < MAX_STACK && s.length > 0; depth++) {
    const c = s.charCodeAt(0);
    const candidates = c < 128 ? BY_FIRST[c] : undefined;
    if (!candidates || candidates.length === 0) break;
    let matched = false;
    for (const i of candidates) {
      const f = PREFIX_FORMS[i];
      if (
        (used & (1 << i)) !== 0 || (f.outer && inner) ||
        (f.after && (last === undefined || !f.after.includes(last)))
      ) {
        continue;
      }
      const m = f.re.exec(s);
      if (m === null || m[0].length === 0) continue;
      let tagged: LineSource | undefined;
      if (f.effect === "syslog" || f.effect === "syslog-time" || f.effect === "syslog-5424") {
        tagged = syslogSource(m.groups!, f.effect === "syslog-5424", syslogHosts);
        if (tagged === undefined) continue; // a time alone: the message is "driver device: "
        syslogHost = m.groups!.host;
      }
      used |= 1 << i;
      if (!f.outer) inner = true;
      forms.push(f.name);
      last = f.name;
      s = s.slice(m[0].length);
      switch (f.effect) {
        case "time":
          if (source !== "xen") time = Number(m[1]);
          break;
        case "kmsg-time":
          time = Number(m[1]) / 1e6;
          break;
        case "syslog-time":
          time = Number(m[1]);
          if (tagged === "other") source = "other";
          break;
        case "syslog":
        case "syslog-5424":
          wallClock = true;
          if (tagged === "other") source = "other";
          break;
        case "wall-clock":
          wallClock = true;
          break;
        case "xen":
          if (source === "kernel") source = "xen";
          break;
        case "guest":
          // "(XEN) (d1) ..." (older Xen) is domain 1's line relayed through the hypervisor's
          // console as much as "(d1) ..." is: the guest prefix wins over "(XEN)".
          if (source === "kernel" || source === "xen") {
            source = "guest";
            domid = Number(m[1]);
          }
          break;
        case "none":
          break;
      }
      matched = true;
      break;
    }
    if (!matched) break;
  }
  const out: StrippedLine = { text: s.trim(), wallClock, source, garbled, forms, inner };
  if (time !== undefined && Number.isFinite(time)) out.time = time;
  if (domid !== undefined) out.domid = domid;
  if (syslogHost !== undefined) out.syslogHost = syslogHost;
  return out;
}

/**
 * Whose line a syslog header says it is: `kernel` for the tag `kernel`, `other` for a
 * program with a pid (`systemd[1]:`) or any RFC 5424 app, whose fields are fixed. A tag
 * without a pid is ambiguous: `Nov 24 10:00:00 pcifront pci-0: claiming ...` is a time
 * alone before a dev_printk message (driver, device), as much as it could be program `pci-0`
 * on host `pcifront`. It is a syslog header only when its host is one this log's unambiguous
 * headers named (`syslogHosts`); otherwise undefined, and the time alone is stripped.
 */
function syslogSource(
  g: Record<string, string | undefined>,
  fixedFields: boolean,
  syslogHosts: ReadonlySet<string> | undefined,
): LineSource | undefined {
  if (g.prog === "kernel") return "kernel";
  if (fixedFields || g.pid !== undefined) return "other";
  return syslogHosts?.has(g.host!) ? "other" : undefined;
}

/** A line that may hold what copying from a web page adds: entities, exotic blanks. */
const COPIED = /[&\u00a0\u1680\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff]/;
const ENTITY = /&(?:(lt|gt|amp|quot|apos|nbsp)|#(\d{1,7})|#x([0-9a-f]{1,6}));/gi;
const NAMED: Record<string, string> = {
  lt: "<",
  gt: ">",
  amp: "&",
  quot: '"',
  apos: "'",
  nbsp: " ",
};
const BLANKS = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/g;
const ZERO_WIDTH = /[\u200b-\u200d\u2060\ufeff]/g;

/**
 * A line as it was before a web page or an archive handled it: HTML entities decoded (`&gt;`
 * quotes, `&lt;6&gt;` levels, `-&gt;` in `1-1 mapping on`; one pass, so `&amp;lt;` is `&lt;`),
 * no-break and other Unicode blanks made spaces, zero-width characters removed. The kernel
 * prints none of these itself (its text is ASCII, `&` only before a letter and a blank), so a
 * line that has them was copied, never written so.
 *
 * @example
 * ```ts
 * import { uncopied } from "./prefix.ts";
 * import assert from "node:assert/strict";
 * assert.equal(uncopied("&gt; [ 0.0] 1-1 mapping on 9e-&gt;100"), "> [ 0.0] 1-1 mapping on 9e->100");
 * assert.equal(uncopied("(XEN)\u00a0 Xen-e820\u200b RAM map:"), "(XEN)  Xen-e820 RAM map:");
 * ```
 */
export function uncopied(line: string): string {
  let s = line.includes("&")
    ? line.replace(ENTITY, (m, name?: string, dec?: string, hex?: string) => {
      if (name !== undefined) return NAMED[name.toLowerCase()];
      const code = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    })
    : line;
  s = s.replace(BLANKS, " ");
  return s.replace(ZERO_WIDTH, "");
}

/** More than a quarter of the characters outside printable ASCII and common Latin-1/UTF-8. */
function looksBinary(text: string): boolean {
  let odd = 0;
  const n = Math.min(text.length, 256);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd || (c >= 0x80 && c < 0xa0)) odd++;
  }
  return odd * 4 > n;
}
