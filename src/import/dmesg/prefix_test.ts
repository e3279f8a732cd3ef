import assert from "node:assert/strict";
import { PREFIX_FORMS, stripPrefix } from "./prefix.ts";

const MSG = "Released 0 page(s)";

Deno.test("stripPrefix keeps the dmesg time as seconds since boot", () => {
  const s = stripPrefix(`[  123.456789] ${MSG}`);
  assert.deepEqual([s.text, s.time, s.wallClock, s.source], [MSG, 123.456789, false, "kernel"]);
});

Deno.test("stripPrefix drops wall-clock times of dmesg -T and --time-format iso", () => {
  for (
    const line of [
      `[Tue Nov 24 10:00:00 2026] ${MSG}`,
      `[Mon Nov  2 09:05:07 2026] ${MSG}`,
      `2026-11-24T10:00:00,123456+01:00 ${MSG}`,
    ]
  ) {
    const s = stripPrefix(line);
    assert.deepEqual([s.text, s.time, s.wallClock], [MSG, undefined, true], line);
  }
});

Deno.test("stripPrefix removes journalctl and syslog prefixes", () => {
  for (
    const line of [
      `Nov 24 10:00:00 host kernel: ${MSG}`,
      `Nov  4 10:00:00.123456 host kernel: ${MSG}`,
      `2026-11-24T10:00:00+0100 host kernel: ${MSG}`,
      `Nov 24 10:00:00 host kernel: [    0.000000] ${MSG}`,
    ]
  ) {
    const s = stripPrefix(line);
    assert.deepEqual([s.text, s.source], [MSG, "kernel"], line);
  }
  const mono = stripPrefix(`[    2.500000] host kernel: ${MSG}`);
  assert.deepEqual([mono.text, mono.time], [MSG, 2.5]);
});

Deno.test("stripPrefix marks user-space syslog lines as other", () => {
  assert.equal(stripPrefix("Nov 24 10:00:01 host systemd[1]: Started Journal.").source, "other");
  assert.equal(stripPrefix("Nov 24 10:00:01 host dhclient: DHCPACK", HOSTS).source, "other");
  assert.equal(stripPrefix("[    3.000000] host systemd[1]: Started.").source, "other");
  assert.equal(stripPrefix("[    3.000000] host dhclient: DHCPACK", HOSTS).source, "other");
  assert.equal(
    stripPrefix("<30>1 2022-09-19T20:25:36Z host dhclient 77 - - DHCPACK").source,
    "other",
  );
  const s = stripPrefix("2022-09-19T20:25:36+0200 host kernel: x");
  assert.equal(s.syslogHost, "host", "a header with the kernel tag names its host");
  assert.equal(stripPrefix("Nov 24 10:00:01 host sshd[7]: x").syslogHost, "host");
});

const HOSTS = new Set(["host"]);
const TIMES_ALONE = [
  "2022-09-19T20:25:36+0200",
  "2022-09-19T20:25:36.123456+02:00",
  "2022-09-19T20:25:36Z",
  "2022-09-19 20:25:36,123",
  "2022-09-19 20:25:36 +0200",
  "2022/09/19 20:25:36",
  "Mon 2022-09-19 20:25:36 CEST",
  "Tue Nov 24 10:00:00 CET 2026",
  "Nov 24 10:00:00",
  "Nov  4 10:00:00.123456",
  "1663619136.123456",
  "20:25:36",
  "20:25:36.123",
  "[20:25:36.123]",
  "[2022-09-19T20:25:36.123456+02:00]",
  "[Tue Nov 24 10:00:00 2026]",
];
const DEV_PRINTK = [
  "pcifront pci-0: claiming resource 0000:00:00.0/0",
  "xen_netfront vif-0: xennet: skb rides the rocket",
  "xen-blkfront vbd-51712: barrier: enabled",
  "pci 0000:00:00.0: reg 0x10: [mem 0xfe000000-0xfe01ffff]",
  "Xen version: 4.1.2 (preserve-AD)",
];

Deno.test("stripPrefix: after a time alone, a dev_printk line 'driver device: ' is the kernel's", () => {
  for (const time of TIMES_ALONE) {
    for (const msg of DEV_PRINTK) {
      for (const line of [`${time} ${msg}`, `${time} [    0.517009] ${msg}`]) {
        const s = stripPrefix(line);
        assert.deepEqual([s.text, s.source, s.wallClock], [msg, "kernel", true], line);
        // A log whose syslog headers named other hosts reads it the same way.
        assert.equal(stripPrefix(line, HOSTS).source, "kernel", line);
      }
    }
  }
  // The same word after a host the log's syslog headers named is that program's line.
  assert.equal(
    stripPrefix("Nov 24 10:00:00 pcifront pci-0: x", new Set(["pcifront"])).source,
    "other",
  );
});

