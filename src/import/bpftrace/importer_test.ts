import assert from "node:assert/strict";
import { importBpftraceOutput } from "./importer.ts";

const INV = "0xffffffffffffffff";
function write(
  ns: number,
  fn: string,
  pfn: number,
  value: string,
  caller: string,
  ctx = "-",
  ctxcaller = "-",
  tid = 5,
  ok = 1,
): string {
  return `p2mtrace1 ${ns} p2m fn=${fn} pfn=0x${pfn.toString(16)} value=${value} ok=${ok} ` +
    `tid=${tid} caller=${caller} ctx=${ctx} ctxcaller=${ctxcaller}`;
}
const wrap = (...lines: string[]) =>
  ["p2mtrace1 0 begin script=1", ...lines, "p2mtrace1 99 end"].join("\n") + "\n";

Deno.test("consecutive set_p2m writes with incrementing PFNs and frames become one range", () => {
  const out = importBpftraceOutput(
    wrap(
      write(1000, "set_phys_to_machine", 0x100, "0x500", "xen_remap_exchanged_ptes"),
      write(2000, "set_phys_to_machine", 0x101, "0x501", "xen_remap_exchanged_ptes"),
      write(3000, "set_phys_to_machine", 0x102, "0x777", "xen_remap_exchanged_ptes"),
    ),
    "o",
  );
  assert.deepEqual(out.events.map((e) => e.kind === "set_p2m" && [e.range, e.mfn]), [
    [{ pfn: 0x100, endPfn: 0x102 }, 0x500],
    [{ pfn: 0x102, endPfn: 0x103 }, 0x777],
  ]);
});

Deno.test("writes of different threads or kinds are not merged", () => {
  const out = importBpftraceOutput(
    wrap(
      write(
        1,
        "__set_phys_to_machine",
        0x10,
        INV,
        "decrease_reservation",
        "decrease_reservation",
        "balloon_process",
        5,
      ),
      write(
        2,
        "__set_phys_to_machine",
        0x11,
        INV,
        "decrease_reservation",
        "decrease_reservation",
        "balloon_process",
        6,
      ),
      write(3, "__set_phys_to_machine", 0x12, INV, "xen_zap_pfn_range", "-", "-", 6),
    ),
    "o",
  );
  assert.deepEqual(out.events.map((e) => e.kind), [
    "decrease_reservation",
    "decrease_reservation",
    "set_p2m",
  ]);
});

Deno.test("a balloon batch that repeats a PFN is split (each PFN once per event)", () => {
  const out = importBpftraceOutput(
    wrap(
      write(1, "__set_phys_to_machine", 0x10, INV, "balloon_process"),
      write(2, "__set_phys_to_machine", 0x10, INV, "balloon_process"),
    ),
    "o",
  );
  assert.equal(out.events.length, 2);
});

Deno.test("a decrease inside an inlined decrease_reservation is still a balloon decrease", () => {
  const out = importBpftraceOutput(
    wrap(
      write(
        1,
        "__set_phys_to_machine",
        0x10,
        INV,
        "__xenmem_reservation_va_mapping_reset",
        "__xenmem_reservation_va_mapping_reset",
        "balloon_thread",
      ),
    ),
    "o",
  );
  assert.equal(out.events[0].kind, "decrease_reservation");
});

Deno.test("grant-table DMA writes through the reservation helpers are plain set_p2m", () => {
  const out = importBpftraceOutput(
    wrap(
      write(
        1,
        "__set_phys_to_machine",
        0x10,
        INV,
        "__xenmem_reservation_va_mapping_reset",
        "__xenmem_reservation_va_mapping_reset",
        "gnttab_dma_alloc_pages",
      ),
      write(
        2,
        "set_phys_to_machine",
        0x10,
        "0x99",
        "__xenmem_reservation_va_mapping_update",
        "__xenmem_reservation_va_mapping_update",
        "gnttab_dma_free_pages",
      ),
    ),
    "o",
  );
  assert.deepEqual(out.events.map((e) => e.kind === "set_p2m" && e.value), ["invalid", "mfn"]);
});

Deno.test("identity writes of the wrong frame become a mark, not an event", () => {
  const out = importBpftraceOutput(
    wrap(write(1, "__set_phys_to_machine", 0x10, "0x4000000000000011", "x")),
    "o",
  );
  assert.deepEqual(out.events.map((e) => e.kind === "mark" && e.text), [
    "bpftrace: __set_phys_to_machine(0x10, 0x4000000000000011) from x: a value the trace " +
    "format cannot express; not replayed",
  ]);
  const ok = importBpftraceOutput(
    wrap(write(1, "__set_phys_to_machine", 0x10, "0x4000000000000010", "x")),
    "o",
  );
  assert.ok(ok.events[0].kind === "set_p2m" && ok.events[0].value === "identity");
});

Deno.test("a notify without a pci_dev line gives xen_add_device with no resources and a note", () => {
  const out = importBpftraceOutput(wrap("p2mtrace1 5 pci_notify action=add dev=0000:05:00.0"), "o");
  assert.deepEqual(out.events.map((e) => e.kind === "xen_add_device" && e.resources), [[]]);
  assert.deepEqual(out.notes, [
    "o:2: 0000:05:00.0 was notified without a pci_dev line before it: xen_add_device with no " +
    "resources",
  ]);
  assert.equal(out.sawPciNotify, true);
});

Deno.test("output with no p2mtrace line at all is a data error naming line 1", () => {
  assert.throws(
    () => importBpftraceOutput("Attaching 3 probes...\nhello\n", "o"),
    /o:1: expected output of tools\/p2mtrace\.bt .*, got 1 line\(s\), none of them a p2mtrace line$/,
  );
});

Deno.test("missing begin and end lines are noted", () => {
  const out = importBpftraceOutput(
    "Attaching 3 probes...\np2mtrace1 200 pci_notify action=del dev=0000:03:00.0\n",
    "o",
  );
  assert.deepEqual(out.notes, [
    "o: no begin line: the head of the output is missing",
    "o: no end line: bpftrace did not stop cleanly or the output was cut off",
  ]);
});
