import assert from "node:assert/strict";
import { decideGuest, type EvidenceMap, inferNrPages } from "./guest_facts.ts";

const ev = (entries: [string, string][]): EvidenceMap => new Map(entries) as EvidenceMap;

Deno.test("the hypervisor console makes a PV guest dom0", () => {
  const d = decideGuest(ev([["xen_console", "(XEN) lines"], ["pv", "banner"]]), true);
  assert.deepEqual([d.type, d.domain, d.assumed], ["pv", "dom0", false]);
});

Deno.test("a domU line wins over the hypervisor console (concatenated logs)", () => {
  const d = decideGuest(ev([["xen_console", "(XEN)"], ["domU", "ACPI in unprivileged"]]), true);
  assert.equal(d.domain, "domU");
});

Deno.test("ACPI tables mean dom0 only for PV guests", () => {
  assert.equal(decideGuest(ev([["pv", "b"], ["acpi_tables", "RSDP"]]), false).domain, "dom0");
  assert.equal(decideGuest(ev([["hvm", "b"], ["acpi_tables", "RSDP"]]), false).domain, "domU");
});

Deno.test("a PV boot log without the domU line is dom0", () => {
  const d = decideGuest(ev([["pv", "Booting paravirtualized kernel on Xen"]]), true);
  assert.deepEqual([d.domain, d.assumed], ["dom0", false]);
});

Deno.test("a fragment with no evidence is assumed PV dom0, and says so", () => {
  const d = decideGuest(ev([]), false);
  assert.deepEqual([d.type, d.domain, d.assumed], ["pv", "dom0", true]);
});

Deno.test("a pirq line without dom0's gsi line is weak HVM evidence", () => {
  const d = decideGuest(ev([["pirq_without_gsi", "xen: --> pirq"]]), false);
  assert.deepEqual([d.type, d.domain, d.assumed], ["hvm", "domU", true]);
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
