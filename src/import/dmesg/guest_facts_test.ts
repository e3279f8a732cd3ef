import assert from "node:assert/strict";
import { decideGuest, type EvidenceKind, type EvidenceMap, inferNrPages } from "./guest_facts.ts";

const ev = (entries: [EvidenceKind, string][]): EvidenceMap =>
  new Map(entries.map(([k, text], i) => [k, { text, line: i + 1 }]));

Deno.test("the hypervisor console makes a PV guest likely dom0", () => {
  const d = decideGuest(ev([["xen_console", "(XEN) lines"], ["pv", "banner"]]), true);
  assert.deepEqual([d.type, d.domain, d.confidence], ["pv", "dom0", "likely"]);
  assert.deepEqual(d.estimated.map((e) => e.field), ["guest.domain"]);
});

Deno.test("a proven domU line wins over the hypervisor console (concatenated logs)", () => {
  const d = decideGuest(
    ev([["xen_console", "(XEN)"], ["pv_domU", "ACPI in unprivileged domain disabled"]]),
    true,
  );
  assert.deepEqual([d.type, d.domain, d.confidence], ["pv", "domU", "proven"]);
  assert.match(d.because.join("\n"), /line 2: ACPI in unprivileged domain disabled \(domU/);
});

Deno.test("ACPI tables and PCI enumeration mean dom0 only for PV guests", () => {
  assert.equal(decideGuest(ev([["pv", "b"], ["acpi_tables", "RSDP"]]), false).domain, "dom0");
  assert.equal(decideGuest(ev([["hvm", "b"], ["acpi_tables", "RSDP"]]), false).domain, "domU");
  assert.equal(decideGuest(ev([["pv", "b"], ["pci_enumeration", "pci"]]), false).domain, "dom0");
  assert.equal(
    decideGuest(ev([["auto", "b"], ["pci_enumeration", "pci"]]), false).domain,
    "unknown",
  );
});

Deno.test("a PV boot log without the domU line is likely dom0", () => {
  const d = decideGuest(ev([["pv", "Booting paravirtualized kernel on Xen"]]), true);
  assert.deepEqual([d.domain, d.confidence], ["dom0", "likely"]);
});

Deno.test("a fragment with no evidence stays unknown, never dom0", () => {
  // Issue 11 item 3: unknown stays unknown, and says why.
  const d = decideGuest(ev([]), false);
  assert.deepEqual([d.type, d.domain, d.confidence], ["unknown", "unknown", "likely"]);
  assert.deepEqual(d.estimated.map((e) => e.field), ["guest.type", "guest.domain"]);
});

Deno.test("HVM-or-PVH lines leave the type unknown unless a line tells which", () => {
  // PVH guests print "Hypervisor detected: Xen HVM" and the HVM callback line too.
  const both = decideGuest(ev([["auto", "Hypervisor detected: Xen HVM"]]), false);
  assert.equal(both.type, "unknown");
  const pvh = decideGuest(
    ev([["auto", "Hypervisor detected: Xen HVM"], ["pvh", "Booting kernel on Xen PVH"]]),
    true,
  );
  assert.deepEqual([pvh.type, pvh.domain], ["pvh", "unknown"]);
  const domU = decideGuest(ev([["auto_domU", "DMI: Xen HVM domU"]]), false);
  assert.deepEqual([domU.type, domU.domain], ["unknown", "domU"]);
});

Deno.test("an HVM guest is a domU; a pirq line alone is only a guess", () => {
  const hvm = decideGuest(ev([["hvm", "Booting paravirtualized kernel on Xen HVM"]]), true);
  assert.deepEqual([hvm.type, hvm.domain, hvm.confidence], ["hvm", "domU", "proven"]);
  const d = decideGuest(ev([["pirq_without_gsi", "xen: --> pirq"]]), false);
  assert.deepEqual([d.type, d.domain, d.confidence], ["hvm", "domU", "guessed"]);
});

Deno.test("nr_pages from Xen's dom0 builder: to allocate + allocated + initrd", () => {
  const r = inferNrPages("dom0", {
    dom0Alloc: { allocPages: 16384, toAllocate: 1661249 },
    ramdiskPages: 78372,
  });
  assert.deepEqual([r.nrPages, r.certain], [0x1acb65, true]);
});

Deno.test("nr_pages sources that disagree are reported", () => {
  const r = inferNrPages("dom0", {
    dom0Alloc: { allocPages: 16384, toAllocate: 1661249 },
    populateStartPfn: 0x1ad000,
  });
  assert.equal(r.nrPages, 1661249 + 16384);
  assert.match(r.conflict ?? "", /Populating/);
});

Deno.test("nr_pages of a remapping kernel: last RAM end minus Remapped, uncertain", () => {
  const r = inferNrPages("domU", { printedRamEndPfn: 0x188725d, remapped: 553565 });
  assert.deepEqual([r.nrPages, r.certain], [0x1800000, false]);
});

Deno.test("nr_pages falls back to the RAM end, then the Memory: total", () => {
  assert.equal(inferNrPages("domU", { printedRamEndPfn: 0x80800 }).nrPages, 0x80800);
  assert.equal(inferNrPages("domU", { memoryTotalPages: 0x40000 }).nrPages, 0x40000);
  const none = inferNrPages("domU", { printedRamEndPfn: 0xa0 });
  assert.deepEqual([none.nrPages, none.certain], [undefined, false]);
});

Deno.test("decideGuest: proven PV and proven HVM/PVH lines are a conflict, never a choice", () => {
  const pvLines: [string, string][] = [
    ["pv", "Released 0 page(s)"],
    ["pv_domU", "ACPI in unprivileged domain disabled"],
  ];
  const autoLines: [string, string][] = [
    ["auto", "Xen HVM callback vector for event delivery is enabled"],
    ["hvm", "Booting paravirtualized kernel on Xen HVM"],
    ["pvh", "Booting kernel on Xen PVH"],
  ];
  for (const [pk, pt] of pvLines) {
    for (const [ak, at] of autoLines) {
      const d = decideGuest(
        new Map([[pk as EvidenceKind, { text: pt, line: 3 }], [ak as EvidenceKind, {
          text: at,
          line: 40,
        }]]),
        true,
      );
      assert.equal(d.type, "unknown", `${pk} + ${ak}`);
      assert.equal(d.confidence, "guessed");
      assert.equal(d.conflict?.length, 2);
      assert.match(d.conflict![0], /^line 3: /);
      assert.match(d.conflict![1], /^line 40: /);
      assert.ok(d.estimated.some((e) => e.field === "guest.type" && /conflict|both/.test(e.how)));
    }
  }
});

Deno.test("decideGuest: the 'on Xen' banner and 'Xen version:' make PV likely; HVM/PVH lines win", () => {
  const banner = { text: "Booting paravirtualized kernel on Xen", line: 30 };
  const alone = decideGuest(new Map([["pv_likely", banner]]), true);
  assert.deepEqual([alone.type, alone.confidence, alone.conflict], ["pv", "likely", undefined]);
  // The PV banner beside a proven HVM-or-PVH line no PVHv1 prints: HVM or PVH, no conflict.
  const auto = decideGuest(
    new Map([["pv_likely", banner], ["auto", { text: "Hypervisor detected: Xen HVM", line: 50 }]]),
    true,
  );
  assert.deepEqual([auto.type, auto.conflict], ["unknown", undefined]);
  const pvh = decideGuest(
    new Map([["pv_likely", { text: "Xen version: 4.17.2", line: 31 }], ["pvh", {
      text: "Booting kernel on Xen PVH",
      line: 30,
    }]]),
    true,
  );
  assert.deepEqual([pvh.type, pvh.conflict], ["pvh", undefined]);
});

Deno.test("decideGuest: the PV entry's lines and the HVM callback vector are a PVHv1 guest (v3.14-v4.10), not a conflict", () => {
  const acpi = { text: "ACPI in unprivileged domain disabled", line: 11 };
  const callback = { text: "Xen HVM callback vector for event delivery is enabled", line: 16 };
  const released = { text: "Released 0 pages of unused memory", line: 3 };
  const ev = (more: [EvidenceKind, { text: string; line: number }][] = []) =>
    new Map<EvidenceKind, { text: string; line: number }>([
      ["pv_domU", acpi],
      ["pv", released],
      ["callback_vector", callback],
      ...more,
    ]);
  const d = decideGuest(ev(), true, "3.16.0-4-amd64");
  assert.deepEqual([d.type, d.domain, d.confidence, d.conflict, d.pvhV1], [
    "pvh",
    "domU",
    "proven",
    undefined,
    true,
  ]);
  assert.match(d.notes.join("\n"), /PVHv1 guest \(Linux 3\.16\.0-4-amd64\).*no P2M lookup/);
  // Without a version the era is not proven: likely.
  assert.deepEqual([decideGuest(ev(), true).type, decideGuest(ev(), true).confidence], [
    "pvh",
    "likely",
  ]);
  // A PVHv1 dom0: xen_register_gsi printed 'registering gsi' (its xen_pv_domain() was true),
  // and Xen's console may show its builder's 'LOADING DOMAIN 0'.
  const gsi = { text: "xen: registering gsi 9 triggering 0 polarity 0", line: 40 };
  const loading = { text: "(XEN) *** LOADING DOMAIN 0 ***", line: 2 };
  const dom0 = decideGuest(
    new Map<EvidenceKind, { text: string; line: number }>([
      ["xen_builder_pv", loading],
      ["pv", released],
      ["callback_vector", callback],
      ["dom0", gsi],
    ]),
    true,
    "4.4.0",
  );
  assert.deepEqual([dom0.type, dom0.domain, dom0.confidence, dom0.conflict, dom0.pvhV1], [
    "pvh",
    "dom0",
    "proven",
    undefined,
    true,
  ]);
  // Xen's 'LOADING DOMAIN 0' fits PVHv1 but is no PV entry: with an HVM domU's callback vector
  // alone it is not PVHv1.
  const hvmAfterXen = decideGuest(
    new Map<EvidenceKind, { text: string; line: number }>([
      ["xen_builder_pv", loading],
      ["callback_vector", callback],
    ]),
    false,
    "4.4.0",
  );
  assert.equal(hvmAfterXen.pvhV1, undefined);
  // A builder that names a PV dom0 does not fit.
  const pvBuilder = decideGuest(
    new Map<EvidenceKind, { text: string; line: number }>([
      ["xen_builder_pv", { text: "(XEN) *** Building a PV Dom0 ***", line: 2 }],
      ["pv", released],
      ["callback_vector", callback],
      ["dom0", gsi],
    ]),
    true,
    "4.4.0",
  );
  assert.deepEqual([pvBuilder.pvhV1, pvBuilder.type], [undefined, "unknown"]);
  // Outside the era (PVHv1 was removed in v4.11) or with a line only HVM/PVHv2 prints: two
  // logs in one file, a conflict as before.
  for (
    const [why, e, kernel] of [
      ["v4.11", ev(), "4.11.0"],
      ["v3.13", ev(), "3.13.0"],
      ["DMI", ev([["auto_domU", { text: "DMI: Xen HVM domU", line: 20 }]]), "3.16.0"],
      [
        "Xen HVM",
        ev([["hvm", { text: "Booting paravirtualized kernel on Xen HVM", line: 9 }]]),
        "3.16.0",
      ],
    ] as const
  ) {
    const c = decideGuest(e, true, kernel);
    assert.equal(c.type, "unknown", why);
    assert.equal(c.conflict?.length, 2, why);
    assert.equal(c.pvhV1, undefined, why);
  }
});

Deno.test("decideGuest: a Xen name no kernel prints proves Xen, not a type", () => {
  const d = decideGuest(
    new Map([["xen_flavour", { text: "Booting paravirtualized kernel on Xen PVHVM", line: 5 }]]),
    true,
  );
  assert.equal(d.type, "unknown");
  assert.match(
    d.estimated.map((e) => e.how).join("\n"),
    /line 5: 'Booting paravirtualized kernel on Xen PVHVM' says Xen, not which type/,
  );
});
