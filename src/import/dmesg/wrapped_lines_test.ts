/**
 * Mail-wrapped kernel lines are re-joined, and nothing else is: the rule pinned is that only a
 * timestamped, visibly unfinished line and a bare line that finishes it are one kernel line.
 */
import assert from "node:assert/strict";
import { WrappedLineJoiner } from "./wrapped_lines.ts";

function run(lines: string[]): string[] {
  const j = new WrappedLineJoiner();
  return [...lines.flatMap((l) => j.push(l)), ...j.end()];
}

Deno.test("an E820 entry whose type went to the next line is one line again, numbering kept", () => {
  assert.deepEqual(
    run([
      "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff]",
      "usable",
      "[    0.000000] Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved",
    ]),
    [
      "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
      "",
      "[    0.000000] Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved",
    ],
  );
});

Deno.test("a resource wrapped after its open bracket is one line again", () => {
  assert.deepEqual(
    run([
      "[    1.000000] pci 0000:00:00.0: reg 0x18: [mem",
      "0xb4304000-0xb4304fff 64bit]",
    ]),
    ["[    1.000000] pci 0000:00:00.0: reg 0x18: [mem 0xb4304000-0xb4304fff 64bit]", ""],
  );
});

Deno.test("a wall-clock prefixed line wrapped the same way is joined too", () => {
  assert.deepEqual(
    run([
      "Nov 24 10:00:00 host kernel: Xen: [mem 0x0000000000100000-0x0000000008ffffff]",
      "usable",
    ]),
    ["Nov 24 10:00:00 host kernel: Xen: [mem 0x0000000000100000-0x0000000008ffffff] usable", ""],
  );
});

Deno.test("lines are left alone when the next line has its own timestamp or does not finish", () => {
  const lines = [
    "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff]",
    "[    0.000000] usable",
    "[    1.000000] pci 0000:00:00.0: reg 0x18: [mem",
    "something else",
    "[    2.000000] pci 0000:00:00.0: reg 0x18: [mem",
  ];
  assert.deepEqual(run(lines), lines);
});

Deno.test("a quoted-printable soft break is not taken for a wrap", () => {
  const lines = [
    "[    0.210000] pci 0000:00:03.0: BAR 0: assigned [mem 0xfebd0000-0xfebd=",
    "0fff]",
  ];
  assert.deepEqual(run(lines), lines);
});

Deno.test("logs without timestamps pass through: a short line is not taken for a continuation", () => {
  const lines = [
    "Xen: [mem 0x0000000000000000-0x000000000009ffff]",
    "usable",
    "pci: [mem",
    "0x0-0x1]",
  ];
  assert.deepEqual(run(lines), lines);
});

Deno.test("a PV domU's early console lines ('(early) ') are timestamped lines: wraps are joined", () => {
  // hvc_xen.c xenboot_write_console writes "(early) " before the guest's own printk text; a mail
  // client then wrapped each map line before its type. The timestamp behind the prefix makes
  // the line a timestamped, unfinished one, so the bare type is joined back.
  assert.deepEqual(
    run([
      "(early) [    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff]",
      "usable",
      "(early) [    0.000000] Xen: [mem 0x00000000000a0000-0x00000000000fffff]",
      "reserved",
    ]),
    [
      "(early) [    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
      "",
      "(early) [    0.000000] Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved",
      "",
    ],
  );
});

// A reply quotes the wrapped paste: the bare rest carries the reply's own `> ` (one level less than
// the line it finishes). The joined line must read as the kernel printed it.
Deno.test("a quoted wrapped line is joined without the continuation's quote marker", () => {
  const j = new WrappedLineJoiner();
  const out = [
    ...j.push("> > [    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff]"),
    ...j.push("> usable"),
    ...j.end(),
  ];
  assert.deepEqual(out, [
    "> > [    0.000000] BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] usable",
    "",
  ]);
});

