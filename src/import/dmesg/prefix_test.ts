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
  assert.equal(stripPrefix("Nov 24 10:00:01 host dhclient: DHCPACK").source, "other");
  assert.equal(stripPrefix("[    3.000000] host systemd[1]: Started.").source, "other");
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
    "syslog-iso": { line: `2022-09-19T20:25:36+0200 xenhost kernel: ${MSG}`, wall: true },
    "syslog-unix": { line: `1663619136.123456 xenhost kernel: ${MSG}`, wall: true },
    "syslog-monotonic": { line: `[    7.250000] xenhost kernel: ${MSG}`, time: 7.25 },
    "kmsg": { line: `6,1234,7250000,-;${MSG}`, time: 7.25 },
    "facility-level": { line: `kern  :info  : ${MSG}` },
    "level": { line: `<6>${MSG}` },
    "kernel-tag": { line: `kernel: ${MSG}` },
    "dmesg-time": { line: `[    7.250000] ${MSG}`, time: 7.25 },
    "dmesg-ctime": { line: `[Mon Sep 19 20:25:36 2022] ${MSG}`, wall: true },
    "bracket-iso": { line: `[2022-09-19 20:25:36] ${MSG}`, wall: true },
    "serial-relative": { line: `[0:00:07.250000 0.000120] ${MSG}`, wall: true },
    "iso-time": { line: `2022-09-19T20:25:36,123456+00:00 ${MSG}`, wall: true },
    "short-time": { line: `Sep 19 20:25:36 ${MSG}`, wall: true },
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
