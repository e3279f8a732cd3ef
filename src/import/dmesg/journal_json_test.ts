/**
 * journalctl's JSON outputs read as the kernel lines they hold: the rule pinned is that of the
 * Journal JSON Format (systemd.io/JOURNAL_EXPORT_FORMATS): one object per entry, MESSAGE a
 * string, an array of bytes (not UTF-8), an array of values (repeated field) or null (over
 * 4096 bytes); the printk time is `_SOURCE_MONOTONIC_TIMESTAMP`, not the reception time.
 */
import assert from "node:assert/strict";
import { JournalJsonDecoder } from "./journal_json.ts";

function run(lines: string[]): string[] {
  const d = new JournalJsonDecoder();
  return [...lines.flatMap((l) => d.push(l)), ...d.end()];
}

const kernel = (message: unknown, us?: string) =>
  JSON.stringify({
    __CURSOR: "s=0b7e;i=1",
    __REALTIME_TIMESTAMP: "1663619136123456",
    __MONOTONIC_TIMESTAMP: "9123456",
    _BOOT_ID: "8a1c",
    _TRANSPORT: "kernel",
    PRIORITY: "6",
    SYSLOG_FACILITY: "0",
    SYSLOG_IDENTIFIER: "kernel",
    MESSAGE: message,
    ...(us === undefined ? {} : { _SOURCE_MONOTONIC_TIMESTAMP: us }),
  });

Deno.test("kernel entries become timestamped lines, others empty lines, one per line", () => {
  assert.deepEqual(
    run([
      kernel("Linux version 6.1.0 (gcc) #1 SMP", "0"),
      '{"__CURSOR":"s=2","_TRANSPORT":"stdout","SYSLOG_IDENTIFIER":"systemd","MESSAGE":"Started"}',
      kernel("Released 0 page(s)", "1234567"),
      kernel("xen:balloon: Initialising balloon driver"),
    ]),
    [
      "[    0.000000] Linux version 6.1.0 (gcc) #1 SMP",
      "",
      "[    1.234567] Released 0 page(s)",
      "xen:balloon: Initialising balloon driver",
    ],
  );
});

Deno.test("a MESSAGE of bytes, of repeated values, or null (too large)", () => {
  const bytes = [...new TextEncoder().encode("Xen: [mem 0x0-0x9ffff] usable \xe9")];
  bytes[bytes.length - 2] = 0xe9; // Latin-1 é: not UTF-8, so journalctl prints bytes
  bytes.pop();
  assert.deepEqual(run([kernel(bytes, "5")]), [
    "[    0.000005] Xen: [mem 0x0-0x9ffff] usable \ufffd",
  ]);
  assert.deepEqual(run([kernel(["Released 0 page(s)", "x"], "5")]), [
    "[    0.000005] Released 0 page(s)",
  ]);
  assert.deepEqual(run([kernel(null, "5")]), [""]);
});

Deno.test("json-seq, json-sse and json-pretty read the same", () => {
  const rec = kernel("Remapped 12 page(s)", "2000000");
  assert.deepEqual(run(["\u001e" + rec]), ["[    2.000000] Remapped 12 page(s)"]);
  assert.deepEqual(run(["data: " + rec, ""]), ["[    2.000000] Remapped 12 page(s)", ""]);
  const pretty = [
    "{",
    '\t"__CURSOR" : "s=0b7e;i=1",',
    '\t"_TRANSPORT" : "kernel",',
    '\t"MESSAGE" : "Set 96 page(s) to 1-1 mapping",',
    '\t"_SOURCE_MONOTONIC_TIMESTAMP" : "2500000"',
    "}",
    "{",
    '\t"_TRANSPORT" : "journal",',
    '\t"MESSAGE" : [ 104, 105 ]',
    "}",
  ];
  assert.deepEqual(run(pretty), [
    "",
    "",
    "",
    "",
    "",
    "[    2.500000] Set 96 page(s) to 1-1 mapping",
    "",
    "",
    "",
    "",
  ]);
});

Deno.test("a plain log, a lone brace and broken JSON pass through unchanged", () => {
  const lines = [
    "[    0.000000] Linux version 6.1.0",
    '{"MESSAGE": "not a journal record"}',
    '{"__CURSOR":"s=1","MESSAGE":"cut',
    "{",
    "[    0.100000] Released 0 page(s)",
    "data: none",
  ];
  assert.deepEqual(run(lines), lines);
  const d = new JournalJsonDecoder();
  for (const l of lines) d.push(l);
  assert.deepEqual(d.stats, { entries: 0, kernel: 0, unreadable: 2 });
});
