/**
 * Strips what surrounds a kernel message in the forms people paste, so the line patterns only
 * ever see the message text:
 *
 * - mail quoting: `> `, nested `> > ` or `>> `;
 * - syslog / `journalctl -k`: `Nov 24 10:00:00 host kernel: `, ISO (`short-iso`), precise and
 *   monotonic (`[    1.234567] host kernel: `) variants;
 * - `dmesg -x`: `kern  :info  : `; raw `dmesg -r` / `/proc/kmsg`: `<6>`;
 * - timestamps: `[    0.000000]` (seconds since boot, kept as the event time), `dmesg -T` /
 *   `--time-format ctime` `[Tue Nov 24 10:00:00 2026]` and `--time-format iso` (wall clock: no
 *   event time), `dmesg -d` deltas, printk caller ids `[    T1]`;
 * - serial consoles: `(XEN) ` hypervisor lines (with Xen's own optional `[...]` timestamp) and
 *   `(d1) ` guest-console lines;
 * - CR line ends, ANSI colour escapes and other control characters.
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
  /** `kernel` (Linux printk), `xen` (hypervisor), `guest` (another domain), `other` (syslog from
   * a user-space program). */
  source: LineSource;
  /** The line held NUL bytes, replacement characters or other binary noise. */
  garbled: boolean;
}

const QUOTE = /^(?:[ \t]*>)+[ \t]?/;
const MONTHS = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const DAYS = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const SYSLOG = new RegExp(
  `^(?:${MONTHS} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?` +
    `|\\d{4}-\\d\\d-\\d\\d[T ]\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)?)` +
    ` (\\S+) ([^\\s:]+?)(?:\\[\\d+\\])?: `,
);
const MONOTONIC_SYSLOG = /^\[\s*(\d+\.\d+)\] \S+ (kernel|[^\s:[]+(?=\[\d+\]))(?:\[\d+\])?: /;
const FACILITY =
  /^(?:kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local\d)\s*:\s*(?:emerg|alert|crit|err|warn|notice|info|debug)\s*: /;
const LEVEL = /^<\d{1,3}>/;
const MONO_TIME = /^\[\s*(\d{1,10}\.\d{1,9})(?:\s*<\s*\d+\.\d+>)?\]\s?/;
const CTIME = new RegExp(`^\\[${DAYS} ${MONTHS} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\]\\s?`);
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[,.]\d+(?:Z|[+-]\d\d:?\d\d)?\s/;
const CALLER = /^\[\s*[TC]\d{1,7}\]\s?/;
const XEN = /^\(XEN\)(?: |$)/;
const XEN_TIME = /^\[[0-9a-fA-F.: -]{1,40}\] ?/;
const GUEST = /^\(d\d+(?:v\d+)?\) /;
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
 * assert.deepEqual(stripPrefix("> > [    1.500000] Released 0 page(s)\r"), {
 *   text: "Released 0 page(s)", time: 1.5, wallClock: false, source: "kernel", garbled: false,
 * });
 * assert.equal(stripPrefix("Nov 24 10:00:00 host kernel: Linux version 6.1.0").text,
 *   "Linux version 6.1.0");
 * assert.equal(stripPrefix("(XEN)  0000000000000000 - 000000000009ec00 (usable)").source, "xen");
 * assert.equal(stripPrefix("[Tue Nov 24 10:00:00 2026] Xen version: 4.17").wallClock, true);
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
  let m: RegExpExecArray | null;
  let c = s.charCodeAt(0);
  if (c === 0x3e /* > */ || c === 0x20 || c === 0x09) {
    s = s.replace(QUOTE, "");
    c = s.charCodeAt(0);
  }
  // Syslog/journal prefixes start with a month name, a year or "[": a dmesg line may follow.
  if (c >= 0x30 && c <= 0x5a && (m = SYSLOG.exec(s)) !== null) {
    wallClock = true;
    if (m[2] !== "kernel") source = "other";
    s = s.slice(m[0].length);
  } else if (
    c === 0x5b /* [ */ && (s.includes(" kernel: ") || s.includes("]: ")) &&
    (m = MONOTONIC_SYSLOG.exec(s)) !== null
  ) {
    time = Number(m[1]);
    if (m[2] !== "kernel") source = "other";
    s = s.slice(m[0].length);
  }
  c = s.charCodeAt(0);
  if (c >= 0x61 && c <= 0x7a && (m = FACILITY.exec(s)) !== null) {
    s = s.slice(m[0].length);
    c = s.charCodeAt(0);
  }
  if (c === 0x3c /* < */ && (m = LEVEL.exec(s)) !== null) {
    s = s.slice(m[0].length);
    c = s.charCodeAt(0);
  }
  if (c === 0x5b /* [ */) {
    if ((m = MONO_TIME.exec(s)) !== null) {
      time = Number(m[1]);
      s = s.slice(m[0].length);
    } else if ((m = CTIME.exec(s)) !== null) {
      wallClock = true;
      s = s.slice(m[0].length);
    }
    if (s.charCodeAt(0) === 0x5b && (m = CALLER.exec(s)) !== null) s = s.slice(m[0].length);
  } else if (c >= 0x30 && c <= 0x39 && (m = ISO_TIME.exec(s)) !== null) {
    wallClock = true;
    s = s.slice(m[0].length);
  }
  if (source === "kernel" && s.charCodeAt(0) === 0x28 /* ( */) {
    if (XEN.test(s)) {
      source = "xen";
      s = s.slice(5);
      // Xen's console timestamp follows "(XEN) " directly; table rows start with spaces.
      if (s.startsWith(" [")) {
        const t = XEN_TIME.exec(s.slice(1));
        if (t) s = s.slice(1 + t[0].length);
      }
    } else if (GUEST.test(s)) {
      source = "guest";
    }
  }
  const out: StrippedLine = { text: s.trim(), wallClock, source, garbled };
  if (time !== undefined && Number.isFinite(time)) out.time = time;
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
