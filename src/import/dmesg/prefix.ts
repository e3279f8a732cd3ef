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
}

/** What a prefix form tells about its line, besides being removed. */
export type PrefixEffect =
  | "none"
  | "time"
  | "kmsg-time"
  | "wall-clock"
  | "syslog"
  | "syslog-time"
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
const SHORT_TIME = `${MONTHS} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d{1,9})?`;
const ISO =
  "\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d{1,9})?(?:Z|[+-]\\d\\d:?\\d\\d)?";
const TZ = "(?: [A-Z]{2,5}| [+-]\\d{4})?";
/** ` host program[pid]: ` after a syslog time; group 1 is the program. */
const HOST_PROGRAM = " \\S{1,64} ([^\\s:\\[]{1,64})(?:\\[\\d{1,10}\\])?: ";
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
    first: DIGITS + SPACE,
    re:
      /^[ \t]{0,8}\d{1,7}(?:[ \t]{0,4}[|│¦][ \t]?|\.[ \t]|\t| {1,8}(?=\[ *\d+\.\d+\]|<\d>|\(XEN\)))/,
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
    what: "syslog, journalctl short and short-precise: time, host, program",
    example: "Nov 24 10:00:00.123456 host kernel: ",
    first: "ADFJMNOS",
    re: new RegExp(`^(?:${DAYS} )?${SHORT_TIME}${TZ}${HOST_PROGRAM}`),
    effect: "syslog",
  },
  {
    name: "syslog-iso",
    what: "journalctl short-iso, short-iso-precise, short-full; rsyslog ISO",
    example: "2022-09-19T20:25:36+0200 host kernel: ",
    first: DIGITS + "FMSTW",
    re: new RegExp(`^(?:${DAYS} )?${ISO}${TZ}${HOST_PROGRAM}`),
    effect: "syslog",
  },
  {
    name: "syslog-unix",
    what: "journalctl short-unix",
    example: "1663619136.123456 host kernel: ",
    first: DIGITS,
    re: new RegExp(`^\\d{9,11}\\.\\d{1,9}${HOST_PROGRAM}`),
    effect: "syslog",
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
    what: "journalctl short-monotonic, kern.log around a dmesg time",
    example: "[    1.234567] host kernel: ",
    first: "[",
    // A program other than the kernel needs its [pid]: "[ 0.0] Xen version: 4.1" is no syslog.
    re:
      /^\[\s*(\d{1,10}\.\d{1,9})\] \S{1,64} (kernel|[^\s:[]{1,64}(?=\[\d{1,10}\]))(?:\[\d{1,10}\])?: /,
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
    name: "dmesg-ctime",
    what: "dmesg -T, --time-format ctime",
    example: "[Tue Nov 24 10:00:00 2026] ",
    first: "[",
    re: new RegExp(`^\\[${DAYS} ${MONTHS} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\]\\s?`),
    effect: "wall-clock",
  },
  {
    name: "bracket-iso",
    what: "xenconsoled / xl console timestamp logs, serial capture tools",
    example: "[2022-09-19 20:25:36] ",
    first: "[",
    re: new RegExp(`^\\[${ISO}\\]\\s?`),
    effect: "wall-clock",
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
    name: "iso-time",
    what: "dmesg --time-format iso, moreutils ts -i/-s with ISO dates",
    example: "2026-11-24T10:00:00,123456+01:00 ",
    first: DIGITS,
    re: new RegExp(`^${ISO}\\s`),
    effect: "wall-clock",
  },
  {
    name: "short-time",
    what: "moreutils ts on a serial console",
    example: "Nov 24 10:00:00 ",
    first: "ADFJMNOS",
    re: new RegExp(`^${SHORT_TIME} `),
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
 * Removes the prefixes of one raw log line (without its line terminator).
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
 * ```
 */
export function stripPrefix(raw: string): StrippedLine {
  let s = raw;
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
          if (m[2] !== "kernel") source = "other";
          break;
        case "syslog":
          wallClock = true;
          if (m[1] !== "kernel") source = "other";
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
  return out;
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