Deno.test("stripPrefix takes a capital word after a time for a zone only after a day name", () => {
  assert.equal(stripPrefix("Nov 24 10:00:00 NUMA turned off").text, "NUMA turned off");
  assert.equal(stripPrefix("20:25:36 NX (Execute Disable)").text, "NX (Execute Disable)");
  assert.equal(stripPrefix("Mon 2022-09-19 20:25:36 UTC NUMA turned off").text, "NUMA turned off");
});

Deno.test("stripPrefix reads RFC 5424 headers: structured data, a nil time, a BOM", () => {
  for (
    const line of [
      `<6>1 2022-09-19T20:25:36.123+02:00 host kernel - - - ${MSG}`,
      `<14>1 - host kernel - - [a x="1"][b y="\\]"] ${MSG}`,
      `<6>1 2022-09-19T20:25:36Z host kernel - kmsg - \ufeff${MSG}`,
    ]
  ) {
    const s = stripPrefix(line);
    assert.deepEqual([s.text, s.source, s.syslogHost], [MSG, "kernel", "host"], line);
  }
});

Deno.test("stripPrefix does not mistake 'Xen version:' for a journal prefix", () => {
  const s = stripPrefix("[    0.000000] Xen version: 4.1.2 (preserve-AD)");
  assert.deepEqual([s.text, s.source], ["Xen version: 4.1.2 (preserve-AD)", "kernel"]);
});

Deno.test("stripPrefix removes level, facility and caller prefixes", () => {
  assert.equal(stripPrefix(`<6>[    0.000000] ${MSG}`).text, MSG);
  assert.equal(stripPrefix(`kern  :info  : [    0.000000] ${MSG}`).text, MSG);
  assert.equal(stripPrefix(`[    0.000000] [    T0] ${MSG}`).text, MSG);
  assert.equal(stripPrefix(`[    1.000000 <    0.000100>] ${MSG}`).time, 1);
});

Deno.test("stripPrefix removes nested mail quotes", () => {
  for (const q of ["> ", "> > ", ">> ", ">>> ", " > > "]) {
    assert.equal(stripPrefix(`${q}[    0.000000] ${MSG}`).text, MSG, q);
  }
  assert.equal(stripPrefix(">").text, "");
});

Deno.test("stripPrefix recognises (XEN) lines and Xen's own timestamps", () => {
  const plain = stripPrefix("(XEN)  0000000000000000 - 000000000009ec00 (usable)");
  assert.deepEqual([plain.source, plain.text], [
    "xen",
    "0000000000000000 - 000000000009ec00 (usable)",
  ]);
  const timed = stripPrefix(
    "(XEN) [0000003432ac52a2]  [0000000000000000, 000000000009ffff] (usable)",
  );
  assert.equal(timed.text, "[0000000000000000, 000000000009ffff] (usable)");
  const boot = stripPrefix("(XEN) [    3.412001] *** Building a PV Dom0 ***");
  assert.equal(boot.text, "*** Building a PV Dom0 ***");
  const row = stripPrefix("(XEN)  [0000000000100000, 000000007ffdefff] (usable)");
  assert.equal(row.text, "[0000000000100000, 000000007ffdefff] (usable)");
  assert.equal(stripPrefix("(d1) HVM Loader").source, "guest");
});

Deno.test("stripPrefix removes CR, ANSI colours and control characters", () => {
  const s = stripPrefix(`[    0.000000] \u001b[33m${MSG}\u001b[0m\r`);
  assert.deepEqual([s.text, s.garbled], [MSG, false]);
});

Deno.test("stripPrefix flags NUL bytes and binary noise as garbled", () => {
  assert.equal(stripPrefix("[    0.0000\u0000\u0000\u0000").garbled, true);
  assert.equal(stripPrefix("\ufffd\ufffd\ufffdPK\u0003\u0004").garbled, true);
  assert.equal(stripPrefix("Linux version 3.12.0 (gcc) café").garbled, false);
});

Deno.test("stripPrefix leaves lines without prefixes alone", () => {
  const s = stripPrefix("  Xen: 0000000000000000 - 00000000000a0000 (usable)");
  assert.deepEqual([s.text, s.time, s.wallClock], [
    "Xen: 0000000000000000 - 00000000000a0000 (usable)",
    undefined,
    false,
  ]);
});

