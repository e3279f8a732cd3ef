import assert from "node:assert/strict";
import { DmesgImportError } from "./errors.ts";
import { DmesgImporter, type ImportOptions } from "./importer.ts";

function run(lines: string[], options: ImportOptions = {}) {
  const imp = new DmesgImporter("t.log", options);
  for (const l of lines) imp.push(l);
  return imp.finish();
}

function kinds(lines: string[], options: ImportOptions = {}): string[] {
  return run(lines, options).events.map((e) =>
    e.kind === "e820" ? `e820:${e.map}` : e.kind === "mark" ? "mark" : e.kind
  );
}

const T = (m: string) => `[    0.000000] ${m}`;
const PV_DOMU = [
  T("Linux version 3.14.0 (gcc) #1"),
  T("ACPI in unprivileged domain disabled"),
  T("Released 0 pages of unused memory"),
  T("Set 0 page(s) to 1-1 mapping"),
  T("e820: BIOS-provided physical RAM map:"),
  T("Xen: [mem 0x0000000000000000-0x000000000009ffff] usable"),
  T("Xen: [mem 0x00000000000a0000-0x00000000000fffff] reserved"),
  T("Xen: [mem 0x0000000000100000-0x000000003fffffff] usable"),
  T("Booting paravirtualized kernel on Xen"),
];
const XEN_TABLE = [
  "(XEN) Xen version 4.4.0 (x@y) (gcc) debug=n",
  "(XEN) Xen-e820 RAM map:",
  "(XEN)  0000000000000000 - 000000000009f000 (usable)",
  "(XEN)  0000000000100000 - 0000000080000000 (usable)",
  "(XEN) *** LOADING DOMAIN 0 ***",
];

Deno.test("the raw map and memory_setup sit where the kernel did its pass", () => {
  assert.deepEqual(kinds(PV_DOMU), [
    "mark",
    "mark",
    "e820:raw",
    "memory_setup",
    "e820:kernel",
    "e820:kernel",
    "e820:kernel",
  ]);
});

Deno.test("dom0 takes the (XEN) table as raw map, a domU its own printed map", () => {
  const dom0 = run([...XEN_TABLE, ...PV_DOMU.filter((l) => !l.includes("unprivileged"))]);
  assert.equal(dom0.header.guest.domain, "dom0");
  const raw = dom0.events.filter((e) => e.kind === "e820" && e.map === "raw");
  assert.deepEqual(raw.map((e) => e.kind === "e820" && e.size), [0x9f000, 0x7ff00000]);
  const domU = run([...XEN_TABLE, ...PV_DOMU]);
  assert.equal(domU.header.guest.domain, "domU");
  const rawU = domU.events.filter((e) => e.kind === "e820" && e.map === "raw");
  assert.deepEqual(rawU.map((e) => e.kind === "e820" && e.size), [0x40000000]);
});

Deno.test("counts printed after the map still reach memory_setup.expect", () => {
  const r = run([...PV_DOMU, T("Remapped 96 page(s)")]);
  const ms = r.events.find((e) => e.kind === "memory_setup");
  assert.deepEqual(ms?.kind === "memory_setup" && ms.expect, {
    identity: 0,
    released: 0,
    remapped: 96,
  });
});

Deno.test("HVM guests get no memory_setup and no nr_pages", () => {
  const r = run([
    T("Linux version 5.4.0 (gcc) #1"),
    T("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"),
    T("Hypervisor detected: Xen HVM"),
    T("Booting paravirtualized kernel on Xen HVM"),
  ]);
  assert.equal(r.header.guest.type, "hvm");
  assert.equal(r.header.guest.domain, "domU");
  assert.equal(r.header.extra?.guest_confidence, "proven");
  assert.equal(r.header.guest.nrPages, undefined);
  assert.deepEqual(r.events.map((e) => e.kind), ["mark", "e820"]);
});

Deno.test("'Hypervisor detected: Xen HVM' alone leaves HVM or PVH unknown, and says so", () => {
  // x86_hyper_xen_hvm ("Xen HVM") detects PVH guests too; only pv_info.name tells them apart.
  const r = run([
    T("Linux version 5.4.0 (gcc) #1"),
    T("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"),
    T("Hypervisor detected: Xen HVM"),
  ]);
  assert.deepEqual([r.header.guest.type, r.header.guest.domain], ["unknown", "unknown"]);
  assert.equal(r.header.extra?.guest_confidence, "likely");
  const estimated = r.header.extra?.estimated as { field: string; how: string }[];
  assert.deepEqual(estimated.map((e) => e.field), ["guest.type", "guest.domain"]);
  assert.match(estimated[0].how, /HVM or PVH/);
  assert.match((r.header.extra?.guest_source as string[])[0], /^line 3: Hypervisor detected/);
});