// xen/arch/x86/e820.c print_e820_memory_map prints a row's range and then its type on the same
// console line: a "(XEN)" row without its type is unfinished whatever its timestamps, and a
// mail client that wrapped it put the type alone on the next line.
Deno.test("a (XEN) E820 row whose type a mail client wrapped is one row again, and only then", () => {
  assert.deepEqual(
    run([
      "> (XEN)  0000000000000000 - 000000000009a800",
      "> (usable)",
      "(XEN)  [00000000dfe9e000, 00000000dfea0000]",
      "type 9",
    ]),
    [
      "> (XEN)  0000000000000000 - 000000000009a800 (usable)",
      "",
      "(XEN)  [00000000dfe9e000, 00000000dfea0000] type 9",
      "",
    ],
  );
  const apart = [
    "(XEN)  0000000000000000 - 000000000009a800",
    "(XEN) (usable)",
    "(XEN)  000000000009a800 - 00000000000a0000",
    "reserved by the firmware",
    "(XEN) Xen version 4.4.1 (gcc) debug=n",
    "(usable)",
  ];
  assert.deepEqual(run(apart), apart);
});

Deno.test("a (XEN) command line wrapped over lines is one line again, numbering kept", () => {
  assert.deepEqual(
    run([
      "(XEN) Command line: placeholder console=com1,vga",
      "dom0_mem=4096M,max:4096M noreboot",
      "loglvl=all guest_loglvl=all",
      "(XEN) Xen image load base address: 0xcf400000",
    ]),
    [
      "(XEN) Command line: placeholder console=com1,vga dom0_mem=4096M,max:4096M noreboot " +
      "loglvl=all guest_loglvl=all",
      "",
      "",
      "(XEN) Xen image load base address: 0xcf400000",
    ],
  );
  // Quoted in a reply: the rest loses the reply's own '>'.
  assert.deepEqual(
    run(["> (XEN) Command line: placeholder", "> dom0_mem=768M,max:768M"]),
    ["> (XEN) Command line: placeholder dom0_mem=768M,max:768M", ""],
  );
});

Deno.test("the dom0 builder's lines a mail wrapped are one line again", () => {
  assert.deepEqual(
    run([
      "(XEN)  Dom0 alloc.:   0000000418000000->000000041c000000 (172699 pages to be",
      "allocated)",
      "(XEN)  Dom0 alloc.:",
      "0000000418000000->000000041c000000",
      "(172699 pages to be allocated)",
      "(XEN)  Init. ramdisk:",
      "000000042e29b000->000000042ffff6a4",
    ]),
    [
      "(XEN)  Dom0 alloc.:   0000000418000000->000000041c000000 (172699 pages to be allocated)",
      "",
      "(XEN)  Dom0 alloc.: 0000000418000000->000000041c000000 (172699 pages to be allocated)",
      "",
      "",
      "(XEN)  Init. ramdisk: 000000042e29b000->000000042ffff6a4",
      "",
    ],
  );
});

Deno.test("a bare line after a (XEN) line that finishes nothing stays a line of its own", () => {
  // dom0's kernel lines without printk times share the serial console with Xen's.
  const lines = [
    "(XEN) Command line: placeholder dom0_mem=4096M",
    "Initializing cgroup subsys cpuset",
    "(XEN) Xen version 4.1.5 (user@) (gcc)",
    "Linux version 3.2.0-4-amd64 (debian-kernel@lists.debian.org)",
    "(XEN)  Dom0 alloc.:   0000000418000000->000000041c000000",
    "Command line: root=/dev/sda1 ro",
    "(XEN) PCI add device 0000:00:02.0",
    "pci 0000:00:02.0: reg 10: [mem 0xf0000000-0xf0ffffff]",
    "(XEN) [2022-09-19 20:25:36.123] Command line: console=com1",
    "[    0.000000] dom0_mem=1G",
  ];
  assert.deepEqual(run(lines), lines);
});