/** One case per prefix form of the grammar: the form alone in front of a kernel message. */
const FORM_CASES: Record<string, { line: string; time?: number; wall?: boolean; source?: string }> =
  {
    "mail-quote": { line: `>> ${MSG}` },
    "pastebin-line-number": { line: `  12 | ${MSG}` },
    "indent": { line: `\t  ${MSG}` },
    "syslog": { line: `Sep 19 20:25:36.123456 xenhost kernel: ${MSG}`, wall: true },
    "rfc5424": { line: `<6>1 2022-09-19T20:25:36.1+02:00 xenhost kernel - - - ${MSG}`, wall: true },
    "syslog-monotonic": { line: `[    7.250000] xenhost kernel: ${MSG}`, time: 7.25 },
    "kmsg": { line: `6,1234,7250000,-;${MSG}`, time: 7.25 },
    "facility-level": { line: `kern  :info  : ${MSG}` },
    "level": { line: `<6>${MSG}` },
    "kernel-tag": { line: `kernel: ${MSG}` },
    "dmesg-time": { line: `[    7.250000] ${MSG}`, time: 7.25 },
    "serial-relative": { line: `[0:00:07.250000 0.000120] ${MSG}`, wall: true },
    "dmesg-reltime": { line: `[  +0.000012] ${MSG}`, wall: true },
    "wall-time": { line: `[Mon Sep 19 20:25:36 2022] ${MSG}`, wall: true },
    "caller-id": { line: `[    T1] ${MSG}` },
    "xen-console": { line: `(XEN) ${MSG}`, source: "xen" },
    "xen-time": { line: `(XEN) [2022-09-19 20:25:36.123] ${MSG}`, source: "xen" },
    "xenboot": { line: `(early) ${MSG}` },
    "guest-console": { line: `(d1) ${MSG}`, source: "guest" },
    "xen-relayed-domain": { line: `(XEN) DOM1: ${MSG}`, source: "guest" },
  };

for (const form of PREFIX_FORMS) {
  Deno.test(`stripPrefix strips the ${form.name} form (${form.what})`, () => {
    const c = FORM_CASES[form.name];
    assert.ok(c, `a test case for ${form.name}`);
    const s = stripPrefix(c.line);
    assert.equal(s.text, MSG);
    assert.ok(s.forms.includes(form.name), `${s.forms} includes ${form.name}`);
    assert.equal(s.time, c.time);
    assert.equal(s.wallClock, c.wall ?? false);
    assert.equal(s.source, c.source ?? "kernel");
    assert.ok(form.re.test(form.example), "the documented example matches");
  });
}

Deno.test("stripPrefix strips stacked prefixes, outermost first", () => {
  const s = stripPrefix(
    `> 12 | Sep 19 20:25:36 xenhost kernel: <6>[    7.250000] [    T1] ${MSG}\r`,
  );
  assert.equal(s.text, MSG);
  assert.equal(s.time, 7.25);
  assert.deepEqual(s.forms, [
    "mail-quote",
    "pastebin-line-number",
    "syslog",
    "level",
    "dmesg-time",
    "caller-id",
  ]);
  const xen = stripPrefix("[2022-09-19 20:25:36] (XEN) [2022-09-19 20:25:36.123] Xen version 4.16");
  assert.deepEqual([xen.text, xen.source], ["Xen version 4.16", "xen"]);
  const relayed = stripPrefix("(XEN) [2022-09-19 20:25:36.123] DOM12: [    0.500000] Linux");
  assert.deepEqual([relayed.text, relayed.source, relayed.domid, relayed.time], [
    "Linux",
    "guest",
    12,
    0.5,
  ]);
  // Only after "(XEN)": a kernel line that starts "DOM1: " is the kernel's.
  assert.equal(stripPrefix("DOM1: x").source, "kernel");
  const guest = stripPrefix("(d3) [    0.000000] Linux version 5.10.0");
  assert.deepEqual([guest.text, guest.source, guest.domid, guest.time], [
    "Linux version 5.10.0",
    "guest",
    3,
    0,
  ]);
});