Deno.test("xen_add_device exists only in dom0", () => {
  const pci = [
    T("pci 0000:00:02.0: [8086:0412] type 00 class 0x030000"),
    T("pci 0000:00:02.0: reg 0x10: [mem 0xf7800000-0xf7bfffff 64bit]"),
  ];
  const dom0 = run([...XEN_TABLE, ...PV_DOMU.slice(2), ...pci]);
  assert.ok(dom0.events.some((e) => e.kind === "xen_add_device"));
  const domU = run([...PV_DOMU, ...pci]);
  assert.ok(!domU.events.some((e) => e.kind === "xen_add_device"));
});

Deno.test("--nr-pages overrides the inference and drops the estimate mark", () => {
  const r = run(PV_DOMU, { nrPages: 0x40000 });
  assert.equal(r.header.guest.nrPages, 0x40000);
  assert.equal(r.header.extra?.nr_pages_source, "given with --nr-pages");
  assert.equal(r.events.filter((e) => e.kind === "mark").length, 1);
});

Deno.test("a second Linux banner starts a second boot", () => {
  const two = [...PV_DOMU, ...PV_DOMU.map((l) => l.replace("3.14.0", "3.15.0"))];
  assert.equal(run(two).header.guest.kernel, "3.14.0");
  const second = run(two, { boot: 2 });
  assert.equal(second.header.guest.kernel, "3.15.0");
  assert.match(second.warnings.join("\n"), /holds 2 boots; boot 2 \(lines 10-18\)/);
  assert.throws(
    () => run(two, { boot: 3 }),
    (e) =>
      e instanceof DmesgImportError && e.problem === "no-such-boot" &&
      /holds 2 boot\(s\), so there is no boot 3; expected --boot between 1 and 2/.test(e.message),
  );
});

Deno.test("a journal separator starts a boot even when the first boot is skipped", () => {
  const lines = [
    ...PV_DOMU.slice(1),
    "-- Boot 0123abcd --",
    ...PV_DOMU.slice(1),
    "-- Reboot --",
    "x",
  ];
  const third = (() => {
    try {
      return run(lines, { boot: 3 });
    } catch (e) {
      return e;
    }
  })();
  assert.ok(third instanceof DmesgImportError && third.problem === "nothing-usable");
  assert.equal(
    run(lines, { boot: 2 }).warnings.at(-1),
    "the log holds 3 boots; boot 2 " +
      "(lines 9-17) was imported (choose another with --boot)",
  );
});

Deno.test("journal separators and a clock going back to zero start boots", () => {
  assert.equal(
    run([...PV_DOMU, "-- Boot 0123abcd --", ...PV_DOMU]).warnings.some((w) => /2 boots/.test(w)),
    true,
  );
  const reset = [...PV_DOMU, "[   55.000000] random: crng init done", "[    0.000000] Xen: x"];
  assert.ok(run(reset).warnings.some((w) => /2 boots/.test(w)));
});

