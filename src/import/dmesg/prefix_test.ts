import assert from "node:assert/strict";
import { stripPrefix } from "./prefix.ts";

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