Deno.test("stripPrefix never strips a form twice nor an outer form inside", () => {
  // A message that itself starts with "[...]" or a number stays whole after the prefixes.
  assert.equal(
    stripPrefix("[    1.000000] [mem 0x00000000-0x000fffff] page 4k").text,
    "[mem 0x00000000-0x000fffff] page 4k",
  );
  assert.equal(stripPrefix("[    1.000000] 0: 0x100 -> 0x200").text, "0: 0x100 -> 0x200");
  assert.equal(stripPrefix("1-1 mapping on 9e->100").text, "1-1 mapping on 9e->100");
  // Xen's timestamp form is only Xen's: a table row after "(XEN)" keeps its brackets.
  assert.equal(
    stripPrefix("(XEN)  [0000000000100000, 000000007ffdefff] (usable)").text,
    "[0000000000100000, 000000007ffdefff] (usable)",
  );
});

Deno.test("stripPrefix reads a line copied from a web page: entities, no-break and zero-width", () => {
  const s = stripPrefix("&gt; &gt; [&nbsp;&nbsp; 0.500000] 1-1 mapping on 9e-&gt;100");
  assert.deepEqual([s.text, s.time], ["1-1 mapping on 9e->100", 0.5]);
  const x = stripPrefix("(XEN)\u00a0 \u200b[0000000000100000, 000000007ffdefff] (usable)");
  assert.deepEqual([x.source, x.text], ["xen", "[0000000000100000, 000000007ffdefff] (usable)"]);
  assert.equal(stripPrefix("&lt;6&gt;[\u2002\u2002 1.000000] Released 0 page(s)").time, 1);
  // One pass: an escaped entity stays an entity; a plain '&' is left alone.
  assert.equal(stripPrefix("a &amp;lt; b & c").text, "a &lt; b & c");
  // Numeric references, as escapers that name no entity write them: hex (either case of x and
  // digits) and decimal.
  const n = stripPrefix("&#x3C;6&#X3e;[    1.000000] 1-1 mapping on 9e-&#62;100 &#x27;x&#39;");
  assert.deepEqual([n.text, n.time], ["1-1 mapping on 9e->100 'x'", 1]);
});

Deno.test("stripPrefix: dmesg -H / --reltime / -e stamps ('[Dec 7 10:00]', '[  +0.000012]')", () => {
  for (const stamp of ["[Dec 7 10:00]", "[Dec17 10:00]", "[  +0.000012]", "[ +12.345678]"]) {
    const s = stripPrefix(`${stamp} ${MSG}`);
    assert.deepEqual([s.text, s.time, s.wallClock], [MSG, undefined, true], stamp);
  }
  // A message that starts with a bracket stays whole after it.
  assert.equal(
    stripPrefix("[  +0.000004] [mem 0x0-0xfff] page 4k").text,
    "[mem 0x0-0xfff] page 4k",
  );
});

Deno.test("stripPrefix: line numbers 'N:' and 'LN' before a stamp, a quote or (XEN)", () => {
  for (const n of ["12: ", "  12:\t", "L12 ", "L12: "]) {
    for (const rest of [`[    7.250000] ${MSG}`, `> [    7.250000] ${MSG}`, `<6>${MSG}`]) {
      assert.equal(stripPrefix(n + rest).text, MSG, n + rest);
    }
    assert.equal(stripPrefix(`${n}(XEN) ${MSG}`).source, "xen");
  }
  // Without such a beginning a number and colon are the message's own.
  assert.equal(stripPrefix("0: 0x100 -> 0x200").text, "0: 0x100 -> 0x200");
});

Deno.test("stripPrefix: a line number before a syslog or ISO date", () => {
  assert.equal(stripPrefix(`12: Nov 24 10:00:00 host kernel: ${MSG}`).text, MSG);
  assert.equal(stripPrefix(`L7 2022-09-19T20:25:36+0200 host kernel: ${MSG}`).text, MSG);
});

Deno.test("stripPrefix: journalctl short-delta and BusyBox's facility.priority are syslog headers", () => {
  const delta = stripPrefix(`[    1.500000 <    0.000100>] host kernel: ${MSG}`);
  assert.deepEqual([delta.text, delta.time, delta.source], [MSG, 1.5, "kernel"]);
  assert.equal(stripPrefix("[    1.5 <    0.1>] host systemd[1]: Started").source, "other");
  const busybox = stripPrefix(`Sep 19 20:25:36 router kern.info kernel: ${MSG}`);
  assert.deepEqual([busybox.text, busybox.source, busybox.syslogHost], [MSG, "kernel", "router"]);
  assert.equal(stripPrefix("Sep 19 20:25:36 router daemon.err ntpd[7]: x").source, "other");
  // OpenWrt's logread: a ctime with the year, no host, the facility where the host would be.
  assert.equal(
    stripPrefix(`Thu Jan  1 00:00:10 1970 kern.notice kernel: [    0.000000] ${MSG}`).text,
    MSG,
  );
});