Deno.test("Xen's banner after kernel lines starts a new boot, ASCII art does not", () => {
  const r = run([" __  __", "/ /", ...XEN_TABLE, ...PV_DOMU, ...XEN_TABLE]);
  assert.ok(r.warnings.some((w) => /2 boots; boot 1 \(lines 1-/.test(w)));
});

Deno.test("the event cap stops events, not reading, and says so", () => {
  const r = run([...PV_DOMU, T("xen:balloon: Initialising balloon driver")], { maxEvents: 4 });
  // 4 items (banner mark, raw slot, memory_setup, one kernel e820) plus the estimate mark
  // in front and the limit mark at the end.
  assert.equal(r.events.length, 6);
  assert.equal(r.events.at(-1)?.kind, "mark");
  assert.ok(!r.events.some((e) => e.kind === "balloon_init"));
  assert.ok(r.warnings.some((w) => /event limit was reached at line 7/.test(w)));
  assert.equal(r.header.policy, "linux-3.12");
});

Deno.test("a second printed map is ignored with a note", () => {
  const r = run([...PV_DOMU, ...PV_DOMU.slice(4, 8)]);
  const notes = (r.header.extra as Record<string, unknown>).notes as string[];
  assert.ok(notes.some((n) => /a second printed E820 map \(line 11\) was ignored/.test(n)));
});

Deno.test("empty, blank, binary and useless logs are data errors", () => {
  const problem = (lines: string[]) => {
    try {
      run(lines);
    } catch (e) {
      assert.ok(e instanceof DmesgImportError);
      assert.equal(e.exitCode, 65);
      return e.problem;
    }
    return "no error";
  };
  assert.equal(problem([]), "empty");
  assert.equal(problem(["", "  ", "\r"]), "empty");
  assert.equal(problem(["\u0000\u0001PK\u0003\u0004", "\ufffd\ufffd\u0000"]), "binary");
  assert.equal(problem(["hello", T("Linux version 5.10.0 (gcc)")]), "nothing-usable");
});

Deno.test("the same lines always give the same trace", () => {
  assert.deepEqual(run(PV_DOMU), run(PV_DOMU));
});

Deno.test("a long log streams: 300,000 lines of chatter add no events", () => {
  const imp = new DmesgImporter("long.log");
  for (const l of PV_DOMU) imp.push(l);
  for (let i = 0; i < 300_000; i++) {
    imp.push(`[${(1 + i / 1000).toFixed(6).padStart(12)}] usb 1-1: new device number ${i}`);
  }
  const r = imp.finish();
  assert.equal(r.lines, PV_DOMU.length + 300_000);
  assert.equal(r.events.length, 7);
  assert.equal(r.unrecognised.total, 0);
});

Deno.test("a log whose lines carry an unknown prefix imports like the plain log", () => {
  // Issue 11 item 1: standard kernel messages behind a prefix nobody taught the grammar
  // (here a log collector's "host | stream |") are still found, after a bounded search.
  const plain = run(PV_DOMU);
  const odd = run(PV_DOMU.map((l) => `web01.example.org | kern.stdout | ${l}`));
  assert.deepEqual(odd.events, plain.events);
  assert.deepEqual(odd.header.guest, plain.header.guest);
  const notes = (odd.header.extra?.notes ?? []) as string[];
  assert.ok(
    notes.some((n) => /9 line\(s\) carry a prefix the importer does not know/.test(n)),
    String(notes),
  );
  // Only a bounded head of the line is searched: a message after 120 characters is not found.
  const far = "x".repeat(130) + " ";
  assert.throws(() => run(PV_DOMU.map((l) => far + l)), DmesgImportError);
});

Deno.test("a log with no E820 map and no boot-pass line is unusable, quoting its first lines", () => {
  // Issue 11 item 2: PCI lines and a balloon line alone replay nothing the kernel did to the
  // P2M, so the import fails (65) instead of writing a trace of a few empty events.
  const lines = [
    T("Linux version 5.10.0 (gcc) #1"),
    T("pci 0000:00:04.0: [8086:1234] type 00 class 0x020000"),
    T("pci 0000:00:04.0: reg 0x10: [mem 0xf1800000-0xf1803fff]"),
    T("xen:balloon: Initialising balloon driver"),
  ];
  const e = assert.throws(() => run(lines), (err: unknown) => {
    assert.ok(err instanceof DmesgImportError);
    assert.equal(err.problem, "nothing-usable");
    assert.equal(err.exitCode, 65);
    assert.match(err.message, /no E820 map and no line of the Xen boot pass/);
    assert.match(err.message, /found 'Linux version 5\.10\.0', the balloon driver's start/);
    assert.match(err.message, /its first relevant line\(s\):\n +1: \[ +0\.000000\] Linux version/);
    assert.match(err.message, /\n +2: \[ +0\.000000\] pci 0000:00:04\.0: \[8086:1234\]/);
    return true;
  });
  assert.equal(e, undefined);
  // One boot-pass line is enough.
  assert.equal(run([...lines, T("Released 0 page(s)")]).header.guest.type, "pv");
});

Deno.test("a XenLinux (classic Xen) kernel is imported with its model marked an approximation", () => {
  // XenLinux prints "Xen-provided physical RAM map" (pvops: "BIOS-provided"), its balloon driver
  // "xen_mem:"; its P2M is Xen's flat array, not the upstream one the policies model, so the
  // header says the policy is an estimate (which lowers every finding) and a mark says why.
  const xenlinux = run([
    T("Linux version 2.6.32-309-ec2 (buildd@yellow) #18-Ubuntu SMP"),
    T("Xen-provided physical RAM map:"),
    T(" Xen: 0000000000000000 - 00000001c0800000 (usable)"),
    T("PCI: setting up Xen PCI frontend stub"),
    T("xen_mem: Initialising balloon driver."),
  ]);
  const policy = (xenlinux.header.extra?.estimated as { field: string; how: string }[])
    .find((e) => e.field === "policy");
  assert.match(policy?.how ?? "", /XenLinux \(classic Xen\) kernel \(line 2: Xen-provided/);
  assert.ok(xenlinux.events.some((e) => e.kind === "mark" && /XenLinux/.test(e.text)));
  // The same guest under an upstream kernel is not marked.
  const pvops = run(PV_DOMU);
  const estimated = (pvops.header.extra?.estimated ?? []) as { field: string }[];
  assert.ok(!estimated.some((e) => e.field === "policy"));
  assert.ok(!pvops.events.some((e) => e.kind === "mark" && /XenLinux/.test(e.text)));
});

Deno.test("a log of an Arm machine is refused as one: no E820 map, no PV P2M to model", () => {
  // Xen on Arm translates every guest's memory in the hypervisor (stage 2): the guest prints
  // no E820 map and no boot pass. The refusal names the line that shows the machine is Arm,
  // whether the guest printed it or the hypervisor relayed it for another domain.
  const refusal = (lines: string[]) => {
    try {
      run(lines);
    } catch (err) {
      assert.ok(err instanceof DmesgImportError);
      assert.equal(err.exitCode, 65);
      return err.message;
    }
    assert.fail("imported");
  };
  const guest = refusal([
    T("Booting Linux on physical CPU 0x0"),
    T("Linux version 3.16.0 (gcc) #1"),
    T("Machine model: XENVM-4.4"),
    T("Xen 4.4 support found, events_irq=31 gnttab_frame=0xb0000000"),
  ]);
  assert.match(guest, /no E820 map/);
  assert.match(guest, /an Arm machine \(line 1: Booting Linux on physical CPU 0x0\)/);
  const relayed = refusal([
    "(XEN) Using PSCI v1.1",
    "(XEN) DOM1: [    0.000000] Linux version 6.6.25 (gcc) #5",
  ]);
  assert.match(relayed, /an Arm machine \(line 1: \(XEN\) Using PSCI v1\.1\)/);
  // An x86 log that is refused for the same reason does not say Arm.
  assert.doesNotMatch(refusal([T("Linux version 5.10.0 (gcc) #1")]), /Arm/);
});

Deno.test("a pcifront claim the kernel refuses ends failed, one event, whatever lines come between", () => {
  // Issue 11 item 4: pcifront_claim_resource prints "claiming", pci_claim_resource "can't claim
  // BAR n ...: address conflict", pcifront "Could not claim": the BAR never entered the
  // resource tree. Other lines may sit in between (a mail's comment, another driver).
  const lines = [
    ...PV_DOMU,
    T("pcifront pci-0: Creating PCI Frontend Bus 0000:00"),
    T("pci 0000:00:00.4: [8086:1520] type 00 class 0x020000"),
    T("pci 0000:00:00.4: reg 0x10: [mem 0x90004000-0x90007fff 64bit pref]"),
    T("pci 0000:00:00.4: reg 0x1c: [mem 0x90024000-0x90027fff 64bit pref]"),
    T("pcifront pci-0: claiming resource 0000:00:00.4/0"),
    T("random: crng init done"),
    T("xen:balloon: Initialising balloon driver"),
    T(
      "pci 0000:00:00.4: can't claim BAR 0 [mem 0x90004000-0x90007fff 64bit pref]: " +
        "address conflict with System RAM [mem 0x90000000-0x97ffffff]",
    ),
    T(
      "pcifront pci-0: Could not claim resource 0000:00:00.4/0! Device offline. " +
        "Try using e820_host=1 in the guest config.",
    ),
    T("pcifront pci-0: claiming resource 0000:00:00.4/3"),
  ];
  const r = run(lines);
  const claims = r.events.filter((e) => e.kind === "pci_resource_assign").map((e) =>
    e.kind === "pci_resource_assign" ? `${e.resource.index}:${e.action}` : ""
  );
  assert.deepEqual(claims, ["0:failed", "3:claimed"]);
  const kinds = r.events.map((e) => e.kind);
  assert.ok(
    kinds.indexOf("pci_resource_assign") < kinds.indexOf("balloon_init"),
    "the refused claim keeps its place before the lines that came between",
  );
  assert.equal(r.header.guest.domain, "domU");
  assert.ok(!kinds.includes("xen_add_device"), "no notifier in a domU");
});

Deno.test("reassignments keep their order; a failure without a claim is its own event", () => {
  const lines = [
    ...PV_DOMU.filter((l) => !l.includes("unprivileged")),
    T("xen: registering gsi 16 triggering 0 polarity 1"),
    T("pci 0000:00:1c.0: [8086:a110] type 01 class 0x060400"),
    T("pci 0000:00:1c.0: PCI bridge to [bus 01]"),
    T("pci 0000:00:1c.0: BAR 14: assigned [mem 0xc0000000-0xc01fffff]"),
    T("pci 0000:00:1c.0: BAR 14: releasing [mem 0xc0000000-0xc01fffff]"),
    T("pci 0000:00:1c.0: BAR 14: assigned [mem 0xd0000000-0xd01fffff]"),
    T("pci 0000:00:1c.0: BAR 15: no space for [mem size 0x00200000 64bit pref]"),
    T("pci 0000:00:1c.0: BAR 15: failed to assign [mem size 0x00200000 64bit pref]"),
  ];
  const r = run(lines);
  assert.equal(r.header.guest.domain, "dom0");
  assert.deepEqual(
    r.events.filter((e) => e.kind === "pci_resource_assign").map((e) =>
      e.kind === "pci_resource_assign" ? `${e.resource.index}:${e.action}:${e.resource.start}` : ""
    ),
    ["14:assigned:3221225472", "14:released:3221225472", "14:assigned:3489660928", "15:failed:0"],
  );
});

// kernel/printk: a console registered with CON_PRINTBUFFER gets the whole log buffer again, right
// after "bootconsole [xenboot0] disabled" (real log 77, a serial capture of a 6.8 dom0 with
// earlyprintk=xen). That repeat is not a second boot; a reboot has no hand-over line before it.
Deno.test("a log the kernel printed again on a new console is one boot, its repeat skipped", () => {
  const banner = "[    0.000000] Linux version 6.8.0-48-generic (root@x) #48 SMP";
  const boot = [
    banner,
    "[    0.000000] Released 0 page(s)",
    "[    0.000000] BIOS-provided physical RAM map:",
    "[    0.000000] Xen: [mem 0x0000000000000000-0x000000000009ffff] usable",
    "[    0.000000] Xen: [mem 0x0000000000100000-0x000000003fffffff] usable",
    "[    4.989453] Remapped 0 page(s)",
  ];
  const imp = new DmesgImporter("t.log");
  for (
    const l of [
      ...boot,
      "[    5.318451] printk: legacy console [tty1] enabled",
      "[    5.318458] printk: legacy bootconsole [xenboot0] disabled",
      ...boot,
      "[    5.400000] xen:balloon: Initialising balloon driver",
    ]
  ) imp.push(l);
  const r = imp.finish();
  const source = r.header.extra?.source as { boots: number };
  assert.equal(source.boots, 1);
  assert.match(
    (r.header.extra?.notes as string[]).join("\n"),
    /line 9: the kernel printed its log again on a new console/,
  );
  assert.ok(r.events.some((e) => e.kind === "balloon_init"), "lines after the repeat are read");

  const reboot = new DmesgImporter("t.log");
  for (const l of [...boot, "[    6.000000] reboot: Restarting system", ...boot]) reboot.push(l);
  assert.equal((reboot.finish().header.extra?.source as { boots: number }).boots, 2);
});

Deno.test("a PV dom0's maximum reservation is estimated unless dom0_mem=max: proves it", () => {
  // xen_get_max_pages (arch/x86/xen/setup.c) reads dom0's XENMEM_maximum_reservation, which Xen
  // sets in dom0_compute_nr_pages from dom0_mem=max: or from a build-time CONFIG_DOM0_MEM that
  // the printed command line does not show: without max:, the model's "no cap" is an assumption.
  const dom0 = (cmdline: string) =>
    run([
      "(XEN) Xen version 4.14.0 (x@y) (gcc) debug=n",
      `(XEN) Command line: placeholder ${cmdline}`,
      ...XEN_TABLE.slice(1),
      ...PV_DOMU.filter((l) => !l.includes("unprivileged")),
    ]);
  const reservation = (r: ReturnType<typeof run>) =>
    ((r.header.extra?.estimated ?? []) as { field: string; how: string }[])
      .find((e) => e.field === "max_reservation")?.how;
  assert.match(
    reservation(dom0("dom0_mem=1024M")) ?? "",
    /none assumed .*line 2\) has no dom0_mem=max:, but a build-time CONFIG_DOM0_MEM/,
  );
  assert.equal(reservation(dom0("dom0_mem=1024M,max:1024M")), undefined);
  const ms = dom0("dom0_mem=1024M,max:1024M").events.find((e) => e.kind === "memory_setup");
  assert.equal(ms?.kind === "memory_setup" && ms.maxReservation, 0x40000);
  // A domU's maximum is not read from XENMEM_maximum_reservation: nothing to estimate.
  assert.equal(reservation(run([...XEN_TABLE, ...PV_DOMU])), undefined);
});
